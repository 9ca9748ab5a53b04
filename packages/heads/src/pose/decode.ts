/**
 * mmpose 0.16 `keypoints_from_heatmaps` (use_udp=False, GaussianHeatmap) on host heatmaps, with
 * numpy's float32 arithmetic where it decides anything:
 * - argmax over the flattened H×W map (first maximum; a NaN wins as in numpy), maxval = that value;
 *   x = idx % W, y = idx // W; maxval <= 0 (or NaN) → (-1, -1);
 * - 'default': if 1 < x < W-1 and 1 < y < H-1, x += 0.25·sign(h[y][x+1] - h[y][x-1]) and
 *   y += 0.25·sign(h[y+1][x] - h[y-1][x]) (float32 differences, equal neighbours give 0);
 * - 'unbiased' (DARK): Gaussian blur (OpenCV kernel of `kernel` taps, σ = 0.3((k-1)/2 - 1) + 0.8,
 *   zero padding), rescaled to the map's original max, log(max(·, 1e-10)), then one Newton step with
 *   the central-difference gradient and Hessian when 1 < x < W-2 and 1 < y < H-2 and det ≠ 0;
 * - 'none': argmax only;
 * - back to the image: s = scale·200 (float32), X = x·(s_x / W) + c_x - s_x/2, Y likewise (float32).
 */

const f32 = Math.fround;

export type PostProcess = 'default' | 'unbiased' | 'none';

export interface HeatmapDecodeOptions {
  postProcess?: PostProcess;
  /** DARK's Gaussian kernel (`modulate_kernel`: 11 for σ 2 / 256×192, 17 for σ 3). */
  kernel?: number;
}

export interface DecodedKeypoints {
  /** [N, K, 2] image coordinates (x, y), float32. */
  preds: Float32Array;
  /** [N, K] scores (heatmap maxima). */
  maxvals: Float32Array;
  /** [N, K, 2] heatmap coordinates before the transform back to the image. */
  heatmapCoords: Float32Array;
}

/** numpy argmax / amax of one map: first maximum, NaN wins at its first occurrence. */
function argmax(h: Float32Array, off: number, n: number): { idx: number; val: number } {
  let idx = 0;
  let val = h[off]!;
  if (Number.isNaN(val)) return { idx: 0, val };
  for (let i = 1; i < n; i++) {
    const v = h[off + i]!;
    if (Number.isNaN(v)) return { idx: i, val: v };
    if (v > val) {
      val = v;
      idx = i;
    }
  }
  return { idx, val };
}

/** cv2.getGaussianKernel(k, 0, CV_32F): σ from the size, float32 taps normalised in double. */
export function gaussianKernel(k: number): Float32Array {
  if (!Number.isInteger(k) || k < 1 || k % 2 !== 1) throw new Error(`gaussianKernel: kernel must be a positive odd integer, got ${k}`);
  const sigma = ((k - 1) * 0.5 - 1) * 0.3 + 0.8;
  const scale2X = -0.5 / (sigma * sigma);
  const cf = new Float32Array(k);
  let sum = 0;
  for (let i = 0; i < k; i++) {
    const x = i - (k - 1) * 0.5;
    cf[i] = f32(Math.exp(scale2X * x * x));
    sum += cf[i]!;
  }
  sum = 1 / sum;
  for (let i = 0; i < k; i++) cf[i] = f32(cf[i]! * sum);
  return cf;
}

/**
 * mmpose `_gaussian_blur` of one H×W map (a new array): zero-pad by (k-1)/2, separable
 * cv2.GaussianBlur, crop back, rescale so the max equals the original max (float32).
 */
export function gaussianBlurMap(map: Float32Array, H: number, W: number, kernel: number): Float32Array {
  const g = gaussianKernel(kernel);
  const r = (kernel - 1) >> 1;
  let originMax = -Infinity;
  for (let i = 0; i < map.length; i++) originMax = Math.max(originMax, map[i]!);
  // rows: tmp[y][x] = Σ_j g[j]·map[y][x + j - r] (zeros outside), float32 result
  const tmp = new Float32Array(H * W);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let s = 0;
      for (let j = 0; j < kernel; j++) {
        const xx = x + j - r;
        if (xx >= 0 && xx < W) s += g[j]! * map[y * W + xx]!;
      }
      tmp[y * W + x] = s;
    }
  }
  const out = new Float32Array(H * W);
  let blurMax = -Infinity;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let s = 0;
      for (let j = 0; j < kernel; j++) {
        const yy = y + j - r;
        if (yy >= 0 && yy < H) s += g[j]! * tmp[yy * W + x]!;
      }
      out[y * W + x] = s;
      blurMax = Math.max(blurMax, out[y * W + x]!);
    }
  }
  const factor = f32(f32(originMax) / f32(blurMax));
  for (let i = 0; i < out.length; i++) out[i] = f32(out[i]! * factor);
  return out;
}

