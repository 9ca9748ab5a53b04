/**
 * CPU kernel of `warpAffine`: OpenCV 4's cv::warpAffine(INTER_LINEAR, BORDER_CONSTANT), ported
 * from imgwarp.cpp (WarpAffineInvoker + remapBilinear) so that uint8 results are bit-exact:
 *
 * - the forward matrix is inverted in double exactly as cv::warpAffine does;
 * - adelta[x] = rint(A11·x·1024), bdelta[x] = rint(A21·x·1024) (cvRound: half to even);
 *   per row X0 = rint((A12·y + b1)·1024) + 16, Y0 = rint((A22·y + b2)·1024) + 16;
 *   X = (X0 + adelta[x]) >> 5, Y = (Y0 + bdelta[x]) >> 5 (int32); the source pixel is
 *   (X >> 5, Y >> 5) saturated to int16, the fraction (X & 31, Y & 31) in 1/32 px;
 * - uint8: weights (32-fx)(32-fy)·32, fx(32-fy)·32, (32-fx)fy·32, fx·fy·32 (OpenCV's 2-D table
 *   for INTER_LINEAR, exact), neighbours outside the image read the border value,
 *   out = (Σ w·v + 2^14) >> 15;
 * - float: the float32 table (products of multiples of 1/32, exact) and OpenCV's summation order
 *   v0·w0 + v1·w1 + v2·w2 + v3·w3 in float32.
 *
 * mode 'exact' samples the continuous inverse map in float64 (a reference for float pipelines).
 */
import type { WarpAffineAttrs } from '../../ops/warp';
import { alloc, cpuKernel } from '../backend';

const f32 = Math.fround;

/** cvRound(double) on x86 (cvtsd2si, round half to even); out-of-range → INT_MIN ("integer indefinite"). */
function cvRound(v: number): number {
  let r = Math.round(v);
  if (r - v === 0.5 && r % 2 !== 0) r -= 1;
  if (!(r >= -2147483648 && r <= 2147483647)) return -2147483648;
  return r;
}

const sat16 = (v: number) => (v < -32768 ? -32768 : v > 32767 ? 32767 : v);

/** cv::warpAffine's inversion of the forward matrix (double, in OpenCV's operation order). */
export function invertAffineLikeOpenCV(m: readonly number[]): number[] {
  let D = m[0]! * m[4]! - m[1]! * m[3]!;
  D = D !== 0 ? 1 / D : 0;
  const A11 = m[4]! * D;
  const A22 = m[0]! * D;
  const A12 = m[1]! * -D;
  const A21 = m[3]! * -D;
  const b1 = -A11 * m[2]! - A12 * m[5]!;
  const b2 = -A21 * m[2]! - A22 * m[5]!;
  return [A11, A12, b1, A21, A22, b2];
}

/**
 * The fixed-point source map of one output image: for every output pixel its integer source
 * pixel (sx, sy) and 1/32-px fraction (fx, fy), exactly as WarpAffineInvoker computes them.
 */
function fixedPointMap(inv: readonly number[], outW: number, outH: number): { sx: Int16Array; sy: Int16Array; fxy: Uint16Array } {
  const [A11, A12, b1, A21, A22, b2] = inv as [number, number, number, number, number, number];
  const AB_SCALE = 1024;
  const ROUND_DELTA = 16; // AB_SCALE / INTER_TAB_SIZE / 2
  const adelta = new Int32Array(outW);
  const bdelta = new Int32Array(outW);
  for (let x = 0; x < outW; x++) {
    adelta[x] = cvRound(A11 * x * AB_SCALE);
    bdelta[x] = cvRound(A21 * x * AB_SCALE);
  }
  const n = outW * outH;
  const sx = new Int16Array(n);
  const sy = new Int16Array(n);
  const fxy = new Uint16Array(n);
  for (let y = 0; y < outH; y++) {
    const X0 = (cvRound((A12 * y + b1) * AB_SCALE) + ROUND_DELTA) | 0;
    const Y0 = (cvRound((A22 * y + b2) * AB_SCALE) + ROUND_DELTA) | 0;
    const row = y * outW;
    for (let x = 0; x < outW; x++) {
      const X = ((X0 + adelta[x]!) | 0) >> 5;
      const Y = ((Y0 + bdelta[x]!) | 0) >> 5;
      sx[row + x] = sat16(X >> 5);
      sy[row + x] = sat16(Y >> 5);
      fxy[row + x] = ((Y & 31) << 5) | (X & 31);
    }
  }
  return { sx, sy, fxy };
}

function warpU8(src: Uint8Array, H: number, W: number, C: number, inv: readonly number[], outW: number, outH: number, border: number, dst: Uint8Array, dOff: number): void {
  const { sx, sy, fxy } = fixedPointMap(inv, outW, outH);
  const n = outW * outH;
  const rowStride = W * C;
  for (let i = 0; i < n; i++) {
    const x0 = sx[i]!;
    const y0 = sy[i]!;
    const o = dOff + i * C;
    if (x0 >= W || x0 + 1 < 0 || y0 >= H || y0 + 1 < 0) {
      for (let c = 0; c < C; c++) dst[o + c] = border;
      continue;
    }
    const f = fxy[i]!;
    const fx = f & 31;
    const fy = f >> 5;
    const w0 = (32 - fx) * (32 - fy) * 32;
    const w1 = fx * (32 - fy) * 32;
    const w2 = (32 - fx) * fy * 32;
    const w3 = fx * fy * 32;
    const inX0 = x0 >= 0;
    const inX1 = x0 + 1 < W;
    const inY0 = y0 >= 0;
    const inY1 = y0 + 1 < H;
    const p00 = y0 * rowStride + x0 * C;
    for (let c = 0; c < C; c++) {
      const v0 = inY0 && inX0 ? src[p00 + c]! : border;
      const v1 = inY0 && inX1 ? src[p00 + C + c]! : border;
      const v2 = inY1 && inX0 ? src[p00 + rowStride + c]! : border;
      const v3 = inY1 && inX1 ? src[p00 + rowStride + C + c]! : border;
      const s = (v0 * w0 + v1 * w1 + v2 * w2 + v3 * w3 + 16384) >> 15;
      dst[o + c] = s < 0 ? 0 : s > 255 ? 255 : s;
    }
  }
}

