/** The COCO person keypoint set (17 keypoints) as mmpose 0.16 uses it. */

export const COCO_KEYPOINT_NAMES = [
  'nose',
  'left_eye',
  'right_eye',
  'left_ear',
  'right_ear',
  'left_shoulder',
  'right_shoulder',
  'left_elbow',
  'right_elbow',
  'left_wrist',
  'right_wrist',
  'left_hip',
  'right_hip',
  'left_knee',
  'right_knee',
  'left_ankle',
  'right_ankle',
] as const;

export type CocoKeypointName = (typeof COCO_KEYPOINT_NAMES)[number];

/** Left/right pairs swapped by the flip test (mmpose `flip_pairs`, 0-based). */
export const COCO_FLIP_PAIRS: readonly (readonly [number, number])[] = [
  [1, 2],
  [3, 4],
  [5, 6],
  [7, 8],
  [9, 10],
  [11, 12],
  [13, 14],
  [15, 16],
];

/** Limbs to draw (COCO `skeleton`, converted to 0-based indices). */
export const COCO_SKELETON: readonly (readonly [number, number])[] = [
  [15, 13],
  [13, 11],
  [16, 14],
  [14, 12],
  [11, 12],
  [5, 11],
  [6, 12],
  [5, 6],
  [5, 7],
  [6, 8],
  [7, 9],
  [8, 10],
  [1, 2],
  [0, 1],
  [0, 2],
  [1, 3],
  [2, 4],
  [3, 5],
  [4, 6],
];

/** COCO OKS per-keypoint sigmas (cocoeval / mmpose `sigmas`). */
export const COCO_KEYPOINT_SIGMAS: readonly number[] = [0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89].map((s) => s / 10);

/** The channel permutation of the flip test: channel i of the flipped map becomes channel perm[i]'s partner. */
export function flipPermutation(numJoints: number, pairs: readonly (readonly [number, number])[] = COCO_FLIP_PAIRS): number[] {
  const perm = Array.from({ length: numJoints }, (_, i) => i);
  for (const [a, b] of pairs) {
    if (a >= numJoints || b >= numJoints) throw new Error(`flip pair [${a}, ${b}] is out of range for ${numJoints} joints`);
    perm[a] = b;
    perm[b] = a;
  }
  return perm;
}
