import { OpError, defineOp, runOp, runOpAsync } from '../op';
import { fmtShape, sizeOf } from '../shape';
import type { Tensor } from '../tensor';
import { Attrs, FLOAT, INDEX, expectRank, out, req, sameDType } from './util';

export interface InterpolateAttrs {
  /** 'linear' interpolates every spatial dim (= torch linear / bilinear / trilinear). */
  mode: 'nearest' | 'linear' | 'bicubic';
  size: number[];
  /**
   * Source-per-destination ratio per spatial dim used for coordinate mapping: 1/scaleFactor when
   * the user gave scaleFactor (torch, recompute_scale_factor false), else in/out.
   */
  scales: number[];
  alignCorners: boolean;
}

export interface InterpolateArgs {
  mode?: 'nearest' | 'linear' | 'bilinear' | 'trilinear' | 'bicubic';
  size?: number | number[];
  scaleFactor?: number | number[];
  alignCorners?: boolean;
  /** torch recompute_scale_factor: map coordinates with in/out even when scaleFactor is given. */
  recomputeScaleFactor?: boolean;
}

export const interpolateOp = defineOp<InterpolateAttrs>({
  name: 'interpolate',
  inputs: [{ name: 'x', dtypes: FLOAT }],
  doc: "resizes the spatial dims of x [N, C, ...S] (torch 1.13 F.interpolate): 'nearest' (src = floor(dst·scale); an axis with out == in is copied, and out == 2·in uses dst >> 1, as torch does), 'linear' over 1–3 dims with alignCorners true/false (half-pixel, negative source clamped to 0), 'bicubic' (2d, A = -0.75, border replicate).",
  normalize: (attrs, m) => {
    const x = req('interpolate', m, 0);
    const d = x.shape.length - 2;
    if (d < 1 || d > 3) throw new OpError('interpolate', `x must be [N, C, ...1-3 spatial dims], got ${fmtShape(x.shape)}`);
    const a = new Attrs('interpolate', attrs);
    const rawMode = a.oneOf('mode', ['nearest', 'linear', 'bilinear', 'trilinear', 'bicubic'], 'nearest');
    const mode = rawMode === 'bilinear' || rawMode === 'trilinear' ? 'linear' : rawMode;
    if (rawMode === 'bilinear' && d !== 2) throw new OpError('interpolate', `'bilinear' needs a 4-D input, got ${fmtShape(x.shape)}`);
    if (rawMode === 'trilinear' && d !== 3) throw new OpError('interpolate', `'trilinear' needs a 5-D input, got ${fmtShape(x.shape)}`);
    if (mode === 'bicubic' && d !== 2) throw new OpError('interpolate', `'bicubic' needs a 4-D input, got ${fmtShape(x.shape)}`);
    const inSp = x.shape.slice(2);
    const hasSize = a.has('size');
    const hasScale = a.has('scaleFactor');
    if (hasSize === hasScale) throw new OpError('interpolate', 'give exactly one of size and scaleFactor');
    let size: number[];
    let scales: number[];
    const recompute = a.bool('recomputeScaleFactor', false);
    if (hasSize) {
      size = a.ints('size', d, undefined, 1);
      scales = size.map((o, i) => inSp[i]! / o);
    } else {
      const sfRaw = a.value('scaleFactor');
      const sf = typeof sfRaw === 'number' ? new Array<number>(d).fill(sfRaw) : sfRaw;
      if (!Array.isArray(sf) || sf.length !== d || sf.some((v) => typeof v !== 'number' || !(v > 0))) {
        throw new OpError('interpolate', `scaleFactor must be a positive number or ${d} of them, got ${JSON.stringify(sfRaw)}`);
      }
      size = inSp.map((s, i) => Math.floor(s * (sf[i] as number)));
      if (size.some((s) => s < 1)) throw new OpError('interpolate', `scaleFactor ${JSON.stringify(sfRaw)} gives an empty output from ${fmtShape(inSp)}`);
      scales = recompute ? size.map((o, i) => inSp[i]! / o) : sf.map((v) => 1 / (v as number));
    }
    const alignCorners = a.bool('alignCorners', false);
    if (mode === 'nearest' && alignCorners) throw new OpError('interpolate', "alignCorners only applies to 'linear' and 'bicubic'");
    return a.done({ mode, size, scales, alignCorners });
  },
  infer: (m, a) => {
    const x = req('interpolate', m, 0);
    return out([x.shape[0]!, x.shape[1]!, ...a.size], x.dtype);
  },
  flops: (_m, a, o) => sizeOf(o[0]!.shape) * (a.mode === 'nearest' ? 1 : a.mode === 'bicubic' ? 32 : 4 * a.size.length),
});

export interface GridSampleAttrs {
  mode: 'bilinear' | 'nearest';
  paddingMode: 'zeros' | 'border' | 'reflection';
  alignCorners: boolean;
}

