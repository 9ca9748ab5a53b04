import { isDType, type DType } from '../dtype';
import { OpError, defineOp, runOp, type OpDescriptor, type TensorMeta } from '../op';
import { broadcastShapes, fmtShape, sizeOf } from '../shape';
import { Tensor, scalar } from '../tensor';
import { Attrs, FLOAT, NUMERIC, out, req, sameDType } from './util';

const elemFlops = (_: readonly (TensorMeta | null)[], __: unknown, o: readonly { shape: number[] }[]) => sizeOf(o[0]!.shape);

function broadcastOf(op: string, metas: readonly (TensorMeta | null)[], names: readonly string[]): number[] {
  const shapes = metas.map((m, i) => req(op, metas, i).shape);
  const s = broadcastShapes(...shapes);
  if (!s) throw new OpError(op, `shapes ${names.map((n, i) => `${n} ${fmtShape(shapes[i]!)}`).join(' and ')} do not broadcast`);
  return s;
}

export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'minimum' | 'maximum';
export type CompareOp = 'equal' | 'greater' | 'greaterEqual' | 'less' | 'lessEqual';

const binaryDocs: Record<BinaryOp, string> = {
  add: 'a + b',
  sub: 'a - b',
  mul: 'a * b',
  div: 'a / b (true division for floats; integer division truncates toward zero)',
  pow: 'a ** b (floats)',
  minimum: 'elementwise min(a, b); NaN propagates',
  maximum: 'elementwise max(a, b); NaN propagates',
};

function defineBinary(name: BinaryOp): OpDescriptor<Record<string, never>> {
  return defineOp<Record<string, never>>({
    name,
    inputs: [
      { name: 'a', dtypes: name === 'pow' ? FLOAT : NUMERIC },
      { name: 'b', dtypes: name === 'pow' ? FLOAT : NUMERIC },
    ],
    doc: `${binaryDocs[name]}, with numpy broadcasting; both inputs must have the same dtype.`,
    normalize: (attrs) => new Attrs(name, attrs).done({}),
    infer: (m) => out(broadcastOf(name, m, ['a', 'b']), sameDType(name, m, ['a', 'b'])),
    flops: elemFlops,
  });
}

function defineCompare(name: CompareOp): OpDescriptor<Record<string, never>> {
  return defineOp<Record<string, never>>({
    name,
    inputs: [
      { name: 'a', dtypes: NUMERIC },
      { name: 'b', dtypes: NUMERIC },
    ],
    doc: `elementwise comparison (${name}) with broadcasting; returns bool.`,
    normalize: (attrs) => new Attrs(name, attrs).done({}),
    infer: (m) => (sameDType(name, m, ['a', 'b']), out(broadcastOf(name, m, ['a', 'b']), 'bool')),
    flops: elemFlops,
  });
}

export const binaryOps = {
  add: defineBinary('add'),
  sub: defineBinary('sub'),
  mul: defineBinary('mul'),
  div: defineBinary('div'),
  pow: defineBinary('pow'),
  minimum: defineBinary('minimum'),
  maximum: defineBinary('maximum'),
};
export const compareOps = {
  equal: defineCompare('equal'),
  greater: defineCompare('greater'),
  greaterEqual: defineCompare('greaterEqual'),
  less: defineCompare('less'),
  lessEqual: defineCompare('lessEqual'),
};

export type UnaryOp =
  | 'neg'
  | 'abs'
  | 'sqrt'
  | 'rsqrt'
  | 'exp'
  | 'log'
  | 'relu'
  | 'sigmoid'
  | 'tanh'
  | 'erf'
  | 'floor'
  | 'ceil'
  | 'round'
  | 'reciprocal';

const unaryDocs: Record<UnaryOp, string> = {
  neg: '-x',
  abs: '|x|',
  sqrt: 'sqrt(x)',
  rsqrt: '1 / sqrt(x)',
  exp: 'e^x',
  log: 'natural log',
  relu: 'max(x, 0)',
  sigmoid: '1 / (1 + e^-x)',
  tanh: 'tanh(x)',
  erf: 'the error function',
  floor: 'floor(x)',
  ceil: 'ceil(x)',
  round: 'round half to even (torch.round)',
  reciprocal: '1 / x',
};
const intOk: ReadonlySet<UnaryOp> = new Set(['neg', 'abs', 'relu']);

function defineUnary(name: UnaryOp): OpDescriptor<Record<string, never>> {
  const dtypes = intOk.has(name) ? (['float32', 'float16', 'int32', 'int64'] as const) : FLOAT;
  return defineOp<Record<string, never>>({
    name,
    inputs: [{ name: 'x', dtypes }],
    doc: `elementwise ${unaryDocs[name]}.`,
    normalize: (attrs) => new Attrs(name, attrs).done({}),
    infer: (m) => out(req(name, m, 0).shape, req(name, m, 0).dtype),
    flops: elemFlops,
  });
}

export const unaryOps = Object.fromEntries(
  (Object.keys(unaryDocs) as UnaryOp[]).map((n) => [n, defineUnary(n)]),
) as Record<UnaryOp, OpDescriptor<Record<string, never>>>;

export interface GeluAttrs {
  /** 'none' = exact erf form (UniFormer, torch default); 'tanh' = tanh approximation (ViViT / flax). */
  approximate: 'none' | 'tanh';
}
export const geluOp = defineOp<GeluAttrs>({
  name: 'gelu',
  inputs: [{ name: 'x', dtypes: FLOAT }],
  doc: "GELU. approximate 'none': x·Φ(x) = 0.5x(1+erf(x/√2)); 'tanh': 0.5x(1+tanh(√(2/π)(x+0.044715x³))).",
  normalize: (attrs) => {
    const a = new Attrs('gelu', attrs);
    return a.done({ approximate: a.oneOf('approximate', ['none', 'tanh'], 'none') });
  },
  infer: (m) => out(req('gelu', m, 0).shape, req('gelu', m, 0).dtype),
  flops: (m, a, o) => 8 * sizeOf(o[0]!.shape),
});

