/**
 * Spatial resampling, each emulating one reference implementation:
 *
 * - `torchBilinear*`: `F.interpolate(mode='bilinear', align_corners=False)` (no antialias) on float32
 *   planes, as x86 PyTorch's CPU kernel computes it (checked bit for bit against torch 1.13's AVX2
 *   build): `scale = float32(in/out)`; `src = max(scale*(o+0.5) - 0.5, 0)` evaluated in float64;
 *   `i0 = trunc(src)`, `i1 = min(i0+1, in-1)`, `l1 = float32(src - i0)`, `l0 = 1 - l1`;
 *   `out = fma(fma(x00, w0, x01*w1), h0, fma(x10, w0, x11*w1)*h1)` (the compiler contracts the
 *   separable `t0*w0 + t1*w1` into FMAs). A build without FMA differs by at most an ulp or two.
 *   Used by UniFormer video (slowfast).
 * - `tfBilinearResizeU8`: `tf.image.resize(uint8, BILINEAR)` (half-pixel centres, no antialias) followed by
 *   `tf.cast(..., uint8)` (truncation), as DMVR's `resize_smallest` does for ViViT.
 * - `pilBicubicResize`: Pillow's `Image.resize(size, BICUBIC)` (libImaging/Resample.c): separable,
 *   horizontal pass then vertical, cubic kernel a = -0.5 with support 2 scaled by the downscale factor
 *   (i.e. antialiased when shrinking), coefficients normalised to sum 1 then fixed-point (22 bits), and
 *   each pass rounded and clipped to uint8. Used by the ImageNet eval transform (DeiT/torchvision Resize).
 *
 * Output-size rules (all "short side to S"):
 * - slowfast: long = floor(long/short * S) (float64), skipped when the short side already equals S;
 * - DMVR: out_h = max(S, h*S // w), out_w = max(S, w*S // h) (integers);
 * - torchvision Resize(int): long = int(S * long / short).
 */
import { fmaf as fmafShared } from './float32';
import type { RgbImage } from './types';
import { PreprocessError } from './types';

// local bindings: hot loops must not go through module-namespace accessors (vitest's transform)
const f32 = Math.fround;
const fmaf = fmafShared;

export interface Size {
  height: number;
  width: number;
}

/** slowfast `random_short_side_scale_jitter` (test: min = max = S). */
export function slowfastShortSideSize(height: number, width: number, size: number): Size {
  if ((width <= height && width === size) || (height <= width && height === size)) return { height, width };
  if (width < height) return { height: Math.floor((height / width) * size), width: size };
  return { height: size, width: Math.floor((width / height) * size) };
}

/** DMVR `resize_smallest(frames, min_resize)`. */
export function dmvrShortSideSize(height: number, width: number, minResize: number): Size {
  return {
    height: Math.max(minResize, Math.floor((height * minResize) / width)),
    width: Math.max(minResize, Math.floor((width * minResize) / height)),
  };
}

/** torchvision `Resize(size: int)` output size (short side to `size`, long = int(size*long/short)). */
export function torchvisionShortSideSize(height: number, width: number, size: number): Size {
  if (width <= height) return { height: Math.trunc((size * height) / width), width: size };
  return { height: size, width: Math.trunc((size * width) / height) };
}

/** Per-axis source indices and weights of ATen's linear upsampling (align_corners=False). */
export interface LinearAxis {
  i0: Int32Array;
  i1: Int32Array;
  l0: Float32Array;
  l1: Float32Array;
}

export function torchLinearAxis(inSize: number, outSize: number): LinearAxis {
  const ax: LinearAxis = {
    i0: new Int32Array(outSize),
    i1: new Int32Array(outSize),
    l0: new Float32Array(outSize),
    l1: new Float32Array(outSize),
  };
  if (inSize === outSize) {
    for (let o = 0; o < outSize; o++) {
      ax.i0[o] = o;
      ax.i1[o] = o;
      ax.l0[o] = 1;
      ax.l1[o] = 0;
    }
    return ax;
  }
  const scale = f32(inSize / outSize);
  for (let o = 0; o < outSize; o++) {
    let src = scale * (o + 0.5) - 0.5;
    if (src < 0) src = 0;
    const i0 = Math.trunc(src);
    const i1 = i0 < inSize - 1 ? i0 + 1 : i0;
    const l1 = f32(Math.min(Math.max(src - i0, 0), 1));
    ax.i0[o] = i0;
    ax.i1[o] = i1;
    ax.l1[o] = l1;
    ax.l0[o] = f32(1 - l1);
  }
  return ax;
}

