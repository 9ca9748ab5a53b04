/**
 * Named configurations of every published UniFormer model (Sense-X/UniFormer @ 52a0415): the
 * architecture plus what a runner needs to preprocess exactly like the official test.
 */
import { type UniformerArch, type UniformerConfig, type UniformerConfigInput, resolveUniformerConfig } from './config';

export type Triple = readonly [number, number, number];

/** slowfast test pipeline (kinetics.py / sth.py, `TEST.*`, `DATA.*`). */
export interface VideoPreprocess {
  type: 'video';
  /** DATA.NUM_FRAMES: frames fed to the model per clip. */
  numFrames: number;
  /**
   * 'dense' (Kinetics/UCF/HMDB, decord, USE_OFFSET_SAMPLING): a clip spans rate·numFrames frames,
   * start = floor(delta/2) for one clip else clipIdx·floor(delta/(clips−1)) with delta = max(n − span, 0),
   * indices = trunc(clamp(linspace(start, start + span − 1, numFrames), 0, n−1)).
   * 'segments' (Something-Something, sth.py): seg = (n−1)/numFrames, 1-based frame
   * index = round_half_even(seg·i) + trunc(seg/(clips+1)·(clipIdx+1)) + 1.
   */
  sampling: 'dense' | 'segments';
  /** DATA.SAMPLING_RATE (dense only; null for segments). */
  samplingRate: number | null;
  /** Temporal views (TEST.NUM_ENSEMBLE_VIEWS). */
  clips: number;
  /** Spatial views (TEST.NUM_SPATIAL_CROPS): 1 = centre; 3 = start / centre / end of the longer side. */
  crops: 1 | 3;
  /** Short side resized to this (bilinear, align_corners=False, no antialias; skipped when already equal; long side = floor(long/short·S)). */
  shortSide: number;
  /** Square crop (uniform_crop: offsets ceil((H−crop)/2), ceil((W−crop)/2) for the centre view). */
  crop: number;
  /** RGB, values /255, then (x − mean) / std per channel; layout [N, C, T, H, W]. */
  mean: Triple;
  std: Triple;
  /** Views are combined by summing logits (DATA.ENSEMBLE_METHOD 'sum'), then argmax. */
  ensemble: 'sum';
}

/** DeiT / timm eval transform. */
export interface ImagePreprocess {
  type: 'image';
  /** Resize the short side to this (PIL). */
  resize: number;
  interpolation: 'bicubic';
  /** Centre crop. */
  crop: number;
  /** RGB /255 then (x − mean) / std. */
  mean: Triple;
  std: Triple;
}

/** mmdet test pipeline. */
export interface DetectionPreprocess {
  type: 'detection';
  /** Resize keeping the ratio to fit (long, short) = scale; then pad to a multiple of padDivisor. */
  scale: readonly [number, number];
  keepRatio: true;
  padDivisor: number;
  /** RGB 0–255: (x − mean) / std. */
  mean: Triple;
  std: Triple;
}

/** mmseg test pipeline (ADE20K). */
export interface SegmentationPreprocess {
  type: 'segmentation';
  scale: readonly [number, number];
  keepRatio: true;
  mode: 'whole';
  mean: Triple;
  std: Triple;
}

/** mmpose top-down test pipeline. */
export interface PosePreprocess {
  type: 'pose';
  /** TopDownAffine output [w, h]. */
  imageSize: readonly [number, number];
  /** Heatmap [w, h] (stride 4). */
  heatmapSize: readonly [number, number];
  /** RGB /255 then (x − mean) / std. */
  mean: Triple;
  std: Triple;
  flipTest: true;
  shiftHeatmap: true;
  postProcess: 'default';
  numJoints: 17;
}

export type Preprocess = VideoPreprocess | ImagePreprocess | DetectionPreprocess | SegmentationPreprocess | PosePreprocess;

export interface UniformerPreset {
  name: string;
  arch: UniformerArch;
  task: 'video-classification' | 'image-classification' | 'detection' | 'segmentation' | 'pose';
  dataset: string;
  /** Model classes (the checkpoint's head.weight rows win when they differ). 0 for backbones. */
  numClasses: number;
  config: UniformerConfig;
  preprocess: Preprocess;
  /** The official experiment / factory this mirrors. */
  official: string;
  /** Initialisation the official recipe trains from. */
  pretrain?: string;
  notes?: string[];
}

