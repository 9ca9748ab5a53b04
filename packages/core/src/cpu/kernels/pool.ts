import type { PoolAttrs } from '../../ops/conv';
import { alloc, cpuKernel } from '../backend';

/*
 * avgPool / maxPool, 1d/2d/3d (lifted to 3-d with unit dummy dims), PyTorch semantics.
 *
 * Per spatial dim and output position the window is clipped once up front (tables of the first
 * and last valid tap), so the inner loops run over valid input only, and the pool runs as
 * separable 1-d passes (see pool()):
 *  - maxPool: window start o·stride - pad_begin, taps start + t·dilation; padding acts as -inf
 *    (never selected). NaN propagates.
 *  - avgPool: sum over the window clipped to the input; divisor with countIncludePad is the
 *    window clipped to the padded extent [-pad_begin, in + pad_end) (as torch: hend =
 *    min(hstart + k, in + pad)), otherwise the number of valid inputs. Both divisors are products
 *    of per-dim counts.
 */

interface DimTable {
  /** first input index of the window (unclipped) */
  start: Int32Array;
  /** valid tap range [tLo, tHi) */
  tLo: Int32Array;
  tHi: Int32Array;
  /** window size clipped to the padded input (avg divisor with countIncludePad) */
  padCount: Int32Array;
}

function dimTable(inp: number, out: number, k: number, stride: number, dil: number, pb: number, pe: number): DimTable {
  const start = new Int32Array(out);
  const tLo = new Int32Array(out);
  const tHi = new Int32Array(out);
  const padCount = new Int32Array(out);
  for (let o = 0; o < out; o++) {
    const s = o * stride - pb;
    start[o] = s;
    // taps t with 0 <= s + t·dil < inp
    const lo = Math.max(0, Math.ceil(-s / dil));
    const hi = Math.min(k, Math.floor((inp - 1 - s) / dil) + 1);
    tLo[o] = lo;
    tHi[o] = Math.max(lo, hi);
    padCount[o] = Math.min(s + (k - 1) * dil + 1, inp + pe) - s;
  }
  return { start, tLo, tHi, padCount };
}

function lift(v: readonly number[], fill: number): number[] {
  const r = v.slice();
  while (r.length < 3) r.unshift(fill);
  return r;
}

function tables(shape: readonly number[], oshape: readonly number[], a: PoolAttrs): DimTable[] {
  const d = shape.length - 2;
  const inp = lift(shape.slice(2), 1);
  const out = lift(oshape.slice(2), 1);
  const k = lift(a.kernel, 1);
  const st = lift(a.stride, 1);
  const dil = lift(a.dilation, 1);
  const pb = lift(a.pads.slice(0, d), 0);
  const pe = lift(a.pads.slice(d), 0);
  return [0, 1, 2].map((i) => dimTable(inp[i]!, out[i]!, k[i]!, st[i]!, dil[i]!, pb[i]!, pe[i]!));
}

/*
 * One separable pooling pass along an axis: src viewed as [outer, L, inner] → dst [outer, OL, inner].
 * max: max over valid taps (NaN wins); avg: sum over valid taps times 1/divisor of this dim.
 * Split by kind and by inner === 1 so each loop nest stays small and monomorphic.
 */

function passMaxRow(src: Float32Array, dst: Float32Array, outer: number, L: number, OL: number, t: DimTable, dil: number): void {
  const { start, tLo, tHi } = t;
  for (let o = 0, q = 0; o < outer; o++) {
    const sBase = o * L;
    for (let ol = 0; ol < OL; ol++, q++) {
      let m = -Infinity;
      for (let k = tLo[ol]!, hi = tHi[ol]!, si = sBase + start[ol]! + k * dil; k < hi; k++, si += dil) {
        const v = src[si]!;
        if (v > m || v !== v) m = v;
      }
      dst[q] = m;
    }
  }
}

function passAvgRow(src: Float32Array, dst: Float32Array, outer: number, L: number, OL: number, t: DimTable, incl: boolean): void {
  const { start, tLo, tHi, padCount } = t;
  for (let o = 0, q = 0; o < outer; o++) {
    const sBase = o * L;
    for (let ol = 0; ol < OL; ol++, q++) {
      const lo = tLo[ol]!;
      const hi = tHi[ol]!;
      let s = 0;
      for (let si = sBase + start[ol]! + lo, e = si + (hi - lo); si < e; si++) s += src[si]!;
      const div = incl ? padCount[ol]! : hi - lo;
      dst[q] = div > 0 ? s / div : 0;
    }
  }
}

