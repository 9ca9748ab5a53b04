/**
 * Mask R-CNN detection and instance segmentation on the UniFormer dense backbone, numerically as
 * mmdet 2.11 / mmcv 1.3 (the official UniFormer object_detection code), with a torchvision 0.14
 * compatibility mode for the heads.
 */
export { COCO80_CATEGORY_IDS, COCO80_LABELS } from './labels';
export {
  MMDET_PIPELINE,
  UNIFORMER_MASKRCNN_HEADS,
  detectorConfigNames,
  headsConfigFromVectorConfig,
  numAnchors,
  resolveDetectorConfig,
  resolveHeadsConfig,
  type DetectionMode,
  type DetectionPipelineConfig,
  type DetectorConfig,
  type DetectorConfigInput,
  type MaskRcnnHeadsConfig,
  type MaskRcnnHeadsConfigInput,
  type RcnnTestConfig,
  type RpnTestConfig,
} from './config';
export { anchorSpecs, levelAnchors, mmdetBaseAnchors, tvBaseAnchors, type LevelAnchorSpec } from './anchors';
export { batchedNms } from './nms';
export { rpnProposals, type Proposals } from './rpn';
export { extractRoiFeatures, inferredScales, mapRoiLevels, roiAlignSpec, type RoiAlignSpec } from './roi';
export { BBoxHead, ConvModule, Deconv2d, Fpn, MaskHead, MaskRcnnHeadsModule, ModuleList, RoiHead, RpnHead } from './modules';
export {
  HEAD_OUTPUT_NAMES,
  OutputRecorder,
  boxDetections,
  detectFromProposals,
  maskStage,
  maskToImage,
  pasteFull,
  pasteRegions,
  runHeads,
  type Detections,
  type HeadsResult,
  type ImageMeta,
  type MaskRegion,
  type MaskStageResult,
  type RunHeadsOptions,
} from './heads';
export { applyHeadsWeights, splitDetectorStateDict, type SplitStateDict } from './load';
export { cv2ResizeLinear, preprocessDetectionImage, rescaleSize, type DetectionImage, type PreprocessedImage } from './preprocess';
export { Detector, createDetector, type DetectDetailed, type DetectOptions, type Detection, type DetectorOptions } from './detector';
export { MASKRCNN_HEADS_DEFAULT_OUTPUTS, MASKRCNN_HEADS_INPUTS, MASKRCNN_HEADS_OUTPUTS, metaFromConfig, runMaskRcnnHeads } from './run';