const KINETICS_MEAN: Triple = [0.45, 0.45, 0.45];
const KINETICS_STD: Triple = [0.225, 0.225, 0.225];
const IMAGENET_MEAN: Triple = [0.485, 0.456, 0.406];
const IMAGENET_STD: Triple = [0.229, 0.224, 0.225];
const MM_MEAN: Triple = [123.675, 116.28, 103.53];
const MM_STD: Triple = [58.395, 57.12, 57.375];
const INCEPTION_MEAN: Triple = [0.5, 0.5, 0.5];

const S = { depth: [3, 4, 8, 3], embedDim: [64, 128, 320, 512], headDim: 64 } as const;
const SPLUS = { depth: [3, 5, 9, 3], embedDim: [64, 128, 320, 512], convStem: true } as const;
const B = { depth: [5, 8, 20, 7], embedDim: [64, 128, 320, 512], headDim: 64 } as const;
const L = { depth: [5, 10, 24, 7], embedDim: [128, 192, 448, 640], headDim: 64 } as const;

const registry = new Map<string, UniformerPreset>();

function add(p: Omit<UniformerPreset, 'config'> & { config: UniformerConfigInput }): void {
  if (registry.has(p.name)) throw new Error(`duplicate UniFormer preset ${p.name}`);
  registry.set(p.name, Object.freeze({ ...p, config: Object.freeze(resolveUniformerConfig(p.config)) }) as UniformerPreset);
}

// ---------------------------------------------------------------- video (slowfast), spec §5.1
const VIDEO_NOTES = ['video UniFormer: dims 64,128,320,512, head_dim 64, mlp 4; MODEL.DROPOUT_RATE is ignored by the class'];
function video(size: 's' | 'b', dataset: string, classes: number, frames: number, rate: number | null, views: { clips: number; crops: 1 | 3 }, official: string, pretrain: string, extra: Partial<UniformerPreset> = {}, suffix = '') {
  const ds = { kinetics400: 'k400', kinetics600: 'k600', ssv1: 'ssv1', ssv2: 'ssv2', ucf101: 'ucf101', hmdb51: 'hmdb51' }[dataset]!;
  const name = rate === null ? `uniformer-${size}-${ds}-${frames}${suffix}` : `uniformer-${size}-${ds}-${frames}x${rate}${suffix}`;
  add({
    name,
    arch: 'uniformer-video',
    task: 'video-classification',
    dataset,
    numClasses: classes,
    config: { kind: 'video', ...(size === 's' ? S : B), numClasses: classes },
    preprocess: {
      type: 'video',
      numFrames: frames,
      sampling: rate === null ? 'segments' : 'dense',
      samplingRate: rate,
      clips: views.clips,
      crops: views.crops,
      shortSide: 224,
      crop: 224,
      mean: KINETICS_MEAN,
      std: KINETICS_STD,
      ensemble: 'sum',
    },
    official: `video_classification/exp/${official}`,
    pretrain,
    notes: [...VIDEO_NOTES, ...(extra.notes ?? [])],
  });
}
const K4 = { clips: 4, crops: 1 } as const;
for (const size of ['s', 'b'] as const) {
  const inet = size === 's' ? 'uniformer_small_in1k' : 'uniformer_base_in1k';
  for (const [f, r] of [[8, 8], [16, 4], [16, 8], [32, 4]] as const) {
    video(size, 'kinetics400', 400, f, r, K4, `uniformer_${size}${f}x${r}_k400`, inet);
  }
  const k600: (readonly [number, number])[] = size === 's' ? [[16, 4], [16, 8]] : [[16, 4], [16, 8], [32, 4]];
  for (const [f, r] of k600) {
    video(size, 'kinetics600', 600, f, r, K4, `uniformer_${size}${f}x${r}_k600`, inet, { notes: ['the K600 yaml says 400 classes; run.sh overrides MODEL.NUM_CLASSES 600'] });
  }
  for (const v of [1, 2] as const) {
    for (const f of [16, 32] as const) {
      for (const pre of [400, 600] as const) {
        video(
          size,
          v === 1 ? 'ssv1' : 'ssv2',
          174,
          f,
          null,
          { clips: 1, crops: 3 },
          `uniformer_${size}${f}_sthv${v}_prek${pre}`,
          `uniformer_${size === 's' ? 'small' : 'base'}_k${pre}_16x4`,
          {},
          pre === 400 ? '' : '-prek600',
        );
      }
    }
  }
}
video('s', 'ucf101', 101, 16, 4, { clips: 5, crops: 3 }, 'uniformer_s16x4_ucf101_prek400', 'uniformer_small_k400_16x4');
video('s', 'hmdb51', 101, 16, 4, { clips: 5, crops: 3 }, 'uniformer_s16x4_hmdb51_prek400', 'uniformer_small_k400_16x4', {
  notes: ['the official HMDB51 yaml / run.sh keep NUM_CLASSES 101 (copied from UCF101): the checkpoint head has 101 rows, only the first 51 are HMDB classes'],
});

