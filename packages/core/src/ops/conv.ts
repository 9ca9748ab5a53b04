import { OpError, defineOp, runOp, type TensorMeta } from '../op';
import { fmtShape, sizeOf } from '../shape';
import type { Tensor } from '../tensor';
import { Attrs, FLOAT, out, req, sameDType } from './util';

/**
 * Padding as users write it: one int for all sides, one int per spatial dim (symmetric, as
 * PyTorch), 2·d ints [begin_0..begin_{d-1}, end_0..end_{d-1}] (ONNX order), or 'same' / 'valid'.
 */
export type PaddingArg = number | readonly number[] | 'same' | 'valid';

export interface ConvAttrs {
  stride: number[];
  /** [begin_0..begin_{d-1}, end_0..end_{d-1}] */
  pads: number[];
  dilation: number[];
  groups: number;
}

function spatialRank(op: string, x: TensorMeta): number {
  const d = x.shape.length - 2;
  if (d < 1 || d > 3) throw new OpError(op, `input must be [N, C, ...1-3 spatial dims], got ${fmtShape(x.shape)}`);
  return d;
}

function normPads(op: string, a: Attrs, d: number, kernel: readonly number[] | null, dilation: number[], stride: number[], key = 'padding'): number[] {
  const p = a.value(key) ?? 0;
  if (p === 'valid') return new Array(2 * d).fill(0);
  if (p === 'same') {
    if (!kernel) throw new OpError(op, `'same' padding is not supported here`);
    if (stride.some((s) => s !== 1)) throw new OpError(op, `'same' padding needs stride 1, got ${JSON.stringify(stride)}`);
    const total = kernel.map((k, i) => dilation[i]! * (k - 1));
    return [...total.map((t) => Math.floor(t / 2)), ...total.map((t) => t - Math.floor(t / 2))];
  }
  if (typeof p === 'number' && Number.isInteger(p) && p >= 0) return new Array(2 * d).fill(p);
  if (Array.isArray(p) && p.every((x) => Number.isInteger(x) && x >= 0)) {
    if (p.length === d) return [...p, ...p];
    if (p.length === 2 * d) return p.slice();
  }
  throw new OpError(op, `attribute '${key}' must be a non-negative int, ${d} ints, ${2 * d} ints (begins then ends), 'same' or 'valid'; got ${JSON.stringify(p)}`);
}

function convOut(op: string, inp: number, k: number, s: number, d: number, pb: number, pe: number, axis: number): number {
  const span = d * (k - 1) + 1;
  const o = Math.floor((inp + pb + pe - span) / s) + 1;
  if (o < 1) throw new OpError(op, `spatial dim ${axis} of size ${inp} (padded ${inp + pb + pe}) is smaller than the kernel extent ${span}`);
  return o;
}

export const convOp = defineOp<ConvAttrs>({
  name: 'conv',
  inputs: [
    { name: 'x', dtypes: FLOAT },
    { name: 'weight', dtypes: FLOAT },
    { name: 'bias', dtypes: FLOAT, optional: true },
  ],
  doc: 'N-d convolution (1d/2d/3d, torch.nn.functional.convNd semantics: cross-correlation): x [N, C, ...S], weight [O, C/groups, ...K], bias [O]; stride, zero padding, dilation, groups (depthwise = groups C).',
  normalize: (attrs, m) => {
    const x = req('conv', m, 0);
    const w = req('conv', m, 1);
    const d = spatialRank('conv', x);
    const a = new Attrs('conv', attrs);
    const stride = a.ints('stride', d, 1, 1);
    const dilation = a.ints('dilation', d, 1, 1);
    const pads = normPads('conv', a, d, w.shape.slice(2), dilation, stride);
    return a.done({ stride, pads, dilation, groups: a.int('groups', 1, 1) });
  },
  infer: (m, a) => {
    const [x, w, b] = [req('conv', m, 0), req('conv', m, 1), m[2]];
    const d = x.shape.length - 2;
    if (w.shape.length !== d + 2) throw new OpError('conv', `weight ${fmtShape(w.shape)} must have rank ${d + 2} for input ${fmtShape(x.shape)}`);
    const [N, C] = [x.shape[0]!, x.shape[1]!];
    const O = w.shape[0]!;
    if (C % a.groups || O % a.groups) throw new OpError('conv', `groups ${a.groups} must divide in channels ${C} and out channels ${O}`);
    if (w.shape[1] !== C / a.groups) {
      throw new OpError('conv', `weight ${fmtShape(w.shape)} expects ${w.shape[1]! * a.groups} input channels (groups ${a.groups}) but x ${fmtShape(x.shape)} has ${C}`);
    }
    if (b && (b.shape.length !== 1 || b.shape[0] !== O)) throw new OpError('conv', `bias must be [${O}], got ${fmtShape(b.shape)}`);
    const sp = x.shape.slice(2).map((s, i) => convOut('conv', s, w.shape[2 + i]!, a.stride[i]!, a.dilation[i]!, a.pads[i]!, a.pads[d + i]!, 2 + i));
    return out([N, O, ...sp], sameDType('conv', m, ['x', 'weight', 'bias']));
  },
  flops: (m, a, o) => 2 * sizeOf(o[0]!.shape) * sizeOf(m[1]!.shape.slice(1)),
});

