import type { ConvAttrs } from '../../ops/conv';
import type { Shape } from '../../shape';
import { alloc, cpuKernel } from '../backend';
import { gemm } from './matmul';

/*
 * Convolution kernels. Every spatial rank is lifted to 3-d (1-d as [1, 1, W], 2-d as [1, H, W];
 * the dummy dims have kernel 1, stride 1, no padding), so one implementation serves 1d/2d/3d.
 *
 *  - one input channel per group (depthwise, UniFormer's 3×3×3 / 5×5×5 DWConv): a direct kernel;
 *    for every kernel tap the range of valid output rows/columns is computed once, so the inner
 *    loops run over the clipped rectangle with no per-element bounds checks; in the interior
 *    columns the 3 or 5 taps of a kernel row are fused (stride-1 rows);
 *  - 1×1(×1), stride 1, unpadded: a pure GEMM on the input;
 *  - everything else: im2col (per batch and group, in row tiles when large) + the blocked GEMM.
 *
 * convTranspose is GEMM (wᵀ·x per group) + col2im, accumulated in float64.
 */

/** Above this many floats an im2col / col buffer is built in tiles of output (input) rows. */
let COL_LIMIT = 1 << 21;

/** @internal Sets the im2col/col2im tile limit (in floats) and returns the previous one; for tests. */
export function setColTileLimit(floats: number): number {
  const prev = COL_LIMIT;
  COL_LIMIT = Math.max(1, Math.floor(floats));
  return prev;
}

/** Direct (no GEMM) path when each output channel reads one input channel and a group has at most this many outputs. */
const DIRECT_MAX_OUT_PER_GROUP = 4;

type Vec3 = [number, number, number];

interface Geo {
  /** input spatial dims [D, H, W] */
  inp: Vec3;
  /** kernel dims */
  k: Vec3;
  /** output spatial dims */
  out: Vec3;
  stride: Vec3;
  dil: Vec3;
  /** begin pads */
  pad: Vec3;
}

function lift(v: readonly number[], fill: number): Vec3 {
  const r = v.slice();
  while (r.length < 3) r.unshift(fill);
  return r as Vec3;
}

function geometry(x: Shape, w: Shape, o: Shape, a: ConvAttrs): Geo {
  const d = x.length - 2;
  return {
    inp: lift(x.slice(2), 1),
    k: lift(w.slice(2), 1),
    out: lift(o.slice(2), 1),
    stride: lift(a.stride, 1),
    dil: lift(a.dilation, 1),
    pad: lift(a.pads.slice(0, d), 0),
  };
}

const vol = (v: Vec3): number => v[0] * v[1] * v[2];

/**
 * A 1×1(×1) kernel, stride 1, no begin padding and as many output as input positions: the
 * convolution is a plain GEMM over the channels.
 */
function isPointwise(g: Geo): boolean {
  return vol(g.k) === 1 && g.stride.every((s) => s === 1) && g.pad.every((p) => p === 0) && g.out.every((o, i) => o === g.inp[i]);
}

/** Rows per im2col / col2im tile: as many rows of `rowFloats` floats as fit in COL_LIMIT, at least 1, at most `rows`. */
function tileRows(rows: number, rowFloats: number): number {
  return Math.max(1, Math.min(rows, Math.floor(COL_LIMIT / Math.max(1, rowFloats))));
}

interface Ranges {
  lo: Int32Array;
  hi: Int32Array;
}

/**
 * For each tap t < k (offset t·dil - pad) the output positions o with 0 <= o·stride + off < inp:
 * [lo[t], hi[t]) (empty when lo >= hi).
 */
function tapRanges(inp: number, out: number, k: number, stride: number, dil: number, pad: number): Ranges {
  const lo = new Int32Array(k);
  const hi = new Int32Array(k);
  for (let t = 0; t < k; t++) {
    const off = t * dil - pad;
    lo[t] = Math.min(out, Math.max(0, Math.ceil(-off / stride)));
    hi[t] = Math.max(lo[t]!, Math.min(out, Math.floor((inp - 1 - off) / stride) + 1));
  }
  return { lo, hi };
}

/** For transposed conv: input positions i with 0 <= i·stride + off < out, per tap. */
function tapRangesT(inp: number, out: number, k: number, stride: number, dil: number, pad: number): Ranges {
  return tapRanges(out, inp, k, stride, dil, pad);
}

