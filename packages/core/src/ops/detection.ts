/**
 * Detection ops (Mask R-CNN family) beyond roiAlign / nms (./vision): box encoding and decoding,
 * anchor grids and mask paste-back, in the two semantics the official code uses — mmdet 2.11 /
 * mmcv 1.3 (UniFormer's detector) and torchvision 0.14 (the comparison mode).
 *
 * Boxes are xyxy float32 in continuous pixel coordinates (pixel i covers [i, i+1)), no "+1".
 */
import { OpError, defineOp, runOp } from '../op';
import { fmtShape, sizeOf } from '../shape';
import type { Tensor } from '../tensor';
import { Attrs, expectRank, out, req } from './util';

/** |log(16 / 1000)| — mmdet's `wh_ratio_clip` bound, and torchvision's `bbox_xform_clip` = log(1000 / 16). */
export const BOX_DELTA_CLAMP = Math.abs(Math.log(16 / 1000));

export type BoxCoderStyle = 'mmdet' | 'torchvision';

export interface BoxCoderAttrs {
  style: BoxCoderStyle;
  /** mmdet: deltas are denormalised as delta·std + mean (encode: (d − mean) / std). */
  means: number[];
  stds: number[];
  /** torchvision: deltas are divided by these weights (encode: multiplied). */
  weights: number[];
  /** decode only: |dw|, |dh| bound (mmdet clamps both sides, torchvision only from above). */
  maxRatio: number;
  /** decode only: clip x to [0, w] and y to [0, h] (mmdet `max_shape` = img_shape (h, w)); null = no clip. */
  maxShape: [number, number] | null;
}

function coderAttrs(op: string, attrs: Record<string, unknown> | undefined, decode: boolean): BoxCoderAttrs {
  const a = new Attrs(op, attrs);
  const style = a.oneOf('style', ['mmdet', 'torchvision'], 'mmdet');
  const four = (name: string, def: number[]) => {
    if (!a.has(name)) {
      a.value(name);
      return def;
    }
    const v = a.numList(name, 4);
    if (v.some((x) => !Number.isFinite(x))) throw new OpError(op, `attribute '${name}' must be 4 finite numbers, got ${JSON.stringify(v)}`);
    return v;
  };
  if (style === 'mmdet' && a.has('weights')) throw new OpError(op, "'weights' belongs to style 'torchvision'; mmdet uses 'means' and 'stds'");
  if (style === 'torchvision' && (a.has('means') || a.has('stds'))) throw new OpError(op, "'means' / 'stds' belong to style 'mmdet'; torchvision uses 'weights'");
  const means = four('means', [0, 0, 0, 0]);
  const stds = four('stds', [1, 1, 1, 1]);
  const weights = four('weights', [1, 1, 1, 1]);
  if (stds.some((s) => s === 0) || weights.some((w) => w === 0)) throw new OpError(op, 'stds / weights must be non-zero');
  let maxRatio = BOX_DELTA_CLAMP;
  let maxShape: [number, number] | null = null;
  if (decode) {
    maxRatio = a.num('maxRatio', BOX_DELTA_CLAMP);
    if (a.has('maxShape')) {
      const s = a.numList('maxShape', 2);
      if (s.some((v) => !(v >= 0))) throw new OpError(op, `attribute 'maxShape' must be [height, width] >= 0, got ${JSON.stringify(s)}`);
      maxShape = [s[0]!, s[1]!];
    } else a.value('maxShape');
  }
  return a.done({ style, means, stds, weights, maxRatio, maxShape });
}