export interface ConvTransposeAttrs extends ConvAttrs {
  outputPadding: number[];
}

export const convTransposeOp = defineOp<ConvTransposeAttrs>({
  name: 'convTranspose',
  inputs: [
    { name: 'x', dtypes: FLOAT },
    { name: 'weight', dtypes: FLOAT },
    { name: 'bias', dtypes: FLOAT, optional: true },
  ],
  doc: 'N-d transposed convolution (torch.nn.functional.conv_transposeNd): x [N, C, ...S], weight [C, O/groups, ...K]; out = (in-1)·stride - pad_begin - pad_end + dilation·(k-1) + output_padding + 1.',
  normalize: (attrs, m) => {
    const x = req('convTranspose', m, 0);
    const d = spatialRank('convTranspose', x);
    const a = new Attrs('convTranspose', attrs);
    const stride = a.ints('stride', d, 1, 1);
    const dilation = a.ints('dilation', d, 1, 1);
    const pads = normPads('convTranspose', a, d, null, dilation, stride);
    const outputPadding = a.ints('outputPadding', d, 0, 0);
    outputPadding.forEach((p, i) => {
      if (p >= Math.max(stride[i]!, dilation[i]!)) throw new OpError('convTranspose', `outputPadding ${p} must be smaller than stride or dilation in dim ${i}`);
    });
    return a.done({ stride, pads, dilation, outputPadding, groups: a.int('groups', 1, 1) });
  },
  infer: (m, a) => {
    const [x, w, b] = [req('convTranspose', m, 0), req('convTranspose', m, 1), m[2]];
    const d = x.shape.length - 2;
    if (w.shape.length !== d + 2) throw new OpError('convTranspose', `weight ${fmtShape(w.shape)} must have rank ${d + 2}`);
    const C = x.shape[1]!;
    if (w.shape[0] !== C) throw new OpError('convTranspose', `weight ${fmtShape(w.shape)} expects ${w.shape[0]} input channels but x ${fmtShape(x.shape)} has ${C}`);
    if (C % a.groups) throw new OpError('convTranspose', `groups ${a.groups} must divide in channels ${C}`);
    const O = w.shape[1]! * a.groups;
    if (b && (b.shape.length !== 1 || b.shape[0] !== O)) throw new OpError('convTranspose', `bias must be [${O}], got ${fmtShape(b.shape)}`);
    const sp = x.shape.slice(2).map((s, i) => {
      const o = (s - 1) * a.stride[i]! - a.pads[i]! - a.pads[d + i]! + a.dilation[i]! * (w.shape[2 + i]! - 1) + a.outputPadding[i]! + 1;
      if (o < 1) throw new OpError('convTranspose', `output spatial dim ${i} would be ${o}`);
      return o;
    });
    return out([x.shape[0]!, O, ...sp], sameDType('convTranspose', m, ['x', 'weight', 'bias']));
  },
  flops: (m) => 2 * sizeOf(m[0]!.shape) * sizeOf(m[1]!.shape.slice(1)),
});

