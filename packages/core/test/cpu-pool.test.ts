import { describe, expect, it } from 'vitest';
import { registerCpuBackend } from '../src/cpu/backend';
import { registerPoolKernels } from '../src/cpu/kernels/pool';
import { f16ArrayToF32 } from '../src/dtype';
import { OpError } from '../src/op';
import { avgPool, maxPool } from '../src/ops/index';
import { tensor } from '../src/tensor';
import { expectClose, flat, forEachIndex, prod, rand, rng, roundF16, sym } from './helpers';

registerCpuBackend();
registerPoolKernels();

interface PoolP {
  kernel: number[];
  stride: number[];
  pads: number[]; // [begins..., ends...]
  dilation: number[];
  ceilMode: boolean;
  countIncludePad: boolean;
}

/** torch pooling output size (pooling_output_shape) per dim. */
function outSize(inp: number, k: number, s: number, dil: number, pb: number, pe: number, ceil: boolean): number {
  const num = inp + pb + pe - dil * (k - 1) - 1;
  let o = Math.floor((num + (ceil ? s - 1 : 0)) / s) + 1;
  if (ceil && (o - 1) * s >= inp + pb) o--;
  return o;
}

/**
 * Naive float64 reference (torch avg_poolNd / max_poolNd CPU loops):
 *   start = o·s - pb, end = min(start + k, in + pe), poolSize = Π(end - start),
 *   then clip to [0, in); avg divides by poolSize (countIncludePad) or the valid count;
 *   max takes the max over valid taps start + t·dil (padding is -inf), NaN wins.
 */
function poolRef(kind: 'avg' | 'max', x: Float32Array, xs: number[], p: PoolP) {
  const d = xs.length - 2;
  const sp = xs.slice(2).map((s, i) => outSize(s, p.kernel[i]!, p.stride[i]!, p.dilation[i]!, p.pads[i]!, p.pads[d + i]!, p.ceilMode));
  const os = [xs[0]!, xs[1]!, ...sp];
  const out = new Float64Array(prod(os));
  forEachIndex(os, (oi) => {
    const starts = sp.map((_, i) => oi[2 + i]! * p.stride[i]! - p.pads[i]!);
    if (kind === 'max') {
      let m = -Infinity;
      forEachIndex(p.kernel, (t) => {
        const ip = t.map((tt, i) => starts[i]! + tt * p.dilation[i]!);
        const v = ip.some((q, i) => q < 0 || q >= xs[2 + i]!) ? -Infinity : x[flat(xs, [oi[0]!, oi[1]!, ...ip])]!;
        if (v > m || Number.isNaN(v)) m = v;
      });
      out[flat(os, oi)] = m;
      return;
    }
    let poolSize = 1;
    let valid = 1;
    const lo: number[] = [];
    const hi: number[] = [];
    for (let i = 0; i < d; i++) {
      const end = Math.min(starts[i]! + p.kernel[i]!, xs[2 + i]! + p.pads[d + i]!);
      poolSize *= end - starts[i]!;
      lo.push(Math.max(starts[i]!, 0));
      hi.push(Math.min(end, xs[2 + i]!));
      valid *= hi[i]! - lo[i]!;
    }
    let s = 0;
    forEachIndex(
      lo.map((l, i) => hi[i]! - l),
      (t) => (s += x[flat(xs, [oi[0]!, oi[1]!, ...t.map((tt, i) => lo[i]! + tt)])]!),
    );
    out[flat(os, oi)] = s / (p.countIncludePad ? poolSize : valid);
  });
  return { out, shape: os };
}

function check(kind: 'avg' | 'max', xs: number[], p: Partial<PoolP> & { kernel: number[] }, seed: number): void {
  const d = xs.length - 2;
  const full: PoolP = {
    kernel: p.kernel,
    stride: p.stride ?? p.kernel,
    pads: p.pads ?? new Array(2 * d).fill(0),
    dilation: p.dilation ?? new Array(d).fill(1),
    ceilMode: p.ceilMode ?? false,
    countIncludePad: p.countIncludePad ?? true,
  };
  const x = rand(rng(seed), prod(xs));
  const ref = poolRef(kind, x, xs, full);
  const t = tensor(x, xs);
  const y =
    kind === 'max'
      ? maxPool(t, { kernel: full.kernel, stride: full.stride, padding: full.pads, dilation: full.dilation, ceilMode: full.ceilMode })
      : avgPool(t, { kernel: full.kernel, stride: full.stride, padding: full.pads, ceilMode: full.ceilMode, countIncludePad: full.countIncludePad });
  expect(y.shape).toEqual(ref.shape);
  expectClose(y.dataSync() as Float32Array, ref.out);
}