export const boxDecodeOp = defineOp<BoxCoderAttrs>({
  name: 'boxDecode',
  inputs: [
    { name: 'boxes', dtypes: ['float32'] },
    { name: 'deltas', dtypes: ['float32'] },
  ],
  doc:
    "applies box deltas [K, 4·C] (per class (dx, dy, dw, dh)) to reference boxes [K, 4] (anchors / RoIs), float32 throughout. style 'mmdet' (DeltaXYWHBBoxCoder.delta2bbox, mmdet 2.11): d = delta·std + mean; dw, dh clamped to ±maxRatio (default |log(16/1000)|); " +
    'px = (x1+x2)·0.5, pw = x2−x1; gw = pw·exp(dw), gx = px + pw·dx; x1 = gx − gw·0.5, x2 = gx + gw·0.5 (y likewise); with maxShape [h, w] x is clamped to [0, w] and y to [0, h]. ' +
    "style 'torchvision' (BoxCoder.decode_single, 0.14): d = delta / weight; dw, dh clamped from above only; cx = x1 + 0.5·w; x1 = (dx·w + cx) − 0.5·(exp(dw)·w); maxShape clips the same way (clip_boxes_to_image).",
  normalize: (attrs) => coderAttrs('boxDecode', attrs as Record<string, unknown>, true),
  infer: (m) => {
    const b = req('boxDecode', m, 0);
    const d = req('boxDecode', m, 1);
    if (b.shape.length !== 2 || b.shape[1] !== 4) throw new OpError('boxDecode', `boxes must be [K, 4], got ${fmtShape(b.shape)}`);
    if (d.shape.length !== 2 || d.shape[0] !== b.shape[0] || d.shape[1]! % 4 !== 0 || d.shape[1] === 0) {
      throw new OpError('boxDecode', `deltas must be [${b.shape[0]}, 4·classes], got ${fmtShape(d.shape)}`);
    }
    return out(d.shape, 'float32');
  },
  flops: (m) => 16 * sizeOf(m[1]!.shape),
});

export const boxEncodeOp = defineOp<BoxCoderAttrs>({
  name: 'boxEncode',
  inputs: [
    { name: 'boxes', dtypes: ['float32'] },
    { name: 'targets', dtypes: ['float32'] },
  ],
  doc:
    "the deltas [K, 4] that take reference boxes [K, 4] to target boxes [K, 4] (the inverse of boxDecode without clamping). style 'mmdet' (bbox2delta): dx = (gx − px) / pw, dw = log(gw / pw) with centres (x1+x2)·0.5, then (d − mean) / std. " +
    "style 'torchvision' (encode_boxes): dx = wx·(gcx − pcx) / pw, dw = ww·log(gw / pw) with centres x1 + 0.5·w.",
  normalize: (attrs) => coderAttrs('boxEncode', attrs as Record<string, unknown>, false),
  infer: (m) => {
    const b = req('boxEncode', m, 0);
    const t = req('boxEncode', m, 1);
    if (b.shape.length !== 2 || b.shape[1] !== 4) throw new OpError('boxEncode', `boxes must be [K, 4], got ${fmtShape(b.shape)}`);
    if (t.shape.length !== 2 || t.shape[1] !== 4 || t.shape[0] !== b.shape[0]) throw new OpError('boxEncode', `targets must be [${b.shape[0]}, 4], got ${fmtShape(t.shape)}`);
    return out(b.shape, 'float32');
  },
  flops: (m) => 16 * sizeOf(m[0]!.shape),
});

export interface GridAnchorsAttrs {
  /** Feature map [height, width]. */
  size: [number, number];
  /** Pixels between neighbouring positions [strideY, strideX]. */
  stride: [number, number];
}

export const gridAnchorsOp = defineOp<GridAnchorsAttrs>({
  name: 'gridAnchors',
  inputs: [{ name: 'base', dtypes: ['float32'] }],
  doc:
    'anchors of one feature level: base anchors [A, 4] (xyxy around the origin) shifted to every position of a size [H, W] grid with stride [sy, sx]: out[(y·W + x)·A + a] = base[a] + (x·sx, y·sy, x·sx, y·sy) in float32 (mmdet AnchorGenerator.single_level_grid_anchors / torchvision AnchorGenerator.grid_anchors). Out [H·W·A, 4].',
  normalize: (attrs) => {
    const a = new Attrs('gridAnchors', attrs);
    const size = a.ints('size', 2, undefined, 0) as [number, number];
    const stride = a.numList('stride', 2) as [number, number];
    if (stride.some((s) => !Number.isFinite(s) || s <= 0)) throw new OpError('gridAnchors', `attribute 'stride' must be 2 positive numbers, got ${JSON.stringify(stride)}`);
    return a.done({ size, stride });
  },
  infer: (m, a) => {
    const b = req('gridAnchors', m, 0);
    if (b.shape.length !== 2 || b.shape[1] !== 4) throw new OpError('gridAnchors', `base must be [A, 4], got ${fmtShape(b.shape)}`);
    return out([a.size[0] * a.size[1] * b.shape[0]!, 4], 'float32');
  },
  flops: (_m, _a, o) => sizeOf(o[0]!.shape),
});

