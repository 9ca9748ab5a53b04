/**
 * Direct PyTorch/torchvision-semantics references (double precision), written from the PyTorch
 * sources' rules and independent of src/cpu. They are NOT the source of expected values: the
 * generator uses them only to decide whether onnxruntime's result agrees with PyTorch semantics
 * for a configuration; configurations where it does not are dropped (and listed).
 */
import type { HostTensor } from '../../src/testing/types';

const f32 = Math.fround;

function shapeSize(s: readonly number[]): number {
  return s.reduce((a, b) => a * b, 1);
}

function strides(s: readonly number[]): number[] {
  const st = new Array<number>(s.length);
  let acc = 1;
  for (let i = s.length - 1; i >= 0; i--) {
    st[i] = acc;
    acc *= s[i]!;
  }
  return st;
}

/** Calls f(idx) for every multi-index of `shape` in row-major order. */
function forEachIndex(shape: readonly number[], f: (idx: number[], flat: number) => void): void {
  const n = shapeSize(shape);
  const idx = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < n; flat++) {
    f(idx, flat);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
}

export interface RefOut {
  shape: number[];
  data: Float64Array;
}

// ---- pooling (torch max_poolNd / avg_poolNd) -------------------------------------------------

export interface PoolRef {
  kind: 'avg' | 'max';
  kernel: number[];
  stride: number[];
  /** symmetric, per spatial dim */
  pad: number[];
  dilation: number[];
  ceil: boolean;
  countIncludePad: boolean;
}

export function torchPoolOutSize(inp: number, k: number, s: number, p: number, d: number, ceil: boolean): number {
  const num = inp + 2 * p - d * (k - 1) - 1 + (ceil ? s - 1 : 0);
  let o = Math.floor(num / s) + 1;
  if (ceil && (o - 1) * s >= inp + p) o--;
  return o;
}

export function poolRef(x: HostTensor, a: PoolRef): RefOut {
  const xs = x.shape;
  const sp = xs.slice(2);
  const nd = sp.length;
  const os = sp.map((s, i) => torchPoolOutSize(s, a.kernel[i]!, a.stride[i]!, a.pad[i]!, a.dilation[i]!, a.ceil));
  const outShape = [xs[0]!, xs[1]!, ...os];
  const out = new Float64Array(shapeSize(outShape));
  const xd = x.data as Float32Array;
  const xst = strides(xs);
  forEachIndex(outShape, (o, flat) => {
    const base = o[0]! * xst[0]! + o[1]! * xst[1]!;
    if (a.kind === 'max') {
      let m = -Infinity;
      forEachIndex(a.kernel, (k) => {
        let off = base;
        for (let d = 0; d < nd; d++) {
          const i = o[2 + d]! * a.stride[d]! - a.pad[d]! + k[d]! * a.dilation[d]!;
          if (i < 0 || i >= sp[d]!) return;
          off += i * xst[2 + d]!;
        }
        const v = xd[off]!;
        if (v > m || Number.isNaN(v)) m = v;
      });
      out[flat] = m;
      return;
    }
    let poolSize = 1;
    let count = 1;
    const lo: number[] = [];
    const hi: number[] = [];
    for (let d = 0; d < nd; d++) {
      let start = o[2 + d]! * a.stride[d]! - a.pad[d]!;
      let end = Math.min(start + a.kernel[d]!, sp[d]! + a.pad[d]!);
      poolSize *= end - start;
      start = Math.max(start, 0);
      end = Math.min(end, sp[d]!);
      count *= end - start;
      lo.push(start);
      hi.push(end);
    }
    let sum = 0;
    forEachIndex(
      lo.map((l, d) => hi[d]! - l),
      (k) => {
        let off = base;
        for (let d = 0; d < nd; d++) off += (lo[d]! + k[d]!) * xst[2 + d]!;
        sum += xd[off]!;
      },
    );
    out[flat] = sum / (a.countIncludePad ? poolSize : count);
  });
  return { shape: outShape, data: out };
}

