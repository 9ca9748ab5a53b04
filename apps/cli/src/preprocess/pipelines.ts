/**
 * The official test-time pipelines, from decoded uint8 RGB frames to float32 model input.
 *
 * Video (a "recipe" per model family):
 *   1. `recipe.sample(nFrames, clips)` → frame indices per temporal clip (decode only those);
 *   2. `recipe.clipViews(framesOfOneClip, crops)` → one C,T,S,S float32 array per spatial crop;
 *   3. `buildVideoInput(recipe, clipFrames, crops)` stacks all views: N = clips·crops (view = clip·crops + crop).
 *
 * UniFormer (slowfast, spec §9): uint8 → float32 `(x/255 - 0.45)/0.225` → short side to 224 with torch
 *   bilinear (align_corners=False, on the normalised floats, as slowfast does) → `uniform_crop(224)`;
 *   Kinetics: linspace sampling, default 4 clips × 1 crop; Something-Something: segment sampling,
 *   1 clip × 3 crops. Views are SUMMED.
 * ViViT (scenic/DMVR, vivit.md §1, §11, §12): 32 frames at stride 2 → DMVR `resize_smallest(256)` (TF bilinear
 *   on uint8, cast back to uint8) → crop 224 (3 crops: start/centre(ceil)/end; 1 crop: DMVR's floor centre) →
 *   `x·2/255 − 1`; default 4 clips × 3 crops. Logits AVERAGED.
 * ImageNet (UniFormer image models, spec §3.3): Pillow bicubic Resize(256) → CenterCrop(224) → /255 →
 *   ImageNet mean/std.
 */
import { type Offset, floorCenterCropOffset, torchvisionCenterCropOffset, uniformCropOffsets } from './crop';
import { IMAGENET_NORM, type Normalization, UNIFORMER_VIDEO_NORM, VIVIT_NORM, normalizationLut } from './normalize';
import { dmvrShortSideSize, pilBicubicResize, slowfastShortSideSize, tfBilinearResizeU8, torchBilinearPlane, torchLinearAxis, torchvisionShortSideSize } from './resize';
import { ssv2SegmentIndices, uniformerClipIndices, vivitClipIndices } from './sampling';
import { type HostTensor, PreprocessError, type RgbImage } from './types';
import type { Views } from './views';

export interface VideoRecipe {
  /** e.g. "uniformer-kinetics 16x4" */
  readonly name: string;
  /** frames per clip (T) */
  readonly framesPerClip: number;
  /** output spatial size (S×S) */
  readonly cropSize: number;
  /** the official test views */
  readonly defaultViews: Views;
  /** how the official code combines the views' logits */
  readonly aggregate: 'sum' | 'mean';
  /** frame indices (0-based, into the decoded video) per temporal clip */
  sample(nFrames: number, clips: number): number[][];
  /** the views of one clip: `crops` arrays of C,T,S,S float32 */
  clipViews(frames: readonly RgbImage[], crops: number): Float32Array[];
}

function checkFrames(frames: readonly RgbImage[], T: number): { height: number; width: number } {
  if (frames.length !== T) throw new PreprocessError(`expected ${T} frames for a clip, got ${frames.length}`);
  const { height, width } = frames[0]!;
  for (const f of frames) {
    if (f.width !== width || f.height !== height) throw new PreprocessError(`frames of one clip differ in size (${width}x${height} vs ${f.width}x${f.height})`);
    if (f.data.length !== width * height * 3) throw new PreprocessError(`frame data has ${f.data.length} bytes, expected ${width * height * 3} (RGB24)`);
  }
  return { height, width };
}

function checkCount(frames: readonly RgbImage[], T: number): readonly RgbImage[] {
  if (frames.length !== T) throw new PreprocessError(`expected ${T} frames for a clip, got ${frames.length}`);
  return frames;
}

/**
 * slowfast spatial sampling of one clip: normalise (float32), short side → `shortSide` with torch bilinear,
 * `uniform_crop(cropSize)`; only the cropped windows are computed.
 */