describe('cpu avgPool', () => {
  it('closed form: ramp with padding, countIncludePad true / false, ceilMode', () => {
    const ramp5 = tensor([0, 1, 2, 3, 4], [1, 1, 5]);
    const a = avgPool(ramp5, { kernel: 3, stride: 2, padding: 1 }).dataSync() as Float32Array;
    expectClose(a, [1 / 3, 2, 7 / 3]);
    const b = avgPool(ramp5, { kernel: 3, stride: 2, padding: 1, countIncludePad: false }).dataSync() as Float32Array;
    expectClose(b, [1 / 2, 2, 7 / 2]);
    const ramp6 = tensor([0, 1, 2, 3, 4, 5], [1, 1, 6]);
    // ceilMode adds a window starting at 5; with countIncludePad its divisor is clipped to in + pad (2), as torch
    const c = avgPool(ramp6, { kernel: 3, stride: 2, padding: 1, ceilMode: true });
    expect(c.shape).toEqual([1, 1, 4]);
    expectClose(c.dataSync() as Float32Array, [1 / 3, 2, 4, 5 / 2]);
    expectClose(avgPool(ramp6, { kernel: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false }).dataSync() as Float32Array, [1 / 2, 2, 4, 5]);
    // 2d ramp, no padding: 2×2 means
    const r2 = avgPool(tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15], [1, 1, 4, 4]), { kernel: 2 });
    expectClose(r2.dataSync() as Float32Array, [2.5, 4.5, 10.5, 12.5]);
  });

  it('1d/2d/3d random against the reference: strides, asymmetric pads, ceilMode, both divisors', () => {
    let seed = 1;
    for (const incl of [true, false]) {
      for (const ceil of [false, true]) {
        check('avg', [2, 3, 11], { kernel: [3], stride: [2], pads: [1, 0], ceilMode: ceil, countIncludePad: incl }, seed++);
        check('avg', [1, 2, 7, 9], { kernel: [3, 2], stride: [2, 3], pads: [1, 1, 0, 1], ceilMode: ceil, countIncludePad: incl }, seed++);
        check('avg', [1, 2, 5, 6, 7], { kernel: [2, 3, 3], stride: [1, 2, 2], pads: sym([1, 1, 1]), ceilMode: ceil, countIncludePad: incl }, seed++);
        check('avg', [2, 2, 4, 5, 6], { kernel: [1, 3, 3], stride: [1, 1, 1], pads: sym([0, 1, 1]), ceilMode: ceil, countIncludePad: incl }, seed++);
      }
    }
  });

  it('float16', () => {
    const x = roundF16(rand(rng(9), 2 * 3 * 6 * 7));
    const y = avgPool(tensor(x, [2, 3, 6, 7], { dtype: 'float16' }), { kernel: 3, stride: 2, padding: 1 });
    expect(y.dtype).toBe('float16');
    const ref = poolRef('avg', x, [2, 3, 6, 7], { kernel: [3, 3], stride: [2, 2], pads: [1, 1, 1, 1], dilation: [1, 1], ceilMode: false, countIncludePad: true });
    expectClose(f16ArrayToF32(y.dataSync() as Uint16Array), ref.out, 1e-2);
  });
});

describe('cpu maxPool', () => {
  it('padding acts as -inf, not zero', () => {
    const y = maxPool(tensor([-5, -3, -4], [1, 1, 3]), { kernel: 3, stride: 1, padding: 1 });
    expect(Array.from(y.dataSync() as Float32Array)).toEqual([-3, -3, -3]);
    const y2 = maxPool(tensor([-1, -2, -3, -4], [1, 1, 2, 2]), { kernel: 2, stride: 1, padding: 1 });
    expect(Array.from(y2.dataSync() as Float32Array)).toEqual([-1, -1, -2, -1, -1, -2, -3, -3, -4]);
  });

  it('propagates NaN like torch', () => {
    const y = maxPool(tensor([1, NaN, 3, 4, 5, 6], [1, 1, 6]), { kernel: 2 });
    const d = y.dataSync() as Float32Array;
    expect(Number.isNaN(d[0])).toBe(true);
    expect(Array.from(d.slice(1))).toEqual([4, 6]);
  });

  it('1d/2d/3d random against the reference: stride, dilation, asymmetric pads, ceilMode', () => {
    let seed = 20;
    for (const ceil of [false, true]) {
      check('max', [2, 3, 12], { kernel: [3], stride: [2], pads: [1, 0], dilation: [2], ceilMode: ceil }, seed++);
      check('max', [1, 2, 9, 8], { kernel: [3, 2], stride: [2, 1], pads: [1, 0, 1, 1], dilation: [2, 3], ceilMode: ceil }, seed++);
      check('max', [1, 3, 5, 7, 6], { kernel: [3, 3, 3], stride: [2, 2, 2], pads: sym([1, 1, 1]), ceilMode: ceil }, seed++);
      check('max', [2, 2, 4, 6, 5], { kernel: [1, 3, 2], stride: [1, 2, 2], pads: [0, 1, 1, 0, 0, 1], dilation: [1, 1, 2], ceilMode: ceil }, seed++);
    }
  });

  it('float16', () => {
    const x = roundF16(rand(rng(30), 1 * 2 * 4 * 5 * 6));
    const y = maxPool(tensor(x, [1, 2, 4, 5, 6], { dtype: 'float16' }), { kernel: [1, 3, 3], stride: [1, 2, 2], padding: [0, 1, 1] });
    expect(y.dtype).toBe('float16');
    const ref = poolRef('max', x, [1, 2, 4, 5, 6], { kernel: [1, 3, 3], stride: [1, 2, 2], pads: [0, 1, 1, 0, 1, 1], dilation: [1, 1, 1], ceilMode: false, countIncludePad: false });
    expectClose(f16ArrayToF32(y.dataSync() as Uint16Array), ref.out, 1e-2);
  });

  it('validation errors come from the descriptor', () => {
    const x = tensor(new Float32Array(16), [1, 1, 4, 4]);
    expect(() => maxPool(x, { kernel: 2, padding: 2 })).toThrow(OpError);
    expect(() => maxPool(x, { kernel: 2, padding: 2 })).toThrow(/at most half the kernel/);
    expect(() => avgPool(x, { kernel: 5 })).toThrow(/smaller than the window/);
    expect(() => avgPool(tensor(new Float32Array(4), [4]), { kernel: 2 })).toThrow(/\[4\]/);
  });
});
