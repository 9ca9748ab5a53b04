/** Top-down human pose estimation (mmpose 0.16 as vendored by UniFormer): crop, head, flip test, decoding, OKS-NMS. */
export { PIXEL_STD, affineFromPoints, boxToCenterScale, getAffineTransform, invertAffine, type Affine, type BoxXYWH, type CenterScale } from './affine';
export { getPoseConfig, poseConfigNames, resolvePoseConfig, type TopDownPoseConfig, type TopDownPoseConfigInput } from './config';
export { gaussianBlurMap, gaussianKernel, keypointsFromHeatmaps, type DecodedKeypoints, type HeatmapDecodeOptions, type PostProcess } from './decode';
export {
  PoseEstimator,
  createPoseEstimator,
  parsePersonBox,
  type EstimatePosesOptions,
  type Keypoint,
  type PersonBoxInput,
  type Pose,
  type PoseEstimatorOptions,
  type RgbImageInput,
} from './estimator';
export { flipBackHeatmaps, flipTestHeatmaps } from './flip';
export { ConvTranspose2d, TopDownSimpleHead, UNIFORMER_POSE_HEAD, type PoseHeadConfig } from './head';
export { COCO_FLIP_PAIRS, COCO_KEYPOINT_NAMES, COCO_SKELETON, flipPermutation, type CocoKeypointName } from './keypoints';
export { TOP_DOWN_OUTPUTS, TopDownPose, applyPoseWeights, asPoseConfig, loadPoseModel, type LoadPoseOptions, type TopDownOutputOptions } from './model';
export { oksIou, oksNms, rescorePose, type OksCandidate } from './oks';
