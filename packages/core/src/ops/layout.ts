import { OpError, defineOp, runOp } from '../op';
import { broadcastShapes, fmtShape, normAxis, shapesEqual, sizeOf } from '../shape';
import type { Tensor } from '../tensor';
import { Attrs, INDEX, out, req, sameDType } from './util';

export interface ReshapeAttrs {
  shape: number[];
}

export const reshapeOp = defineOp<ReshapeAttrs>({
  name: 'reshape',
  inputs: [{ name: 'x' }],
  doc: 'same values in row-major order with a new shape; one dim may be -1 (inferred). Backends may share storage.',
  normalize: (attrs, m) => {
    const a = new Attrs('reshape', attrs);
    const x = req('reshape', m, 0);
    const shape = a.intList('shape');
    const n = sizeOf(x.shape);
    const neg = shape.filter((d) => d === -1).length;
    if (neg > 1 || shape.some((d) => d < -1)) throw new OpError('reshape', `invalid target shape ${fmtShape(shape)}`);
    if (neg === 1) {
      const known = sizeOf(shape.filter((d) => d !== -1));
      if (known === 0 || n % known) throw new OpError('reshape', `cannot reshape ${fmtShape(x.shape)} (${n} elements) to ${fmtShape(shape)}`);
      shape[shape.indexOf(-1)] = n / known;
    }
    if (sizeOf(shape) !== n) throw new OpError('reshape', `cannot reshape ${fmtShape(x.shape)} (${n} elements) to ${fmtShape(shape)} (${sizeOf(shape)} elements)`);
    return a.done({ shape });
  },
  infer: (m, a) => out(a.shape, req('reshape', m, 0).dtype),
});

export interface TransposeAttrs {
  perm: number[];
}

export const transposeOp = defineOp<TransposeAttrs>({
  name: 'transpose',
  inputs: [{ name: 'x' }],
  doc: 'permutes dims: output dim i is input dim perm[i] (torch.permute); default reverses all dims.',
  normalize: (attrs, m) => {
    const a = new Attrs('transpose', attrs);
    const r = req('transpose', m, 0).shape.length;
    const perm = a.intList('perm', [...Array(r).keys()].reverse()).map((p) => normAxis(p, r, 'transpose'));
    if (perm.length !== r || new Set(perm).size !== r) throw new OpError('transpose', `perm ${JSON.stringify(perm)} is not a permutation of ${r} dims`);
    return a.done({ perm });
  },
  infer: (m, a) => {
    const x = req('transpose', m, 0);
    return out(a.perm.map((p) => x.shape[p]!), x.dtype);
  },
});

export interface SliceAttrs {
  /** Per input dim, after normalisation: start, step and output length. */
  starts: number[];
  steps: number[];
  sizes: number[];
}

export interface SliceArgs {
  starts: number[];
  ends: number[];
  axes?: number[];
  steps?: number[];
}

export const sliceOp = defineOp<SliceAttrs>({
  name: 'slice',
  inputs: [{ name: 'x' }],
  doc: 'python/ONNX slicing per axis: starts, ends (exclusive), optional axes and steps (negative steps walk backwards); out-of-range bounds are clamped, negative ones count from the end.',
  normalize: (attrs, m) => {
    const a = new Attrs('slice', attrs);
    const x = req('slice', m, 0);
    const r = x.shape.length;
    const startsIn = a.intList('starts');
    const endsIn = a.intList('ends');
    const axes = (a.optIntList('axes') ?? startsIn.map((_, i) => i)).map((ax) => normAxis(ax, r, 'slice'));
    const stepsIn = a.optIntList('steps') ?? startsIn.map(() => 1);
    if (endsIn.length !== startsIn.length || axes.length !== startsIn.length || stepsIn.length !== startsIn.length) {
      throw new OpError('slice', 'starts, ends, axes and steps must have the same length');
    }
    if (new Set(axes).size !== axes.length) throw new OpError('slice', `axes repeat: ${JSON.stringify(axes)}`);
    const starts = new Array<number>(r).fill(0);
    const steps = new Array<number>(r).fill(1);
    const sizes = x.shape.slice();
    axes.forEach((ax, i) => {
      const dim = x.shape[ax]!;
      const step = stepsIn[i]!;
      if (step === 0) throw new OpError('slice', `step for axis ${ax} is 0`);
      let s = startsIn[i]!;
      let e = endsIn[i]!;
      if (s < 0) s += dim;
      if (e < 0) e += dim;
      if (step > 0) {
        s = Math.min(Math.max(s, 0), dim);
        e = Math.min(Math.max(e, 0), dim);
        sizes[ax] = Math.max(0, Math.ceil((e - s) / step));
      } else {
        s = Math.min(Math.max(s, -1), dim - 1);
        e = Math.min(Math.max(e, -1), dim - 1);
        sizes[ax] = Math.max(0, Math.ceil((s - e) / -step));
      }
      starts[ax] = s;
      steps[ax] = step;
    });
    return a.done({ starts, steps, sizes });
  },
  infer: (m, a) => out(a.sizes, req('slice', m, 0).dtype),
});