export function slowfastClipViews(
  frames: readonly RgbImage[],
  crops: number,
  opts: { shortSide?: number; cropSize?: number; norm?: Normalization } = {},
): Float32Array[] {
  const shortSide = opts.shortSide ?? 224;
  const S = opts.cropSize ?? 224;
  const T = frames.length;
  if (T < 1) throw new PreprocessError('a clip needs at least one frame');
  const { height: H, width: W } = checkFrames(frames, T);
  const out = slowfastShortSideSize(H, W, shortSide);
  const offsets = uniformCropOffsets(out.height, out.width, S, crops);
  const axes = { h: torchLinearAxis(H, out.height), w: torchLinearAxis(W, out.width) };
  const luts = normalizationLut(opts.norm ?? UNIFORMER_VIDEO_NORM);
  const views = offsets.map(() => new Float32Array(3 * T * S * S));
  const plane = new Float32Array(H * W);
  for (let c = 0; c < 3; c++) {
    const lut = luts[c]!;
    for (let t = 0; t < T; t++) {
      const d = frames[t]!.data;
      for (let i = 0, p = c; i < H * W; i++, p += 3) plane[i] = lut[d[p]!]!;
      offsets.forEach((o, v) => {
        torchBilinearPlane(plane, H, W, out.height, out.width, views[v]!, (c * T + t) * S * S, { y0: o.y0, x0: o.x0, height: S, width: S }, axes);
      });
    }
  }
  return views;
}

/** scenic/DMVR spatial processing of one clip: resize_smallest (uint8), crop(s), x·2/255−1. */
export function dmvrClipViews(frames: readonly RgbImage[], crops: number, opts: { minResize?: number; cropSize?: number } = {}): Float32Array[] {
  const minResize = opts.minResize ?? 256;
  const S = opts.cropSize ?? 224;
  const T = frames.length;
  if (T < 1) throw new PreprocessError('a clip needs at least one frame');
  const { height: H, width: W } = checkFrames(frames, T);
  const size = dmvrShortSideSize(H, W, minResize);
  const resized = size.height === H && size.width === W ? frames : frames.map((f) => tfBilinearResizeU8(f, size.height, size.width));
  let offsets: Offset[];
  if (crops === 1) offsets = [floorCenterCropOffset(size.height, size.width, S)];
  else offsets = uniformCropOffsets(size.height, size.width, S, crops);
  const luts = normalizationLut(VIVIT_NORM);
  const [l0, l1, l2] = luts;
  const plane = T * S * S;
  return offsets.map((o) => {
    const view = new Float32Array(3 * plane);
    for (let t = 0; t < T; t++) {
      const d = resized[t]!.data;
      const w = size.width;
      let q = t * S * S;
      for (let y = 0; y < S; y++) {
        let p = ((o.y0 + y) * w + o.x0) * 3;
        for (let x = 0; x < S; x++, p += 3, q++) {
          view[q] = l0[d[p]!]!;
          view[plane + q] = l1[d[p + 1]!]!;
          view[2 * plane + q] = l2[d[p + 2]!]!;
        }
      }
    }
    return view;
  });
}

/** UniFormer on Kinetics (K400/K600): `numFrames`×`samplingRate` linspace clips; 4 clips × 1 crop; summed. */
export function uniformerKineticsRecipe(numFrames = 16, samplingRate = 4, opts: { shortSide?: number; cropSize?: number } = {}): VideoRecipe {
  const cropSize = opts.cropSize ?? 224;
  return {
    name: `uniformer-kinetics ${numFrames}x${samplingRate}`,
    framesPerClip: numFrames,
    cropSize,
    defaultViews: { clips: 4, crops: 1 },
    aggregate: 'sum',
    sample: (n, clips) => uniformerClipIndices(n, numFrames, samplingRate, clips),
    clipViews: (frames, crops) => slowfastClipViews(checkCount(frames, numFrames), crops, { shortSide: opts.shortSide ?? 224, cropSize }),
  };
}

