import { it } from 'vitest';
import { interpolate, gridSample, roiAlign, nms, tensor } from '/work/main/packages/core/src/index';
import { registerResampleKernels } from '/work/main/packages/core/src/cpu/kernels/resample';
import { registerDetectionKernels } from '/work/main/packages/core/src/cpu/kernels/detection';
registerResampleKernels(); registerDetectionKernels();
it('bench', async () => {
  const x = tensor(Float32Array.from({ length: 256 * 50 * 64 }, Math.random), [1, 256, 50, 64]);
  for (const mode of ['nearest', 'bilinear', 'bicubic'] as const) {
    let t = performance.now(); interpolate(x, { mode, scaleFactor: 2 }); console.log(mode, (performance.now() - t).toFixed(1), 'ms');
  }
  const feat = tensor(Float32Array.from({ length: 256 * 200 * 272 }, Math.random), [1, 256, 200, 272]);
  const K = 1000; const r = new Float32Array(5 * K);
  for (let k = 0; k < K; k++) { const x1 = Math.random() * 700, y1 = Math.random() * 500; r.set([0, x1, y1, x1 + 20 + Math.random() * 300, y1 + 20 + Math.random() * 300], 5 * k); }
  let t = performance.now(); roiAlign(feat, tensor(r, [K, 5]), { outputSize: 7, spatialScale: 0.25, samplingRatio: 0 }); console.log('roiAlign 1000x256x7x7', (performance.now() - t).toFixed(1), 'ms');
  const g = tensor(Float32Array.from({ length: 2 * 100 * 128 }, () => Math.random() * 2 - 1), [1, 100, 128, 2]);
  t = performance.now(); gridSample(x, g); console.log('gridSample', (performance.now() - t).toFixed(1), 'ms');
  const N = 5000; const b = new Float32Array(4 * N); for (let i = 0; i < N; i++) { const x1 = Math.random() * 800, y1 = Math.random() * 600; b.set([x1, y1, x1 + 10 + Math.random() * 100, y1 + 10 + Math.random() * 100], 4 * i); }
  t = performance.now(); const k = await nms(tensor(b, [N, 4]), tensor(Float32Array.from({ length: N }, Math.random)), { iouThreshold: 0.7 }); console.log('nms 5000', (performance.now() - t).toFixed(1), 'ms', k.shape);
}, 60000);