function warpF32OpenCV(src: Float32Array, H: number, W: number, C: number, inv: readonly number[], outW: number, outH: number, border: number, dst: Float32Array, dOff: number): void {
  const { sx, sy, fxy } = fixedPointMap(inv, outW, outH);
  const n = outW * outH;
  const rowStride = W * C;
  const cval = f32(border);
  for (let i = 0; i < n; i++) {
    const x0 = sx[i]!;
    const y0 = sy[i]!;
    const o = dOff + i * C;
    if (x0 >= W || x0 + 1 < 0 || y0 >= H || y0 + 1 < 0) {
      for (let c = 0; c < C; c++) dst[o + c] = cval;
      continue;
    }
    const f = fxy[i]!;
    const fx = f & 31;
    const fy = f >> 5;
    // float table: (1 - fy/32)·(1 - fx/32) … — products of multiples of 1/32, exact in float32
    const w0 = ((32 - fx) * (32 - fy)) / 1024;
    const w1 = (fx * (32 - fy)) / 1024;
    const w2 = ((32 - fx) * fy) / 1024;
    const w3 = (fx * fy) / 1024;
    const inX0 = x0 >= 0;
    const inX1 = x0 + 1 < W;
    const inY0 = y0 >= 0;
    const inY1 = y0 + 1 < H;
    const p00 = y0 * rowStride + x0 * C;
    for (let c = 0; c < C; c++) {
      const v0 = inY0 && inX0 ? src[p00 + c]! : cval;
      const v1 = inY0 && inX1 ? src[p00 + C + c]! : cval;
      const v2 = inY1 && inX0 ? src[p00 + rowStride + c]! : cval;
      const v3 = inY1 && inX1 ? src[p00 + rowStride + C + c]! : cval;
      dst[o + c] = f32(f32(f32(f32(v0 * w0) + f32(v1 * w1)) + f32(v2 * w2)) + f32(v3 * w3));
    }
  }
}

function warpF32Exact(src: Float32Array, H: number, W: number, C: number, inv: readonly number[], outW: number, outH: number, border: number, dst: Float32Array, dOff: number): void {
  const [A11, A12, b1, A21, A22, b2] = inv as [number, number, number, number, number, number];
  const rowStride = W * C;
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      const X = A11 * x + A12 * y + b1;
      const Y = A21 * x + A22 * y + b2;
      const o = dOff + (y * outW + x) * C;
      const x0 = Math.floor(X);
      const y0 = Math.floor(Y);
      if (!(x0 < W && x0 + 1 >= 0 && y0 < H && y0 + 1 >= 0)) {
        for (let c = 0; c < C; c++) dst[o + c] = border;
        continue;
      }
      const fx = X - x0;
      const fy = Y - y0;
      const w0 = (1 - fx) * (1 - fy);
      const w1 = fx * (1 - fy);
      const w2 = (1 - fx) * fy;
      const w3 = fx * fy;
      const inX0 = x0 >= 0;
      const inX1 = x0 + 1 < W;
      const inY0 = y0 >= 0;
      const inY1 = y0 + 1 < H;
      const p00 = y0 * rowStride + x0 * C;
      for (let c = 0; c < C; c++) {
        const v0 = inY0 && inX0 ? src[p00 + c]! : border;
        const v1 = inY0 && inX1 ? src[p00 + C + c]! : border;
        const v2 = inY1 && inX0 ? src[p00 + rowStride + c]! : border;
        const v3 = inY1 && inX1 ? src[p00 + rowStride + C + c]! : border;
        dst[o + c] = v0 * w0 + v1 * w1 + v2 * w2 + v3 * w3;
      }
    }
  }
}

/** Registers the cpu warpAffine kernel. */
export function registerWarpKernels(): void {
  cpuKernel<WarpAffineAttrs>('warpAffine', ([x], a, outs, ctx) => {
    const [H, W, C] = ctx.inputs[0]!.shape as [number, number, number];
    const [outW, outH] = a.size;
    const o = outs[0]!;
    const dst = alloc(o);
    const plane = outW * outH * C;
    a.matrices.forEach((m, k) => {
      const inv = a.inverse ? m.slice() : invertAffineLikeOpenCV(m);
      if (o.dtype === 'uint8') warpU8(x as Uint8Array, H, W, C, inv, outW, outH, a.borderValue, dst as Uint8Array, k * plane);
      else if (a.mode === 'opencv') warpF32OpenCV(x as Float32Array, H, W, C, inv, outW, outH, a.borderValue, dst as Float32Array, k * plane);
      else warpF32Exact(x as Float32Array, H, W, C, inv, outW, outH, a.borderValue, dst as Float32Array, k * plane);
    });
    return [dst];
  });
}
