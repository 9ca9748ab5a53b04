/**
 * Configuration of the Mask R-CNN heads (FPN neck, RPN, RoI box and mask heads) and of whole
 * detectors (UniFormer dense backbone + heads + the mmdet test pipeline), with the published
 * UniFormer Mask R-CNN variants as named configs.
 */
import { type UniformerConfigInput, getUniformerPreset } from '@tubelet/models';
import { COCO80_LABELS } from './labels';

/**
 * Post-processing semantics: 'mmdet' = mmdet 2.11 / mmcv 1.3 (the UniFormer checkpoints'), the
 * default; 'torchvision' = torchvision 0.14's MaskRCNN (rounded anchors, unaligned RoIAlign with 2
 * samples, its level mapper, box coder and mask paste; see specs/heads.md §A.7), on the same weights
 * and logit layout.
 */
export type DetectionMode = 'mmdet' | 'torchvision';

export interface RpnTestConfig {
  /** Top-scoring anchors kept per level before NMS. */
  nmsPre: number;
  /** Proposals kept after NMS. */
  maxPerImg: number;
  iouThreshold: number;
  /** mmdet: boxes with w or h below this are removed (0 = none; torchvision always removes w or h < 1e-3). */
  minBboxSize: number;
}

export interface RcnnTestConfig {
  /** Candidates need score > scoreThr (strict). */
  scoreThr: number;
  iouThreshold: number;
  maxPerImg: number;
  /** Pasted mask probabilities >= this are foreground. */
  maskThrBinary: number;
}

export interface MaskRcnnHeadsConfig {
  /** Channels of the backbone maps C2..C5. */
  inChannels: readonly number[];
  /** FPN output channels (256 in the real model). */
  fpnChannels: number;
  /** Channels of the RPN's shared 3x3 conv. */
  rpnChannels: number;
  anchorScales: readonly number[];
  /** Anchor aspect ratios h/w. */
  anchorRatios: readonly number[];
  /** Strides of P2..P6. */
  strides: readonly number[];
  /** Box RoI size (7). */
  roiSize: number;
  /** Mask RoI size (14); the mask head outputs twice this. */
  maskRoiSize: number;
  /** Hidden width of the two shared fcs (1024). */
  fcChannels: number;
  /** Channels of the mask head convs (256). */
  maskChannels: number;
  numMaskConvs: number;
  /** Foreground classes (80); the classifier has one more (background, last). */
  numClasses: number;
  /** mmdet SingleRoIExtractor finest_scale. */
  finestScale: number;
  /** Box regression stds of the RoI head (mmdet; torchvision weights are their reciprocals 10, 10, 5, 5). */
  bboxStds: readonly [number, number, number, number];
  rpn: RpnTestConfig;
  rcnn: RcnnTestConfig;
  mode: DetectionMode;
}

/** The real UniFormer Mask R-CNN heads (object_detection/configs/_base_/models/mask_rcnn_uniformer_fpn.py). */
export const UNIFORMER_MASKRCNN_HEADS: MaskRcnnHeadsConfig = Object.freeze<MaskRcnnHeadsConfig>({
  inChannels: [64, 128, 320, 512],
  fpnChannels: 256,
  rpnChannels: 256,
  anchorScales: [8],
  anchorRatios: [0.5, 1.0, 2.0],
  strides: [4, 8, 16, 32, 64],
  roiSize: 7,
  maskRoiSize: 14,
  fcChannels: 1024,
  maskChannels: 256,
  numMaskConvs: 4,
  numClasses: 80,
  finestScale: 56,
  bboxStds: [0.1, 0.1, 0.2, 0.2],
  rpn: { nmsPre: 1000, maxPerImg: 1000, iouThreshold: 0.7, minBboxSize: 0 },
  rcnn: { scoreThr: 0.05, iouThreshold: 0.5, maxPerImg: 100, maskThrBinary: 0.5 },
  mode: 'mmdet',
});

export type MaskRcnnHeadsConfigInput = Partial<Omit<MaskRcnnHeadsConfig, 'rpn' | 'rcnn'>> & { rpn?: Partial<RpnTestConfig>; rcnn?: Partial<RcnnTestConfig> };