/** A window of an output image: rows [y0, y0+height), columns [x0, x0+width). */
export interface Window {
  y0: number;
  x0: number;
  height: number;
  width: number;
}

/**
 * Bilinear resize of one float32 plane (inH×inW, row-major) to outH×outW like torch, computing only the
 * output `window` (default: all of it) into `dst` at `dstOffset` (window rows contiguous). Each input row
 * is interpolated horizontally once (`t = fma(x0, w0, x1*w1)`), then rows are blended vertically.
 */
export function torchBilinearPlane(
  src: Float32Array,
  inH: number,
  inW: number,
  outH: number,
  outW: number,
  dst: Float32Array,
  dstOffset = 0,
  window: Window = { y0: 0, x0: 0, height: outH, width: outW },
  axes?: { h: LinearAxis; w: LinearAxis },
): void {
  const ah = axes?.h ?? torchLinearAxis(inH, outH);
  const aw = axes?.w ?? torchLinearAxis(inW, outW);
  const ww = window.width;
  const wx0 = window.x0;
  // horizontal pass, two cached rows (source rows needed by consecutive output rows are non-decreasing)
  let rowA = -1;
  let rowB = -1;
  const bufA = new Float32Array(ww);
  const bufB = new Float32Array(ww);
  const hrow = (r: number, buf: Float32Array): void => {
    const base = r * inW;
    for (let x = 0; x < ww; x++) {
      const c0 = aw.i0[wx0 + x]!;
      const c1 = aw.i1[wx0 + x]!;
      buf[x] = fmaf(src[base + c0]!, aw.l0[wx0 + x]!, f32(src[base + c1]! * aw.l1[wx0 + x]!));
    }
  };
  const row = (r: number): Float32Array => {
    if (r === rowA) return bufA;
    if (r === rowB) return bufB;
    // replace the older row (the one with the smaller index)
    if (rowA < rowB) {
      rowA = r;
      hrow(r, bufA);
      return bufA;
    }
    rowB = r;
    hrow(r, bufB);
    return bufB;
  };
  let p = dstOffset;
  for (let y = window.y0; y < window.y0 + window.height; y++) {
    const h0 = ah.l0[y]!;
    const h1 = ah.l1[y]!;
    const i0 = ah.i0[y]!;
    const i1 = ah.i1[y]!;
    const t0 = row(i0);
    const t1 = i1 === i0 ? t0 : row(i1);
    for (let x = 0; x < ww; x++) dst[p++] = fmaf(t0[x]!, h0, f32(t1[x]! * h1));
  }
}

/** TF's half-pixel bilinear weights for one axis. */
interface TfAxis {
  lo: Int32Array;
  hi: Int32Array;
  lerp: Float32Array;
}

function tfAxis(inSize: number, outSize: number): TfAxis {
  const ax: TfAxis = { lo: new Int32Array(outSize), hi: new Int32Array(outSize), lerp: new Float32Array(outSize) };
  const scale = f32(inSize / outSize);
  for (let o = 0; o < outSize; o++) {
    const inn = f32(f32(f32(o + 0.5) * scale) - 0.5);
    const fl = Math.floor(inn);
    ax.lo[o] = Math.max(fl, 0);
    ax.hi[o] = Math.min(Math.ceil(inn), inSize - 1);
    ax.lerp[o] = f32(inn - fl);
  }
  return ax;
}

/**
 * `tf.cast(tf.image.resize(frame_uint8, (outH, outW), BILINEAR), tf.uint8)`: half-pixel centres, no
 * antialias, float32 lerps `top + (bottom-top)*y_lerp` with `top = tl + (tr-tl)*x_lerp`, then truncation.
 * RGB interleaved in and out.
 */
