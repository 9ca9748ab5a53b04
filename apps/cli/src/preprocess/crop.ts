/**
 * Crop offsets of the reference pipelines (top-left corner of a size×size window in an H×W image).
 */
import { PreprocessError } from './types';
import { roundHalfEven } from './sampling';

export interface Offset {
  y0: number;
  x0: number;
}

function check(height: number, width: number, size: number): void {
  if (size > height || size > width) throw new PreprocessError(`cannot crop ${size}x${size} from a ${width}x${height} image`);
}

/**
 * slowfast `uniform_crop(images, size, spatial_idx)` = scenic `deterministic_crop`: centre at
 * `ceil((H-size)/2)`, `ceil((W-size)/2)`; idx 0 / 2 move to the start / end of the LONGER side
 * (of the width when the image is square). idx 1 is the centre.
 */
export function uniformCropOffset(height: number, width: number, size: number, spatialIdx: 0 | 1 | 2): Offset {
  check(height, width, size);
  let y0 = Math.ceil((height - size) / 2);
  let x0 = Math.ceil((width - size) / 2);
  if (height > width) {
    if (spatialIdx === 0) y0 = 0;
    else if (spatialIdx === 2) y0 = height - size;
  } else {
    if (spatialIdx === 0) x0 = 0;
    else if (spatialIdx === 2) x0 = width - size;
  }
  return { y0, x0 };
}

/** The crops of a view set: 1 → [centre (idx 1)], 3 → [start, centre, end] along the longer side. */
export function uniformCropOffsets(height: number, width: number, size: number, numCrops: number): Offset[] {
  if (numCrops === 1) return [uniformCropOffset(height, width, size, 1)];
  if (numCrops === 3) return [0, 1, 2].map((i) => uniformCropOffset(height, width, size, i as 0 | 1 | 2));
  throw new PreprocessError(`number of spatial crops must be 1 or 3 (got ${numCrops})`);
}

/** DMVR's single central crop (`tf.image.resize_with_crop_or_pad`): offsets floor((H-size)/2), floor((W-size)/2). */
export function floorCenterCropOffset(height: number, width: number, size: number): Offset {
  check(height, width, size);
  return { y0: Math.floor((height - size) / 2), x0: Math.floor((width - size) / 2) };
}

/** torchvision `CenterCrop`: offsets `int(round((H-size)/2))` with Python's round-half-even. */
export function torchvisionCenterCropOffset(height: number, width: number, size: number): Offset {
  check(height, width, size);
  return { y0: roundHalfEven((height - size) / 2), x0: roundHalfEven((width - size) / 2) };
}
