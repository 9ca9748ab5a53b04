import { setupWebGpu } from './helpers';
import { type Tensor, conv, convTranspose, memory, removeBackend } from '@tubelet/core';
import type { ConvArgs, ConvTransposeArgs } from '@tubelet/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebGpuBackend } from '../src/index';
import { type Geo, convPath, depthwiseTile, setConvPath } from '../src/kernels/conv';
import { compareWithCpu, f16, f32 } from './gemm-compare';

const { backend: gpu, reason } = await setupWebGpu();
const be = gpu as WebGpuBackend;
afterAll(() => removeBackend('webgpu'));


const cv = (args: ConvArgs) => (x: (Tensor | null)[]) => conv(x[0]!, x[1]!, x[2], args);
const ct = (args: ConvTransposeArgs) => (x: (Tensor | null)[]) => convTranspose(x[0]!, x[1]!, x[2], args);

describe.skipIf(!gpu)(`webgpu conv kernels${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let inUse0 = 0;
  beforeAll(() => {
    inUse0 = be.stats().inUseBytes;
  });

  it('depthwise tiles: register-blocked 4×8×32 for UniFormer 5×5×5, 4×16×16 for 3×3×3 on 14², within 16 KiB', () => {
    const g = (k: number, s: number, out: [number, number, number]) => ({ k: [k, k, k] as [number, number, number], out, stride: [s, s, s] as [number, number, number], dil: [1, 1, 1] as [number, number, number] });
    expect(depthwiseTile(g(5, 1, [8, 56, 56]), 4080)).toEqual({ TD: 4, TH: 8, TW: 32, RW: 4, ID: 8, IH: 12, IW: 36 });
    expect(depthwiseTile(g(3, 1, [8, 14, 14]), 4080)).toEqual({ TD: 4, TH: 16, TW: 16, RW: 2, ID: 6, IH: 18, IW: 18 });
    for (const t of [depthwiseTile(g(5, 2, [8, 56, 56]), 4080)!, depthwiseTile(g(3, 1, [1, 1, 300]), 4080)!]) {
      expect(t.ID * t.IH * t.IW).toBeLessThanOrEqual(4080 - 125);
      expect((t.TW / t.RW) * t.TH).toBeLessThanOrEqual(256);
    }
    expect(depthwiseTile({ ...g(5, 1, [4, 4, 4]), dil: [20, 20, 20] }, 4080)).toBeNull();
  });

  it('path choice: direct depthwise for groups = C = O, GEMM for 1×1, implicit GEMM otherwise', () => {
    const geo = (C: number, O: number, G: number, k: number, pad = 0): Geo => ({
      N: 1, C, O, G, inp: [8, 56, 56], k: [k, k, k], out: [8, 56, 56].map((s) => s + 2 * pad - k + 1) as [number, number, number],
      stride: [1, 1, 1], dil: [1, 1, 1], pad: [pad, pad, pad],
    });
    expect(convPath(be, geo(64, 64, 64, 5, 2)).path).toBe('depthwise');
    expect(convPath(be, geo(64, 64, 64, 3, 1)).path).toBe('depthwise');
    expect(convPath(be, geo(64, 128, 1, 1)).path).toBe('pointwise');
    expect(convPath(be, geo(64, 128, 64, 3, 1)).path).toBe('igemm');
    expect(convPath(be, geo(64, 64, 1, 3, 1)).path).toBe('igemm');
  });

  it('depthwise 5×5×5, padding 2, bias; output not a multiple of the tile in any dim', async () => {
    await compareWithCpu(be, [f32([2, 6, 5, 9, 11], 1), f32([6, 1, 5, 5, 5], 2), f32([6], 3)], cv({ padding: 2, groups: 6 }));
  });

  it('depthwise 3×3×3, padding 1 (UniFormer DPE), no bias, 4 outputs per thread along w', async () => {
    await compareWithCpu(be, [f32([1, 8, 6, 10, 21], 4), f32([8, 1, 3, 3, 3], 5), null], cv({ padding: 1, groups: 8 }));
  });

  it('depthwise with stride 2, dilation 2 and asymmetric padding', async () => {
    await compareWithCpu(be, [f32([1, 4, 7, 9, 10], 6), f32([4, 1, 3, 3, 3], 7), f32([4], 8)], cv({ padding: [1, 2, 0, 1, 0, 2], stride: 2, dilation: [1, 2, 2], groups: 4 }));
  });

  it('the direct depthwise kernel and the implicit GEMM agree', async () => {
    const inputs = [f32([1, 5, 6, 7, 8], 9), f32([5, 1, 5, 5, 5], 10), f32([5], 11)];
    await compareWithCpu(be, inputs, cv({ padding: 2, groups: 5 }));
    const prev = setConvPath('igemm');
    try {
      await compareWithCpu(be, inputs, cv({ padding: 2, groups: 5 }));
    } finally {
      setConvPath(prev);
    }
  });

  it('implicit GEMM: channels across tile edges (O = 70), K = 20·27, asymmetric pads, strides', async () => {
    await compareWithCpu(be, [f32([2, 20, 5, 9, 7], 12), f32([70, 20, 3, 3, 3], 13), f32([70], 14)], cv({ padding: [1, 0, 1, 1, 2, 0], stride: [1, 2, 1] }), { abs: 1e-4 });
  });

  it('implicit GEMM: groups and a channel multiplier (groups = C, O = 2C)', async () => {
    await compareWithCpu(be, [f32([1, 8, 6, 6], 15), f32([12, 2, 3, 3], 16), f32([12], 17)], cv({ padding: 1, groups: 4 }));
    await compareWithCpu(be, [f32([1, 3, 7, 9], 18), f32([6, 1, 3, 3], 19), null], cv({ padding: 1, groups: 3 }));
  });

  it('1×1×1 stride 1 unpadded runs as a plain GEMM (groups, vec4 and scalar spatial sizes)', async () => {
    await compareWithCpu(be, [f32([2, 12, 3, 5, 5], 20), f32([18, 6, 1, 1, 1], 21), f32([18], 22)], cv({ groups: 2 }));
    await compareWithCpu(be, [f32([2, 12, 2, 4, 8], 23), f32([20, 12, 1, 1, 1], 24), null], cv({}));
  });

  it('float16 depthwise and implicit GEMM convolutions', async () => {
    const tol = { abs: 3e-3, rel: 3e-3 };
    await compareWithCpu(be, [f16([1, 4, 4, 6, 5], 25), f16([4, 1, 3, 3, 3], 26), f16([4], 27)], cv({ padding: 1, groups: 4 }), tol);
    await compareWithCpu(be, [f16([1, 3, 7, 8], 28), f16([5, 3, 3, 3], 29), f16([5], 30)], cv({ padding: 1 }), tol);
  });

  it('convTranspose: 2-d pose deconv (kernel 4, stride 2, pad 1) by output phase', async () => {
    await compareWithCpu(be, [f32([1, 16, 6, 5], 31), f32([16, 8, 4, 4], 32), f32([8], 33)], ct({ stride: 2, padding: 1 }));
  });

  it('convTranspose: 3-d stride 2 kernel 4, groups with output padding, 1-d dilated stride 3', async () => {
    await compareWithCpu(be, [f32([1, 4, 3, 4, 5], 34), f32([4, 3, 4, 4, 4], 35), f32([3], 36)], ct({ stride: 2, padding: 1 }));
    await compareWithCpu(be, [f32([2, 4, 3, 5], 37), f32([4, 3, 3, 3], 38), null], ct({ stride: 2, padding: 1, outputPadding: 1, groups: 2 }));
    await compareWithCpu(be, [f32([1, 3, 7], 39), f32([3, 2, 3], 40), f32([2], 41)], ct({ stride: 3, dilation: 2, padding: 1 }));
  });

  it('GPU memory returns to where it started (pool stats)', async () => {
    await be.sync();
    expect(memory('webgpu').numTensors).toBe(0);
    expect(be.stats().inUseBytes).toBe(inUse0);
    expect(be.stats().gpuErrors).toBe(0);
  });
});