// ---- interpolate (torch F.interpolate, recompute_scale_factor=False) --------------------------

export interface InterpRef {
  mode: 'nearest' | 'linear' | 'bicubic';
  size: number[];
  /** given scale factors (torch uses 1/sf for coordinates), or null when `size` was given */
  scaleFactor: number[] | null;
  alignCorners: boolean;
}

function linearTaps(inp: number, out: number, dst: number, a: InterpRef, d: number): [number, number, number, number] {
  let real: number;
  if (a.alignCorners) {
    const scale = out > 1 ? (inp - 1) / (out - 1) : 0;
    real = scale * dst;
  } else {
    const scale = a.scaleFactor ? 1 / a.scaleFactor[d]! : inp / out;
    real = Math.max(scale * (dst + 0.5) - 0.5, 0);
  }
  const i0 = Math.floor(real);
  const l1 = Math.min(real - i0, 1);
  const i1 = i0 + (i0 < inp - 1 ? 1 : 0);
  return [Math.min(i0, inp - 1), i1 > inp - 1 ? inp - 1 : i1, 1 - l1, l1];
}

function cubicTaps(inp: number, out: number, dst: number, a: InterpRef, d: number): { idx: number[]; w: number[] } {
  const A = -0.75;
  let real: number;
  if (a.alignCorners) real = (out > 1 ? (inp - 1) / (out - 1) : 0) * dst;
  else real = (a.scaleFactor ? 1 / a.scaleFactor[d]! : inp / out) * (dst + 0.5) - 0.5;
  const i = Math.floor(real);
  const t = real - i;
  const cc1 = (x: number) => ((A + 2) * x - (A + 3)) * x * x + 1;
  const cc2 = (x: number) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
  const w = [cc2(t + 1), cc1(t), cc1(1 - t), cc2(2 - t)];
  const idx = [i - 1, i, i + 1, i + 2].map((j) => Math.min(Math.max(j, 0), inp - 1));
  return { idx, w };
}

export function interpolateRef(x: HostTensor, a: InterpRef): RefOut {
  const xs = x.shape;
  const sp = xs.slice(2);
  const nd = sp.length;
  const outShape = [xs[0]!, xs[1]!, ...a.size];
  const out = new Float64Array(shapeSize(outShape));
  const xd = x.data as Float32Array;
  const xst = strides(xs);
  // per dim, per output index: list of (source index, weight)
  const taps: { idx: number[]; w: number[] }[][] = sp.map((inp, d) =>
    Array.from({ length: a.size[d]! }, (_, dst) => {
      const outN = a.size[d]!;
      if (a.mode === 'nearest') {
        // float32 arithmetic as in torch's nearest_idx
        let src: number;
        if (outN === inp) src = dst;
        else if (outN === 2 * inp) src = dst >> 1;
        else {
          const scale = a.scaleFactor ? f32(1 / a.scaleFactor[d]!) : f32(inp / outN);
          src = Math.min(Math.floor(f32(dst * scale)), inp - 1);
        }
        return { idx: [src], w: [1] };
      }
      if (a.mode === 'linear') {
        const [i0, i1, w0, w1] = linearTaps(inp, outN, dst, a, d);
        return { idx: [i0, i1], w: [w0, w1] };
      }
      return cubicTaps(inp, outN, dst, a, d);
    }),
  );
  forEachIndex(outShape, (o, flat) => {
    const base = o[0]! * xst[0]! + o[1]! * xst[1]!;
    const per = taps.map((t, d) => t[o[2 + d]!]!);
    let acc = 0;
    forEachIndex(
      per.map((p) => p.idx.length),
      (k) => {
        let off = base;
        let w = 1;
        for (let d = 0; d < nd; d++) {
          off += per[d]!.idx[k[d]!]! * xst[2 + d]!;
          w *= per[d]!.w[k[d]!]!;
        }
        acc += w * xd[off]!;
      },
    );
    out[flat] = acc;
  });
  return { shape: outShape, data: out };
}

