import type { PoolAttrs } from '../../ops/conv';
import { alloc, cpuKernel } from '../backend';

/*
 * avgPool / maxPool, 1d/2d/3d (lifted to 3-d with unit dummy dims), PyTorch semantics.
 *
 * Per spatial dim and output position the window is clipped once up front (tables of the first
 * and last valid tap), so the inner loops run over valid input only:
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

export function registerPoolKernels(): void {
  cpuKernel<PoolAttrs>('maxPool', (ins, attrs, outs, ctx) => {
    const x = ins[0] as Float32Array;
    const xs = ctx.inputs[0]!.shape;
    const os = outs[0]!.shape;
    const o = alloc(outs[0]!) as Float32Array;
    if (o.length === 0) return [o];
    const [tD, tH, tW] = tables(xs, os, attrs) as [DimTable, DimTable, DimTable];
    const [, H, W] = lift(xs.slice(2), 1) as [number, number, number];
    const [OD, OH, OW] = lift(os.slice(2), 1) as [number, number, number];
    const [dd, dh, dw] = lift(attrs.dilation, 1) as [number, number, number];
    const inPlane = lift(xs.slice(2), 1).reduce((p, v) => p * v, 1);
    const planes = xs[0]! * xs[1]!;
    let q = 0;
    for (let pl = 0; pl < planes; pl++) {
      const xb = pl * inPlane;
      for (let od = 0; od < OD; od++) {
        const sD = tD.start[od]!;
        const dLo = tD.tLo[od]!;
        const dHi = tD.tHi[od]!;
        for (let oh = 0; oh < OH; oh++) {
          const sH = tH.start[oh]!;
          const hLo = tH.tLo[oh]!;
          const hHi = tH.tHi[oh]!;
          for (let ow = 0; ow < OW; ow++, q++) {
            const sW = tW.start[ow]!;
            const wLo = tW.tLo[ow]!;
            const wHi = tW.tHi[ow]!;
            let m = -Infinity;
            for (let a = dLo; a < dHi; a++) {
              const pd = xb + (sD + a * dd) * H * W;
              for (let b = hLo; b < hHi; b++) {
                const r = pd + (sH + b * dh) * W + sW;
                for (let c = wLo; c < wHi; c++) {
                  const v = x[r + c * dw]!;
                  if (v > m || v !== v) m = v;
                }
              }
            }
            o[q] = m;
          }
        }
      }
    }
    return [o];
  });

  cpuKernel<PoolAttrs>('avgPool', (ins, attrs, outs, ctx) => {
    const x = ins[0] as Float32Array;
    const xs = ctx.inputs[0]!.shape;
    const os = outs[0]!.shape;
    const o = alloc(outs[0]!) as Float32Array;
    if (o.length === 0) return [o];
    const [tD, tH, tW] = tables(xs, os, attrs) as [DimTable, DimTable, DimTable];
    const [, H, W] = lift(xs.slice(2), 1) as [number, number, number];
    const [OD, OH, OW] = lift(os.slice(2), 1) as [number, number, number];
    const inPlane = lift(xs.slice(2), 1).reduce((p, v) => p * v, 1);
    const planes = xs[0]! * xs[1]!;
    const incl = attrs.countIncludePad;
    let q = 0;
    for (let pl = 0; pl < planes; pl++) {
      const xb = pl * inPlane;
      for (let od = 0; od < OD; od++) {
        const sD = tD.start[od]!;
        const dLo = tD.tLo[od]!;
        const dHi = tD.tHi[od]!;
        const cD = incl ? tD.padCount[od]! : dHi - dLo;
        for (let oh = 0; oh < OH; oh++) {
          const sH = tH.start[oh]!;
          const hLo = tH.tLo[oh]!;
          const hHi = tH.tHi[oh]!;
          const cDH = cD * (incl ? tH.padCount[oh]! : hHi - hLo);
          for (let ow = 0; ow < OW; ow++, q++) {
            const sW = tW.start[ow]!;
            const wLo = tW.tLo[ow]!;
            const wHi = tW.tHi[ow]!;
            const cnt = cDH * (incl ? tW.padCount[ow]! : wHi - wLo);
            let s = 0;
            for (let a = dLo; a < dHi; a++) {
              const pd = xb + (sD + a) * H * W;
              for (let b = hLo; b < hHi; b++) {
                const r = pd + (sH + b) * W + sW;
                for (let c = wLo; c < wHi; c++) s += x[r + c]!;
              }
            }
            o[q] = cnt > 0 ? s / cnt : 0;
          }
        }
      }
    }
    return [o];
  });
}
