/**
 * Class-wise (batched) NMS exactly as the two libraries run it.
 *
 * - mmcv 1.3 `batched_nms`: boxes are shifted by `idx·(max(boxes) + 1)` (float32) so that boxes of
 *   different classes never overlap, then one plain NMS; with ≥ 10000 boxes the same shifted boxes are
 *   suppressed class by class (same set, sorted by score).
 * - torchvision 0.14 `batched_nms`: the same coordinate trick up to 1000 boxes (4000 numbers on cpu),
 *   class by class on the unshifted boxes beyond.
 *
 * The shift changes the float32 rounding of the IoUs, so the decisions follow the reference only when
 * the same boxes are used. Plain NMS is the core `nms` op (IoU > thr suppresses; score order with ties
 * to the lower index).
 */
import { type Tensor, add, cast, max, mul, nms, reshape, tensor } from '@tubelet/core';
import type { DetectionMode } from './config';
import { Bag, intData } from './util';

/**
 * Kept indices (into boxes [K, 4] / scores [K]) in score order; `idxs` are the class (or level) ids.
 * Inputs are not disposed.
 */
export async function batchedNms(boxes: Tensor, scores: Tensor, idxs: Int32Array, iouThreshold: number, mode: DetectionMode): Promise<Int32Array> {
  const K = idxs.length;
  if (boxes.shape[0] !== K || scores.shape[0] !== K) throw new Error(`batchedNms: ${boxes.describe()} / ${scores.describe()} do not match ${K} ids`);
  if (K === 0) return new Int32Array(0);
  const bag = new Bag();
  try {
    const backend = boxes.backend;
    const ids = bag.add(tensor(idxs, [K], { backend }));
    if (mode === 'torchvision' && K * 4 > 4000) return await intData(bag.add(await nms(boxes, scores, { iouThreshold, classes: ids })));
    const m = bag.add(max(boxes));
    const offsets = bag.add(mul(bag.add(cast(ids, 'float32')), bag.add(add(m, 1))));
    const shifted = bag.add(add(boxes, bag.add(reshape(offsets, [K, 1]))));
    const keep = bag.add(await nms(shifted, scores, mode === 'mmdet' && K >= 10000 ? { iouThreshold, classes: ids } : { iouThreshold }));
    return await intData(keep);
  } finally {
    bag.dispose();
  }
}