function passMax(src: Float32Array, dst: Float32Array, outer: number, L: number, inner: number, OL: number, t: DimTable, dil: number): void {
  const { start, tLo, tHi } = t;
  for (let o = 0; o < outer; o++) {
    for (let ol = 0; ol < OL; ol++) {
      const d0 = (o * OL + ol) * inner;
      const d1 = d0 + inner;
      dst.fill(-Infinity, d0, d1);
      for (let k = tLo[ol]!, hi = tHi[ol]!; k < hi; k++) {
        for (let i = d0, si = (o * L + start[ol]! + k * dil) * inner; i < d1; i++, si++) {
          const v = src[si]!;
          if (v > dst[i]! || v !== v) dst[i] = v;
        }
      }
    }
  }
}

function passAvg(src: Float32Array, dst: Float32Array, outer: number, L: number, inner: number, OL: number, t: DimTable, incl: boolean): void {
  const { start, tLo, tHi, padCount } = t;
  for (let o = 0; o < outer; o++) {
    for (let ol = 0; ol < OL; ol++) {
      const d0 = (o * OL + ol) * inner;
      const d1 = d0 + inner;
      const lo = tLo[ol]!;
      const hi = tHi[ol]!;
      dst.fill(0, d0, d1);
      for (let k = lo; k < hi; k++) {
        for (let i = d0, si = (o * L + start[ol]! + k) * inner; i < d1; i++, si++) dst[i] += src[si]!;
      }
      const div = incl ? padCount[ol]! : hi - lo;
      const inv = div > 0 ? 1 / div : 0;
      for (let i = d0; i < d1; i++) dst[i] *= inv;
    }
  }
}

/**
 * Pooling as up to three 1-d passes (W, then H, then D): a box max is the max of per-axis maxes,
 * and both avg divisors are products of per-axis counts, so each pass divides by its own factor.
 * Identity passes (kernel 1, stride 1, no padding) are skipped.
 */
function pool(kind: 'max' | 'avg', x: Float32Array, xs: readonly number[], os: readonly number[], a: PoolAttrs, out: Float32Array): void {
  const d = xs.length - 2;
  const inp = lift(xs.slice(2), 1);
  const outp = lift(os.slice(2), 1);
  const dil = lift(a.dilation, 1);
  const tabs = tables(xs, os, a);
  const planes = xs[0]! * xs[1]!;
  const isMax = kind === 'max';
  let cur = x;
  // dims of the current buffer: [planes, D', H', W'] where already-pooled axes have output sizes
  const dims = inp.slice();
  const passes: number[] = [];
  for (const ax of [2, 1, 0]) {
    const k = lift(a.kernel, 1)[ax]!;
    const s = lift(a.stride, 1)[ax]!;
    const pb = lift(a.pads.slice(0, d), 0)[ax]!;
    if (k === 1 && s === 1 && pb === 0 && inp[ax] === outp[ax]) continue;
    passes.push(ax);
  }
  if (passes.length === 0) {
    out.set(x);
    return;
  }
  for (let pi = 0; pi < passes.length; pi++) {
    const ax = passes[pi]!;
    let outer = planes;
    for (let i = 0; i < ax; i++) outer *= dims[i]!;
    let inner = 1;
    for (let i = ax + 1; i < 3; i++) inner *= dims[i]!;
    const dst = pi === passes.length - 1 ? out : new Float32Array(outer * outp[ax]! * inner);
    const L = dims[ax]!;
    const OL = outp[ax]!;
    const t = tabs[ax]!;
    if (inner === 1) {
      if (isMax) passMaxRow(cur, dst, outer, L, OL, t, dil[ax]!);
      else passAvgRow(cur, dst, outer, L, OL, t, a.countIncludePad);
    } else if (isMax) passMax(cur, dst, outer, L, inner, OL, t, dil[ax]!);
    else passAvg(cur, dst, outer, L, inner, OL, t, a.countIncludePad);
    dims[ax] = outp[ax]!;
    cur = dst;
  }
}

export function registerPoolKernels(): void {
  for (const kind of ['max', 'avg'] as const) {
    cpuKernel<PoolAttrs>(`${kind}Pool`, (ins, attrs, outs, ctx) => {
      const o = alloc(outs[0]!) as Float32Array;
      if (o.length === 0) return [o];
      pool(kind, ins[0] as Float32Array, ctx.inputs[0]!.shape, outs[0]!.shape, attrs, o);
      return [o];
    });
  }
}
