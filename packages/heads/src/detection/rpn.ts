/**
 * RPN proposals from per-level objectness / deltas (mmdet 2.11 RPNHead._get_bboxes, or torchvision
 * 0.14 RegionProposalNetwork.filter_proposals).
 */
import { type Tensor, boxDecode, concat, gather, reshape, sigmoid, tensor, topk, transpose } from '@tubelet/core';
import type { DetectionMode, RpnTestConfig } from './config';
import { batchedNms } from './nms';
import { Bag, f32Data, onBackendWith } from './util';

export interface Proposals {
  /** [K, 4] xyxy at test scale (clipped to img_shape). */
  boxes: Tensor;
  /** [K] objectness probabilities, descending. */
  scores: Tensor;
  /** Level (0 = P2) each proposal came from. */
  levels: Int32Array;
}

/**
 * Proposals of one image. `cls[l]` [1, A, H, W] and `reg[l]` [1, 4A, H, W] are the RPN outputs of
 * level l, `anchors[l]` [H·W·A, 4]; flattening is (y, x, a) for both. mmdet: per level sigmoid, and
 * when a level has more than nmsPre anchors keep the nmsPre best (stable sort); decode (stds 1, clamp
 * ±log(1000/16), clip to imgShape); min size filter only if minBboxSize > 0; NMS per level; first
 * maxPerImg. torchvision: per level top-k on logits (always sorted), sigmoid, decode (clamp from
 * above), clip, drop boxes with w or h < 1e-3, NMS per level, first maxPerImg.
 * Inputs are not disposed.
 */
export async function rpnProposals(
  cls: readonly Tensor[],
  reg: readonly Tensor[],
  anchors: readonly Tensor[],
  imgShape: readonly [number, number],
  cfg: RpnTestConfig,
  mode: DetectionMode,
): Promise<Proposals> {
  if (cls.length !== reg.length || cls.length !== anchors.length) throw new Error(`rpnProposals: ${cls.length} cls, ${reg.length} reg and ${anchors.length} anchor levels`);
  const bag = new Bag();
  try {
    const scores: Tensor[] = [];
    const deltas: Tensor[] = [];
    const anch: Tensor[] = [];
    const levelOf: number[] = [];
    cls.forEach((c, l) => {
      if (c.rank !== 4 || c.shape[0] !== 1) throw new Error(`rpnProposals: level ${l} objectness must be [1, A, H, W], got ${c.describe()}`);
      const [, A, H, W] = c.shape as [number, number, number, number];
      const r = reg[l]!;
      if (r.rank !== 4 || r.shape[1] !== 4 * A || r.shape[2] !== H || r.shape[3] !== W) throw new Error(`rpnProposals: level ${l} deltas must be [1, ${4 * A}, ${H}, ${W}], got ${r.describe()}`);
      const n = H * W * A;
      if (anchors[l]!.shape[0] !== n) throw new Error(`rpnProposals: level ${l} has ${n} positions × anchors but ${anchors[l]!.describe()} anchors`);
      const logits = bag.add(reshape(bag.add(transpose(c, [0, 2, 3, 1])), [n]));
      const d = bag.add(reshape(bag.add(transpose(r, [0, 2, 3, 1])), [n, 4]));
      let s: Tensor;
      let dd = d;
      let aa = anchors[l]!;
      if (mode === 'mmdet') {
        s = bag.add(sigmoid(logits));
        if (n > cfg.nmsPre) {
          const t = topk(s, { k: cfg.nmsPre });
          bag.add(t.values);
          bag.add(t.indices);
          s = t.values;
          dd = bag.add(gather(d, t.indices));
          aa = bag.add(gather(aa, t.indices));
        }
      } else {
        const t = topk(logits, { k: Math.min(cfg.nmsPre, n) });
        bag.add(t.values);
        bag.add(t.indices);
        s = bag.add(sigmoid(t.values));
        dd = bag.add(gather(d, t.indices));
        aa = bag.add(gather(aa, t.indices));
      }
      scores.push(s);
      deltas.push(dd);
      anch.push(aa);
      for (let i = 0; i < s.shape[0]!; i++) levelOf.push(l);
    });
    let allScores = bag.add(concat(scores, 0));
    const allDeltas = bag.add(concat(deltas, 0));
    const allAnchors = bag.add(concat(anch, 0));
    let boxes = bag.add(
      await onBackendWith('boxDecode', [allAnchors, allDeltas], ([a, d]) =>
        boxDecode(a!, d!, mode === 'mmdet' ? { maxShape: imgShape } : { style: 'torchvision', maxShape: imgShape }),
      ),
    );
    let levels = Int32Array.from(levelOf);
    const minSize = mode === 'torchvision' ? 1e-3 : cfg.minBboxSize;
    if (minSize > 0) {
      const b = await f32Data(boxes);
      const keep: number[] = [];
      for (let i = 0; i < levels.length; i++) {
        const w = Math.fround(b[4 * i + 2]! - b[4 * i]!);
        const h = Math.fround(b[4 * i + 3]! - b[4 * i + 1]!);
        // mmdet 2.11 (min_bbox_size > 0) and torchvision remove_small_boxes: keep (w >= min) & (h >= min)
        if (w >= minSize && h >= minSize) keep.push(i);
      }
      if (keep.length !== levels.length) {
        const idx = bag.add(tensor(Int32Array.from(keep), [keep.length], { backend: boxes.backend }));
        boxes = bag.add(gather(boxes, idx));
        allScores = bag.add(gather(allScores, idx));
        levels = Int32Array.from(keep, (i) => levels[i]!);
      }
    }
    let keep = await batchedNms(boxes, allScores, levels, cfg.iouThreshold, mode);
    if (keep.length > cfg.maxPerImg) keep = keep.slice(0, cfg.maxPerImg);
    const idx = bag.add(tensor(keep, [keep.length], { backend: boxes.backend }));
    return { boxes: gather(boxes, idx), scores: gather(allScores, idx), levels: Int32Array.from(keep, (i) => levels[i]!) };
  } finally {
    bag.dispose();
  }
}
