import { setupWebGpu } from './helpers';
import { type Tensor, memory, removeBackend, sdpa } from '@tubelet/core';
import type { SdpaAttrs } from '@tubelet/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebGpuBackend } from '../src/index';
import { attentionTile, setSdpaFallback } from '../src/kernels/attention';
import { setGemmDispatchCap } from '../src/kernels/gemm-core';
import { type HostInput, compareWithCpu, f16, f32 } from './gemm-compare';

const { backend: gpu, reason } = await setupWebGpu();
const be = gpu as WebGpuBackend;
afterAll(() => removeBackend('webgpu'));



const att = (a: Partial<SdpaAttrs> = {}) => (x: (Tensor | null)[]) => sdpa(x[0]!, x[1]!, x[2]!, x[3], a);

/** Runs `fn` on the fused kernel and again on the unfused fallback. */
async function bothPaths(fn: () => Promise<unknown>): Promise<void> {
  await fn();
  const prev = setSdpaFallback(true);
  try {
    await fn();
  } finally {
    setSdpaFallback(prev);
  }
}

function boolMask(shape: number[], seed: number, fullyMaskedRow?: number): HostInput {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Uint8Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    d[i] = s % 3 === 0 ? 0 : 1;
  }
  if (fullyMaskedRow !== undefined) {
    const Lk = shape[shape.length - 1]!;
    d.fill(0, fullyMaskedRow * Lk, (fullyMaskedRow + 1) * Lk);
  }
  return { data: d, shape, dtype: 'bool' };
}

describe.skipIf(!gpu)(`webgpu sdpa kernel${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let inUse0 = 0;
  beforeAll(() => {
    inUse0 = be.stats().inUseBytes;
  });

  it('tile choice: BQ = BK = 16 at head dim 64; none (→ fallback) for very large head dims', () => {
    expect(attentionTile(64, 64, 4032)).toEqual({ BQ: 16, BK: 16 });
    expect(attentionTile(8, 8, 4032)).toEqual({ BQ: 32, BK: 32 });
    expect(attentionTile(400, 400, 4032)).toBeNull();
  });

  it('head dim 64, 70 queries and keys (not a multiple of the tiles), 3 heads', async () => {
    await compareWithCpu(be, [f32([1, 3, 70, 64], 1), f32([1, 3, 70, 64], 2), f32([1, 3, 70, 64], 3)], att(), { abs: 5e-5 });
  });

  it('causal with Lq ≠ Lk, head dims not multiples of 4 (D 12, Dv 7): fused and fallback', async () => {
    await bothPaths(() => compareWithCpu(be, [f32([2, 37, 12], 4), f32([2, 45, 12], 5), f32([2, 45, 7], 6)], att({ causal: true })));
  });

  it('bool mask broadcast over batch and heads, one fully masked row → zeros: fused and fallback', async () => {
    const inputs = [f32([2, 3, 21, 16], 7), f32([2, 3, 35, 16], 8), f32([2, 3, 35, 16], 9), boolMask([2, 1, 21, 35], 10, 4)];
    await bothPaths(() => compareWithCpu(be, inputs, att()));
  });

  it('float mask with -inf entries and a scale; batch-broadcast q / k / v', async () => {
    const m = f32([21, 35], 11);
    const md = m.data as Float32Array;
    for (let i = 0; i < md.length; i += 5) md[i] = -Infinity;
    md.fill(-Infinity, 3 * 35, 4 * 35); // a fully masked row
    await bothPaths(() => compareWithCpu(be, [f32([2, 3, 21, 16], 12), f32([1, 3, 35, 16], 13), f32([2, 1, 35, 16], 14), m], att({ scale: 0.3 })));
  });

  it('head dim too large for the tiles falls back to GEMM + softmax + GEMM', async () => {
    await compareWithCpu(be, [f32([2, 5, 400], 15), f32([2, 7, 400], 16), f32([2, 7, 400], 17)], att(), { abs: 5e-5 });
  });

  it('work split over several dispatches (query tiles and batch entries)', async () => {
    const prev = setGemmDispatchCap(2000);
    try {
      await compareWithCpu(be, [f32([3, 40, 8], 18), f32([3, 33, 8], 19), f32([3, 33, 8], 20)], att());
    } finally {
      setGemmDispatchCap(prev);
    }
  });

  it('float16 q, k, v (and a float16 mask)', async () => {
    await compareWithCpu(be, [f16([1, 2, 19, 16], 21), f16([1, 2, 23, 16], 22), f16([1, 2, 23, 16], 23), f16([19, 23], 24)], att(), { abs: 2e-3, rel: 2e-3 });
  });

  it('GPU memory returns to where it started (pool stats)', async () => {
    await be.sync();
    expect(memory('webgpu').numTensors).toBe(0);
    expect(be.stats().inUseBytes).toBe(inUse0);
    expect(be.stats().gpuErrors).toBe(0);
  });
});
