/** The flip test of mmpose's TopDown.forward_test (flip_test=True, shift_heatmap=True). */
import { type Tensor, add, concat, flip, gather, mul, slice, tensor, tidy } from '@tubelet/core';
import { COCO_FLIP_PAIRS, flipPermutation } from './keypoints';

/**
 * mmpose `flip_back` + `shift_heatmap`: the heatmaps of the horizontally flipped crop
 * [N, K, H, W] → swap the left/right channels, reverse the W axis, then (shift) move every column
 * one to the right, `out[..., 1:] = out[..., :-1]` (column 0 keeps its own value).
 */
export function flipBackHeatmaps(flipped: Tensor, opts: { pairs?: readonly (readonly [number, number])[]; shift?: boolean } = {}): Tensor {
  if (flipped.rank !== 4) throw new Error(`flipBackHeatmaps: heatmaps must be [N, K, H, W], got [${flipped.shape.join(', ')}]`);
  const [, K, , W] = flipped.shape as [number, number, number, number];
  const perm = flipPermutation(K, opts.pairs ?? COCO_FLIP_PAIRS);
  return tidy(() => {
    const idx = tensor(Int32Array.from(perm), [K], { dtype: 'int32', backend: flipped.backend });
    const back = flip(gather(flipped, idx, 1), [3]);
    if (!(opts.shift ?? true) || W < 2) return back;
    return concat([slice(back, { starts: [0], ends: [1], axes: [3] }), slice(back, { starts: [0], ends: [W - 1], axes: [3] })], 3);
  });
}

/** `(heatmap + flipBack(flipped)) * 0.5` (TopDown.forward_test) and the flipped-back maps. */
export function flipTestHeatmaps(heatmap: Tensor, flipped: Tensor, opts: { pairs?: readonly (readonly [number, number])[]; shift?: boolean } = {}): { back: Tensor; average: Tensor } {
  const back = flipBackHeatmaps(flipped, opts);
  const average = tidy(() => mul(add(heatmap, back), 0.5));
  return { back, average };
}
