import { setupWebGpu } from './helpers';
import { type Tensor, linear, matmul, memory, removeBackend } from '@tubelet/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebGpuBackend } from '../src/index';
import { setGemmDispatchCap } from '../src/kernels/gemm-core';
import { stridedGemm } from '../src/kernels/gemm-strided';
import { compareWithCpu, f16, f32, rand } from './gemm-compare';

const { backend: gpu, reason } = await setupWebGpu();
const be = gpu as WebGpuBackend;
afterAll(() => removeBackend('webgpu'));


const mm = (attrs: { transA?: boolean; transB?: boolean } = {}) => (x: (Tensor | null)[]) => matmul(x[0]!, x[1]!, attrs);

describe.skipIf(!gpu)(`webgpu matmul / linear kernels${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let inUse0 = 0;
  beforeAll(() => {
    inUse0 = be.stats().inUseBytes;
  });

  it('tile edges: M, N, K not multiples of the tile or of 4 (scalar loads)', async () => {
    await compareWithCpu(be, [f32([70, 33], 1), f32([33, 67], 2)], mm());
  });

  it('vec4 loads and stores with partial tiles (68×36 · 36×132)', async () => {
    await compareWithCpu(be, [f32([68, 36], 3), f32([36, 132], 4)], mm());
  });

  it('transposed operands are read in place: vec4 along m (transA) and along k (transB)', async () => {
    await compareWithCpu(be, [f32([36, 68], 5), f32([132, 36], 6)], mm({ transA: true, transB: true }));
    await compareWithCpu(be, [f32([36, 68], 5), f32([36, 20], 7)], mm({ transA: true }));
  });

  it('transposed operands with unaligned dims (scalar loads)', async () => {
    await compareWithCpu(be, [f32([33, 70], 8), f32([67, 33], 9)], mm({ transA: true, transB: true }));
    await compareWithCpu(be, [f32([19, 33], 10), f32([21, 33], 11)], mm({ transB: true }));
  });

  it('batch broadcast through per-operand batch strides', async () => {
    await compareWithCpu(be, [f32([2, 1, 20, 12], 12), f32([3, 12, 24], 13)], mm());
    await compareWithCpu(be, [f32([5, 12], 14), f32([2, 3, 12, 7], 15)], mm());
    await compareWithCpu(be, [f32([2, 3, 12, 5], 16), f32([1, 3, 7, 12], 17)], mm({ transA: true, transB: true }));
  });

  it('a batched by a shared b folds the batch into M', async () => {
    await compareWithCpu(be, [f32([3, 40, 20], 18), f32([20, 24], 19)], mm());
  });

  it('degenerate shapes: K = 0 gives zeros, 1×1', async () => {
    await compareWithCpu(be, [f32([3, 0], 20), f32([0, 4], 21)], mm());
    await compareWithCpu(be, [f32([1, 1], 22), f32([1, 1], 23)], mm());
  });

  it('large problems split into several dispatches give the same result', async () => {
    const prev = setGemmDispatchCap(4096);
    try {
      await compareWithCpu(be, [f32([2, 70, 33], 24), f32([2, 33, 67], 25)], mm());
      await compareWithCpu(be, [f32([150, 36], 26), f32([36, 20], 27)], mm());
    } finally {
      setGemmDispatchCap(prev);
    }
  });

  it('linear: weight read transposed, bias fused (vec4 and scalar paths, rank-3 and rank-1 x)', async () => {
    const lin = (x: (Tensor | null)[]) => linear(x[0]!, x[1]!, x[2]);
    await compareWithCpu(be, [f32([3, 50, 36], 28), f32([72, 36], 29), f32([72], 30)], lin);
    await compareWithCpu(be, [f32([7, 10], 31), f32([13, 10], 32), null], lin);
    await compareWithCpu(be, [f32([10], 33), f32([13, 10], 34), f32([13], 35)], lin);
  });

  it('float16 (packed u16 pairs without shader-f16, f32 accumulation)', async () => {
    await compareWithCpu(be, [f16([40, 20], 36), f16([20, 36], 37)], mm(), { abs: 2e-3, rel: 2e-3 });
    await compareWithCpu(be, [f16([2, 9, 13], 38), f16([7, 13], 39), f16([7], 40)], (x) => linear(x[0]!, x[1]!, x[2]), { abs: 2e-3, rel: 2e-3 });
  });

  it('fused epilogue: alpha, row bias, gelu and a residual in one GEMM', async () => {
    const [M, N, K] = [18, 20, 12];
    const a = rand(M * K, 41);
    const b = rand(K * N, 42);
    const bias = rand(M, 43);
    const res = rand(M * N, 44);
    const ha = be.write(a, 'float32', [M, K]);
    const hb = be.write(b, 'float32', [K, N]);
    const hbias = be.write(bias, 'float32', [M]);
    const hres = be.write(res, 'float32', [M, N]);
    const hc = be.allocate(M * N * 4);
    try {
      stridedGemm(be, {
        M,
        N,
        K,
        batchShape: [],
        a: { buffer: ha.buffer, kind: 'f32', rs: K, cs: 1, batchStrides: [] },
        b: { buffer: hb.buffer, kind: 'f32', rs: N, cs: 1, batchStrides: [] },
        c: { buffer: hc.buffer, kind: 'f32', ldc: N, batchStrides: [] },
        bias: { buffer: hbias.buffer, kind: 'f32', axis: 'm', batchStrides: [] },
        residual: { buffer: hres.buffer, kind: 'f32' },
        alpha: 0.5,
        act: 'gelu',
      });
      const got = (await be.read(hc, 'float32', M * N)) as Float32Array;
      const erf = (x: number) => {
        // high-accuracy series / continued fraction are overkill here: use a 1e-7 approximation
        const t = 1 / (1 + 0.5 * Math.abs(x));
        const y = 1 - t * Math.exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? y : -y;
      };
      let maxErr = 0;
      for (let i = 0; i < M; i++) {
        for (let j = 0; j < N; j++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += a[i * K + k]! * b[k * N + j]!;
          const z = 0.5 * s + bias[i]!;
          const want = 0.5 * z * (1 + erf(z / Math.SQRT2)) + res[i * N + j]!;
          maxErr = Math.max(maxErr, Math.abs(want - got[i * N + j]!));
        }
      }
      expect(maxErr).toBeLessThan(1e-5);
    } finally {
      for (const h of [ha, hb, hbias, hres, hc]) be.release(h);
    }
  });

  it('GPU memory returns to where it started (pool stats)', async () => {
    await be.sync();
    expect(memory('webgpu').numTensors).toBe(0);
    expect(be.stats().inUseBytes).toBe(inUse0);
    expect(be.stats().gpuErrors).toBe(0);
  });
});