/** UniFormer on Something-Something v1/v2: `numFrames` segments; 1 clip × 3 crops; summed. */
export function uniformerSsv2Recipe(numFrames = 16, opts: { shortSide?: number; cropSize?: number } = {}): VideoRecipe {
  const cropSize = opts.cropSize ?? 224;
  return {
    name: `uniformer-ssv2 ${numFrames}`,
    framesPerClip: numFrames,
    cropSize,
    defaultViews: { clips: 1, crops: 3 },
    aggregate: 'sum',
    sample: (n, clips) => ssv2SegmentIndices(n, numFrames, clips),
    clipViews: (frames, crops) => slowfastClipViews(checkCount(frames, numFrames), crops, { shortSide: opts.shortSide ?? 224, cropSize }),
  };
}

/** ViViT (scenic K400/K600 configs): 32 frames at stride 2, min_resize 256, crop 224; 4 clips × 3 crops; averaged. */
export function vivitRecipe(numFrames = 32, stride = 2, opts: { minResize?: number; cropSize?: number } = {}): VideoRecipe {
  const cropSize = opts.cropSize ?? 224;
  return {
    name: `vivit ${numFrames}x${stride}`,
    framesPerClip: numFrames,
    cropSize,
    defaultViews: { clips: 4, crops: 3 },
    aggregate: 'mean',
    sample: (n, clips) => vivitClipIndices(n, numFrames, stride, clips),
    clipViews: (frames, crops) => dmvrClipViews(checkCount(frames, numFrames), crops, { minResize: opts.minResize ?? 256, cropSize }),
  };
}

/**
 * Runs `recipe.clipViews` on every clip and stacks the views: shape [clips·crops, 3, T, S, S] ('NCTHW',
 * UniFormer's layout) or [clips·crops, T, 3, S, S] ('NTCHW', Hugging Face ViViT's `pixel_values`).
 */
export function buildVideoInput(recipe: VideoRecipe, clipFrames: readonly (readonly RgbImage[])[], crops: number, layout: 'NCTHW' | 'NTCHW' = 'NCTHW'): HostTensor {
  const T = recipe.framesPerClip;
  const S = recipe.cropSize;
  const per = 3 * T * S * S;
  const n = clipFrames.length * crops;
  const data = new Float32Array(n * per);
  let v = 0;
  for (const frames of clipFrames) {
    for (const view of recipe.clipViews(frames, crops)) {
      if (layout === 'NCTHW') data.set(view, v * per);
      else {
        for (let c = 0; c < 3; c++) for (let t = 0; t < T; t++) data.set(view.subarray((c * T + t) * S * S, (c * T + t + 1) * S * S), v * per + (t * 3 + c) * S * S);
      }
      v++;
    }
  }
  return { data, shape: layout === 'NCTHW' ? [n, 3, T, S, S] : [n, T, 3, S, S] };
}

/**
 * ImageNet evaluation transform (DeiT `build_transform`, eval): Pillow bicubic Resize(256) (short side;
 * long = int(256·long/short)) → CenterCrop(224) (round-half-even offsets) → /255 → ImageNet mean/std.
 * Returns [1, 3, 224, 224].
 */
export function imagenetInput(img: RgbImage, opts: { resize?: number; cropSize?: number; norm?: Normalization } = {}): HostTensor {
  const R = opts.resize ?? 256;
  const S = opts.cropSize ?? 224;
  if (img.data.length !== img.width * img.height * 3) throw new PreprocessError(`image data has ${img.data.length} bytes, expected ${img.width * img.height * 3} (RGB24)`);
  const size = torchvisionShortSideSize(img.height, img.width, R);
  const r = size.height === img.height && size.width === img.width ? img : pilBicubicResize(img, size.width, size.height);
  const o = torchvisionCenterCropOffset(r.height, r.width, S);
  const luts = normalizationLut(opts.norm ?? IMAGENET_NORM);
  const data = new Float32Array(3 * S * S);
  for (let c = 0; c < 3; c++) {
    const lut = luts[c]!;
    let q = c * S * S;
    for (let y = 0; y < S; y++) {
      let p = ((o.y0 + y) * r.width + o.x0) * 3 + c;
      for (let x = 0; x < S; x++, p += 3) data[q++] = lut[r.data[p]!]!;
    }
  }
  return { data, shape: [1, 3, S, S] };
}