export interface ClampAttrs {
  min: number;
  max: number;
}
export const clampOp = defineOp<ClampAttrs>({
  name: 'clamp',
  inputs: [{ name: 'x', dtypes: NUMERIC }],
  doc: 'min(max(x, min), max); either bound may be ±Infinity.',
  normalize: (attrs) => {
    const a = new Attrs('clamp', attrs);
    const r = { min: a.num('min', -Infinity), max: a.num('max', Infinity) };
    if (r.min > r.max) throw new OpError('clamp', `min ${r.min} > max ${r.max}`);
    return a.done(r);
  },
  infer: (m) => out(req('clamp', m, 0).shape, req('clamp', m, 0).dtype),
  flops: elemFlops,
});

export const whereOp = defineOp<Record<string, never>>({
  name: 'where',
  inputs: [{ name: 'cond', dtypes: ['bool'] }, { name: 'a' }, { name: 'b' }],
  doc: 'cond ? a : b elementwise, broadcasting all three; a and b share a dtype.',
  normalize: (attrs) => new Attrs('where', attrs).done({}),
  infer: (m) => out(broadcastOf('where', m, ['cond', 'a', 'b']), sameDType('where', [m[1]!, m[2]!], ['a', 'b'])),
  flops: elemFlops,
});

export interface CastAttrs {
  dtype: DType;
}
export const castOp = defineOp<CastAttrs>({
  name: 'cast',
  inputs: [{ name: 'x' }],
  doc: 'converts dtype: float→int truncates toward zero; anything→bool is x != 0; float16 rounds to nearest even.',
  normalize: (attrs) => {
    const a = new Attrs('cast', attrs);
    const dtype = a.value('dtype');
    if (!isDType(dtype)) throw new OpError('cast', `attribute 'dtype' must be a dtype name, got ${JSON.stringify(dtype)}`);
    return a.done({ dtype });
  },
  infer: (m, a) => out(req('cast', m, 0).shape, a.dtype),
});

// ---------------------------------------------------------------------------------------------
// User functions

type Operand = Tensor | number;

function operands(op: string, a: Operand, b: Operand): [Tensor, Tensor, Tensor[]] {
  const made: Tensor[] = [];
  const ref = a instanceof Tensor ? a : b instanceof Tensor ? b : null;
  if (!ref) throw new OpError(op, 'at least one operand must be a Tensor');
  const lift = (x: Operand) => {
    if (x instanceof Tensor) return x;
    const t = scalar(x, { dtype: ref.dtype, backend: ref.backend });
    made.push(t);
    return t;
  };
  return [lift(a), lift(b), made];
}

function bin(desc: OpDescriptor, a: Operand, b: Operand): Tensor {
  const [x, y, made] = operands(desc.name, a, b);
  try {
    return runOp(desc, [x, y])[0]!;
  } finally {
    for (const t of made) t.dispose();
  }
}

/** a + b (numbers are lifted to scalars of the tensor's dtype). */
export const add = (a: Operand, b: Operand) => bin(binaryOps.add, a, b);
export const sub = (a: Operand, b: Operand) => bin(binaryOps.sub, a, b);
export const mul = (a: Operand, b: Operand) => bin(binaryOps.mul, a, b);
export const div = (a: Operand, b: Operand) => bin(binaryOps.div, a, b);
export const pow = (a: Operand, b: Operand) => bin(binaryOps.pow, a, b);
export const minimum = (a: Operand, b: Operand) => bin(binaryOps.minimum, a, b);
export const maximum = (a: Operand, b: Operand) => bin(binaryOps.maximum, a, b);
export const equal = (a: Operand, b: Operand) => bin(compareOps.equal, a, b);
export const greater = (a: Operand, b: Operand) => bin(compareOps.greater, a, b);
export const greaterEqual = (a: Operand, b: Operand) => bin(compareOps.greaterEqual, a, b);
export const less = (a: Operand, b: Operand) => bin(compareOps.less, a, b);
export const lessEqual = (a: Operand, b: Operand) => bin(compareOps.lessEqual, a, b);

const un = (n: UnaryOp) => (x: Tensor) => runOp(unaryOps[n], [x])[0]!;
export const neg = un('neg');
export const abs = un('abs');
export const sqrt = un('sqrt');
export const rsqrt = un('rsqrt');
export const exp = un('exp');
export const log = un('log');
export const relu = un('relu');
export const sigmoid = un('sigmoid');
export const tanh = un('tanh');
export const erf = un('erf');
export const floor = un('floor');
export const ceil = un('ceil');
export const round = un('round');
export const reciprocal = un('reciprocal');

export const gelu = (x: Tensor, attrs?: Partial<GeluAttrs>) => runOp(geluOp, [x], attrs)[0]!;
export const clamp = (x: Tensor, attrs: Partial<ClampAttrs>) => runOp(clampOp, [x], attrs)[0]!;
export const where = (cond: Tensor, a: Tensor, b: Tensor) => runOp(whereOp, [cond, a, b])[0]!;
export const cast = <D extends DType>(x: Tensor, dtype: D) => runOp(castOp, [x], { dtype })[0]! as Tensor<D>;
