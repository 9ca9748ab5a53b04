/**
 * Top-down pose estimation in the tfjs-models convention:
 * `const est = await createPoseEstimator('uniformer-s-coco-pose-256x192', { weights });`
 * `const poses = await est.estimatePoses(image, { boxes });` → `[{ score, box, keypoints }]`.
 *
 * Per person box, exactly the mmpose 0.16 test pipeline of the UniFormer configs: box → center /
 * scale (aspect fixed to the crop, padding 1.25), OpenCV's fixed-point warpAffine of the RGB uint8
 * image (the `warpAffine` op, bit-exact), /255 and ImageNet mean/std, backbone + TopDownSimpleHead,
 * flip test (flip, swap left/right, flip back, shift one column, average), heatmap decoding back to
 * image coordinates, rescoring by the visible keypoint scores and OKS-NMS (oks_thr 0.9).
 */
import { type Tensor, cast, div, getBackend, getKernel, initBackend, keep, sub, tensor, tidy, transpose, warpAffine } from '@tubelet/core';
import type { WeightsSource } from '@tubelet/models';
import { type BoxXYWH, boxToCenterScale, getAffineTransform } from './affine';
import type { TopDownPoseConfig, TopDownPoseConfigInput } from './config';
import { type PostProcess, keypointsFromHeatmaps } from './decode';
import { TopDownPose, loadPoseModel } from './model';
import { oksNms, rescorePose } from './oks';

const f32 = Math.fround;

/** An 8-bit RGB image, interleaved [height, width, 3] row-major (what `ffmpeg -pix_fmt rgb24` writes). */
export interface RgbImageInput {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
}

/**
 * A person box: `[x, y, w, h]`, `[x, y, w, h, score]`, a COCO detection entry `{ bbox: [x, y, w, h], score }`,
 * or `{ x, y, width, height, score? }`.
 */
export type PersonBoxInput =
  | BoxXYWH
  | readonly [number, number, number, number, number]
  | { bbox: readonly number[]; score?: number }
  | { x: number; y: number; width: number; height: number; score?: number };

export interface Keypoint {
  name: string;
  /** Image pixels (mmpose convention: no half-pixel shift). */
  x: number;
  y: number;
  /** Heatmap maximum. */
  score: number;
}

export interface Pose {
  /** bbox score × mean of the keypoint scores above visThreshold (mmpose rescoring), or the box score with rescore off. */
  score: number;
  box: { xMin: number; yMin: number; xMax: number; yMax: number; width: number; height: number };
  keypoints: Keypoint[];
  /** The detector's box score (1 when none was given). */
  boxScore: number;
  /** mmpose center / scale of the crop and area = prod(scale·200). */
  center: [number, number];
  scale: [number, number];
  area: number;
  /** Index of the box in the request. */
  boxIndex: number;
}

export interface EstimatePosesOptions {
  /** Person boxes (default: the whole image as one box of score 1). */
  boxes?: readonly PersonBoxInput[];
  /** Drop boxes scoring below this (mmpose det_bbox_thr; 0 in the UniFormer configs). */
  boxScoreThreshold?: number;
  /** Flip test (default: the config's, true). */
  flipTest?: boolean;
  postProcess?: PostProcess;
  /** mmpose rescoring (default true). */
  rescore?: boolean;
  /** OKS-NMS (default true, threshold config.oksThreshold = 0.9); false keeps every box. */
  nms?: boolean;
  /** Crops per forward pass (default the estimator's batchSize). */
  batchSize?: number;
}

export interface PoseEstimatorOptions {
  /** An mmpose TopDown checkpoint (.pth or .safetensors path, bytes or state dict). */
  weights?: WeightsSource;
  /** Random weights from this seed when there is no checkpoint (keypoints are then meaningless). */
  seed?: number;
  /** Backend to run on (default: the current backend). */
  backend?: string;
  /** Crops per forward pass (default 8; the flip test doubles it). */
  batchSize?: number;
}