// ---------------------------------------------------------------- ImageNet (DeiT), spec §3
const DEIT: ImagePreprocess = { type: 'image', resize: 256, interpolation: 'bicubic', crop: 224, mean: IMAGENET_MEAN, std: IMAGENET_STD };
function image(name: string, config: UniformerConfigInput, official: string, extra: Partial<UniformerPreset> = {}, preprocess: ImagePreprocess = DEIT) {
  add({ name, arch: 'uniformer-image', task: 'image-classification', dataset: 'imagenet1k', numClasses: 1000, config: { numClasses: 1000, ...config }, preprocess, official, ...extra });
}
image('uniformer-s-in1k', { kind: 'image', ...S, imgSize: 224 }, 'image_classification/models/uniformer.py:uniformer_small');
image('uniformer-splus-in1k', { kind: 'image', ...SPLUS, headDim: 32 }, 'image_classification/models/uniformer.py:uniformer_small_plus', { notes: ['S+ (S†): conv stem, head_dim 32'] });
image('uniformer-splus-dim64-in1k', { kind: 'image', ...SPLUS, headDim: 64 }, 'image_classification/models/uniformer.py:uniformer_small_plus_dim64');
image('uniformer-b-in1k', { kind: 'image', ...B, imgSize: 224 }, 'image_classification/models/uniformer.py:uniformer_base');
image('uniformer-b-ls-in1k', { kind: 'image', ...B, imgSize: 224, layerScale: 'attention' }, 'image_classification/models/uniformer.py:uniformer_base_ls', {
  notes: ['layer scale (gamma_1/gamma_2) in the SABlocks only'],
});

// token labeling (timm validate.py with the model's default_cfg = timm vit _cfg: crop_pct 0.9, bicubic, mean/std 0.5)
const TL_NOTE =
  'token-labeling eval: logits = head(mean) + 0.5·max_tokens(aux_head); preprocessing from timm resolve_data_config with the vit _cfg (crop_pct 0.9, bicubic, Inception mean/std 0.5) — read from the code, not checked against a reference vector';
function tl(name: string, config: UniformerConfigInput, factory: string, size: 224 | 384) {
  const resize = Math.floor(size / 0.9);
  image(
    size === 224 ? name : `${name}-384`,
    { ...config, auxHead: true, imgSize: null },
    `image_classification/token_labeling/tlt/models/uniformer.py:${factory}`,
    { notes: [TL_NOTE, ...(size === 384 ? ['fine-tuned at 384×384'] : [])] },
    { type: 'image', resize, interpolation: 'bicubic', crop: size, mean: INCEPTION_MEAN, std: INCEPTION_MEAN },
  );
}
for (const size of [224, 384] as const) {
  tl('uniformer-s-tl-in1k', { kind: 'image', ...S, headDim: 32 }, 'uniformer_small', size);
  tl('uniformer-splus-tl-in1k', { kind: 'image', ...SPLUS, headDim: 32 }, 'uniformer_small_plus', size);
  tl('uniformer-b-tl-in1k', { kind: 'image', ...B, headDim: 32 }, 'uniformer_base', size);
  tl('uniformer-l-ls-tl-in1k', { kind: 'image', ...L, layerScale: 'all' }, 'uniformer_large_ls', size);
}
tl('uniformer-s-dim64-tl-in1k', { kind: 'image', ...S, headDim: 64 }, 'uniformer_small_dim64', 224);
tl('uniformer-splus-dim64-tl-in1k', { kind: 'image', ...SPLUS, headDim: 64 }, 'uniformer_small_plus_dim64', 224);
tl('uniformer-b-dim64-tl-in1k', { kind: 'image', ...B, headDim: 64 }, 'uniformer_base_dim64', 224);

