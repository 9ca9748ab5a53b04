/**
 * RoI feature extraction over the FPN levels P2..P5: the level mapping and one RoIAlign per level
 * (mmdet SingleRoIExtractor / torchvision MultiScaleRoIAlign).
 */
import { type Tensor, concat, gather, roiAlign, tensor, zeros } from '@tubelet/core';
import type { DetectionMode } from './config';
import { Bag, f32 } from './util';

/**
 * Level of each box (xyxy, [K·4] host values) among `numLevels` levels.
 * mmdet (map_roi_levels): floor(log2(sqrt(w·h) / finestScale + 1e-6)) clamped to [0, numLevels−1].
 * torchvision (LevelMapper, k_min 2, canonical 224 at level 4): floor(4 + log2(sqrt(w·h) / 224) + 1e-6)
 * clamped to [2, 5], minus 2. Float32 at every step, as the references.
 */
export function mapRoiLevels(boxes: Float32Array, numLevels: number, mode: DetectionMode, finestScale = 56): Int32Array {
  const K = boxes.length / 4;
  const out = new Int32Array(K);
  const eps = f32(1e-6);
  for (let k = 0; k < K; k++) {
    const w = f32(boxes[4 * k + 2]! - boxes[4 * k]!);
    const h = f32(boxes[4 * k + 3]! - boxes[4 * k + 1]!);
    const s = f32(Math.sqrt(f32(w * h)));
    let lvl: number;
    if (mode === 'mmdet') lvl = Math.floor(f32(Math.log2(f32(f32(s / finestScale) + eps))));
    else lvl = Math.floor(f32(f32(4 + f32(Math.log2(f32(s / 224)))) + eps)) - 2;
    // NaN (degenerate boxes) → level 0, as torch's clamp then .long() of NaN is not defined; mmdet would index garbage
    out[k] = lvl !== lvl ? 0 : Math.min(Math.max(lvl, 0), numLevels - 1);
  }
  return out;
}

export interface RoiAlignSpec {
  outputSize: number;
  /** 1 / stride per level. */
  spatialScales: readonly number[];
  samplingRatio: number;
  aligned: boolean;
}

/** The RoIAlign settings of a mode: mmdet aligned=True, adaptive sampling; torchvision aligned=False, 2 samples. */
export function roiAlignSpec(mode: DetectionMode, outputSize: number, scales: readonly number[]): RoiAlignSpec {
  return mode === 'mmdet' ? { outputSize, spatialScales: scales, samplingRatio: 0, aligned: true } : { outputSize, spatialScales: scales, samplingRatio: 2, aligned: false };
}

/**
 * torchvision MultiScaleRoIAlign infers each level's scale from its size and the (unpadded) image
 * size: 2^round(log2(featH / imgH)).
 */
export function inferredScales(feats: readonly Tensor[], imgShape: readonly [number, number]): number[] {
  return feats.map((f) => 2 ** Math.round(Math.log2(f32(f.shape[2]! / imgShape[0]))));
}

/**
 * RoI features [K, C, s, s] of boxes [K, 4] (host xyxy) from `feats` (P2..P5 [1, C, H, W]), each box on
 * its mapped level; rows in box order. Inputs are not disposed.
 */
export function extractRoiFeatures(feats: readonly Tensor[], boxes: Float32Array, levels: Int32Array, spec: RoiAlignSpec): Tensor {
  const K = levels.length;
  const C = feats[0]!.shape[1]!;
  const s = spec.outputSize;
  const backend = feats[0]!.backend;
  if (K === 0) return zeros([0, C, s, s], { backend });
  const bag = new Bag();
  try {
    const parts: Tensor[] = [];
    const order: number[] = [];
    for (let l = 0; l < feats.length; l++) {
      const idx: number[] = [];
      for (let k = 0; k < K; k++) if (levels[k] === l) idx.push(k);
      if (!idx.length) continue;
      const rois = new Float32Array(idx.length * 5);
      idx.forEach((k, j) => rois.set([0, boxes[4 * k]!, boxes[4 * k + 1]!, boxes[4 * k + 2]!, boxes[4 * k + 3]!], 5 * j));
      const r = bag.add(tensor(rois, [idx.length, 5], { backend }));
      parts.push(bag.add(roiAlign(feats[l]!, r, { outputSize: s, spatialScale: spec.spatialScales[l]!, samplingRatio: spec.samplingRatio, aligned: spec.aligned })));
      order.push(...idx);
    }
    const all = parts.length === 1 ? parts[0]! : bag.add(concat(parts, 0));
    const inv = new Int32Array(K);
    order.forEach((k, j) => (inv[k] = j));
    return gather(all, bag.add(tensor(inv, [K], { backend })));
  } finally {
    bag.dispose();
  }
}