/**
 * One kernel tap (kd, kh, kw) of the im2col / col2im walks: its offsets along D, H and W
 * (t·dil - pad), and the rows [hLo, hHi) and columns [wLo, wHi) of the strided grid (the output
 * of a convolution, the input of a transposed one) for which it lands inside the other grid.
 */
interface Tap {
  offD: number;
  offH: number;
  offW: number;
  hLo: number;
  hHi: number;
  wLo: number;
  wHi: number;
}

/**
 * Every tap in weight order (kd, kh, kw), kw fastest. The H / W ranges are over output positions
 * (tapRanges) or, for a transposed convolution, over input positions (tapRangesT).
 */
function tapList(g: Geo, transposed: boolean): Tap[] {
  const { k: [KD, KH, KW], dil: [dd, dh, dw], pad: [pd, ph, pw] } = g;
  const ranges = transposed ? tapRangesT : tapRanges;
  const rh = ranges(g.inp[1], g.out[1], KH, g.stride[1], dh, ph);
  const rw = ranges(g.inp[2], g.out[2], KW, g.stride[2], dw, pw);
  const taps: Tap[] = [];
  for (let kd = 0; kd < KD; kd++) {
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++) {
        taps.push({ offD: kd * dd - pd, offH: kh * dh - ph, offW: kw * dw - pw, hLo: rh.lo[kh]!, hHi: rh.hi[kh]!, wLo: rw.lo[kw]!, wHi: rw.hi[kw]! });
      }
    }
  }
  return taps;
}

// ---------------------------------------------------------------------------------------------
// direct kernel: one input channel per group

/** acc[oh·OW + ow] += wv · x[xp + oh·rowStep + ow·sw] over the clipped rectangle. */
function addTap(
  acc: Float64Array,
  x: Float32Array,
  wv: number,
  xp: number,
  rowStep: number,
  OW: number,
  ohLo: number,
  ohHi: number,
  owLo: number,
  owHi: number,
  sw: number,
): void {
  if (owLo >= owHi) return;
  if (sw === 1) {
    for (let oh = ohLo; oh < ohHi; oh++) {
      const xr = xp + oh * rowStep;
      const ar = oh * OW;
      for (let ow = owLo; ow < owHi; ow++) acc[ar + ow] += wv * x[xr + ow]!;
    }
  } else {
    for (let oh = ohLo; oh < ohHi; oh++) {
      const ar = oh * OW;
      for (let ow = owLo, xi = xp + oh * rowStep + owLo * sw; ow < owHi; ow++, xi += sw) acc[ar + ow] += wv * x[xi]!;
    }
  }
}

