/**
 * CPU kernels for resampling ops: `interpolate` (torch F.interpolate nearest / linear /
 * bicubic) and `gridSample` (torch F.grid_sample, 4-D).
 *
 * Coordinates are mapped exactly as ATen's CPU kernels (UpSample.h, UpSampleKernel.cpp,
 * GridSampler.h) do it for float32, including float32 rounding of the source coordinates, so
 * index decisions (floor, round-half-even, bounds) agree with PyTorch; the weighted sums are
 * accumulated in float64 and rounded once when stored.
 */
import type { GridSampleAttrs, InterpolateAttrs } from '../../ops/vision';
import { alloc, cpuKernel } from '../backend';

const f32 = Math.fround;

// ---------------------------------------------------------------------------------------------
// interpolate: per-axis source index / weight tables

/**
 * torch area_pixel_compute_scale (float32 opmath): with alignCorners the given scale is
 * ignored and (in-1)/(out-1) is used (0 when out == 1); otherwise the descriptor's `scales`
 * (1/scaleFactor, or in/out) rounded to float32.
 */
function pixelScale(inSize: number, outSize: number, alignCorners: boolean, scale: number): number {
  if (alignCorners) return outSize > 1 ? f32((inSize - 1) / (outSize - 1)) : 0;
  return f32(scale);
}

/** torch nearest_idx: identity when out == in, dst >> 1 when out == 2·in, else min(floor(dst·scale), in-1). */
function nearestTable(inSize: number, outSize: number, scale: number): Int32Array {
  const idx = new Int32Array(outSize);
  const s = f32(scale);
  for (let o = 0; o < outSize; o++) {
    if (outSize === inSize) idx[o] = o;
    else if (outSize === 2 * inSize) idx[o] = o >> 1;
    else idx[o] = Math.min(Math.floor(f32(o * s)), inSize - 1);
  }
  return idx;
}

interface LinearTable {
  i0: Int32Array;
  i1: Int32Array;
  w0: Float64Array;
  w1: Float64Array;
}

/** torch compute_source_index_and_lambda (linear, not cubic). */
function linearTable(inSize: number, outSize: number, alignCorners: boolean, scale: number): LinearTable {
  const t: LinearTable = { i0: new Int32Array(outSize), i1: new Int32Array(outSize), w0: new Float64Array(outSize), w1: new Float64Array(outSize) };
  const s = pixelScale(inSize, outSize, alignCorners, scale);
  for (let o = 0; o < outSize; o++) {
    if (outSize === inSize) {
      t.i0[o] = o;
      t.i1[o] = o;
      t.w0[o] = 1;
      t.w1[o] = 0;
      continue;
    }
    let src: number;
    if (alignCorners) src = f32(s * o);
    else {
      src = f32(s * (o + 0.5) - 0.5);
      if (src < 0) src = 0;
    }
    const i0 = Math.min(Math.trunc(src), inSize - 1);
    const l1 = Math.min(Math.max(f32(src - i0), 0), 1);
    t.i0[o] = i0;
    t.i1[o] = i0 < inSize - 1 ? i0 + 1 : i0;
    t.w1[o] = l1;
    t.w0[o] = f32(1 - l1);
  }
  return t;
}

const A = -0.75;
const cubic1 = (x: number) => ((A + 2) * x - (A + 3)) * x * x + 1; // |x| <= 1
const cubic2 = (x: number) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A; // 1 < |x| < 2

/** torch bicubic source taps (input_index - 1 .. + 2, clamped) and Keys weights (A = -0.75): 4 per output. */
function cubicTable(inSize: number, outSize: number, alignCorners: boolean, scale: number): { idx: Int32Array; w: Float64Array } {
  const idx = new Int32Array(4 * outSize);
  const w = new Float64Array(4 * outSize);
  const s = pixelScale(inSize, outSize, alignCorners, scale);
  for (let o = 0; o < outSize; o++) {
    // cubic: the half-pixel source index is not clamped at 0
    const src = alignCorners ? f32(s * o) : f32(s * (o + 0.5) - 0.5);
    // guard_index_and_lambda
    const i = Math.min(Math.floor(src), inSize - 1);
    const t = Math.min(Math.max(f32(src - i), 0), 1);
    w[4 * o] = cubic2(t + 1);
    w[4 * o + 1] = cubic1(t);
    w[4 * o + 2] = cubic1(1 - t);
    w[4 * o + 3] = cubic2(2 - t);
    for (let k = 0; k < 4; k++) idx[4 * o + k] = Math.max(Math.min(i - 1 + k, inSize - 1), 0);
  }
  return { idx, w };
}

