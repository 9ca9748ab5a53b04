/**
 * Pose skeleton overlays: limbs as lines and keypoints as dots (mmpose's imshow_keypoints look:
 * left side orange, right side blue, face and torso green; keypoints below a score threshold and the
 * limbs touching them are skipped), the person box and its score.
 *
 * Keypoint coordinates are mmpose's (integer heatmap cell × stride + box offset, no half-pixel
 * shift): a keypoint at (x, y) is drawn centred on the continuous point (x, y).
 */
import { COCO_SKELETON } from '@tubelet/heads';
import { Canvas, type Rgb } from './canvas';

export interface SkeletonKeypoint {
  x: number;
  y: number;
  score: number;
  name?: string;
}

export interface SkeletonPose {
  keypoints: readonly SkeletonKeypoint[];
  score?: number;
  box?: { xMin: number; yMin: number; xMax: number; yMax: number };
}

export interface SkeletonStyle {
  /** Limbs as pairs of keypoint indices (default: the COCO skeleton). */
  skeleton?: readonly (readonly [number, number])[];
  /** Keypoints (and limbs) with score ≤ this are not drawn (mmpose kpt_score_thr 0.3; -Infinity draws all). */
  keypointThreshold?: number;
  /** Dot radius in px (default scales with the image: max(2, round(min(w, h) / 150))). */
  radius?: number;
  /** Limb width in px (default max(1, round(radius / 1.5))). */
  thickness?: number;
  /** Draw the person box and its score (default true). */
  boxes?: boolean;
}

/** COCO skeleton (0-based): @tubelet/heads' COCO_SKELETON. */
export const COCO_LIMBS: readonly (readonly [number, number])[] = COCO_SKELETON;

export const LEFT_COLOR: Rgb = [255, 128, 0];
export const RIGHT_COLOR: Rgb = [51, 153, 255];
export const CENTER_COLOR: Rgb = [0, 255, 0];
export const BOX_COLOR: Rgb = [255, 255, 255];

/** COCO side of a keypoint: odd indices ≥ 1 are left, even ≥ 2 right, 0 (nose) centre. */
function side(k: number): 'left' | 'right' | 'center' {
  if (k === 0) return 'center';
  return k % 2 === 1 ? 'left' : 'right';
}

const colorOf = (s: 'left' | 'right' | 'center'): Rgb => (s === 'left' ? LEFT_COLOR : s === 'right' ? RIGHT_COLOR : CENTER_COLOR);

/** A limb is left / right when both ends are on that side, else centre (eyes, shoulders, hips, face). */
export function limbColor(a: number, b: number): Rgb {
  const sa = side(a);
  const sb = side(b);
  return colorOf(sa === sb ? sa : 'center');
}

export function keypointColor(k: number): Rgb {
  return colorOf(side(k));
}

/** Draws the poses onto `canvas` (in place). Returns how many keypoints and limbs were drawn. */
export function drawSkeletons(canvas: Canvas, poses: readonly SkeletonPose[], style: SkeletonStyle = {}): { keypoints: number; limbs: number } {
  const limbs = style.skeleton ?? COCO_LIMBS;
  const thr = style.keypointThreshold ?? 0.3;
  const radius = style.radius ?? Math.max(2, Math.round(Math.min(canvas.width, canvas.height) / 150));
  const thickness = style.thickness ?? Math.max(1, Math.round(radius / 1.5));
  let nk = 0;
  let nl = 0;
  // boxes first, then limbs, then dots on top
  if (style.boxes ?? true) {
    for (const p of poses) {
      if (!p.box) continue;
      const b = { x1: p.box.xMin, y1: p.box.yMin, x2: p.box.xMax, y2: p.box.yMax };
      canvas.rect(b, BOX_COLOR, { thickness: 1, alpha: 0.8 });
      if (p.score !== undefined) canvas.label(b, p.score.toFixed(2), BOX_COLOR, { color: [0, 0, 0] });
    }
  }
  const visible = (k: SkeletonKeypoint | undefined) => !!k && Number.isFinite(k.x) && Number.isFinite(k.y) && k.score > thr;
  for (const p of poses) {
    for (const [a, b] of limbs) {
      const ka = p.keypoints[a];
      const kb = p.keypoints[b];
      if (!visible(ka) || !visible(kb)) continue;
      canvas.line(ka!.x, ka!.y, kb!.x, kb!.y, limbColor(a, b), { thickness });
      nl++;
    }
  }
  for (const p of poses) {
    p.keypoints.forEach((k, i) => {
      if (!visible(k)) return;
      canvas.circle(k.x, k.y, radius, keypointColor(i));
      nk++;
    });
  }
  return { keypoints: nk, limbs: nl };
}

/** A copy of `image` with the skeletons drawn. */
export function renderSkeletons(image: { width: number; height: number; data: Uint8Array }, poses: readonly SkeletonPose[], style: SkeletonStyle = {}): Canvas {
  const c = Canvas.fromRgb(image);
  drawSkeletons(c, poses, style);
  return c;
}
