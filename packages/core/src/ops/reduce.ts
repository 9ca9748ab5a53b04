import { OpError, defineOp, runOp } from '../op';
import { normAxis, sizeOf } from '../shape';
import type { Tensor } from '../tensor';
import { Attrs, FLOAT, NUMERIC, out, req } from './util';

export interface ReduceAttrs {
  /** Sorted, normalised axes (all axes when none are given). */
  axes: number[];
  keepDims: boolean;
}

export type ReduceOp = 'sum' | 'mean' | 'max' | 'min';

function normAxes(op: string, raw: unknown, rank: number): number[] {
  if (raw === undefined || raw === null) return [...Array(rank).keys()];
  const list = typeof raw === 'number' ? [raw] : raw;
  if (!Array.isArray(list) || !list.every((x) => Number.isInteger(x))) throw new OpError(op, `attribute 'axes' must be an int or a list of ints, got ${JSON.stringify(raw)}`);
  const axes = list.map((x) => normAxis(x, rank, op));
  if (new Set(axes).size !== axes.length) throw new OpError(op, `attribute 'axes' repeats an axis: ${JSON.stringify(raw)}`);
  return axes.sort((a, b) => a - b);
}

function reducedShape(shape: readonly number[], axes: readonly number[], keep: boolean): number[] {
  const r: number[] = [];
  shape.forEach((d, i) => {
    if (!axes.includes(i)) r.push(d);
    else if (keep) r.push(1);
  });
  return r;
}

function defineReduce(name: ReduceOp) {
  return defineOp<ReduceAttrs>({
    name,
    inputs: [{ name: 'x', dtypes: name === 'mean' ? FLOAT : NUMERIC }],
    doc: `${name} over \`axes\` (default all), optionally keeping reduced dims as 1; the output keeps the input dtype (torch.sum promotes integers to int64: cast first for large integer sums). ${name === 'max' || name === 'min' ? 'NaN propagates.' : ''}`,
    normalize: (attrs, m) => {
      const a = new Attrs(name, attrs);
      const x = req(name, m, 0);
      const axes = normAxes(name, a.value('axes'), x.shape.length);
      if ((name === 'max' || name === 'min') && axes.some((ax) => x.shape[ax] === 0)) throw new OpError(name, 'cannot reduce an empty axis');
      return a.done({ axes, keepDims: a.bool('keepDims', false) });
    },
    infer: (m, a) => {
      const x = req(name, m, 0);
      return out(reducedShape(x.shape, a.axes, a.keepDims), x.dtype);
    },
    flops: (m) => sizeOf(m[0]!.shape),
  });
}

export const reduceOps = { sum: defineReduce('sum'), mean: defineReduce('mean'), max: defineReduce('max'), min: defineReduce('min') };

export interface ArgReduceAttrs {
  axis: number;
  keepDims: boolean;
}

function defineArg(name: 'argmax' | 'argmin') {
  return defineOp<ArgReduceAttrs>({
    name,
    inputs: [{ name: 'x', dtypes: NUMERIC }],
    doc: `index (int32) of the ${name === 'argmax' ? 'largest' : 'smallest'} value along \`axis\`; ties give the first index; NaN counts as ${name === 'argmax' ? 'largest' : 'smallest'} (torch).`,
    normalize: (attrs, m) => {
      const a = new Attrs(name, attrs);
      const x = req(name, m, 0);
      const axis = normAxis(a.int('axis', -1), x.shape.length, name);
      if (x.shape[axis] === 0) throw new OpError(name, 'cannot reduce an empty axis');
      return a.done({ axis, keepDims: a.bool('keepDims', false) });
    },
    infer: (m, a) => out(reducedShape(req(name, m, 0).shape, [a.axis], a.keepDims), 'int32'),
    flops: (m) => sizeOf(m[0]!.shape),
  });
}

export const argmaxOp = defineArg('argmax');
export const argminOp = defineArg('argmin');

export interface TopkAttrs {
  k: number;
  axis: number;
  largest: boolean;
}

export const topkOp = defineOp<TopkAttrs>({
  name: 'topk',
  inputs: [{ name: 'x', dtypes: NUMERIC }],
  doc: 'the k largest (or smallest) values along `axis` and their int32 indices, sorted; equal values keep the lower index first (stable).',
  normalize: (attrs, m) => {
    const a = new Attrs('topk', attrs);
    const x = req('topk', m, 0);
    const axis = normAxis(a.int('axis', -1), x.shape.length, 'topk');
    const k = a.int('k', undefined, 0);
    if (k > x.shape[axis]!) throw new OpError('topk', `k=${k} exceeds the size ${x.shape[axis]} of axis ${axis}`);
    return a.done({ k, axis, largest: a.bool('largest', true) });
  },
  infer: (m, a) => {
    const x = req('topk', m, 0);
    const s = x.shape.slice();
    s[a.axis] = a.k;
    return [
      { shape: s, dtype: x.dtype },
      { shape: s.slice(), dtype: 'int32' },
    ];
  },
  flops: (m) => sizeOf(m[0]!.shape),
});

export interface ReduceArgs {
  axes?: number | number[];
  keepDims?: boolean;
}
export const sum = (x: Tensor, args?: ReduceArgs) => runOp(reduceOps.sum, [x], args)[0]!;
export const mean = (x: Tensor, args?: ReduceArgs) => runOp(reduceOps.mean, [x], args)[0]!;
export const max = (x: Tensor, args?: ReduceArgs) => runOp(reduceOps.max, [x], args)[0]!;
export const min = (x: Tensor, args?: ReduceArgs) => runOp(reduceOps.min, [x], args)[0]!;
export const argmax = (x: Tensor, args?: Partial<ArgReduceAttrs>) => runOp(argmaxOp, [x], args)[0]!;
export const argmin = (x: Tensor, args?: Partial<ArgReduceAttrs>) => runOp(argminOp, [x], args)[0]!;
export const topk = (x: Tensor, args: { k: number; axis?: number; largest?: boolean }) => {
  const [values, indices] = runOp(topkOp, [x], args);
  return { values: values!, indices: indices! };
};
