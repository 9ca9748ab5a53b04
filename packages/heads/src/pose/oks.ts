/**
 * mmpose 0.16 COCO post-processing of top-down results (TopDownCocoDataset.evaluate): rescoring
 * with the visible keypoint scores and OKS-NMS (`oks_nms`, oks_thr 0.9, not soft).
 */
import { COCO_KEYPOINT_SIGMAS } from './keypoints';

const f32 = Math.fround;
/** np.spacing(1). */
const EPS = 2.220446049250313e-16;

/**
 * `score = boxScore · mean(keypoint scores > visThr)` (0 when no keypoint clears the threshold).
 * `keypoints` is [K, 3] (x, y, score) flattened.
 */
export function rescorePose(keypoints: ArrayLike<number>, boxScore: number, visThr = 0.2): number {
  let s = 0;
  let n = 0;
  for (let i = 2; i < keypoints.length; i += 3) {
    const v = keypoints[i]!;
    if (v > visThr) {
      s += v;
      n++;
    }
  }
  return (n ? s / n : 0) * boxScore;
}

/**
 * mmpose `oks_iou(g, d, a_g, a_d)`: for each candidate, mean over keypoints of
 * exp(-d² / (2σ)² / ((a_g + a_d)/2 + eps) / 2), as float32 (keypoints [K, 3] flattened, areas in px²).
 * With `visThr` only keypoints visible in both count (mmpose passes none for COCO).
 */
export function oksIou(g: ArrayLike<number>, ds: readonly ArrayLike<number>[], areaG: number, areasD: readonly number[], sigmas: readonly number[] = COCO_KEYPOINT_SIGMAS, visThr?: number): Float32Array {
  const K = sigmas.length;
  if (g.length !== 3 * K) throw new Error(`oksIou: keypoints must be [${K}, 3], got ${g.length} values`);
  const vars = sigmas.map((s) => (s * 2) ** 2);
  const out = new Float32Array(ds.length);
  ds.forEach((d, j) => {
    if (d.length !== 3 * K) throw new Error(`oksIou: candidate ${j} must be [${K}, 3], got ${d.length} values`);
    const denom = (areaG + areasD[j]!) / 2 + EPS;
    let s = 0;
    let n = 0;
    for (let k = 0; k < K; k++) {
      if (visThr !== undefined && !(g[3 * k + 2]! > visThr && d[3 * k + 2]! > visThr)) continue;
      const dx = d[3 * k]! - g[3 * k]!;
      const dy = d[3 * k + 1]! - g[3 * k + 1]!;
      const e = (dx * dx + dy * dy) / vars[k]! / denom / 2;
      s += Math.exp(-e);
      n++;
    }
    out[j] = n ? f32(s / n) : 0;
  });
  return out;
}

/** Something OKS-NMS can rank: keypoints [K, 3] flattened, a score and the area (prod(scale·200)). */
export interface OksCandidate {
  keypoints: ArrayLike<number>;
  score: number;
  area: number;
}

/**
 * mmpose `oks_nms`: visit by score descending — numpy `argsort()[::-1]`, i.e. among equal scores
 * the later index first — keep the candidate, drop every remaining one with OKS > thr to it.
 * Returns the kept indices in visiting order.
 */
export function oksNms(cands: readonly OksCandidate[], thr = 0.9, sigmas: readonly number[] = COCO_KEYPOINT_SIGMAS, visThr?: number): number[] {
  let order = cands
    .map((_, i) => i)
    .sort((a, b) => cands[a]!.score - cands[b]!.score || a - b)
    .reverse();
  const keep: number[] = [];
  while (order.length) {
    const i = order[0]!;
    keep.push(i);
    const rest = order.slice(1);
    const ious = oksIou(
      cands[i]!.keypoints,
      rest.map((j) => cands[j]!.keypoints),
      cands[i]!.area,
      rest.map((j) => cands[j]!.area),
      sigmas,
      visThr,
    );
    order = rest.filter((_, r) => ious[r]! <= thr);
  }
  return keep;
}