/** Parses one PersonBoxInput to [x, y, w, h] and a score. */
export function parsePersonBox(b: PersonBoxInput, i = 0): { xywh: BoxXYWH; score: number } {
  let v: readonly number[];
  let score = 1;
  if (Array.isArray(b)) {
    v = b as readonly number[];
    if (v.length === 5) score = v[4]!;
    else if (v.length !== 4) throw new Error(`box ${i}: expected [x, y, w, h] or [x, y, w, h, score], got ${v.length} numbers`);
  } else if (b && typeof b === 'object' && 'bbox' in b) {
    v = b.bbox;
    if (b.score !== undefined) score = b.score;
  } else if (b && typeof b === 'object' && 'width' in b) {
    v = [b.x, b.y, b.width, b.height];
    if (b.score !== undefined) score = b.score;
  } else throw new Error(`box ${i}: expected [x, y, w, h], [x, y, w, h, score], { bbox, score } or { x, y, width, height }, got ${JSON.stringify(b)}`);
  const xywh = [v[0], v[1], v[2], v[3]] as [number, number, number, number];
  if (!xywh.every((n) => typeof n === 'number' && Number.isFinite(n))) throw new Error(`box ${i}: [x, y, w, h] must be finite numbers, got ${JSON.stringify(v)}`);
  if (!(typeof score === 'number' && Number.isFinite(score))) throw new Error(`box ${i}: score must be a finite number, got ${JSON.stringify(score)}`);
  return { xywh, score };
}

function checkImage(image: RgbImageInput): void {
  const { width, height, data } = image ?? ({} as RgbImageInput);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) throw new Error(`estimatePoses: image width and height must be positive integers, got ${width}×${height}`);
  if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray)) throw new Error('estimatePoses: image.data must be a Uint8Array of interleaved RGB');
  if (data.length !== width * height * 3) throw new Error(`estimatePoses: image.data has ${data.length} bytes, expected width·height·3 = ${width * height * 3} (RGB)`);
}

export class PoseEstimator {
  readonly model: TopDownPose;
  readonly config: TopDownPoseConfig;
  readonly backend: string | undefined;
  readonly batchSize: number;

  constructor(model: TopDownPose, opts: { backend?: string; batchSize?: number } = {}) {
    this.model = model;
    this.config = model.config;
    this.backend = opts.backend;
    this.batchSize = opts.batchSize ?? 8;
  }

  /** Affine crops [B, h, w, 3] uint8 of an HWC uint8 image for the given (center, scale) pairs (OpenCV's fixed-point warp). */
  warpCrops(image: Tensor, cs: readonly { center: readonly [number, number]; scale: readonly [number, number] }[]): Tensor {
    const [w, h] = this.config.imageSize;
    return warpAffine(
      image,
      cs.map((c) => getAffineTransform(c.center, c.scale, 0, [w, h])),
      { size: [w, h] },
    );
  }

  /** ToTensor (/255) and NormalizeTensor of uint8 crops [B, h, w, 3] → float32 [B, 3, h, w]. */
  normalizeCrops(u8: Tensor): Tensor {
    return tidy(() => {
      const b = u8.backend;
      const mean = tensor(Float32Array.from(this.config.mean), [3], { backend: b });
      const std = tensor(Float32Array.from(this.config.std), [3], { backend: b });
      return transpose(div(sub(div(cast(u8, 'float32'), 255), mean), std), [0, 3, 1, 2]);
    });
  }

  /**
   * Normalised crops [B, 3, h, w] of one image for the given (center, scale) pairs: OpenCV's
   * fixed-point warp of the uint8 image, then ToTensor (/255) and NormalizeTensor.
   */
  crops(image: Tensor, cs: readonly { center: readonly [number, number]; scale: readonly [number, number] }[]): Tensor {
    return tidy(() => this.normalizeCrops(this.warpCrops(image, cs)));
  }

