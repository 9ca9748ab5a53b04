import { setupWebGpu } from './helpers';
import { type Tensor, avgPool, maxPool, memory, removeBackend } from '@tubelet/core';
import type { PoolArgs } from '@tubelet/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebGpuBackend } from '../src/index';
import { compareWithCpu, f16, f32 } from './gemm-compare';

const { backend: gpu, reason } = await setupWebGpu();
const be = gpu as WebGpuBackend;
afterAll(() => removeBackend('webgpu'));


const mp = (a: PoolArgs) => (x: (Tensor | null)[]) => maxPool(x[0]!, a);
const ap = (a: PoolArgs) => (x: (Tensor | null)[]) => avgPool(x[0]!, a);

describe.skipIf(!gpu)(`webgpu pool kernels${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let inUse0 = 0;
  beforeAll(() => {
    inUse0 = be.stats().inUseBytes;
  });

  const configs: PoolArgs[] = [
    { kernel: [3, 3, 3], stride: [2, 2, 2], padding: 1, ceilMode: true },
    { kernel: [1, 3, 3], stride: [1, 2, 2], padding: [0, 1, 1] },
    { kernel: [2, 3, 2], stride: [2, 1, 2], padding: [1, 1, 0], ceilMode: true, countIncludePad: false },
    { kernel: 3, stride: 1, padding: 1 },
  ];

  it('avgPool 3-d against the cpu reference (ceilMode, countIncludePad both ways)', async () => {
    for (const a of configs) await compareWithCpu(be, [f32([2, 3, 5, 9, 8], 1)], ap(a), { abs: 1e-6, rel: 1e-5 });
  });

  it('maxPool 3-d against the cpu reference (ceilMode, dilation, -inf padding)', async () => {
    for (const a of configs) await compareWithCpu(be, [f32([2, 3, 5, 9, 8], 2)], mp({ ...a, countIncludePad: undefined }), { abs: 0, rel: 0 });
    await compareWithCpu(be, [f32([1, 2, 7, 11, 10], 3)], mp({ kernel: 3, stride: 2, padding: 1, dilation: [1, 2, 2], ceilMode: true }), { abs: 0, rel: 0 });
  });

  it('1-d and 2-d windows, NaN wins in maxPool', async () => {
    await compareWithCpu(be, [f32([2, 3, 17], 4)], mp({ kernel: 5, stride: 2, padding: 2, dilation: 2 }), { abs: 0, rel: 0 });
    await compareWithCpu(be, [f32([2, 3, 17], 5)], ap({ kernel: 4, stride: 3, padding: 2, ceilMode: true }), { abs: 1e-6, rel: 1e-5 });
    const x = f32([1, 2, 6, 6], 6);
    (x.data as Float32Array)[7] = Number.NaN;
    await compareWithCpu(be, [x], mp({ kernel: 2, stride: 2 }), { abs: 0, rel: 0 });
  });

  it('float16 pooling', async () => {
    await compareWithCpu(be, [f16([1, 3, 4, 7, 7], 7)], mp({ kernel: 3, stride: 2, padding: 1 }), { abs: 0, rel: 0 });
    await compareWithCpu(be, [f16([1, 3, 4, 7, 7], 8)], ap({ kernel: 3, stride: 2, padding: 1 }), { abs: 1e-3, rel: 1e-3 });
  });

  it('GPU memory returns to where it started (pool stats)', async () => {
    await be.sync();
    expect(memory('webgpu').numTensors).toBe(0);
    expect(be.stats().inUseBytes).toBe(inUse0);
    expect(be.stats().gpuErrors).toBe(0);
  });
});