function interpolateNearest(x: Float32Array, o: Float32Array, planes: number, inSp: readonly number[], a: InterpolateAttrs): void {
  const d = inSp.length;
  const outSp = a.size;
  // pad to 3 spatial dims (leading 1s) so one loop handles 1-3 dims
  const iD = d === 3 ? inSp[0]! : 1;
  const iH = d >= 2 ? inSp[d - 2]! : 1;
  const iW = inSp[d - 1]!;
  const oD = d === 3 ? outSp[0]! : 1;
  const oH = d >= 2 ? outSp[d - 2]! : 1;
  const oW = outSp[d - 1]!;
  const tD = d === 3 ? nearestTable(iD, oD, a.scales[0]!) : Int32Array.of(0);
  const tH = d >= 2 ? nearestTable(iH, oH, a.scales[d - 2]!) : Int32Array.of(0);
  const tW = nearestTable(iW, oW, a.scales[d - 1]!);
  const inPlane = iD * iH * iW;
  let q = 0;
  for (let p = 0; p < planes; p++) {
    const base = p * inPlane;
    for (let z = 0; z < oD; z++) {
      const bz = base + tD[z]! * iH * iW;
      for (let y = 0; y < oH; y++) {
        const by = bz + tH[y]! * iW;
        for (let xo = 0; xo < oW; xo++) o[q++] = x[by + tW[xo]!]!;
      }
    }
  }
}

function interpolateLinear(x: Float32Array, o: Float32Array, planes: number, inSp: readonly number[], a: InterpolateAttrs): void {
  const d = inSp.length;
  const outSp = a.size;
  const tabs = inSp.map((n, i) => linearTable(n, outSp[i]!, a.alignCorners, a.scales[i]!));
  const inPlane = inSp.reduce((m, v) => m * v, 1);
  let q = 0;
  if (d === 1) {
    const { i0, i1, w0, w1 } = tabs[0]!;
    const oW = outSp[0]!;
    for (let p = 0; p < planes; p++) {
      const b = p * inPlane;
      for (let xo = 0; xo < oW; xo++) o[q++] = w0[xo]! * x[b + i0[xo]!]! + w1[xo]! * x[b + i1[xo]!]!;
    }
  } else if (d === 2) {
    const th = tabs[0]!;
    const tw = tabs[1]!;
    const iW = inSp[1]!;
    const [oH, oW] = [outSp[0]!, outSp[1]!];
    for (let p = 0; p < planes; p++) {
      const b = p * inPlane;
      for (let y = 0; y < oH; y++) {
        const r0 = b + th.i0[y]! * iW;
        const r1 = b + th.i1[y]! * iW;
        const wy0 = th.w0[y]!;
        const wy1 = th.w1[y]!;
        for (let xo = 0; xo < oW; xo++) {
          const c0 = tw.i0[xo]!;
          const c1 = tw.i1[xo]!;
          const wx0 = tw.w0[xo]!;
          const wx1 = tw.w1[xo]!;
          o[q++] = wy0 * (wx0 * x[r0 + c0]! + wx1 * x[r0 + c1]!) + wy1 * (wx0 * x[r1 + c0]! + wx1 * x[r1 + c1]!);
        }
      }
    }
  } else {
    const [td, th, tw] = [tabs[0]!, tabs[1]!, tabs[2]!];
    const [iH, iW] = [inSp[1]!, inSp[2]!];
    const [oD, oH, oW] = [outSp[0]!, outSp[1]!, outSp[2]!];
    for (let p = 0; p < planes; p++) {
      const b = p * inPlane;
      for (let z = 0; z < oD; z++) {
        const s0 = b + td.i0[z]! * iH * iW;
        const s1 = b + td.i1[z]! * iH * iW;
        const wz0 = td.w0[z]!;
        const wz1 = td.w1[z]!;
        for (let y = 0; y < oH; y++) {
          const y0 = th.i0[y]! * iW;
          const y1 = th.i1[y]! * iW;
          const wy0 = th.w0[y]!;
          const wy1 = th.w1[y]!;
          for (let xo = 0; xo < oW; xo++) {
            const c0 = tw.i0[xo]!;
            const c1 = tw.i1[xo]!;
            const wx0 = tw.w0[xo]!;
            const wx1 = tw.w1[xo]!;
            const v0 = wy0 * (wx0 * x[s0 + y0 + c0]! + wx1 * x[s0 + y0 + c1]!) + wy1 * (wx0 * x[s0 + y1 + c0]! + wx1 * x[s0 + y1 + c1]!);
            const v1 = wy0 * (wx0 * x[s1 + y0 + c0]! + wx1 * x[s1 + y0 + c1]!) + wy1 * (wx0 * x[s1 + y1 + c0]! + wx1 * x[s1 + y1 + c1]!);
            o[q++] = wz0 * v0 + wz1 * v1;
          }
        }
      }
    }
  }
}