export const gridSampleOp = defineOp<GridSampleAttrs>({
  name: 'gridSample',
  inputs: [
    { name: 'x', dtypes: FLOAT },
    { name: 'grid', dtypes: FLOAT },
  ],
  doc: 'torch F.grid_sample for 4-D input: x [N, C, H, W], grid [N, Ho, Wo, 2] of normalised (x, y) in [-1, 1]; bilinear or nearest (round half to even), padding zeros / border / reflection, alignCorners (torch default false).',
  normalize: (attrs) => {
    const a = new Attrs('gridSample', attrs);
    return a.done({
      mode: a.oneOf('mode', ['bilinear', 'nearest'], 'bilinear'),
      paddingMode: a.oneOf('paddingMode', ['zeros', 'border', 'reflection'], 'zeros'),
      alignCorners: a.bool('alignCorners', false),
    });
  },
  infer: (m) => {
    const x = req('gridSample', m, 0);
    const g = req('gridSample', m, 1);
    expectRank('gridSample', 'x', x, [4]);
    if (g.shape.length !== 4 || g.shape[3] !== 2 || g.shape[0] !== x.shape[0]) {
      throw new OpError('gridSample', `grid must be [${x.shape[0]}, Ho, Wo, 2], got ${fmtShape(g.shape)}`);
    }
    return out([x.shape[0]!, x.shape[1]!, g.shape[1]!, g.shape[2]!], sameDType('gridSample', m, ['x', 'grid']));
  },
  flops: (_m, _a, o) => 8 * sizeOf(o[0]!.shape),
});

export interface RoiAlignAttrs {
  outputSize: number[];
  spatialScale: number;
  /** Samples per bin side; 0 = adaptive ceil(roi_size / output_size). */
  samplingRatio: number;
  /** true: shift by -0.5 px (mmcv / torchvision aligned=True); false: legacy, roi size clamped to >= 1. */
  aligned: boolean;
}

export const roiAlignOp = defineOp<RoiAlignAttrs>({
  name: 'roiAlign',
  inputs: [
    { name: 'x', dtypes: FLOAT },
    { name: 'rois', dtypes: FLOAT },
  ],
  doc: 'RoIAlign (average pooling; mmcv / torchvision semantics): x [N, C, H, W], rois [K, 5] = (batch index, x1, y1, x2, y2) in image pixels, scaled by spatialScale; out [K, C, oh, ow]. Bilinear samples outside [-1, H] × [-1, W] are 0; samplingRatio 0 is adaptive.',
  normalize: (attrs) => {
    const a = new Attrs('roiAlign', attrs);
    return a.done({
      outputSize: a.ints('outputSize', 2, undefined, 1),
      spatialScale: a.num('spatialScale', 1),
      samplingRatio: a.int('samplingRatio', 0, 0),
      aligned: a.bool('aligned', true),
    });
  },
  infer: (m, a) => {
    const x = req('roiAlign', m, 0);
    const r = req('roiAlign', m, 1);
    expectRank('roiAlign', 'x', x, [4]);
    if (r.shape.length !== 2 || r.shape[1] !== 5) throw new OpError('roiAlign', `rois must be [K, 5] (batch, x1, y1, x2, y2), got ${fmtShape(r.shape)}`);
    return out([r.shape[0]!, x.shape[1]!, ...a.outputSize], sameDType('roiAlign', m, ['x', 'rois']));
  },
  flops: (_m, a, o) => sizeOf(o[0]!.shape) * 4 * Math.max(1, a.samplingRatio) ** 2 * 4,
});

export interface NmsAttrs {
  iouThreshold: number;
  /** Keep at most this many (-1 = all). */
  maxOutput: number;
}

export const nmsOp = defineOp<NmsAttrs>({
  name: 'nms',
  inputs: [
    { name: 'boxes', dtypes: ['float32'] },
    { name: 'scores', dtypes: ['float32'] },
    { name: 'classes', dtypes: INDEX, optional: true },
  ],
  async: true,
  doc: 'greedy non-maximum suppression (torchvision / mmcv): boxes [K, 4] xyxy (no +1), scores [K]; visits boxes by score descending (ties: lower index first) and drops a box whose IoU with a kept one is > iouThreshold. With `classes` [K] only boxes of the same class suppress each other (batched NMS). Returns the kept indices (int32) in visiting order.',
  normalize: (attrs) => {
    const a = new Attrs('nms', attrs);
    return a.done({ iouThreshold: a.num('iouThreshold'), maxOutput: a.int('maxOutput', -1, -1) });
  },
  infer: (m) => {
    const b = req('nms', m, 0);
    const s = req('nms', m, 1);
    if (b.shape.length !== 2 || b.shape[1] !== 4) throw new OpError('nms', `boxes must be [K, 4], got ${fmtShape(b.shape)}`);
    if (s.shape.length !== 1 || s.shape[0] !== b.shape[0]) throw new OpError('nms', `scores must be [${b.shape[0]}], got ${fmtShape(s.shape)}`);
    const c = m[2];
    if (c && (c.shape.length !== 1 || c.shape[0] !== b.shape[0])) throw new OpError('nms', `classes must be [${b.shape[0]}], got ${fmtShape(c.shape)}`);
    return out([-1], 'int32');
  },
  flops: (m) => m[0]!.shape[0]! ** 2,
});

export const interpolate = (x: Tensor, args: InterpolateArgs) => runOp(interpolateOp, [x], args)[0]!;
export const gridSample = (x: Tensor, grid: Tensor, args?: Partial<GridSampleAttrs>) => runOp(gridSampleOp, [x, grid], args)[0]!;
export const roiAlign = (x: Tensor, rois: Tensor, args: { outputSize: number | number[]; spatialScale?: number; samplingRatio?: number; aligned?: boolean }) =>
  runOp(roiAlignOp, [x, rois], args)[0]!;
/** Non-maximum suppression; async because the number of kept boxes depends on the data. */
export const nms = async (boxes: Tensor, scores: Tensor, args: { iouThreshold: number; maxOutput?: number; classes?: Tensor | null }) => {
  const { classes, ...attrs } = args;
  return (await runOpAsync(nmsOp, [boxes, scores, classes ?? null], attrs))[0]!;
};
