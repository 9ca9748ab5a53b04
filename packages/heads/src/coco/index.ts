/**
 * COCO evaluation in TypeScript with pycocotools' semantics: RLE masks (maskApi.c), polygon
 * rasterisation, the COCO dataset index and result loader, and COCOeval for bbox, segm and keypoints.
 */
export {
  type Rle,
  type CocoRleJson,
  type CocoPolygons,
  type CocoSegmentation,
  type CrowdFlags,
  rleEncode,
  rleDecode,
  rleArea,
  rleToBbox,
  rleMerge,
  rleIou,
  bbIou,
  rleFrPoly,
  rleFrBbox,
  rleToString,
  rleFrString,
  rleToJson,
  rleFromJson,
  frPyObjects,
  segmentationToRle,
} from './rle';
export {
  COCO,
  type CocoImage,
  type CocoCategory,
  type CocoAnnotation,
  type CocoDataset,
  type CocoResult,
  type AnnIdFilter,
} from './coco';
export {
  COCOeval,
  CocoEvalParams,
  COCO_KEYPOINT_SIGMAS,
  cocoEvaluate,
  type IouType,
  type EvalImg,
  type CocoEvalResult,
  type CocoIouMatrix,
  type CocoEvaluateOptions,
} from './cocoeval';
