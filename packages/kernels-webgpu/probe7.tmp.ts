process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json';
import { initBackend, conv, tensor } from '@tubelet/core';
import { registerWebGpuBackend } from './src/index';
registerWebGpuBackend();
const be: any = await initBackend('webgpu');
const origCompile = be.programs.compile.bind(be.programs);
const mode = process.argv[2] ?? 'full';
be.programs.compile = (desc: any) => {
  if (desc.key.startsWith('conv/dw')) {
    if (mode === 'noload') desc = { ...desc, main: desc.main.replace(/v = ld_X\([^;]*;/, 'v = f32(l);') };
    if (mode === 'nocompute') desc = { ...desc, main: desc.main.replace(/for \(var kh = 0u;[\s\S]*?\n  \}\n  let oh/, 'a0_0 = tileX[lidx]; \n  let oh') };
    if (mode === 'nobarrier') desc = { ...desc, main: desc.main.replace('workgroupBarrier();', '') };
    if (mode === 'nostage' || mode === 'storeonly') desc = { ...desc, main: desc.main.replace(/for \(var l = lidx; l < \d+u; l \+= \d+u\) \{\n    let a[\s\S]*?tileX\[l\] = v;\n  \}/, '') };
    if (mode === 'storeonly') desc = { ...desc, main: desc.main.replace(/for \(var kh = 0u;[\s\S]*?\n  \}\n  let oh/, 'a0_0 = tileX[lidx]; \n  let oh') };
    if (mode === 'print') console.log(desc.main);
  }
  return origCompile(desc);
};
const x = tensor(new Float32Array(64 * 8 * 28 * 28).fill(0.5), [1, 64, 8, 28, 28], { backend: 'webgpu' });
const w = tensor(new Float32Array(64 * 125).fill(0.5), [64, 1, 5, 5, 5], { backend: 'webgpu' });
let y = conv(x, w, null, { padding: 2, groups: 64 }); await y.data(); y.dispose();
const ts = [];
for (let i = 0; i < 4; i++) { const t0 = performance.now(); y = conv(x, w, null, { padding: 2, groups: 64 }); await be.sync(); ts.push(performance.now() - t0); y.dispose(); }
console.log(mode, ts.map((t) => t.toFixed(0)).join(' '));
