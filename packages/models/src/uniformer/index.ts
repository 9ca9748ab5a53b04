/**
 * UniFormer (Sense-X/UniFormer @ 52a0415): video / image classifiers, dense and pose backbones,
 * named configs, official checkpoint loading and 2D→3D inflation.
 */
export {
  OFFICIAL_CONFIG_KEYS,
  UNIFORMER_ARCHS,
  configFromOfficial,
  resolveUniformerConfig,
  type LayerScaleMode,
  type Quad,
  type Stage3Mode,
  type UniformerArch,
  type UniformerConfig,
  type UniformerConfigInput,
  type UniformerKind,
} from './config';
export {
  getUniformerPreset,
  uniformerPresetNames,
  uniformerPresets,
  type DetectionPreprocess,
  type ImagePreprocess,
  type PosePreprocess,
  type Preprocess,
  type SegmentationPreprocess,
  type Triple,
  type UniformerPreset,
  type VideoPreprocess,
} from './configs';
export { CBlock, ConvStemHead, ConvStemMiddle, PatchEmbed, SABlock, WindowSABlock, type BlockOptions } from './blocks';
export { UniformerBase, UniformerClassifier, UniformerDense, UniformerPose, createUniformer, type ForwardOptions, type UniformerModel } from './model';
export {
  applyUniformerWeights,
  inflateImageStateDict,
  mismatchHint,
  normalizeUniformerKeys,
  readWeights,
  summarizeCheckpoint,
  type ApplyWeightsOptions,
  type CheckpointSummary,
  type NormalizedKeys,
  type WeightsSource,
} from './weights';
export { loadUniformer, loadUniformerDetailed, type LoadUniformerOptions, type UniformerLoadInfo } from './load';
export { traceUniformer, traceUniformerStages, type UniformerStageCost, type UniformerTrace } from './trace';
