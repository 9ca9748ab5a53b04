process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json';
import { initBackend, matmul, tensor, conv, sdpa, maxPool } from '@tubelet/core';
import { registerWebGpuBackend } from './src/index';
registerWebGpuBackend();
const be: any = await initBackend('webgpu');
async function time(name: string, f: () => any) {
  const t0 = performance.now();
  const r = f();
  const t1 = performance.now();
  await r.data();
  console.log(name, `record ${(t1 - t0).toFixed(0)} ms, total ${(performance.now() - t0).toFixed(0)} ms`);
  r.dispose();
}
const T = (s: number[]) => tensor(new Float32Array(s.reduce((a, b) => a * b)).fill(0.5), s, { backend: 'webgpu' });
await time('warm', () => matmul(T([4, 4]), T([4, 4])));
await time('mm scalar', () => matmul(T([5, 7]), T([7, 3])));
await time('mm vec', () => matmul(T([8, 8]), T([8, 8])));
await time('mm vec again', () => matmul(T([8, 8]), T([8, 8])));
await time('mm batch r2', () => matmul(T([2, 3, 8, 8]), T([3, 8, 8])));
await time('conv igemm', () => conv(T([1, 3, 8, 8]), T([4, 3, 3, 3]), null, { padding: 1 }));
await time('conv dw', () => conv(T([1, 4, 4, 8, 8]), T([4, 1, 5, 5, 5]), null, { padding: 2, groups: 4 }));
await time('sdpa', () => sdpa(T([1, 8, 64]), T([1, 8, 64]), T([1, 8, 64])));
await time('pool', () => maxPool(T([1, 1, 8, 8]), { kernel: 2 }));