  /** Poses of the people in `image` (one per box, after OKS-NMS), best first. */
  async estimatePoses(image: RgbImageInput, opts: EstimatePosesOptions = {}): Promise<Pose[]> {
    checkImage(image);
    if (this.model.isLoaded === false) throw new Error('estimatePoses: the estimator was disposed');
    const cfg = this.config;
    const parsed = (opts.boxes ?? [[0, 0, image.width, image.height]]).map((b, i) => ({ ...parsePersonBox(b, i), index: i }));
    const thr = opts.boxScoreThreshold ?? 0;
    const boxes = parsed.filter((b) => b.score >= thr);
    if (!boxes.length) return [];
    const flipTest = opts.flipTest ?? cfg.flipTest;
    const postProcess = opts.postProcess ?? cfg.postProcess;
    const bs = Math.max(1, opts.batchSize ?? this.batchSize);
    const cs = boxes.map((b) => boxToCenterScale(b.xywh, cfg.imageSize, cfg.padding));
    const K = cfg.head.numJoints;
    const preds = new Float32Array(boxes.length * K * 2);
    const maxvals = new Float32Array(boxes.length * K);
    // the crop runs where the model runs when that backend has a warpAffine kernel, else on cpu (then the crops move)
    const target = getBackend(this.backend);
    const warpOn = getKernel('warpAffine', target) ? target.name : 'cpu';
    const img = tensor(Uint8Array.from(image.data), [image.height, image.width, 3], { dtype: 'uint8', backend: warpOn });
    try {
      for (let start = 0; start < boxes.length; start += bs) {
        const part = cs.slice(start, start + bs);
        let u8 = this.warpCrops(img, part);
        if (u8.backend !== target.name) {
          const moved = await u8.to(target.name).finally(() => u8.dispose());
          u8 = moved;
        }
        const hm = keep(
          tidy(() => {
            try {
              return this.model.testHeatmaps(this.normalizeCrops(u8), flipTest);
            } finally {
              u8.dispose();
            }
          }),
        );
        let values: Float32Array;
        try {
          values = (await hm.data()) as Float32Array;
        } finally {
          hm.dispose();
        }
        const center = part.flatMap((c) => c.center);
        const scale = part.flatMap((c) => c.scale);
        const dec = keypointsFromHeatmaps(values, hm.shape, center, scale, { postProcess, kernel: cfg.modulateKernel });
        preds.set(dec.preds, start * K * 2);
        maxvals.set(dec.maxvals, start * K);
      }
    } finally {
      img.dispose();
    }
    const poses: Pose[] = boxes.map((b, i) => {
      const kp = Array.from({ length: K }, (_, k) => ({ name: cfg.keypointNames[k]!, x: preds[2 * (i * K + k)]!, y: preds[2 * (i * K + k) + 1]!, score: maxvals[i * K + k]! }));
      const flat = kp.flatMap((p) => [p.x, p.y, p.score]);
      const c = cs[i]!;
      const [x, y, w, h] = b.xywh;
      return {
        score: opts.rescore === false ? b.score : rescorePose(flat, b.score, cfg.visThreshold),
        box: { xMin: x, yMin: y, xMax: x + w, yMax: y + h, width: w, height: h },
        keypoints: kp,
        boxScore: b.score,
        center: c.center,
        scale: c.scale,
        area: f32(f32(c.scale[0] * 200) * f32(c.scale[1] * 200)),
        boxIndex: b.index,
      };
    });
    if (opts.nms === false) return poses.slice().sort((a, b) => b.score - a.score || a.boxIndex - b.boxIndex);
    const keepIdx = oksNms(
      poses.map((p) => ({ keypoints: p.keypoints.flatMap((k) => [k.x, k.y, k.score]), score: p.score, area: p.area })),
      cfg.oksThreshold,
      cfg.sigmas,
    );
    return keepIdx.map((i) => poses[i]!);
  }

  /** Frees the weights. */
  dispose(): void {
    this.model.dispose();
  }
}

/**
 * Creates a pose estimator from a named config (see poseConfigNames(), e.g.
 * 'uniformer-s-coco-pose-256x192') or a config object, with an mmpose checkpoint (`weights`) or
 * seeded random weights (`seed`).
 */
export async function createPoseEstimator(nameOrConfig: string | TopDownPoseConfigInput | TopDownPoseConfig, opts: PoseEstimatorOptions = {}): Promise<PoseEstimator> {
  if (opts.backend) await initBackend(opts.backend);
  const model = await loadPoseModel(nameOrConfig, { weights: opts.weights, seed: opts.seed, backend: opts.backend });
  return new PoseEstimator(model, { backend: opts.backend, batchSize: opts.batchSize });
}