export interface ConcatAttrs {
  axis: number;
}

export const concatOp = defineOp<ConcatAttrs>({
  name: 'concat',
  inputs: [{ name: 'xs', variadic: true }],
  doc: 'joins tensors along `axis`; all other dims and the dtype must match.',
  normalize: (attrs, m) => {
    const a = new Attrs('concat', attrs);
    if (m.length === 0) throw new OpError('concat', 'needs at least one tensor');
    return a.done({ axis: normAxis(a.int('axis', 0), req('concat', m, 0).shape.length, 'concat') });
  },
  infer: (m, a) => {
    const first = req('concat', m, 0);
    const dtype = sameDType('concat', m, m.map((_, i) => `xs[${i}]`));
    let total = 0;
    m.forEach((t, i) => {
      const s = t!.shape;
      if (s.length !== first.shape.length || s.some((d, j) => j !== a.axis && d !== first.shape[j])) {
        throw new OpError('concat', `xs[${i}] ${fmtShape(s)} does not match xs[0] ${fmtShape(first.shape)} outside axis ${a.axis}`);
      }
      total += s[a.axis]!;
    });
    const shape = first.shape.slice();
    shape[a.axis] = total;
    return out(shape, dtype);
  },
});

export interface PadAttrs {
  /** [begin_0, end_0, begin_1, end_1, ...] for every dim. */
  pads: number[];
  mode: 'constant' | 'reflect' | 'replicate';
  value: number;
}

export interface PadArgs {
  /** Pairs (begin, end) from the first dim, or — with `torchOrder` — torch F.pad order (last dim first). Shorter lists pad the trailing dims. */
  pads: number[];
  mode?: PadAttrs['mode'];
  value?: number;
  torchOrder?: boolean;
}

export const padOp = defineOp<PadAttrs>({
  name: 'pad',
  inputs: [{ name: 'x' }],
  doc: "pads every dim by (begin, end) with a constant (default 0), 'reflect' (no edge repeat) or 'replicate' (edge repeat).",
  normalize: (attrs, m) => {
    const a = new Attrs('pad', attrs);
    const x = req('pad', m, 0);
    const r = x.shape.length;
    let p = a.intList('pads');
    if (p.length % 2 || p.length > 2 * r) throw new OpError('pad', `pads must hold (begin, end) pairs for at most ${r} dims, got ${p.length} values`);
    if (p.some((v) => v < 0)) throw new OpError('pad', `pads must be non-negative, got ${JSON.stringify(p)}`);
    if (a.bool('torchOrder', false)) {
      const pairs: number[] = [];
      for (let i = p.length - 2; i >= 0; i -= 2) pairs.push(p[i]!, p[i + 1]!);
      p = pairs;
    }
    const pads = [...new Array<number>(2 * r - p.length).fill(0), ...p];
    const mode = a.oneOf('mode', ['constant', 'reflect', 'replicate'], 'constant');
    for (let i = 0; i < r; i++) {
      const d = x.shape[i]!;
      if (mode === 'reflect' && (pads[2 * i]! >= d || pads[2 * i + 1]! >= d) && (pads[2 * i]! || pads[2 * i + 1]!)) {
        throw new OpError('pad', `reflect padding of dim ${i} must be smaller than its size ${d}`);
      }
      if (mode === 'replicate' && d === 0 && (pads[2 * i]! || pads[2 * i + 1]!)) throw new OpError('pad', `cannot replicate-pad empty dim ${i}`);
    }
    return a.done({ pads, mode, value: a.num('value', 0) });
  },
  infer: (m, a) => {
    const x = req('pad', m, 0);
    return out(x.shape.map((d, i) => d + a.pads[2 * i]! + a.pads[2 * i + 1]!), x.dtype);
  },
});

export interface GatherAttrs {
  axis: number;
}

export const gatherOp = defineOp<GatherAttrs>({
  name: 'gather',
  inputs: [{ name: 'x' }, { name: 'indices', dtypes: INDEX }],
  doc: 'takes slices of x along `axis` at integer `indices` (negative count from the end; out of range is an error): out shape = x.shape[:axis] + indices.shape + x.shape[axis+1:] (numpy take / ONNX Gather).',
  normalize: (attrs, m) => {
    const a = new Attrs('gather', attrs);
    return a.done({ axis: normAxis(a.int('axis', 0), req('gather', m, 0).shape.length, 'gather') });
  },
  infer: (m, a) => {
    const x = req('gather', m, 0);
    const idx = req('gather', m, 1);
    return out([...x.shape.slice(0, a.axis), ...idx.shape, ...x.shape.slice(a.axis + 1)], x.dtype);
  },
});

