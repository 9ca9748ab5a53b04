process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json';
import { initBackend, matmul, tensor } from '@tubelet/core';
import { registerWebGpuBackend } from './src/index';
import { TILE_LARGE } from './src/kernels/gemm-core';
registerWebGpuBackend();
await initBackend('webgpu');
const tk = Number(process.argv[2]);
(TILE_LARGE as any).tk = tk;
const n = 512;
const a = tensor(new Float32Array(n * n).fill(1), [n, n], { backend: 'webgpu' });
const b = tensor(new Float32Array(n * n).fill(1), [n, n], { backend: 'webgpu' });
let t0 = performance.now();
let c = matmul(a, b); await c.data(); c.dispose();
console.log(`tk${tk} first (compile+run) ${(performance.now() - t0).toFixed(0)} ms`);
const ts = [];
for (let r = 0; r < 4; r++) { t0 = performance.now(); c = matmul(a, b); await c.data(); c.dispose(); ts.push(performance.now() - t0); }
console.log(`tk${tk} runs`, ts.map((x) => x.toFixed(0)).join(' '), 'ms');