export function tfBilinearResizeU8(img: RgbImage, outH: number, outW: number): RgbImage {
  const { width: inW, height: inH, data } = img;
  const out = new Uint8Array(outH * outW * 3);
  const ay = tfAxis(inH, outH);
  const ax = tfAxis(inW, outW);
  let p = 0;
  for (let y = 0; y < outH; y++) {
    const top = ay.lo[y]! * inW * 3;
    const bot = ay.hi[y]! * inW * 3;
    const yl = ay.lerp[y]!;
    for (let x = 0; x < outW; x++) {
      const l = ax.lo[x]! * 3;
      const r = ax.hi[x]! * 3;
      const xl = ax.lerp[x]!;
      for (let c = 0; c < 3; c++) {
        const tl = data[top + l + c]!;
        const tr = data[top + r + c]!;
        const bl = data[bot + l + c]!;
        const br = data[bot + r + c]!;
        const t = f32(tl + f32((tr - tl) * xl));
        const b = f32(bl + f32((br - bl) * xl));
        const v = f32(t + f32(f32(b - t) * yl));
        out[p++] = Math.trunc(v);
      }
    }
  }
  return { width: outW, height: outH, data: out };
}

// ---------------------------------------------------------------------------------------------
// Pillow BICUBIC (Resample.c, Pillow 9.x)

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 1 << PRECISION_BITS;
const HALF = 1 << (PRECISION_BITS - 1);

function bicubicFilter(x: number): number {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

/** Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc` for one axis (box = whole input). */
export function pilBicubicCoeffs(inSize: number, outSize: number): { ksize: number; bounds: Int32Array; kk: Int32Array } {
  const support0 = 2;
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = support0 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kk = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterscale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = bicubicFilter((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < ksize; x++) {
      let w = x < xmax ? k[x]! : 0;
      if (x < xmax && ww !== 0) w /= ww;
      kk[xx * ksize + x] = w < 0 ? Math.trunc(-0.5 + w * ONE) : Math.trunc(0.5 + w * ONE);
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, kk };
}

function clip8(ss: number): number {
  const v = Math.floor(ss / ONE);
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * Pillow `Image.resize((outW, outH), Image.BICUBIC)` on an RGB image, bit-exact with Pillow 9.x's 8-bit
 * path: horizontal pass (if the width changes) into uint8, then vertical pass (if the height changes).
 */
export function pilBicubicResize(img: RgbImage, outW: number, outH: number): RgbImage {
  const { width: inW, height: inH } = img;
  if (outW < 1 || outH < 1) throw new PreprocessError(`bad resize target ${outW}x${outH}`);
  let cur = img;
  if (outW !== inW) {
    const { ksize, bounds, kk } = pilBicubicCoeffs(inW, outW);
    const out = new Uint8Array(outW * inH * 3);
    const src = cur.data;
    for (let y = 0; y < inH; y++) {
      const row = y * inW * 3;
      for (let xx = 0; xx < outW; xx++) {
        const xmin = bounds[xx * 2]!;
        const xmax = bounds[xx * 2 + 1]!;
        const kb = xx * ksize;
        let s0 = HALF;
        let s1 = HALF;
        let s2 = HALF;
        for (let x = 0; x < xmax; x++) {
          const w = kk[kb + x]!;
          const p = row + (x + xmin) * 3;
          s0 += src[p]! * w;
          s1 += src[p + 1]! * w;
          s2 += src[p + 2]! * w;
        }
        const o = (y * outW + xx) * 3;
        out[o] = clip8(s0);
        out[o + 1] = clip8(s1);
        out[o + 2] = clip8(s2);
      }
    }
    cur = { width: outW, height: inH, data: out };
  }
  if (outH !== inH) {
    const { ksize, bounds, kk } = pilBicubicCoeffs(inH, outH);
    const w = cur.width;
    const out = new Uint8Array(w * outH * 3);
    const src = cur.data;
    for (let yy = 0; yy < outH; yy++) {
      const ymin = bounds[yy * 2]!;
      const ymax = bounds[yy * 2 + 1]!;
      const kb = yy * ksize;
      for (let xx = 0; xx < w; xx++) {
        let s0 = HALF;
        let s1 = HALF;
        let s2 = HALF;
        for (let y = 0; y < ymax; y++) {
          const k = kk[kb + y]!;
          const p = ((y + ymin) * w + xx) * 3;
          s0 += src[p]! * k;
          s1 += src[p + 1]! * k;
          s2 += src[p + 2]! * k;
        }
        const o = (yy * w + xx) * 3;
        out[o] = clip8(s0);
        out[o + 1] = clip8(s1);
        out[o + 2] = clip8(s2);
      }
    }
    cur = { width: w, height: outH, data: out };
  }
  return cur === img ? { width: img.width, height: img.height, data: img.data.slice() } : cur;
}
