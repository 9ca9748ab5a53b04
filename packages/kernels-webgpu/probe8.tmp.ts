process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json';
import { initBackend, maxPool, tensor, add } from '@tubelet/core';
import { registerWebGpuBackend } from './src/index';
registerWebGpuBackend();
const be: any = await initBackend('webgpu');
const x = tensor(new Float32Array(64 * 8 * 28 * 28).fill(0.5), [1, 64, 8, 28, 28], { backend: 'webgpu' });
for (const [name, f] of [['maxpool3', () => maxPool(x, { kernel: 3, stride: 1, padding: 1 })], ['maxpool1', () => maxPool(x, { kernel: 1 })], ['add', () => add(x, x)]] as const) {
  let y = (f as any)(); await y.data(); y.dispose();
  const ts = [];
  for (let i = 0; i < 4; i++) { const t0 = performance.now(); y = (f as any)(); await be.sync(); ts.push(performance.now() - t0); y.dispose(); }
  console.log(name, ts.map((t) => t.toFixed(0)).join(' '));
}