// ---- grid_sample (torch, 4-D) -----------------------------------------------------------------

export interface GridRef {
  mode: 'bilinear' | 'nearest';
  paddingMode: 'zeros' | 'border' | 'reflection';
  alignCorners: boolean;
}

function reflect(v: number, twiceLow: number, twiceHigh: number): number {
  if (twiceLow === twiceHigh) return 0;
  const min = twiceLow / 2;
  const span = (twiceHigh - twiceLow) / 2;
  v = Math.abs(v - min);
  const extra = v % span;
  const flips = Math.floor(v / span);
  return flips % 2 === 0 ? extra + min : span - extra + min;
}

function sourceCoord(g: number, size: number, a: GridRef): number {
  let c = a.alignCorners ? ((g + 1) / 2) * (size - 1) : ((g + 1) * size - 1) / 2;
  if (a.paddingMode === 'border') c = Math.min(Math.max(c, 0), size - 1);
  else if (a.paddingMode === 'reflection') {
    c = a.alignCorners ? reflect(c, 0, 2 * (size - 1)) : reflect(c, -1, 2 * size - 1);
    c = Math.min(Math.max(c, 0), size - 1);
  }
  return c;
}

function nearbyint(v: number): number {
  const r = Math.round(v);
  return Math.abs(v - Math.trunc(v)) === 0.5 ? 2 * Math.round(v / 2) : r;
}

export function gridSampleRef(x: HostTensor, grid: HostTensor, a: GridRef): RefOut {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [, Ho, Wo] = grid.shape as [number, number, number, number];
  const xd = x.data as Float32Array;
  const gd = grid.data as Float32Array;
  const out = new Float64Array(N * C * Ho * Wo);
  const at = (n: number, c: number, yy: number, xx: number) => (yy < 0 || yy >= H || xx < 0 || xx >= W ? 0 : xd[((n * C + c) * H + yy) * W + xx]!);
  for (let n = 0; n < N; n++)
    for (let i = 0; i < Ho; i++)
      for (let j = 0; j < Wo; j++) {
        const gi = ((n * Ho + i) * Wo + j) * 2;
        const ix = sourceCoord(gd[gi]!, W, a);
        const iy = sourceCoord(gd[gi + 1]!, H, a);
        for (let c = 0; c < C; c++) {
          let v: number;
          if (a.mode === 'nearest') v = at(n, c, nearbyint(iy), nearbyint(ix));
          else {
            const x0 = Math.floor(ix);
            const y0 = Math.floor(iy);
            const tx = ix - x0;
            const ty = iy - y0;
            v = at(n, c, y0, x0) * (1 - tx) * (1 - ty) + at(n, c, y0, x0 + 1) * tx * (1 - ty) + at(n, c, y0 + 1, x0) * (1 - tx) * ty + at(n, c, y0 + 1, x0 + 1) * tx * ty;
          }
          out[((n * C + c) * Ho + i) * Wo + j] = v;
        }
      }
  return { shape: [N, C, Ho, Wo], data: out };
}

// ---- roi_align (torchvision / mmcv avg) -------------------------------------------------------

export interface RoiRef {
  outputSize: [number, number];
  spatialScale: number;
  samplingRatio: number;
  aligned: boolean;
}

