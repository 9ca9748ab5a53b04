/**
 * Anchor generation: base anchors per level (host, float32 in the reference op order) and the
 * per-level grids (the core `gridAnchors` op).
 */
import { type Tensor, gridAnchors, tensor } from '@tubelet/core';
import type { DetectionMode } from './config';
import { f32, onBackendWith } from './util';

/**
 * mmdet AnchorGenerator.gen_single_level_base_anchors (scale_major, center_offset 0):
 * h_ratio = sqrt(r), w_ratio = 1 / h_ratio, ws = base·w_ratio·scale, hs = base·h_ratio·scale (float32,
 * that order), anchor = [−ws/2, −hs/2, ws/2, hs/2] (0 − 0.5·ws); ratio-major then scale. Not rounded.
 */
export function mmdetBaseAnchors(baseSize: number, ratios: readonly number[], scales: readonly number[]): Float32Array {
  const out = new Float32Array(ratios.length * scales.length * 4);
  let k = 0;
  for (const r of ratios) {
    const hr = f32(Math.sqrt(f32(r)));
    const wr = f32(1 / hr);
    for (const s of scales) {
      const ws = f32(f32(baseSize * wr) * f32(s));
      const hs = f32(f32(baseSize * hr) * f32(s));
      out[k++] = f32(0 - f32(0.5 * ws));
      out[k++] = f32(0 - f32(0.5 * hs));
      out[k++] = f32(0 + f32(0.5 * ws));
      out[k++] = f32(0 + f32(0.5 * hs));
    }
  }
  return out;
}

/** Round half to even (torch.round). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * torchvision AnchorGenerator.generate_anchors: ws = w_ratio·size, hs = h_ratio·size,
 * base = round([−ws, −hs, ws, hs] / 2) (half to even).
 */
export function tvBaseAnchors(size: number, ratios: readonly number[]): Float32Array {
  const out = new Float32Array(ratios.length * 4);
  ratios.forEach((r, i) => {
    const hr = f32(Math.sqrt(f32(r)));
    const wr = f32(1 / hr);
    const ws = f32(wr * size);
    const hs = f32(hr * size);
    out.set([-ws, -hs, ws, hs].map((v) => roundHalfEven(f32(v / 2))), 4 * i);
  });
  return out;
}

export interface LevelAnchorSpec {
  /** [A, 4] base anchors of the level. */
  base: Float32Array;
  /** Grid [H, W] and stride [sy, sx]. */
  size: [number, number];
  stride: [number, number];
}

/**
 * Per-level anchor specs for feature maps of sizes `featSizes` ([H, W] per level) of a padded input
 * `padShape` [H, W]. mmdet: base size = nominal stride, anchors scaled by `scales`, stride nominal.
 * torchvision: sizes stride·scale, rounded base anchors, stride = padded size // feature size.
 */
export function anchorSpecs(
  mode: DetectionMode,
  featSizes: readonly (readonly number[])[],
  padShape: readonly number[],
  strides: readonly number[],
  ratios: readonly number[],
  scales: readonly number[],
): LevelAnchorSpec[] {
  return featSizes.map(([h, w], l) => {
    const s = strides[l]!;
    if (mode === 'mmdet') return { base: mmdetBaseAnchors(s, ratios, scales), size: [h!, w!], stride: [s, s] };
    if (scales.length !== 1) throw new Error('torchvision mode: one anchor size per level');
    return { base: tvBaseAnchors(s * scales[0]!, ratios), size: [h!, w!], stride: [Math.floor(padShape[0]! / h!), Math.floor(padShape[1]! / w!)] };
  });
}

/** The [H·W·A, 4] anchors of one level on `backend` (gridAnchors; falls back to cpu where the backend has no kernel). */
export async function levelAnchors(spec: LevelAnchorSpec, backend?: string): Promise<Tensor> {
  const base = tensor(spec.base, [spec.base.length / 4, 4], { backend });
  try {
    return await onBackendWith('gridAnchors', [base], ([b]) => gridAnchors(b!, { size: spec.size, stride: spec.stride }));
  } finally {
    base.dispose();
  }
}
