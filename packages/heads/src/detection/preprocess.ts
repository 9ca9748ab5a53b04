/**
 * The mmdet test pipeline of the UniFormer detectors (coco_instance.py `test_pipeline`), bit-exact:
 * keep-ratio resize into (1333, 800) with OpenCV's fixed-point INTER_LINEAR on uint8, BGR→RGB,
 * (x − mean)·(1/std) in float32, zero padding to a multiple of 32 after normalisation.
 */
import type { DetectionPipelineConfig } from './config';
import type { ImageMeta } from './heads';

const f32 = Math.fround;

/** An 8-bit 3-channel image, interleaved, row-major. */
export interface DetectionImage {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  /** Channel order of `data` (default 'rgb'; mmdet itself reads BGR with cv2). */
  channelOrder?: 'rgb' | 'bgr';
}

/**
 * mmcv rescale_size for a (long, short) scale: sf = min(long / max(h, w), short / min(h, w));
 * new = int(size·sf + 0.5) (double precision, as Python).
 */
export function rescaleSize(height: number, width: number, scale: readonly [number, number]): { height: number; width: number } {
  const long = Math.max(scale[0], scale[1]);
  const short = Math.min(scale[0], scale[1]);
  const sf = Math.min(long / Math.max(height, width), short / Math.min(height, width));
  return { width: Math.trunc(width * sf + 0.5), height: Math.trunc(height * sf + 0.5) };
}

