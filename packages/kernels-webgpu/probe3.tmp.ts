process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json';
import { initBackend } from '@tubelet/core';
import { registerWebGpuBackend } from './src/index';
import { gemmProgram, TILE_LARGE, TILE_SMALL } from './src/kernels/gemm-core';
registerWebGpuBackend();
const be: any = await initBackend('webgpu');
const hdr = `fn mm_setup(b: u32, m0: u32, n0: u32, c: u32) {}
fn mm_readA(m: u32, k: u32) -> f32 { return A[m * u.K + k]; }
fn mm_readB(k: u32, n: u32) -> f32 { return B[k * u.N + n]; }
fn mm_write(m: u32, n: u32, v: f32) { C[m * u.N + n] = v; }`;
const mk = (tile: any, tag: string) => gemmProgram({ key: 'probe' + tag + Math.random(), tile, aMode: 'scalar', bMode: 'scalar', cMode: 'scalar', bindings: [{ name: 'A', type: 'f32', access: 'read' }, { name: 'B', type: 'f32', access: 'read' }, { name: 'C', type: 'f32', access: 'read_write' }], uniforms: [], header: hdr });
function t(name: string, desc: any) {
  const t0 = performance.now();
  be.programs.compile(desc);
  console.log(name, (performance.now() - t0).toFixed(0), 'ms');
}
t('large', mk(TILE_LARGE, 'a'));
t('large', mk(TILE_LARGE, 'b'));
t('small', mk(TILE_SMALL, 'c'));
t('large tk8', mk({ ...TILE_LARGE, tk: 8 }, 'd'));
t('large tk4', mk({ ...TILE_LARGE, tk: 4 }, 'd'));
const nb = mk(TILE_LARGE, 'e'); nb.main = nb.main.replaceAll('workgroupBarrier();', ''); t('large no barrier', nb);
const nl = mk(TILE_LARGE, 'f'); nl.main = nl.main.replace(/for \(var kk = 0u; kk < 16u; kk\+\+\) \{[\s\S]*?acc3\);\n    \}/, ''); t('large no inner', nl);
const dyn = mk(TILE_LARGE, 'g'); dyn.main = dyn.main.replace('for (var kk = 0u; kk < 16u; kk++)', 'for (var kk = 0u; kk < min(16u, u.K + 16u); kk++)'); t('large dyn inner', dyn);
const dyn8 = mk({ ...TILE_LARGE, tk: 8 }, 'h'); t('large tk8 again', dyn8);
const hdr4 = hdr + `
fn mm_readA4(m: u32, k: u32) -> vec4<f32> { return vec4<f32>(A[m], A[m+1u], A[m+2u], A[m+3u]); }
fn mm_readB4(k: u32, n: u32) -> vec4<f32> { return vec4<f32>(B[n], B[n+1u], B[n+2u], B[n+3u]); }`;
const v4 = gemmProgram({ key: 'probev4', tile: TILE_LARGE, aMode: 'm4', bMode: 'n4', cMode: 'scalar', bindings: [{ name: 'A', type: 'f32', access: 'read' }, { name: 'B', type: 'f32', access: 'read' }, { name: 'C', type: 'f32', access: 'read_write' }], uniforms: [], header: hdr4 });
t('large m4/n4 (no component writes)', v4);
const v4b = gemmProgram({ key: 'probev4b', tile: TILE_LARGE, aMode: 'k4', bMode: 'n4', cMode: 'scalar', bindings: [{ name: 'A', type: 'f32', access: 'read' }, { name: 'B', type: 'f32', access: 'read' }, { name: 'C', type: 'f32', access: 'read_write' }], uniforms: [], header: hdr4 });
t('large k4/n4', v4b);
