/**
 * Test helper for the matmul / conv / pool / attention kernel tests: runs the same op on the cpu
 * reference backend and on webgpu from the same host inputs and compares the outputs.
 */
import { type DType, type Tensor, f16ArrayToF32, f32ArrayToF16, memory, tensor } from '@tubelet/core';
import { expect } from 'vitest';
import type { WebGpuBackend } from '../src/index';

export interface HostInput {
  data: Float32Array | Uint8Array;
  shape: number[];
  dtype?: DType;
}

/** Deterministic values in [-1, 1). */
export function rand(n: number, seed = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 2 - 1;
  }
  return out;
}

export function f32(shape: number[], seed = 1): HostInput {
  return { data: rand(shape.reduce((a, b) => a * b, 1), seed), shape };
}

export function f16(shape: number[], seed = 1): HostInput {
  return { data: rand(shape.reduce((a, b) => a * b, 1), seed), shape, dtype: 'float16' };
}

function make(h: HostInput | null, backend: string): Tensor | null {
  if (!h) return null;
  if (h.dtype === 'float16') return tensor(f32ArrayToF16(h.data as Float32Array), h.shape, { dtype: 'float16', backend });
  if (h.dtype === 'bool') return tensor(h.data as Uint8Array, h.shape, { dtype: 'bool', backend });
  return tensor(h.data as Float32Array, h.shape, { backend });
}

async function values(t: Tensor): Promise<Float32Array> {
  const d = await t.data();
  return t.dtype === 'float16' ? f16ArrayToF32(d as Uint16Array) : (d as Float32Array);
}

export interface CompareOptions {
  abs?: number;
  rel?: number;
}

/**
 * Runs `run` on cpu and webgpu tensors made from `inputs` and expects equal shapes and values
 * within abs + rel·|expected| (NaN must match NaN). Disposes everything; checks that no GPU error
 * was raised and no webgpu tensor leaked. Returns the largest absolute difference.
 */
export async function compareWithCpu(
  be: WebGpuBackend,
  inputs: (HostInput | null)[],
  run: (xs: (Tensor | null)[]) => Tensor,
  opts: CompareOptions = {},
): Promise<number> {
  const abs = opts.abs ?? 2e-5;
  const rel = opts.rel ?? 1e-4;
  const errors0 = be.stats().gpuErrors;
  const live0 = memory('webgpu').numTensors;
  const cx = inputs.map((h) => make(h, 'cpu'));
  const gx = inputs.map((h) => make(h, 'webgpu'));
  let maxErr = 0;
  try {
    const exp = run(cx);
    const got = run(gx);
    try {
      expect(got.backend).toBe('webgpu');
      expect(got.shape).toEqual(exp.shape);
      expect(got.dtype).toBe(exp.dtype);
      const [e, g] = [await values(exp), await values(got)];
      let bad = -1;
      for (let i = 0; i < e.length; i++) {
        const d = Math.abs(g[i]! - e[i]!);
        if (Number.isNaN(e[i]!) !== Number.isNaN(g[i]!) || d > abs + rel * Math.abs(e[i]!)) {
          if (bad < 0) bad = i;
        }
        if (d > maxErr) maxErr = d;
      }
      if (bad >= 0) throw new Error(`element ${bad} of ${exp.shape.join('×')}: got ${g[bad]}, expected ${e[bad]} (max |diff| ${maxErr})`);
    } finally {
      exp.dispose();
      got.dispose();
    }
  } finally {
    for (const t of [...cx, ...gx]) t?.dispose();
  }
  expect(be.stats().gpuErrors).toBe(errors0);
  expect(memory('webgpu').numTensors).toBe(live0);
  return maxErr;
}
