/**
 * `warpAffine`: cv2.warpAffine(src, M, (W, H), flags=INTER_LINEAR, borderMode=BORDER_CONSTANT) on
 * HWC images, the top-down pose crop (mmpose TopDownAffine).
 */
import { OpError, defineOp, runOp } from '../op';
import { fmtShape } from '../shape';
import type { Tensor } from '../tensor';
import { Attrs, expectRank, out, req } from './util';

export interface WarpAffineAttrs {
  /**
   * One row-major 2×3 matrix [a, b, c, d, e, f] per output image. Forward (source → output, as
   * cv2.warpAffine's M, inverted inside exactly as OpenCV does) unless `inverse`.
   */
  matrices: number[][];
  /** Output [width, height] (cv2 dsize). */
  size: [number, number];
  /** The matrices map output pixels to source pixels (cv2.WARP_INVERSE_MAP). */
  inverse: boolean;
  /**
   * 'opencv': OpenCV's INTER_LINEAR warp — source coordinates in 1/32 px from its fixed-point
   * (1/1024) coordinate arithmetic, 15-bit integer weights on uint8 (bit-exact), its float32 weight
   * table and summation order on float images. 'exact': continuous bilinear sampling in float64
   * (float images only).
   */
  mode: 'opencv' | 'exact';
  /** Value of pixels outside the source (BORDER_CONSTANT). */
  borderValue: number;
  /** One matrix was given as a plain 2×3 / 6-number matrix: the output has no batch axis. */
  single: boolean;
}

export interface WarpAffineArgs {
  /** Output [width, height]. */
  size: readonly [number, number] | readonly number[];
  inverse?: boolean;
  mode?: 'opencv' | 'exact';
  borderValue?: number;
}

/** A 2×3 matrix as 6 numbers, [[a, b, c], [d, e, f]], or a list of either (one per output). */
export type AffineMatrixArg = readonly number[] | readonly (readonly number[])[] | readonly (readonly number[] | readonly (readonly number[])[])[];

function flat6(m: unknown): number[] | null {
  if (!Array.isArray(m)) return null;
  if (m.length === 6 && m.every((v) => typeof v === 'number')) return m.slice() as number[];
  if (m.length === 2 && m.every((r) => Array.isArray(r) && r.length === 3 && r.every((v: unknown) => typeof v === 'number'))) return [...(m[0] as number[]), ...(m[1] as number[])];
  return null;
}

/** Normalises the `matrix` argument: a single matrix, or a list of them. */
function parseMatrices(raw: unknown): { matrices: number[][]; single: boolean } {
  const one = flat6(raw);
  if (one) return { matrices: [one], single: true };
  if (Array.isArray(raw) && raw.length > 0) {
    const many = raw.map(flat6);
    if (many.every((m) => m !== null)) return { matrices: many as number[][], single: false };
  }
  throw new OpError('warpAffine', `attribute 'matrix' must be a 2×3 matrix (6 numbers or [[a, b, c], [d, e, f]]) or a non-empty list of them, got ${JSON.stringify(raw)?.slice(0, 120)}`);
}

export const warpAffineOp = defineOp<WarpAffineAttrs>({
  name: 'warpAffine',
  inputs: [{ name: 'x', dtypes: ['uint8', 'float32', 'float16'] }],
  doc:
    "cv2.warpAffine(x, M, size, INTER_LINEAR, BORDER_CONSTANT) on an HWC image x [H, W, C] (uint8 or float): M (2×3, source → output; `inverse` for output → source) is inverted as OpenCV does, output pixel (x, y) samples the source at Minv·(x, y, 1). mode 'opencv' (default): OpenCV's fixed-point path — X = (rint((A12·y + b1)·1024) + 16 + rint(A11·x·1024)) >> 5, integer part >> 5, fraction & 31 (1/32 px), same for Y; uint8: weights (32-fx)(32-fy)·32 … (sum 32768), out = (Σ w·v + 16384) >> 15, bit-exact with OpenCV 4; float: float32 weights and OpenCV's summation order. mode 'exact': continuous bilinear in float64 (float images). Source pixels outside the image read `borderValue` (default 0). With a list of K matrices the output is [K, outH, outW, C], else [outH, outW, C].",
  normalize: (attrs, m) => {
    const x = req('warpAffine', m, 0);
    const a = new Attrs('warpAffine', attrs as Record<string, unknown>);
    const { matrices, single } = parseMatrices(a.value('matrix'));
    if (matrices.some((mm) => mm.some((v) => !Number.isFinite(v)))) throw new OpError('warpAffine', 'matrix entries must be finite numbers');
    const size = a.ints('size', 2, undefined, 1) as [number, number];
    const inverse = a.bool('inverse', false);
    const mode = a.oneOf('mode', ['opencv', 'exact'], 'opencv');
    const borderValue = a.num('borderValue', 0);
    if (mode === 'exact' && x.dtype === 'uint8') throw new OpError('warpAffine', "mode 'exact' needs a float image (uint8 images use mode 'opencv', OpenCV's fixed-point warp)");
    if (x.dtype === 'uint8' && !(Number.isInteger(borderValue) && borderValue >= 0 && borderValue <= 255)) {
      throw new OpError('warpAffine', `borderValue must be an integer in [0, 255] for uint8 images, got ${borderValue}`);
    }
    return a.done({ matrices, size, inverse, mode, borderValue, single });
  },
  infer: (m, a) => {
    const x = req('warpAffine', m, 0);
    expectRank('warpAffine', 'x', x, [3]);
    const [H, W, C] = x.shape as [number, number, number];
    if (H < 1 || W < 1 || C < 1) throw new OpError('warpAffine', `x must be a non-empty [H, W, C] image, got ${fmtShape(x.shape)}`);
    if (H > 32767 || W > 32767) throw new OpError('warpAffine', `images up to 32767 px a side (OpenCV's 16-bit map), got ${fmtShape(x.shape)}`);
    const [w, h] = a.size;
    return out(a.single ? [h, w, C] : [a.matrices.length, h, w, C], x.dtype);
  },
  flops: (_m, _a, o) => 8 * o[0]!.shape.reduce((p, d) => p * d, 1),
});

/**
 * cv2.warpAffine with INTER_LINEAR and a constant border on an HWC image: `matrix` is one 2×3
 * matrix (→ [outH, outW, C]) or a list (→ [K, outH, outW, C], one crop per matrix).
 */
export const warpAffine = (x: Tensor, matrix: AffineMatrixArg, args: WarpAffineArgs) => runOp(warpAffineOp, [x], { matrix, ...args })[0]!;