// ---------------------------------------------------------------- detection / segmentation backbones, spec §4.1
const DET: DetectionPreprocess = { type: 'detection', scale: [1333, 800], keepRatio: true, padDivisor: 32, mean: MM_MEAN, std: MM_STD };
for (const [size, arch] of [['s', S], ['b', B]] as const) {
  const full = size === 's' ? 'small' : 'base';
  for (const [suffix, exp] of [['maskrcnn', 'mask_rcnn_1x'], ['maskrcnn-3x', 'mask_rcnn_3x_ms'], ['cascade-3x', 'cascade_mask_rcnn_3x_ms']] as const) {
    add({
      name: `uniformer-${size}-coco-${suffix}`,
      arch: 'uniformer-dense',
      task: 'detection',
      dataset: 'coco',
      numClasses: 0,
      config: { kind: 'dense', ...arch, stage3: 'hybrid', windowSize: 14 },
      preprocess: DET,
      official: `object_detection/exp/${exp}_hybrid_${full}/config.py`,
      pretrain: `uniformer_${full}_in1k`,
      notes: ['backbone only (mmdet checkpoints: keys under backbone.*; neck / rpn_head / roi_head are the detection head)'],
    });
  }
  for (const mode of ['global', 'hybrid'] as const) {
    add({
      name: `uniformer-${size}-ade20k-upernet${mode === 'hybrid' ? '-hybrid' : ''}`,
      arch: 'uniformer-dense',
      task: 'segmentation',
      dataset: 'ade20k',
      numClasses: 0,
      config: { kind: 'dense', ...arch, stage3: mode, windowSize: 14 },
      preprocess: { type: 'segmentation', scale: [2048, 512], keepRatio: true, mode: 'whole', mean: MM_MEAN, std: MM_STD },
      official: `semantic_segmentation/exp/upernet_${mode}_${full}`,
      pretrain: `uniformer_${full}_in1k`,
      notes: ['backbone only (mmseg checkpoints: keys under backbone.*; decode_head / auxiliary_head are the segmentation head)'],
    });
  }
  // ---------------------------------------------------------------- pose (mmpose top-down), spec §4.1 / §4.2
  for (const [h, w] of [[256, 192], [384, 288], [448, 320]] as const) {
    add({
      name: `uniformer-${size}-coco-pose-${h}x${w}`,
      arch: 'uniformer-pose',
      task: 'pose',
      dataset: 'coco-keypoints',
      numClasses: 0,
      config: { kind: 'pose', ...arch, stage3: 'global' },
      preprocess: { type: 'pose', imageSize: [w, h], heatmapSize: [w / 4, h / 4], mean: IMAGENET_MEAN, std: IMAGENET_STD, flipTest: true, shiftHeatmap: true, postProcess: 'default', numJoints: 17 },
      official: `pose_estimation/exp/top_down_${h}x${w}_global_${full}/config.py`,
      pretrain: `uniformer_${full}_in1k`,
      notes: ['backbone only (keys under backbone.*; keypoint_head.* is the TopDownSimpleHead of @tubelet/heads)'],
    });
  }
}

/** Every preset name. */
export function uniformerPresetNames(): string[] {
  return [...registry.keys()];
}

/** Every preset. */
export function uniformerPresets(): UniformerPreset[] {
  return [...registry.values()];
}

/** A preset by name; throws listing close names when unknown. */
export function getUniformerPreset(name: string): UniformerPreset {
  const p = registry.get(name);
  if (p) return p;
  const stem = name.split('-').slice(0, 3).join('-');
  const near = [...registry.keys()].filter((k) => k.startsWith(stem)).slice(0, 12);
  throw new Error(`unknown UniFormer config '${name}'${near.length ? `; did you mean ${near.join(', ')}` : `; known: ${[...registry.keys()].slice(0, 20).join(', ')}, …`}`);
}
