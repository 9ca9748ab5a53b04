/** Drawing detection results (boxes, labels, instance masks) on a canvas. */
import { Canvas, type Box, type MaskRegion } from './canvas';
import { paletteColor } from './colors';

/** The parts of a detection the overlay draws (the shape of @tubelet/heads' Detection). */
export interface DrawableDetection {
  label: string;
  classId: number;
  score: number;
  box: Box;
  mask?: MaskRegion;
}

export interface DrawDetectionsOptions {
  /** mask opacity (default 0.45) */
  maskAlpha?: number;
  /** box line width (default: 2, or more on large images) */
  thickness?: number;
  /** label text scale (default: 1, 2 on images ≥ 800 px) */
  textScale?: number;
  /** draw labels (default true) */
  labels?: boolean;
}

/**
 * Draws detections in reverse score order (the best on top): the mask blended in the class colour with
 * an opaque outline, the box outline, and a `label score` tag at the box's top-left corner.
 */
export function drawDetections(c: Canvas, dets: readonly DrawableDetection[], opts: DrawDetectionsOptions = {}): void {
  const big = Math.max(c.width, c.height);
  const thickness = opts.thickness ?? Math.max(2, Math.round(big / 400));
  const textScale = opts.textScale ?? (big >= 800 ? 2 : 1);
  const order = dets.map((_, i) => i).sort((a, b) => dets[a]!.score - dets[b]!.score || b - a);
  for (const i of order) {
    const d = dets[i]!;
    const color = paletteColor(d.classId);
    if (d.mask && d.mask.width > 0 && d.mask.height > 0) c.mask(d.mask, color, { alpha: opts.maskAlpha ?? 0.45, outline: color });
    c.rect(d.box, color, { thickness });
  }
  if (opts.labels ?? true) for (const i of order) {
    const d = dets[i]!;
    c.label(d.box, `${d.label} ${d.score.toFixed(2)}`, paletteColor(d.classId), { scale: textScale });
  }
}
