process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json';
import { initBackend } from '@tubelet/core';
import { registerWebGpuBackend } from './src/index';
import { fusedProgram } from './src/kernels/attention';
registerWebGpuBackend();
const be: any = await initBackend('webgpu');
function t(name: string, desc: any) {
  const t0 = performance.now();
  be.programs.compile(desc);
  console.log(name, (performance.now() - t0).toFixed(0), 'ms');
}
for (const [BQ, BK, D] of [[16, 16, 64], [8, 8, 64], [4, 4, 64], [16, 16, 8], [32, 32, 8], [16,16,16]]) {
  t(`BQ${BQ} BK${BK} D${D}`, fusedProgram(`k${BQ}${BK}${D}`, { BQ, BK }, D, D, 'f32', 'f32', 'f32', 'none', 'f32', 1));
}