/** mmpose `_taylor`: one Newton step on the log-heatmap around the integer peak (x, y); returns the new (x, y). */
function taylor(h: Float32Array, off: number, H: number, W: number, cx: number, cy: number): [number, number] {
  const px = Math.trunc(cx);
  const py = Math.trunc(cy);
  if (!(1 < px && px < W - 2 && 1 < py && py < H - 2)) return [cx, cy];
  const at = (yy: number, xx: number) => h[off + yy * W + xx]!;
  const dx = 0.5 * f32(at(py, px + 1) - at(py, px - 1));
  const dy = 0.5 * f32(at(py + 1, px) - at(py - 1, px));
  const dxx = 0.25 * (at(py, px + 2) - 2 * at(py, px) + at(py, px - 2));
  const dxy = 0.25 * (at(py + 1, px + 1) - at(py - 1, px + 1) - at(py + 1, px - 1) + at(py - 1, px - 1));
  const dyy = 0.25 * (at(py + 2, px) - 2 * at(py, px) + at(py - 2, px));
  const det = dxx * dyy - dxy * dxy;
  if (det === 0 || Number.isNaN(det)) return [cx, cy];
  // offset = -H^-1 · D
  const ox = -(dyy * dx - dxy * dy) / det;
  const oy = -(-dxy * dx + dxx * dy) / det;
  return [f32(cx + ox), f32(cy + oy)];
}

/**
 * Decodes heatmaps [N, K, H, W] (row-major host values) with per-sample `center` [N, 2] and
 * `scale` [N, 2] (units of 200 px) into image keypoints. The input is not modified.
 */
export function keypointsFromHeatmaps(
  heatmaps: Float32Array,
  shape: readonly number[],
  center: ArrayLike<number>,
  scale: ArrayLike<number>,
  opts: HeatmapDecodeOptions = {},
): DecodedKeypoints {
  if (shape.length !== 4) throw new Error(`keypointsFromHeatmaps: heatmaps must be [N, K, H, W], got [${shape.join(', ')}]`);
  const [N, K, H, W] = shape as [number, number, number, number];
  if (heatmaps.length !== N * K * H * W) throw new Error(`keypointsFromHeatmaps: ${heatmaps.length} values for [${shape.join(', ')}]`);
  if (center.length !== 2 * N || scale.length !== 2 * N) throw new Error(`keypointsFromHeatmaps: center and scale must be [${N}, 2], got ${center.length / 2} and ${scale.length / 2} rows`);
  const post = opts.postProcess ?? 'default';
  if (!['default', 'unbiased', 'none'].includes(post)) throw new Error(`keypointsFromHeatmaps: postProcess must be 'default', 'unbiased' or 'none', got '${String(post)}'`);
  const kernel = opts.kernel ?? 11;
  const plane = H * W;
  const coords = new Float32Array(N * K * 2);
  const maxvals = new Float32Array(N * K);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      const j = n * K + k;
      const off = j * plane;
      const { idx, val } = argmax(heatmaps, off, plane);
      maxvals[j] = val;
      let x = val > 0 ? idx % W : -1;
      let y = val > 0 ? Math.floor(idx / W) : -1;
      if (post === 'default') {
        const px = Math.trunc(x);
        const py = Math.trunc(y);
        if (1 < px && px < W - 1 && 1 < py && py < H - 1) {
          const h = (yy: number, xx: number) => heatmaps[off + yy * W + xx]!;
          x = f32(x + Math.sign(f32(h(py, px + 1) - h(py, px - 1))) * 0.25);
          y = f32(y + Math.sign(f32(h(py + 1, px) - h(py - 1, px))) * 0.25);
        }
      } else if (post === 'unbiased') {
        const blurred = gaussianBlurMap(heatmaps.subarray(off, off + plane), H, W, kernel);
        for (let i = 0; i < plane; i++) blurred[i] = f32(Math.log(Math.max(blurred[i]!, f32(1e-10))));
        [x, y] = taylor(blurred, 0, H, W, x, y);
      }
      coords[2 * j] = x;
      coords[2 * j + 1] = y;
    }
  }
  const preds = new Float32Array(N * K * 2);
  for (let n = 0; n < N; n++) {
    const sx = f32(f32(scale[2 * n]!) * 200);
    const sy = f32(f32(scale[2 * n + 1]!) * 200);
    const kx = f32(sx / W);
    const ky = f32(sy / H);
    const cx = f32(center[2 * n]!);
    const cy = f32(center[2 * n + 1]!);
    const hx = f32(sx * 0.5);
    const hy = f32(sy * 0.5);
    for (let k = 0; k < K; k++) {
      const j = 2 * (n * K + k);
      preds[j] = f32(f32(f32(coords[j]! * kx) + cx) - hx);
      preds[j + 1] = f32(f32(f32(coords[j + 1]! * ky) + cy) - hy);
    }
  }
  return { preds, maxvals, heatmapCoords: coords };
}