export function roiAlignRef(x: HostTensor, rois: HostTensor, a: RoiRef): RefOut {
  const [, C, H, W] = x.shape as [number, number, number, number];
  const K = rois.shape[0]!;
  const [PH, PW] = a.outputSize;
  const xd = x.data as Float32Array;
  const rd = rois.data as Float32Array;
  const out = new Float64Array(K * C * PH * PW);
  const bilinear = (plane: number, y: number, xx: number): number => {
    if (y < -1 || y > H || xx < -1 || xx > W) return 0;
    if (y <= 0) y = 0;
    if (xx <= 0) xx = 0;
    let yl = Math.floor(y);
    let xl = Math.floor(xx);
    let yh: number;
    let xh: number;
    if (yl >= H - 1) {
      yh = yl = H - 1;
      y = yl;
    } else yh = yl + 1;
    if (xl >= W - 1) {
      xh = xl = W - 1;
      xx = xl;
    } else xh = xl + 1;
    const ly = y - yl;
    const lx = xx - xl;
    const hy = 1 - ly;
    const hx = 1 - lx;
    const p = (yy: number, xq: number) => xd[plane + yy * W + xq]!;
    return hy * hx * p(yl, xl) + hy * lx * p(yl, xh) + ly * hx * p(yh, xl) + ly * lx * p(yh, xh);
  };
  for (let k = 0; k < K; k++) {
    const b = rd[k * 5]!;
    const off = a.aligned ? 0.5 : 0;
    const x1 = rd[k * 5 + 1]! * a.spatialScale - off;
    const y1 = rd[k * 5 + 2]! * a.spatialScale - off;
    const x2 = rd[k * 5 + 3]! * a.spatialScale - off;
    const y2 = rd[k * 5 + 4]! * a.spatialScale - off;
    let rw = x2 - x1;
    let rh = y2 - y1;
    if (!a.aligned) {
      rw = Math.max(rw, 1);
      rh = Math.max(rh, 1);
    }
    const bh = rh / PH;
    const bw = rw / PW;
    const gh = a.samplingRatio > 0 ? a.samplingRatio : Math.ceil(rh / PH);
    const gw = a.samplingRatio > 0 ? a.samplingRatio : Math.ceil(rw / PW);
    const count = Math.max(gh * gw, 1);
    for (let c = 0; c < C; c++) {
      const plane = (b * C + c) * H * W;
      for (let ph = 0; ph < PH; ph++)
        for (let pw = 0; pw < PW; pw++) {
          let s = 0;
          for (let iy = 0; iy < gh; iy++) {
            const y = y1 + ph * bh + ((iy + 0.5) * bh) / gh;
            for (let ix = 0; ix < gw; ix++) s += bilinear(plane, y, x1 + pw * bw + ((ix + 0.5) * bw) / gw);
          }
          out[((k * C + c) * PH + ph) * PW + pw] = s / count;
        }
    }
  }
  return { shape: [K, C, PH, PW], data: out };
}

// ---- nms (torchvision; batched = per class) ---------------------------------------------------

export function nmsRef(boxes: HostTensor, scores: HostTensor, thr: number, classes: HostTensor | null, maxOutput = -1): number[] {
  const b = boxes.data as Float32Array;
  const s = scores.data as Float32Array;
  const K = s.length;
  const cls = classes ? Array.from(classes.data as ArrayLike<number | bigint>, Number) : null;
  const order = Array.from({ length: K }, (_, i) => i).sort((i, j) => s[j]! - s[i]! || i - j);
  const area = (i: number) => (b[i * 4 + 2]! - b[i * 4]!) * (b[i * 4 + 3]! - b[i * 4 + 1]!);
  const sup = new Uint8Array(K);
  const keep: number[] = [];
  for (const i of order) {
    if (sup[i]) continue;
    keep.push(i);
    if (maxOutput >= 0 && keep.length >= maxOutput) break;
    for (const j of order) {
      if (sup[j] || j === i || (cls && cls[i] !== cls[j])) continue;
      const w = Math.max(0, Math.min(b[i * 4 + 2]!, b[j * 4 + 2]!) - Math.max(b[i * 4]!, b[j * 4]!));
      const h = Math.max(0, Math.min(b[i * 4 + 3]!, b[j * 4 + 3]!) - Math.max(b[i * 4 + 1]!, b[j * 4 + 1]!));
      const inter = w * h;
      if (inter / (area(i) + area(j) - inter) > thr) sup[j] = 1;
    }
  }
  return keep;
}
