/**
 * Named top-down pose configs: the UniFormer pose backbones of @tubelet/models (presets
 * `uniformer-{s,b}-coco-pose-{256x192,384x288,448x320}`, pose_estimation/exp/top_down_*_global_*)
 * plus the TopDownSimpleHead and the test pipeline of those configs.
 */
import { type UniformerConfig, type UniformerConfigInput, getUniformerPreset, resolveUniformerConfig, uniformerPresets } from '@tubelet/models';
import type { PostProcess } from './decode';
import { type PoseHeadConfig, UNIFORMER_POSE_HEAD } from './head';
import { COCO_FLIP_PAIRS, COCO_KEYPOINT_NAMES, COCO_KEYPOINT_SIGMAS, COCO_SKELETON } from './keypoints';

export type Triple = readonly [number, number, number];

export interface TopDownPoseConfig {
  /** The preset name, when built from one. */
  name: string | null;
  backbone: UniformerConfig;
  head: PoseHeadConfig;
  /** Crop [width, height] (TopDownAffine image_size). */
  imageSize: [number, number];
  /** Heatmap [width, height] (image_size / 4 for 3 deconvs). */
  heatmapSize: [number, number];
  /** ToTensor (/255) then (x - mean) / std, RGB. */
  mean: Triple;
  std: Triple;
  /** Box padding of _xywh2cs (1.25). */
  padding: number;
  /** test_cfg: flip_test, shift_heatmap, post_process, modulate_kernel. */
  flipTest: boolean;
  shiftHeatmap: boolean;
  postProcess: PostProcess;
  modulateKernel: number;
  keypointNames: readonly string[];
  flipPairs: readonly (readonly [number, number])[];
  skeleton: readonly (readonly [number, number])[];
  /** OKS sigmas, rescoring visibility threshold (vis_thr 0.2) and OKS-NMS threshold (oks_thr 0.9). */
  sigmas: readonly number[];
  visThreshold: number;
  oksThreshold: number;
}

export interface TopDownPoseConfigInput {
  name?: string | null;
  /** The backbone (kind defaults to 'pose'). */
  backbone: Partial<UniformerConfigInput>;
  /** Head overrides; inChannels defaults to the backbone's last embed dim. */
  head?: Partial<PoseHeadConfig>;
  imageSize: readonly [number, number];
  heatmapSize?: readonly [number, number];
  mean?: Triple;
  std?: Triple;
  padding?: number;
  flipTest?: boolean;
  shiftHeatmap?: boolean;
  postProcess?: PostProcess;
  modulateKernel?: number;
  keypointNames?: readonly string[];
  flipPairs?: readonly (readonly [number, number])[];
  skeleton?: readonly (readonly [number, number])[];
  sigmas?: readonly number[];
  visThreshold?: number;
  oksThreshold?: number;
}

const IMAGENET_MEAN: Triple = [0.485, 0.456, 0.406];
const IMAGENET_STD: Triple = [0.229, 0.224, 0.225];

/** Fills the defaults of the UniFormer COCO configs and validates. */
export function resolvePoseConfig(c: TopDownPoseConfigInput): TopDownPoseConfig {
  const backbone = resolveUniformerConfig({ ...c.backbone, kind: c.backbone.kind ?? 'pose' } as UniformerConfigInput);
  if (backbone.kind !== 'pose') throw new Error(`pose config: the backbone must be a UniFormer pose backbone (kind 'pose'), got '${backbone.kind}'`);
  const head: PoseHeadConfig = { ...UNIFORMER_POSE_HEAD, inChannels: backbone.embedDim[3], ...(c.head ?? {}) } as PoseHeadConfig;
  const [w, h] = c.imageSize;
  if (!(Number.isInteger(w) && Number.isInteger(h) && w > 0 && h > 0)) throw new Error(`pose config: imageSize must be [width, height] positive integers, got ${JSON.stringify(c.imageSize)}`);
  const up = 2 ** head.deconvFilters.length;
  const heatmapSize: [number, number] = c.heatmapSize ? [c.heatmapSize[0], c.heatmapSize[1]] : [(w / 32) * up, (h / 32) * up];
  const keypointNames = c.keypointNames ?? COCO_KEYPOINT_NAMES;
  if (keypointNames.length !== head.numJoints) throw new Error(`pose config: ${keypointNames.length} keypoint names for ${head.numJoints} joints`);
  const sigmas = c.sigmas ?? COCO_KEYPOINT_SIGMAS;
  if (sigmas.length !== head.numJoints) throw new Error(`pose config: ${sigmas.length} OKS sigmas for ${head.numJoints} joints`);
  const postProcess = c.postProcess ?? 'default';
  if (!['default', 'unbiased', 'none'].includes(postProcess)) throw new Error(`pose config: postProcess must be 'default', 'unbiased' or 'none', got '${String(postProcess)}'`);
  return Object.freeze({
    name: c.name ?? null,
    backbone,
    head: Object.freeze(head),
    imageSize: [w, h],
    heatmapSize,
    mean: c.mean ?? IMAGENET_MEAN,
    std: c.std ?? IMAGENET_STD,
    padding: c.padding ?? 1.25,
    flipTest: c.flipTest ?? true,
    shiftHeatmap: c.shiftHeatmap ?? true,
    postProcess,
    modulateKernel: c.modulateKernel ?? 11,
    keypointNames,
    flipPairs: c.flipPairs ?? COCO_FLIP_PAIRS,
    skeleton: c.skeleton ?? COCO_SKELETON,
    sigmas,
    visThreshold: c.visThreshold ?? 0.2,
    oksThreshold: c.oksThreshold ?? 0.9,
  }) as TopDownPoseConfig;
}

/** Names of the pose configs (the UniFormer COCO top-down presets). */
export function poseConfigNames(): string[] {
  return uniformerPresets()
    .filter((p) => p.task === 'pose')
    .map((p) => p.name);
}

/** A named pose config, e.g. `uniformer-s-coco-pose-256x192`. */
export function getPoseConfig(name: string): TopDownPoseConfig {
  let preset;
  try {
    preset = getUniformerPreset(name);
  } catch {
    throw new Error(`unknown pose config '${name}' (known: ${poseConfigNames().join(', ')})`);
  }
  if (preset.task !== 'pose' || preset.preprocess.type !== 'pose') throw new Error(`'${name}' is a ${preset.task} config, not a pose config (known: ${poseConfigNames().join(', ')})`);
  const pp = preset.preprocess;
  return resolvePoseConfig({
    name,
    backbone: preset.config,
    head: { numJoints: pp.numJoints },
    imageSize: pp.imageSize,
    heatmapSize: pp.heatmapSize,
    mean: pp.mean,
    std: pp.std,
    flipTest: pp.flipTest,
    shiftHeatmap: pp.shiftHeatmap,
    postProcess: pp.postProcess,
    // test_cfg.modulate_kernel: 11 with the sigma-2 targets of 256x192, 17 with sigma 3 (DARK only)
    modulateKernel: pp.imageSize[1] === 256 ? 11 : 17,
  });
}