function positiveInt(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`Mask R-CNN config: ${what} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

/** Fills defaults from the UniFormer heads and validates. */
export function resolveHeadsConfig(input: MaskRcnnHeadsConfigInput = {}): MaskRcnnHeadsConfig {
  const d = UNIFORMER_MASKRCNN_HEADS;
  const c: MaskRcnnHeadsConfig = {
    ...d,
    ...Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)),
    rpn: { ...d.rpn, ...(input.rpn ?? {}) },
    rcnn: { ...d.rcnn, ...(input.rcnn ?? {}) },
  } as MaskRcnnHeadsConfig;
  if (!Array.isArray(c.inChannels) || c.inChannels.length !== 4) throw new Error(`Mask R-CNN config: inChannels must list the 4 backbone widths (C2..C5), got ${JSON.stringify(c.inChannels)}`);
  c.inChannels.forEach((v, i) => positiveInt(v, `inChannels[${i}]`));
  for (const k of ['fpnChannels', 'rpnChannels', 'roiSize', 'maskRoiSize', 'fcChannels', 'maskChannels', 'numClasses', 'finestScale'] as const) positiveInt(c[k], k);
  if (!Number.isInteger(c.numMaskConvs) || c.numMaskConvs < 0) throw new Error(`Mask R-CNN config: numMaskConvs must be >= 0, got ${c.numMaskConvs}`);
  if (c.strides.length !== 5) throw new Error(`Mask R-CNN config: strides must give P2..P6 (5 values), got ${JSON.stringify(c.strides)}`);
  if (c.mode !== 'mmdet' && c.mode !== 'torchvision') throw new Error(`Mask R-CNN config: mode must be 'mmdet' or 'torchvision', got ${JSON.stringify(c.mode)}`);
  for (const k of ['nmsPre', 'maxPerImg'] as const) positiveInt(c.rpn[k], `rpn.${k}`);
  positiveInt(c.rcnn.maxPerImg, 'rcnn.maxPerImg');
  return c;
}

/** Anchors per position (ratios × scales). */
export const numAnchors = (c: MaskRcnnHeadsConfig) => c.anchorRatios.length * c.anchorScales.length;

/**
 * The `config` metadata of the parity vectors (`maskrcnn_*_s0`), accepted as is: `dims`
 * (in_channels, fpn_out, rpn_feat, fc_out, mask_conv, num_convs, num_classes, roi_feat, mask_roi,
 * num_anchors), `test_cfg` and `mode` ('mmdet' | 'tv').
 */
export function headsConfigFromVectorConfig(json: Record<string, unknown>): MaskRcnnHeadsConfig {
  const dims = (json.dims ?? {}) as Record<string, unknown>;
  const tc = (json.test_cfg ?? {}) as { rpn?: Record<string, number>; rcnn?: Record<string, number> };
  const mode = json.mode === 'tv' || json.mode === 'torchvision' ? 'torchvision' : json.mode === undefined || json.mode === 'mmdet' ? 'mmdet' : null;
  if (!mode) throw new Error(`Mask R-CNN config: unknown mode ${JSON.stringify(json.mode)} (expected 'mmdet' or 'tv')`);
  const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
  const cfg = resolveHeadsConfig({
    inChannels: Array.isArray(dims.in_channels) ? (dims.in_channels as number[]) : undefined,
    fpnChannels: num(dims.fpn_out),
    rpnChannels: num(dims.rpn_feat),
    fcChannels: num(dims.fc_out),
    maskChannels: num(dims.mask_conv),
    numMaskConvs: num(dims.num_convs),
    numClasses: num(dims.num_classes),
    roiSize: num(dims.roi_feat),
    maskRoiSize: num(dims.mask_roi),
    rpn: {
      ...(tc.rpn?.nms_pre !== undefined ? { nmsPre: tc.rpn.nms_pre } : {}),
      ...(tc.rpn?.max_per_img !== undefined ? { maxPerImg: tc.rpn.max_per_img } : {}),
      ...(tc.rpn?.iou_threshold !== undefined ? { iouThreshold: tc.rpn.iou_threshold } : {}),
      ...(tc.rpn?.min_bbox_size !== undefined ? { minBboxSize: tc.rpn.min_bbox_size } : {}),
    },
    rcnn: {
      ...(tc.rcnn?.score_thr !== undefined ? { scoreThr: tc.rcnn.score_thr } : {}),
      ...(tc.rcnn?.iou_threshold !== undefined ? { iouThreshold: tc.rcnn.iou_threshold } : {}),
      ...(tc.rcnn?.max_per_img !== undefined ? { maxPerImg: tc.rcnn.max_per_img } : {}),
      ...(tc.rcnn?.mask_thr_binary !== undefined ? { maskThrBinary: tc.rcnn.mask_thr_binary } : {}),
    },
    mode,
  });
  const a = num(dims.num_anchors);
  if (a !== undefined && a !== numAnchors(cfg)) throw new Error(`Mask R-CNN config: num_anchors ${a} does not match ${cfg.anchorRatios.length} ratios × ${cfg.anchorScales.length} scales`);
  return cfg;
}

/** mmdet test pipeline (coco_instance.py): keep-ratio resize into `scale` (long, short), normalise, pad. */
export interface DetectionPipelineConfig {
  /** img_scale (1333, 800): the long side fits `scale[0]`, the short side `scale[1]`. */
  scale: readonly [number, number];
  padDivisor: number;
  /** RGB order, 0–255 scale. */
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

export const MMDET_PIPELINE: DetectionPipelineConfig = Object.freeze({
  scale: [1333, 800] as const,
  padDivisor: 32,
  mean: [123.675, 116.28, 103.53] as const,
  std: [58.395, 57.12, 57.375] as const,
});

export interface DetectorConfig {
  name: string;
  /** The UniFormer dense backbone (kind 'dense'). */
  backbone: UniformerConfigInput;
  heads: MaskRcnnHeadsConfig;
  pipeline: DetectionPipelineConfig;
  /** Class names (index = label). */
  labels: readonly string[];
  /** The official experiment this mirrors. */
  official?: string;
  notes?: string[];
}

export type DetectorConfigInput = Omit<Partial<DetectorConfig>, 'heads' | 'pipeline'> & {
  backbone: UniformerConfigInput;
  heads?: MaskRcnnHeadsConfigInput;
  pipeline?: Partial<DetectionPipelineConfig>;
};


const registry = new Map<string, DetectorConfig>();

function add(name: string, backbonePreset: string, official: string, notes: string[]): void {
  const bb = getUniformerPreset(backbonePreset);
  registry.set(
    name,
    Object.freeze({ name, backbone: bb.config, heads: UNIFORMER_MASKRCNN_HEADS, pipeline: MMDET_PIPELINE, labels: COCO80_LABELS, official, notes }) as DetectorConfig,
  );
}

for (const [size, full] of [
  ['s', 'small'],
  ['b', 'base'],
] as const) {
  add(`uniformer-${size}-maskrcnn-1x`, `uniformer-${size}-coco-maskrcnn`, `object_detection/exp/mask_rcnn_1x_hybrid_${full}/config.py`, [
    `UniFormer-${size.toUpperCase()} hybrid (window 14) + FPN + RPN + RoI heads, 1x schedule${size === 's' ? ' (published: 45.6 box / 41.6 mask AP on COCO val)' : ''}`,
  ]);
  add(`uniformer-${size}-maskrcnn-3x`, `uniformer-${size}-coco-maskrcnn-3x`, `object_detection/exp/mask_rcnn_3x_ms_hybrid_${full}/config.py`, [
    `UniFormer-${size.toUpperCase()} hybrid (window 14), 3x schedule with multi-scale training; the test pipeline is the same as 1x`,
  ]);
}

/** Names of the built-in detector configs. */
export function detectorConfigNames(): string[] {
  return [...registry.keys()];
}

/** A built-in config by name, or a config object completed with defaults. */
export function resolveDetectorConfig(nameOrConfig: string | DetectorConfigInput | DetectorConfig): DetectorConfig {
  if (typeof nameOrConfig === 'string') {
    const c = registry.get(nameOrConfig);
    if (!c) throw new Error(`unknown detector '${nameOrConfig}'; known: ${detectorConfigNames().join(', ')}`);
    return c;
  }
  const heads = resolveHeadsConfig(nameOrConfig.heads as MaskRcnnHeadsConfigInput | undefined);
  const labels = nameOrConfig.labels ?? COCO80_LABELS;
  if (labels.length !== heads.numClasses) throw new Error(`detector config: ${labels.length} labels for ${heads.numClasses} classes`);
  return {
    name: nameOrConfig.name ?? 'custom',
    backbone: nameOrConfig.backbone,
    heads,
    pipeline: { ...MMDET_PIPELINE, ...(nameOrConfig.pipeline ?? {}) },
    labels,
    ...(nameOrConfig.official ? { official: nameOrConfig.official } : {}),
    ...(nameOrConfig.notes ? { notes: nameOrConfig.notes } : {}),
  };
}