export interface PoolAttrs {
  kernel: number[];
  stride: number[];
  /** [begin..., end...]; PyTorch pools pad symmetrically */
  pads: number[];
  dilation: number[];
  ceilMode: boolean;
  /** avgPool only: count padded zeros in the divisor (PyTorch default true). */
  countIncludePad: boolean;
}

function poolOut(op: string, inp: number, k: number, s: number, d: number, pb: number, pe: number, ceil: boolean): number {
  const span = d * (k - 1) + 1;
  const num = inp + pb + pe - span;
  if (num < 0) throw new OpError(op, `input size ${inp} (padded ${inp + pb + pe}) is smaller than the window ${span}`);
  let o = (ceil ? Math.ceil(num / s) : Math.floor(num / s)) + 1;
  // PyTorch: the last window must start inside the input or the left padding
  if (ceil && (o - 1) * s >= inp + pb) o--;
  return o;
}

function definePool(name: 'avgPool' | 'maxPool') {
  return defineOp<PoolAttrs>({
    name,
    inputs: [{ name: 'x', dtypes: FLOAT }],
    doc:
      name === 'avgPool'
        ? 'average pooling 1d/2d/3d (torch avg_poolNd): kernel, stride (default kernel), symmetric zero padding, ceilMode, countIncludePad.'
        : 'max pooling 1d/2d/3d (torch max_poolNd): kernel, stride (default kernel), padding (-inf), dilation, ceilMode.',
    normalize: (attrs, m) => {
      const x = req(name, m, 0);
      const d = spatialRank(name, x);
      const a = new Attrs(name, attrs);
      const kernel = a.ints('kernel', d, undefined, 1);
      const stride = a.has('stride') ? a.ints('stride', d, undefined, 1) : (a.value('stride'), kernel.slice());
      const dilation = name === 'maxPool' ? a.ints('dilation', d, 1, 1) : new Array<number>(d).fill(1);
      const pads = normPads(name, a, d, kernel, dilation, stride);
      pads.forEach((p, i) => {
        if (p > Math.floor(kernel[i % d]! / 2)) throw new OpError(name, `padding ${p} must be at most half the kernel ${kernel[i % d]}`);
      });
      const ceilMode = a.bool('ceilMode', false);
      const countIncludePad = name === 'avgPool' ? a.bool('countIncludePad', true) : false;
      return a.done({ kernel, stride, pads, dilation, ceilMode, countIncludePad });
    },
    infer: (m, a) => {
      const x = req(name, m, 0);
      const d = x.shape.length - 2;
      const sp = x.shape.slice(2).map((s, i) => poolOut(name, s, a.kernel[i]!, a.stride[i]!, a.dilation[i]!, a.pads[i]!, a.pads[d + i]!, a.ceilMode));
      return out([x.shape[0]!, x.shape[1]!, ...sp], x.dtype);
    },
    flops: (_m, a, o) => sizeOf(o[0]!.shape) * sizeOf(a.kernel),
  });
}

export const avgPoolOp = definePool('avgPool');
export const maxPoolOp = definePool('maxPool');

export interface ConvArgs {
  stride?: number | number[];
  padding?: PaddingArg;
  dilation?: number | number[];
  groups?: number;
}
export interface ConvTransposeArgs extends ConvArgs {
  outputPadding?: number | number[];
}
export interface PoolArgs {
  kernel: number | number[];
  stride?: number | number[];
  padding?: PaddingArg;
  dilation?: number | number[];
  ceilMode?: boolean;
  countIncludePad?: boolean;
}

/** Convolution; the number of spatial dims (1–3) comes from x's rank. */
export const conv = (x: Tensor, weight: Tensor, bias?: Tensor | null, args?: ConvArgs) => runOp(convOp, [x, weight, bias ?? null], args)[0]!;
export const convTranspose = (x: Tensor, weight: Tensor, bias?: Tensor | null, args?: ConvTransposeArgs) =>
  runOp(convTransposeOp, [x, weight, bias ?? null], args)[0]!;
export const avgPool = (x: Tensor, args: PoolArgs) => runOp(avgPoolOp, [x], args)[0]!;
export const maxPool = (x: Tensor, args: PoolArgs) => runOp(maxPoolOp, [x], args)[0]!;