/** Round half to even (cvRound / lrint). */
function rint(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** int16 saturation. */
const sat16 = (v: number) => (v > 32767 ? 32767 : v < -32768 ? -32768 : v);

/**
 * cv2.resize(src, (dw, dh), interpolation=INTER_LINEAR) on an 8-bit image with `cn` interleaved
 * channels, reproducing OpenCV 4.x's fixed-point path (resizeGeneric_ with HResizeLinear /
 * VResizeLinear and the 128-bit SIMD vertical pass): per axis fx = float((d + 0.5)·scale − 0.5),
 * weights rint((1 − fx)·2048) / rint(fx·2048) with edge clamping; horizontal sums in int; vertical as
 * the SIMD pass (VResizeLinearVec_32s8u): (((h0 >> 4)·b0 >> 16) + ((h1 >> 4)·b1 >> 16) + 2) >> 2,
 * saturated. The reference's whole rows follow this formula, row tails included (checked on the
 * parity vector's 110×147×3 example: every value equal; the scalar (h0·b0 + h1·b1 + 2^21) >> 22
 * tail formula differs there). An exact 2× downscale is INTER_AREA's 2×2 mean ((a + b + c + d + 2)
 * >> 2), as OpenCV switches to it.
 */
export function cv2ResizeLinear(src: Uint8Array | Uint8ClampedArray, sh: number, sw: number, cn: number, dh: number, dw: number): Uint8Array {
  if (src.length !== sh * sw * cn) throw new Error(`cv2ResizeLinear: ${src.length} bytes for ${sw}x${sh}x${cn}`);
  if (!(dh >= 1 && dw >= 1)) throw new Error(`cv2ResizeLinear: bad output size ${dw}x${dh}`);
  const out = new Uint8Array(dh * dw * cn);
  if (sh === dh && sw === dw) {
    out.set(src);
    return out;
  }
  const invX = dw / sw;
  const invY = dh / sh;
  const scaleX = 1 / invX;
  const scaleY = 1 / invY;
  if (Math.abs(scaleX - 2) < Number.EPSILON && Math.abs(scaleY - 2) < Number.EPSILON) {
    for (let y = 0; y < dh; y++) {
      const r0 = 2 * y * sw * cn;
      const r1 = (2 * y + 1) * sw * cn;
      for (let x = 0; x < dw; x++) {
        for (let c = 0; c < cn; c++) {
          const i = 2 * x * cn + c;
          out[(y * dw + x) * cn + c] = (src[r0 + i]! + src[r0 + i + cn]! + src[r1 + i]! + src[r1 + i + cn]! + 2) >> 2;
        }
      }
    }
    return out;
  }
  // horizontal taps
  const xofs = new Int32Array(dw);
  const ax0 = new Int32Array(dw);
  const ax1 = new Int32Array(dw);
  for (let dx = 0; dx < dw; dx++) {
    let fx = f32((dx + 0.5) * scaleX - 0.5);
    let sx = Math.floor(fx);
    fx = f32(fx - sx);
    if (sx < 0) {
      fx = 0;
      sx = 0;
    }
    if (sx >= sw - 1) {
      fx = 0;
      sx = sw - 1;
    }
    xofs[dx] = sx;
    ax0[dx] = rint(f32(f32(1 - fx) * 2048));
    ax1[dx] = rint(f32(fx * 2048));
  }
  // vertical taps (rows clipped when fetched)
  const yofs = new Int32Array(dh);
  const by0 = new Int32Array(dh);
  const by1 = new Int32Array(dh);
  for (let dy = 0; dy < dh; dy++) {
    let fy = f32((dy + 0.5) * scaleY - 0.5);
    const sy = Math.floor(fy);
    fy = f32(fy - sy);
    yofs[dy] = sy;
    by0[dy] = rint(f32(f32(1 - fy) * 2048));
    by1[dy] = rint(f32(fy * 2048));
  }
  const width = dw * cn;
  const hrow = (sy: number, buf: Int32Array) => {
    const r = Math.min(Math.max(sy, 0), sh - 1) * sw * cn;
    for (let dx = 0; dx < dw; dx++) {
      const s = r + xofs[dx]! * cn;
      const a0 = ax0[dx]!;
      const a1 = ax1[dx]!;
      for (let c = 0; c < cn; c++) buf[dx * cn + c] = a1 === 0 ? src[s + c]! * a0 : src[s + c]! * a0 + src[s + c + cn]! * a1;
    }
  };
  const h0 = new Int32Array(width);
  const h1 = new Int32Array(width);
  let have0 = NaN;
  let have1 = NaN;
  for (let dy = 0; dy < dh; dy++) {
    const s0 = Math.min(Math.max(yofs[dy]!, 0), sh - 1);
    const s1 = Math.min(Math.max(yofs[dy]! + 1, 0), sh - 1);
    if (have0 !== s0) {
      if (have1 === s0) h0.set(h1);
      else hrow(s0, h0);
      have0 = s0;
    }
    if (have1 !== s1) {
      hrow(s1, h1);
      have1 = s1;
    }
    const b0 = by0[dy]!;
    const b1 = by1[dy]!;
    const o = dy * width;
    for (let x = 0; x < width; x++) {
      const v = (sat16(((sat16(h0[x]! >> 4) * b0) >> 16) + ((sat16(h1[x]! >> 4) * b1) >> 16)) + 2) >> 2;
      out[o + x] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return out;
}

export interface PreprocessedImage {
  /** [3, padH, padW] float32, RGB, normalised, zero padded (CHW). */
  data: Float32Array;
  shape: [1, 3, number, number];
  meta: ImageMeta;
}

/**
 * The whole mmdet test pipeline for one image: resize (keep ratio into `pipeline.scale`), channel
 * order to RGB, (x − mean)·(1/std) in float32 (mmcv imnormalize: cv2.subtract then multiply by the
 * float64 reciprocal, both as float32 scalars), pad bottom/right with 0 to a multiple of padDivisor.
 * Returns the network input and the img_meta (scale_factor as float32 [w, h, w, h]).
 */
export function preprocessDetectionImage(img: DetectionImage, pipeline: DetectionPipelineConfig): PreprocessedImage {
  const { width: w, height: h } = img;
  if (!Number.isInteger(w) || !Number.isInteger(h) || w < 1 || h < 1) throw new Error(`detection image: bad size ${w}x${h}`);
  if (!img.data || img.data.length !== w * h * 3) throw new Error(`detection image: ${img.data?.length} bytes for a ${w}x${h} RGB image (expected ${w * h * 3}: 8-bit, 3 channels, interleaved)`);
  const order = img.channelOrder ?? 'rgb';
  if (order !== 'rgb' && order !== 'bgr') throw new Error(`detection image: channelOrder must be 'rgb' or 'bgr', got ${JSON.stringify(order)}`);
  const { width: nw, height: nh } = rescaleSize(h, w, pipeline.scale);
  const resized = cv2ResizeLinear(img.data, h, w, 3, nh, nw);
  const d = pipeline.padDivisor;
  const ph = Math.ceil(nh / d) * d;
  const pw = Math.ceil(nw / d) * d;
  const out = new Float32Array(3 * ph * pw);
  const mean = pipeline.mean.map(f32);
  const inv = pipeline.std.map((s) => f32(1 / s));
  for (let c = 0; c < 3; c++) {
    const srcC = order === 'rgb' ? c : 2 - c;
    const m = mean[c]!;
    const k = inv[c]!;
    const plane = c * ph * pw;
    for (let y = 0; y < nh; y++) {
      const row = y * nw * 3;
      const o = plane + y * pw;
      for (let x = 0; x < nw; x++) out[o + x] = f32(f32(resized[row + 3 * x + srcC]! - m) * k);
    }
  }
  const ws = f32(nw / w);
  const hs = f32(nh / h);
  return {
    data: out,
    shape: [1, 3, ph, pw],
    meta: { oriShape: [h, w], imgShape: [nh, nw], padShape: [ph, pw], scaleFactor: [ws, hs, ws, hs] },
  };
}
