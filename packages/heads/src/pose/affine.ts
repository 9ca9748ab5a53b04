/**
 * Person box → (center, scale) → the affine crop matrix, as mmpose 0.16 computes them
 * (TopDownCocoDataset._xywh2cs, get_affine_transform) with OpenCV's getAffineTransform solved the
 * way OpenCV solves it (6×6 LU with partial pivoting in double), so the matrix — and through it
 * the fixed-point warp — matches cv2 bit for bit.
 */

const f32 = Math.fround;

/** A person box [x, y, width, height] in image pixels (COCO `bbox`). */
export type BoxXYWH = readonly [number, number, number, number];

export interface CenterScale {
  /** Box centre (x, y), float32. */
  center: [number, number];
  /** Box size (w, h) in units of 200 px after the aspect fix and padding, float32. */
  scale: [number, number];
}

/** mmpose's pixel_std: scale is in units of 200 px. */
export const PIXEL_STD = 200;

/**
 * mmpose `_xywh2cs` (test mode): centre = box centre; the box is widened or heightened to the
 * model's aspect ratio `imageSize[0] / imageSize[1]` (w/h), then `scale = [w, h] / 200 · padding`
 * (padding 1.25 in every COCO config). Arithmetic as numpy: float64, centre and scale stored as
 * float32, padding applied in float32.
 */
export function boxToCenterScale(box: BoxXYWH, imageSize: readonly [number, number], padding = 1.25): CenterScale {
  const [x, y, w0, h0] = box;
  if (![x, y, w0, h0].every(Number.isFinite)) throw new Error(`boxToCenterScale: box must be 4 finite numbers [x, y, w, h], got [${box.join(', ')}]`);
  const aspect = imageSize[0] / imageSize[1];
  const center: [number, number] = [f32(x + w0 * 0.5), f32(y + h0 * 0.5)];
  let w = w0;
  let h = h0;
  if (w > aspect * h) h = (w * 1.0) / aspect;
  else if (w < aspect * h) w = h * aspect;
  const p = f32(padding);
  const scale: [number, number] = [f32(f32(w / PIXEL_STD) * p), f32(f32(h / PIXEL_STD) * p)];
  return { center, scale };
}

/** A 2×3 affine matrix, row-major [a, b, c, d, e, f]: x' = a·x + b·y + c, y' = d·x + e·y + f. */
export type Affine = [number, number, number, number, number, number];

/**
 * OpenCV hal::LU64f (LUImpl, eps = 100·DBL_EPSILON) on a row-major m×m matrix with one right-hand
 * side, in place; returns false when singular. The same operation order as OpenCV: pivot on the
 * largest |a| (first on ties), eliminate with alpha = a[j][i]·(-1/a[i][i]), back-substitute by
 * multiplying with the stored reciprocal.
 */
function luSolve(A: Float64Array, b: Float64Array, m: number): boolean {
  const eps = 2.220446049250313e-16 * 100;
  for (let i = 0; i < m; i++) {
    let k = i;
    for (let j = i + 1; j < m; j++) if (Math.abs(A[j * m + i]!) > Math.abs(A[k * m + i]!)) k = j;
    if (Math.abs(A[k * m + i]!) < eps) return false;
    if (k !== i) {
      for (let j = i; j < m; j++) {
        const t = A[i * m + j]!;
        A[i * m + j] = A[k * m + j]!;
        A[k * m + j] = t;
      }
      const t = b[i]!;
      b[i] = b[k]!;
      b[k] = t;
    }
    const d = -1 / A[i * m + i]!;
    for (let j = i + 1; j < m; j++) {
      const alpha = A[j * m + i]! * d;
      for (let kk = i + 1; kk < m; kk++) A[j * m + kk] = A[j * m + kk]! + alpha * A[i * m + kk]!;
      b[j] = b[j]! + alpha * b[i]!;
    }
    A[i * m + i] = -d;
  }
  for (let i = m - 1; i >= 0; i--) {
    let s = b[i]!;
    for (let kk = i + 1; kk < m; kk++) s -= A[i * m + kk]! * b[kk]!;
    b[i] = s * A[i * m + i]!;
  }
  return true;
}

/** cv2.getAffineTransform(src, dst) for three point pairs (double; OpenCV's 6×6 LU). */
export function affineFromPoints(src: readonly (readonly [number, number])[], dst: readonly (readonly [number, number])[]): Affine {
  if (src.length !== 3 || dst.length !== 3) throw new Error('affineFromPoints: needs 3 source and 3 destination points');
  const A = new Float64Array(36);
  const b = new Float64Array(6);
  for (let i = 0; i < 3; i++) {
    const [x, y] = src[i]!;
    const r0 = 2 * i * 6;
    const r1 = (2 * i + 1) * 6;
    A[r0] = A[r1 + 3] = x;
    A[r0 + 1] = A[r1 + 4] = y;
    A[r0 + 2] = A[r1 + 5] = 1;
    b[2 * i] = dst[i]![0];
    b[2 * i + 1] = dst[i]![1];
  }
  if (!luSolve(A, b, 6)) throw new Error('affineFromPoints: the source points are collinear');
  return Array.from(b) as Affine;
}

/**
 * mmpose `get_affine_transform(center, scale, rot, output_size)` (use_udp=False, shift 0): three
 * point pairs — the centre → the output centre, the centre + R(rot)·[0, -w/2] → [W/2, H/2 - W/2],
 * and a third point perpendicular to both — stored as float32, then cv2.getAffineTransform.
 * `outputSize` is [W, H]; `inv` gives the output → image matrix instead.
 */
export function getAffineTransform(center: readonly [number, number], scale: readonly [number, number], rot: number, outputSize: readonly [number, number], inv = false): Affine {
  const srcW = f32(f32(scale[0]) * PIXEL_STD);
  const [dstW, dstH] = outputSize;
  const rotRad = (Math.PI * rot) / 180;
  const sn = Math.sin(rotRad);
  const cs = Math.cos(rotRad);
  const p1 = srcW * -0.5;
  const srcDir = [0 * cs - p1 * sn, 0 * sn + p1 * cs];
  const c: [number, number] = [f32(center[0]), f32(center[1])];
  const third = (a: readonly [number, number], b: readonly [number, number]): [number, number] => {
    const d0 = f32(a[0] - b[0]);
    const d1 = f32(a[1] - b[1]);
    return [f32(b[0] + -d1), f32(b[1] + d0)];
  };
  const s1: [number, number] = [f32(c[0] + srcDir[0]!), f32(c[1] + srcDir[1]!)];
  const src = [c, s1, third(c, s1)];
  const d0: [number, number] = [f32(dstW * 0.5), f32(dstH * 0.5)];
  const d1: [number, number] = [f32(dstW * 0.5 + 0), f32(dstH * 0.5 + dstW * -0.5)];
  const dst = [d0, d1, third(d0, d1)];
  return inv ? affineFromPoints(dst, src) : affineFromPoints(src, dst);
}

/** cv2.invertAffineTransform (double). */
export function invertAffine(m: readonly number[]): Affine {
  let D = m[0]! * m[4]! - m[1]! * m[3]!;
  D = D !== 0 ? 1 / D : 0;
  const A11 = m[4]! * D;
  const A22 = m[0]! * D;
  const A12 = -m[1]! * D;
  const A21 = -m[3]! * D;
  const b1 = -A11 * m[2]! - A12 * m[5]!;
  const b2 = -A21 * m[2]! - A22 * m[5]!;
  return [A11, A12, b1, A21, A22, b2];
}