export interface ExpandAttrs {
  shape: number[];
}

export const expandOp = defineOp<ExpandAttrs>({
  name: 'expand',
  inputs: [{ name: 'x' }],
  doc: 'broadcasts x to `shape` (numpy broadcast_to; -1 keeps a dim).',
  normalize: (attrs, m) => {
    const a = new Attrs('expand', attrs);
    const x = req('expand', m, 0);
    const shape = a.intList('shape');
    const off = shape.length - x.shape.length;
    if (off < 0) throw new OpError('expand', `target ${fmtShape(shape)} has fewer dims than x ${fmtShape(x.shape)}`);
    const resolved = shape.map((d, i) => (d === -1 && i >= off ? x.shape[i - off]! : d));
    const b = broadcastShapes(x.shape, resolved);
    if (!b || !shapesEqual(b, resolved)) throw new OpError('expand', `cannot broadcast ${fmtShape(x.shape)} to ${fmtShape(shape)}`);
    return a.done({ shape: resolved });
  },
  infer: (m, a) => out(a.shape, req('expand', m, 0).dtype),
});

export const reshape = (x: Tensor, shape: number[]) => runOp(reshapeOp, [x], { shape })[0]!;
export const transpose = (x: Tensor, perm?: number[]) => runOp(transposeOp, [x], perm ? { perm } : {})[0]!;
export const permute = transpose;
export const slice = (x: Tensor, args: SliceArgs) => runOp(sliceOp, [x], args)[0]!;
export const concat = (xs: Tensor[], axis = 0) => runOp(concatOp, xs, { axis })[0]!;
export const pad = (x: Tensor, args: PadArgs) => runOp(padOp, [x], args)[0]!;
export const gather = (x: Tensor, indices: Tensor, axis = 0) => runOp(gatherOp, [x, indices], { axis })[0]!;
export const expand = (x: Tensor, shape: number[]) => runOp(expandOp, [x], { shape })[0]!;

/** Removes size-1 dims (all, or the given axes). */
export function squeeze(x: Tensor, axes?: number[]): Tensor {
  const r = x.shape.length;
  const drop = axes ? axes.map((ax) => normAxis(ax, r, 'squeeze')) : x.shape.flatMap((d, i) => (d === 1 ? [i] : []));
  for (const ax of drop) if (x.shape[ax] !== 1) throw new OpError('squeeze', `axis ${ax} of ${fmtShape(x.shape)} has size ${x.shape[ax]}, not 1`);
  return reshape(x, x.shape.filter((_, i) => !drop.includes(i)));
}

/** Inserts a size-1 dim at `axis` (of the output). */
export function unsqueeze(x: Tensor, axis: number): Tensor {
  const ax = normAxis(axis, x.shape.length + 1, 'unsqueeze');
  const s = x.shape.slice();
  s.splice(ax, 0, 1);
  return reshape(x, s);
}

/** Merges dims start..end (inclusive) into one. */
export function flatten(x: Tensor, start = 0, end = -1): Tensor {
  const r = x.shape.length;
  const s = normAxis(start, r, 'flatten');
  const e = normAxis(end, r, 'flatten');
  return reshape(x, [...x.shape.slice(0, s), sizeOf(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)]);
}

/** Reverses the order along the given axes (torch.flip). */
export function flip(x: Tensor, axes: number[]): Tensor {
  return slice(x, { starts: axes.map(() => -1), ends: axes.map(() => -(2 ** 31)), axes, steps: axes.map(() => -1) });
}

/** Splits along `axis` into pieces of the given sizes (or `n` equal pieces). */
export function split(x: Tensor, sizes: number[] | number, axis = 0): Tensor[] {
  const ax = normAxis(axis, x.shape.length, 'split');
  const dim = x.shape[ax]!;
  const parts = typeof sizes === 'number' ? new Array<number>(sizes).fill(dim / sizes) : sizes;
  if (parts.some((p) => !Number.isInteger(p) || p < 0) || parts.reduce((p, q) => p + q, 0) !== dim) {
    throw new OpError('split', `sizes ${JSON.stringify(sizes)} do not add up to axis ${ax} of size ${dim}`);
  }
  let at = 0;
  return parts.map((p) => {
    const t = slice(x, { starts: [at], ends: [at + p], axes: [ax] });
    at += p;
    return t;
  });
}