function interpolateBicubic(x: Float32Array, o: Float32Array, planes: number, inSp: readonly number[], a: InterpolateAttrs): void {
  const [iH, iW] = [inSp[0]!, inSp[1]!];
  const [oH, oW] = [a.size[0]!, a.size[1]!];
  const th = cubicTable(iH, oH, a.alignCorners, a.scales[0]!);
  const tw = cubicTable(iW, oW, a.alignCorners, a.scales[1]!);
  const inPlane = iH * iW;
  let q = 0;
  for (let p = 0; p < planes; p++) {
    const b = p * inPlane;
    for (let y = 0; y < oH; y++) {
      const r0 = b + th.idx[4 * y]! * iW;
      const r1 = b + th.idx[4 * y + 1]! * iW;
      const r2 = b + th.idx[4 * y + 2]! * iW;
      const r3 = b + th.idx[4 * y + 3]! * iW;
      const wy0 = th.w[4 * y]!;
      const wy1 = th.w[4 * y + 1]!;
      const wy2 = th.w[4 * y + 2]!;
      const wy3 = th.w[4 * y + 3]!;
      for (let xo = 0; xo < oW; xo++) {
        const j = 4 * xo;
        const c0 = tw.idx[j]!;
        const c1 = tw.idx[j + 1]!;
        const c2 = tw.idx[j + 2]!;
        const c3 = tw.idx[j + 3]!;
        const wx0 = tw.w[j]!;
        const wx1 = tw.w[j + 1]!;
        const wx2 = tw.w[j + 2]!;
        const wx3 = tw.w[j + 3]!;
        o[q++] =
          wy0 * (wx0 * x[r0 + c0]! + wx1 * x[r0 + c1]! + wx2 * x[r0 + c2]! + wx3 * x[r0 + c3]!) +
          wy1 * (wx0 * x[r1 + c0]! + wx1 * x[r1 + c1]! + wx2 * x[r1 + c2]! + wx3 * x[r1 + c3]!) +
          wy2 * (wx0 * x[r2 + c0]! + wx1 * x[r2 + c1]! + wx2 * x[r2 + c2]! + wx3 * x[r2 + c3]!) +
          wy3 * (wx0 * x[r3 + c0]! + wx1 * x[r3 + c1]! + wx2 * x[r3 + c2]! + wx3 * x[r3 + c3]!);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// gridSample

/** torch reflect_coordinates (float32): reflects `v` into [twiceLow/2, twiceHigh/2]. */
function reflect(v: number, twiceLow: number, twiceHigh: number): number {
  if (twiceLow === twiceHigh) return 0;
  const min = twiceLow / 2;
  const span = (twiceHigh - twiceLow) / 2;
  const a = Math.abs(f32(v - min));
  const extra = f32(a % span);
  const flips = Math.floor(f32(a / span));
  return flips % 2 === 0 ? f32(extra + min) : f32(f32(span - extra) + min);
}

/** torch grid_sampler_compute_source_index (float32): unnormalise, then border / reflection padding. */
function sourceIndex(g: number, size: number, padding: GridSampleAttrs['paddingMode'], alignCorners: boolean): number {
  // ((g + 1) / 2) * (size - 1)  |  ((g + 1) * size - 1) / 2, as ATen's CPU kernel: (g + 1) * (size[-1]) / 2 [- 0.5]
  let c = alignCorners ? f32(f32(g + 1) * ((size - 1) / 2)) : f32(f32(f32(g + 1) * (size / 2)) - 0.5);
  if (padding === 'border') {
    c = Math.min(size - 1, Math.max(c, 0));
  } else if (padding === 'reflection') {
    c = alignCorners ? reflect(c, 0, 2 * (size - 1)) : reflect(c, -1, 2 * size - 1);
    c = Math.min(size - 1, Math.max(c, 0));
  }
  return c;
}

function gridSampleKernel(x: Float32Array, grid: Float32Array, o: Float32Array, shape: readonly number[], gShape: readonly number[], a: GridSampleAttrs): void {
  const [N, C, H, W] = [shape[0]!, shape[1]!, shape[2]!, shape[3]!];
  const [Ho, Wo] = [gShape[1]!, gShape[2]!];
  const P = Ho * Wo;
  const plane = H * W;
  // per output location: 4 flat input offsets (-1 = outside) and 4 weights, shared by all channels
  const off = new Int32Array(4 * P);
  const wt = new Float64Array(4 * P);
  const bilinear = a.mode === 'bilinear';
  for (let n = 0; n < N; n++) {
    for (let p = 0; p < P; p++) {
      const gx = grid[2 * (n * P + p)]!;
      const gy = grid[2 * (n * P + p) + 1]!;
      const ix = sourceIndex(gx, W, a.paddingMode, a.alignCorners);
      const iy = sourceIndex(gy, H, a.paddingMode, a.alignCorners);
      const k = 4 * p;
      if (bilinear) {
        const x0 = Math.floor(ix);
        const y0 = Math.floor(iy);
        const fx = ix - x0;
        const fy = iy - y0;
        const inX0 = x0 >= 0 && x0 < W;
        const inX1 = x0 + 1 >= 0 && x0 + 1 < W;
        const inY0 = y0 >= 0 && y0 < H;
        const inY1 = y0 + 1 >= 0 && y0 + 1 < H;
        off[k] = inY0 && inX0 ? y0 * W + x0 : -1;
        off[k + 1] = inY0 && inX1 ? y0 * W + x0 + 1 : -1;
        off[k + 2] = inY1 && inX0 ? (y0 + 1) * W + x0 : -1;
        off[k + 3] = inY1 && inX1 ? (y0 + 1) * W + x0 + 1 : -1;
        wt[k] = (1 - fx) * (1 - fy);
        wt[k + 1] = fx * (1 - fy);
        wt[k + 2] = (1 - fx) * fy;
        wt[k + 3] = fx * fy;
      } else {
        // nearbyint: round half to even (NaN fails the bounds test)
        const rx = roundHalfEven(ix);
        const ry = roundHalfEven(iy);
        off[k] = rx >= 0 && rx < W && ry >= 0 && ry < H ? ry * W + rx : -1;
        off[k + 1] = off[k + 2] = off[k + 3] = -1;
        wt[k] = 1;
        wt[k + 1] = wt[k + 2] = wt[k + 3] = 0;
      }
    }
    for (let c = 0; c < C; c++) {
      const b = (n * C + c) * plane;
      const ob = (n * C + c) * P;
      for (let p = 0; p < P; p++) {
        const k = 4 * p;
        let s = 0;
        for (let j = 0; j < 4; j++) {
          const f = off[k + j]!;
          if (f >= 0) s += wt[k + j]! * x[b + f]!;
        }
        o[ob + p] = s;
      }
    }
  }
}

function roundHalfEven(v: number): number {
  const r = Math.round(v); // rounds .5 up
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function registerResampleKernels(): void {
  cpuKernel<InterpolateAttrs>('interpolate', (ins, a, outs, ctx) => {
    const shape = ctx.inputs[0]!.shape;
    const x = ins[0] as Float32Array;
    const o = alloc(outs[0]!) as Float32Array;
    const planes = shape[0]! * shape[1]!;
    const inSp = shape.slice(2);
    if (o.length === 0 || x.length === 0) return [o];
    if (a.mode === 'nearest') interpolateNearest(x, o, planes, inSp, a);
    else if (a.mode === 'linear') interpolateLinear(x, o, planes, inSp, a);
    else interpolateBicubic(x, o, planes, inSp, a);
    return [o];
  });

  cpuKernel<GridSampleAttrs>('gridSample', (ins, a, outs, ctx) => {
    const o = alloc(outs[0]!) as Float32Array;
    if (o.length === 0) return [o];
    gridSampleKernel(ins[0] as Float32Array, ins[1] as Float32Array, o, ctx.inputs[0]!.shape, ctx.inputs[1]!.shape, a);
    return [o];
  });
}