export type PasteMode = 'mmdet' | 'mmdet-cpu' | 'torchvision';

export interface PasteMasksAttrs {
  /** Output image [height, width]. */
  size: [number, number];
  mode: PasteMode;
}

export const pasteMasksOp = defineOp<PasteMasksAttrs>({
  name: 'pasteMasks',
  inputs: [
    { name: 'masks', dtypes: ['float32'] },
    { name: 'boxes', dtypes: ['float32'] },
  ],
  doc:
    "pastes per-box mask probabilities masks [N, Mh, Mw] into an image of `size` [H, W] at boxes [N, 4] (image pixels): out [N, H, W] float32. mode 'mmdet' (mmdet 2.11 _do_paste_mask, whole image, the GPU path): for every pixel centre, gx = (x + 0.5 − x0) / (x1 − x0)·2 − 1 (±inf → 0; gy likewise), " +
    "value = grid_sample(mask, (gx, gy), bilinear, zeros padding, align_corners=False) as torch's CPU kernel (ix = (gx + 1)·Mw/2 − 0.5); 'mmdet-cpu' (skip_empty=True, one box per chunk): the same values inside [max(floor(x0) − 1, 0), min(ceil(x1) + 1, W)) × (y likewise), 0 elsewhere; " +
    "'torchvision' (paste_masks_in_image 0.14): the mask padded by 1, the box scaled about its centre by (M + 2) / M and truncated to integers, the padded mask bilinearly resized (align_corners=False) to (y1 − y0 + 1, x1 − x0 + 1) and copied in, clipped to the image. A NaN sample coordinate (zero-size box) gives 0.",
  normalize: (attrs) => {
    const a = new Attrs('pasteMasks', attrs);
    const size = a.ints('size', 2, undefined, 1) as [number, number];
    return a.done({ size, mode: a.oneOf('mode', ['mmdet', 'mmdet-cpu', 'torchvision'], 'mmdet') });
  },
  infer: (m, a) => {
    const k = req('pasteMasks', m, 0);
    const b = req('pasteMasks', m, 1);
    expectRank('pasteMasks', 'masks', k, [3]);
    if (b.shape.length !== 2 || b.shape[1] !== 4 || b.shape[0] !== k.shape[0]) throw new OpError('pasteMasks', `boxes must be [${k.shape[0]}, 4], got ${fmtShape(b.shape)}`);
    if (k.shape[1]! < 1 || k.shape[2]! < 1) throw new OpError('pasteMasks', `masks must be non-empty [N, Mh, Mw], got ${fmtShape(k.shape)}`);
    return out([k.shape[0]!, a.size[0], a.size[1]], 'float32');
  },
  flops: (_m, _a, o) => 10 * sizeOf(o[0]!.shape),
});

export interface BoxCoderArgs {
  style?: BoxCoderStyle;
  means?: readonly number[];
  stds?: readonly number[];
  weights?: readonly number[];
}

/** Decodes deltas [K, 4·C] against boxes [K, 4] (see boxDecodeOp). */
export const boxDecode = (boxes: Tensor, deltas: Tensor, args: BoxCoderArgs & { maxRatio?: number; maxShape?: readonly [number, number] | readonly number[] | null } = {}) =>
  runOp(boxDecodeOp, [boxes, deltas], { ...args, maxShape: args.maxShape ?? undefined })[0]!;
/** Encodes targets [K, 4] relative to boxes [K, 4] as deltas [K, 4] (see boxEncodeOp). */
export const boxEncode = (boxes: Tensor, targets: Tensor, args: BoxCoderArgs = {}) => runOp(boxEncodeOp, [boxes, targets], args)[0]!;
/** Anchors of one level: base [A, 4] on a [H, W] grid with stride [sy, sx] (a number = both). */
export const gridAnchors = (base: Tensor, args: { size: readonly number[]; stride: number | readonly number[] }) =>
  runOp(gridAnchorsOp, [base], { size: args.size, stride: typeof args.stride === 'number' ? [args.stride, args.stride] : args.stride })[0]!;
/** Pastes masks [N, Mh, Mw] at boxes [N, 4] into [N, H, W] images (see pasteMasksOp). */
export const pasteMasks = (masks: Tensor, boxes: Tensor, args: { size: readonly number[]; mode?: PasteMode }) => runOp(pasteMasksOp, [masks, boxes], args)[0]!;