function convDirect(x: Float32Array, w: Float32Array, bias: Float32Array | null, o: Float32Array, N: number, C: number, O: number, g: Geo): void {
  const { inp: [D, H, W], k: [KD, KH, KW], out: [OD, OH, OW], stride: [sd, sh, sw], dil: [dd, dh, dw], pad: [pd, ph, pw] } = g;
  const perGroup = O / C;
  const HW = H * W;
  const plane = OH * OW;
  const kvol = KD * KH * KW;
  const rh = tapRanges(H, OH, KH, sh, dh, ph);
  const rw = tapRanges(W, OW, KW, sw, dw, pw);
  // columns where every kw tap is inside the input: there the taps of a row are fused so the
  // accumulator is touched once per output (stride-1 rows with 3 or 5 taps: UniFormer's DWConv)
  let iLo = 0;
  let iHi = OW;
  for (let t = 0; t < KW; t++) {
    iLo = Math.max(iLo, rw.lo[t]!);
    iHi = Math.min(iHi, rw.hi[t]!);
  }
  const fuse = sw === 1 && (KW === 3 || KW === 5) && iLo < iHi;
  if (!fuse) iLo = iHi = OW; // every tap handled by addTap over its whole range
  const rowStep = sh * W;
  const acc = new Float64Array(plane);
  for (let n = 0; n < N; n++) {
    for (let oc = 0; oc < O; oc++) {
      const xBase = (n * C + Math.floor(oc / perGroup)) * D * HW;
      const wBase = oc * kvol;
      const oBase = (n * O + oc) * OD * plane;
      const b0 = bias ? bias[oc]! : 0;
      for (let od = 0; od < OD; od++) {
        acc.fill(b0);
        for (let kd = 0; kd < KD; kd++) {
          const id = od * sd - pd + kd * dd;
          if (id < 0 || id >= D) continue;
          const xPlane = xBase + id * HW;
          for (let kh = 0; kh < KH; kh++) {
            const ohLo = rh.lo[kh]!;
            const ohHi = rh.hi[kh]!;
            if (ohLo >= ohHi) continue;
            const wRow = wBase + (kd * KH + kh) * KW;
            const xp = xPlane + (kh * dh - ph) * W - pw;
            // per-tap edges (or every tap when not fused)
            for (let kw = 0; kw < KW; kw++) {
              const lo = rw.lo[kw]!;
              const hi = rw.hi[kw]!;
              const wv = w[wRow + kw]!;
              const xpk = xp + kw * dw;
              addTap(acc, x, wv, xpk, rowStep, OW, ohLo, ohHi, lo, Math.min(hi, iLo), sw);
              addTap(acc, x, wv, xpk, rowStep, OW, ohLo, ohHi, Math.max(lo, iHi), hi, sw);
            }
            if (!fuse) continue;
            if (KW === 3) {
              const w0 = w[wRow]!;
              const w1 = w[wRow + 1]!;
              const w2 = w[wRow + 2]!;
              const d1 = dw;
              const d2 = 2 * dw;
              for (let oh = ohLo; oh < ohHi; oh++) {
                const xr = xp + oh * rowStep;
                const ar = oh * OW;
                if (dw === 1) {
                  let xi = xr + iLo;
                  let x0 = x[xi]!, x1 = x[xi + 1]!;
                  xi += 2;
                  for (let ow = iLo; ow < iHi; ow++, xi++) {
                    const x2 = x[xi]!;
                    acc[ar + ow] += w0 * x0 + w1 * x1 + w2 * x2;
                    x0 = x1;
                    x1 = x2;
                  }
                } else {
                  for (let ow = iLo; ow < iHi; ow++) {
                    const xi = xr + ow;
                    acc[ar + ow] += w0 * x[xi]! + w1 * x[xi + d1]! + w2 * x[xi + d2]!;
                  }
                }
              }
            } else {
              const w0 = w[wRow]!;
              const w1 = w[wRow + 1]!;
              const w2 = w[wRow + 2]!;
              const w3 = w[wRow + 3]!;
              const w4 = w[wRow + 4]!;
              const d1 = dw;
              const d2 = 2 * dw;
              const d3 = 3 * dw;
              const d4 = 4 * dw;
              for (let oh = ohLo; oh < ohHi; oh++) {
                const xr = xp + oh * rowStep;
                const ar = oh * OW;
                if (dw === 1) {
                  // sliding window: one new input load per output
                  let xi = xr + iLo;
                  let x0 = x[xi]!, x1 = x[xi + 1]!, x2 = x[xi + 2]!, x3 = x[xi + 3]!;
                  xi += 4;
                  for (let ow = iLo; ow < iHi; ow++, xi++) {
                    const x4 = x[xi]!;
                    acc[ar + ow] += w0 * x0 + w1 * x1 + w2 * x2 + w3 * x3 + w4 * x4;
                    x0 = x1;
                    x1 = x2;
                    x2 = x3;
                    x3 = x4;
                  }
                } else {
                  for (let ow = iLo; ow < iHi; ow++) {
                    const xi = xr + ow;
                    acc[ar + ow] += w0 * x[xi]! + w1 * x[xi + d1]! + w2 * x[xi + d2]! + w3 * x[xi + d3]! + w4 * x[xi + d4]!;
                  }
                }
              }
            }
          }
        }
        o.set(acc, oBase + od * plane);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// im2col + GEMM

/**
 * Fills col [Cg·kvol, (r1 - r0)·OW] for output rows r0..r1 (a row = one (od, oh) pair) of the
 * input channels starting at element xBase.
 */
function im2col(x: Float32Array, xBase: number, Cg: number, g: Geo, taps: readonly Tap[], r0: number, r1: number, col: Float32Array): void {
  const { inp: [D, H, W], out: [, OH, OW], stride: [sd, sh, sw] } = g;
  const HW = H * W;
  const Pt = (r1 - r0) * OW;
  let dst = 0;
  for (let c = 0; c < Cg; c++) {
    const xc = xBase + c * D * HW;
    for (let t = 0; t < taps.length; t++, dst += Pt) {
      const { offD, offH, offW, hLo: ohLo, hHi: ohHi, wLo: owLo, wHi: owHi } = taps[t]!;
      for (let r = r0, q = dst; r < r1; r++, q += OW) {
        const od = Math.floor(r / OH);
        const oh = r - od * OH;
        const id = od * sd + offD;
        if (id < 0 || id >= D || oh < ohLo || oh >= ohHi || owLo >= owHi) {
          col.fill(0, q, q + OW);
          continue;
        }
        if (owLo > 0) col.fill(0, q, q + owLo);
        const xr = xc + id * HW + (oh * sh + offH) * W + offW;
        if (sw === 1) {
          for (let ow = owLo; ow < owHi; ow++) col[q + ow] = x[xr + ow]!;
        } else {
          for (let ow = owLo, xi = xr + owLo * sw; ow < owHi; ow++, xi += sw) col[q + ow] = x[xi]!;
        }
        if (owHi < OW) col.fill(0, q + owHi, q + OW);
      }
    }
  }
}

/**
 * The inverse walk of im2col for transposed convolution: adds col [Og·kvol, (r1 - r0)·W] (input
 * rows r0..r1, a row = one (id, ih) pair) into acc [Og, OD·OH·OW].
 */
function col2im(col: Float32Array, Og: number, g: Geo, taps: readonly Tap[], r0: number, r1: number, acc: Float64Array): void {
  const { inp: [, H, W], out: [OD, OH, OW], stride: [sd, sh, sw] } = g;
  const OHW = OH * OW;
  const P = OD * OHW;
  const Pt = (r1 - r0) * W;
  let src = 0;
  for (let oc = 0; oc < Og; oc++) {
    const aBase = oc * P;
    for (let t = 0; t < taps.length; t++, src += Pt) {
      const { offD, offH, offW, hLo: ihLo, hHi: ihHi, wLo: iwLo, wHi: iwHi } = taps[t]!;
      if (iwLo >= iwHi || ihLo >= ihHi) continue;
      for (let r = r0, q = src; r < r1; r++, q += W) {
        const id = Math.floor(r / H);
        const ih = r - id * H;
        const od = id * sd + offD;
        if (od < 0 || od >= OD || ih < ihLo || ih >= ihHi) continue;
        const ar = aBase + od * OHW + (ih * sh + offH) * OW + offW;
        if (sw === 1) {
          for (let iw = iwLo; iw < iwHi; iw++) acc[ar + iw] += col[q + iw]!;
        } else {
          for (let iw = iwLo, ai = ar + iwLo * sw; iw < iwHi; iw++, ai += sw) acc[ai] += col[q + iw]!;
        }
      }
    }
  }
}

function fillBias(o: Float32Array, bias: Float32Array | null, N: number, O: number, P: number): void {
  if (!bias) return;
  for (let n = 0; n < N; n++) for (let c = 0; c < O; c++) o.fill(bias[c]!, (n * O + c) * P, (n * O + c + 1) * P);
}

function convGemm(x: Float32Array, w: Float32Array, bias: Float32Array | null, o: Float32Array, N: number, C: number, O: number, groups: number, g: Geo): void {
  const Cg = C / groups;
  const Og = O / groups;
  const S = vol(g.inp);
  const [OD, OH, OW] = g.out;
  const P = OD * OH * OW;
  const Kc = Cg * vol(g.k);
  fillBias(o, bias, N, O, P);
  if (isPointwise(g)) {
    for (let n = 0; n < N; n++) {
      for (let gi = 0; gi < groups; gi++) {
        // out [Og, P] += w [Og, Cg] · x [Cg, P]
        gemm(Og, P, Cg, w, gi * Og * Cg, Cg, 1, x, (n * C + gi * Cg) * S, S, 1, o, (n * O + gi * Og) * P, P, true);
      }
    }
    return;
  }
  const rows = OD * OH;
  const rowsPerTile = tileRows(rows, Kc * OW);
  const col = new Float32Array(Kc * rowsPerTile * OW);
  const taps = tapList(g, false);
  for (let n = 0; n < N; n++) {
    for (let gi = 0; gi < groups; gi++) {
      const xBase = (n * C + gi * Cg) * S;
      const oBase = (n * O + gi * Og) * P;
      for (let r0 = 0; r0 < rows; r0 += rowsPerTile) {
        const r1 = Math.min(rows, r0 + rowsPerTile);
        const Pt = (r1 - r0) * OW;
        im2col(x, xBase, Cg, g, taps, r0, r1, col);
        // out[:, r0·OW .. r1·OW] += w_g [Og, Kc] · col [Kc, Pt]
        gemm(Og, Pt, Kc, w, gi * Og * Kc, Kc, 1, col, 0, Pt, 1, o, oBase + r0 * OW, P, true);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// transposed convolution: col = w_gᵀ · x_g (GEMM), then col2im

function convTransposeGemm(
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | null,
  o: Float32Array,
  N: number,
  C: number,
  O: number,
  groups: number,
  g: Geo,
): void {
  const Cg = C / groups;
  const Og = O / groups;
  const [D, H, W] = g.inp;
  const S = D * H * W;
  const P = vol(g.out);
  const Mrows = Og * vol(g.k);
  const wGroup = Cg * Mrows;
  if (isPointwise(g)) {
    fillBias(o, bias, N, O, P);
    for (let n = 0; n < N; n++) {
      for (let gi = 0; gi < groups; gi++) {
        // out [Og, P] += w_gᵀ [Og, Cg] · x [Cg, P], w_g [Cg, Og]
        gemm(Og, P, Cg, w, gi * wGroup, 1, Og, x, (n * C + gi * Cg) * S, S, 1, o, (n * O + gi * Og) * P, P, true);
      }
    }
    return;
  }
  const rows = D * H;
  const rowsPerTile = tileRows(rows, Mrows * W);
  const col = new Float32Array(Mrows * rowsPerTile * W);
  const acc = new Float64Array(Og * P);
  const taps = tapList(g, true);
  for (let n = 0; n < N; n++) {
    for (let gi = 0; gi < groups; gi++) {
      if (bias) for (let oc = 0; oc < Og; oc++) acc.fill(bias[gi * Og + oc]!, oc * P, (oc + 1) * P);
      else acc.fill(0);
      for (let r0 = 0; r0 < rows; r0 += rowsPerTile) {
        const r1 = Math.min(rows, r0 + rowsPerTile);
        const Pt = (r1 - r0) * W;
        // col [Og·kvol, Pt] = w_gᵀ · x_g[:, r0·W .. r1·W]; w_g [Cg, Og·kvol] read transposed
        gemm(Mrows, Pt, Cg, w, gi * wGroup, 1, Mrows, x, (n * C + gi * Cg) * S + r0 * W, S, 1, col, 0, Pt, false);
        col2im(col, Og, g, taps, r0, r1, acc);
      }
      o.set(acc, (n * O + gi * Og) * P);
    }
  }
}

type ConvRun = (x: Float32Array, w: Float32Array, bias: Float32Array | null, o: Float32Array, N: number, C: number, O: number, groups: number, g: Geo) => void;

/** Registers a convolution-family kernel: `run` gets the operands, the allocated output (not called when it is empty), N, C, O and the 3-d geometry. */
function convKernel(op: 'conv' | 'convTranspose', run: ConvRun): void {
  cpuKernel<ConvAttrs>(op, (ins, attrs, outs, ctx) => {
    const o = alloc(outs[0]!) as Float32Array;
    if (o.length === 0) return [o];
    const xs = ctx.inputs[0]!.shape;
    const os = outs[0]!.shape;
    const g = geometry(xs, ctx.inputs[1]!.shape, os, attrs);
    run(ins[0] as Float32Array, ins[1] as Float32Array, ins[2] as Float32Array | null, o, xs[0]!, xs[1]!, os[1]!, attrs.groups, g);
    return [o];
  });
}

export function registerConvKernels(): void {
  convKernel('conv', (x, w, bias, o, N, C, O, groups, g) => {
    if (C / groups === 1 && O / groups <= DIRECT_MAX_OUT_PER_GROUP) convDirect(x, w, bias, o, N, C, O, g);
    else convGemm(x, w, bias, o, N, C, O, groups, g);
  });
  // the outputPadding of ConvTransposeAttrs is already in the output shape, hence in g.out
  convKernel('convTranspose', convTransposeGemm);
}
