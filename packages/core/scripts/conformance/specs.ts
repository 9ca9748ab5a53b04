/**
 * The onnxruntime-backed conformance cases: seeded inputs, our op + attributes, and the ONNX
 * graph that computes the same thing. ONNX attributes are written out by hand next to ours (never
 * derived from our descriptors' normalisation), so a normalisation bug shows up as a mismatch.
 *
 * Where ONNX/onnxruntime and PyTorch semantics differ, only agreeing configurations are kept:
 * - interpolate 'linear'/'bicubic' with an output size of 1: ONNX pytorch_half_pixel maps the
 *   single pixel to 0, PyTorch to the centre → closed-form case instead; never generated here.
 * - pools with ceilMode where the last window would start in the right padding: PyTorch drops it,
 *   and its avg divisor never counts window parts beyond the padding → checked against a torch
 *   reference (reference.ts); disagreeing configurations are dropped and listed in GENERATED_INFO.
 * - ReduceMax/ReduceMin ignore NaN in onnxruntime, torch propagates it → NaN only in closed-form.
 * - NonMaxSuppression: per class (max_output per class, class-major output order) → only
 *   distinct scores, batched cases run per class and re-ordered by (score desc, index asc);
 *   maxOutput only without classes.
 * - integer reductions: torch.sum promotes int32/uint8 to int64; our sum keeps the dtype → int sums
 *   use small values (no overflow), uint8 sums are not generated.
 */
import type { DType } from '../../src/dtype';
import type { HostTensor, Tolerance } from '../../src/testing/types';
import type { OnnxAttr } from '../../src/onnx/index';
import { type Graph, attr, onnxDataType } from './graph';
import { Rng } from './prng';
import * as ref from './reference';

export interface OrtSpec {
  name: string;
  op: string;
  attrs: Record<string, unknown>;
  inputs: (HostTensor | null)[];
  /** Builds the ONNX graph over inputs x0, x1, ... and returns the output names (in our op's output order). */
  build: (g: Graph) => string[];
  opset?: number;
  tol: Tolerance;
  /** Also emit a float16 variant (inputs rounded to float16, ORT in float32, outputs cast to float16 by ORT) with this tolerance. */
  f16?: Tolerance;
  /** PyTorch-semantics reference: the case is kept only if onnxruntime agrees with it within `refTol`. */
  reference?: (inputs: (HostTensor | null)[]) => ref.RefOut[];
  refTol?: Tolerance;
  /** Converts raw onnxruntime outputs (e.g. NMS selected triples) to our op's outputs. */
  post?: (outs: HostTensor[], inputs: (HostTensor | null)[]) => HostTensor[];
  note?: string;
}

// ---- tolerances ---------------------------------------------------------------------------------
const EXACT: Tolerance = { abs: 0, rel: 0 };
const ARITH: Tolerance = { abs: 0, rel: 4e-7 };
const DIV: Tolerance = { abs: 0, rel: 1e-6 };
const TRANSC: Tolerance = { abs: 1e-6, rel: 1e-5 };
const ACCUM: Tolerance = { abs: 2e-5, rel: 1e-5 };
const NORM: Tolerance = { abs: 5e-6, rel: 1e-5 };
const RESAMPLE: Tolerance = { abs: 1e-6, rel: 1e-5 };
const F16_ELEM: Tolerance = { abs: 1e-6, rel: 1e-3 };
const F16: Tolerance = { abs: 5e-4, rel: 2e-3 };
const REF_TOL: Tolerance = { abs: 1e-5, rel: 1e-5 };

// ---- input makers -------------------------------------------------------------------------------
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
const tf32 = (shape: number[], data: ArrayLike<number>): HostTensor => ({ dtype: 'float32', shape, data: Float32Array.from(data) });
const U = (r: Rng, shape: number[], lo = -1, hi = 1) => tf32(shape, Array.from({ length: size(shape) }, () => r.uniform(lo, hi)));
/** integer-valued floats (ties on purpose) */
const Q = (r: Rng, shape: number[], lo: number, hi: number, div = 1) => tf32(shape, Array.from({ length: size(shape) }, () => r.int(lo, hi) / div));
const NZ = (r: Rng, shape: number[], lo = 0.5, hi = 3) => tf32(shape, Array.from({ length: size(shape) }, () => (r.float() < 0.5 ? -1 : 1) * r.uniform(lo, hi)));
const I32 = (r: Rng, shape: number[], lo: number, hi: number): HostTensor => ({ dtype: 'int32', shape, data: Int32Array.from({ length: size(shape) }, () => r.int(lo, hi)) });
const I64 = (r: Rng, shape: number[], lo: number, hi: number): HostTensor => ({ dtype: 'int64', shape, data: BigInt64Array.from({ length: size(shape) }, () => BigInt(r.int(lo, hi))) });
const U8 = (r: Rng, shape: number[], lo = 0, hi = 255): HostTensor => ({ dtype: 'uint8', shape, data: Uint8Array.from({ length: size(shape) }, () => r.int(lo, hi)) });
const B = (r: Rng, shape: number[], p = 0.5): HostTensor => ({ dtype: 'bool', shape, data: Uint8Array.from({ length: size(shape) }, () => (r.float() < p ? 1 : 0)) });
/** nonzero ints for integer division */
const INZ = (r: Rng, shape: number[], dtype: 'int32' | 'int64' | 'uint8'): HostTensor => {
  const v = Array.from({ length: size(shape) }, () => (dtype === 'uint8' ? r.int(1, 20) : (r.float() < 0.5 ? -1 : 1) * r.int(1, 9)));
  return dtype === 'int32' ? { dtype, shape, data: Int32Array.from(v) } : dtype === 'int64' ? { dtype, shape, data: BigInt64Array.from(v.map(BigInt)) } : { dtype, shape, data: Uint8Array.from(v) };
};
const ints = (dtype: 'int32' | 'int64' | 'uint8', r: Rng, shape: number[], lo: number, hi: number) => (dtype === 'int32' ? I32(r, shape, lo, hi) : dtype === 'int64' ? I64(r, shape, lo, hi) : U8(r, shape, Math.max(lo, 0), Math.min(hi, 255)));
const sh = (s: number[]) => (s.length ? s.join('x') : 'scalar');

/** A scalar constant of `dtype` (Clip bounds, Pad value). */
function scalarConst(g: Graph, dtype: DType, v: number): string {
  if (dtype === 'int32') return g.const('int32', [], Int32Array.from([v]));
  if (dtype === 'int64') return g.const('int64', [], BigInt64Array.from([BigInt(v)]));
  if (dtype === 'uint8') return g.const('uint8', [], Uint8Array.from([v]));
  return g.scalarF(v);
}

type Init = Omit<OrtSpec, 'name' | 'op' | 'inputs' | 'attrs'> & { attrs?: Record<string, unknown> };

export function buildOrtSpecs(): OrtSpec[] {
  const specs: OrtSpec[] = [];
  const add = (op: string, name: string, inputs: (r: Rng) => (HostTensor | null)[], init: Init) => {
    const full = `${op}/${name}`;
    specs.push({ name: full, op, inputs: inputs(new Rng(full)), attrs: init.attrs ?? {}, ...init });
  };
  const x0 = (type: string, attrs: Record<string, OnnxAttr> = {}) => (g: Graph) => [g.op1(type, [g.x(0)], attrs)];
  const x01 = (type: string) => (g: Graph) => [g.op1(type, [g.x(0), g.x(1)])];

  // ---- binary arithmetic -------------------------------------------------------------------------
  const BIN: Record<string, string> = { add: 'Add', sub: 'Sub', mul: 'Mul', div: 'Div', pow: 'Pow', minimum: 'Min', maximum: 'Max' };
  const pairs: [number[], number[]][] = [
    [[2, 3], [2, 3]],
    [[2, 3], [3]],
    [[2, 1, 4], [3, 1]],
    [[], [2, 3]],
    [[4, 1, 3], [1, 5, 1]],
    [[1], [3, 2]],
  ];
  for (const [op, type] of Object.entries(BIN)) {
    const tol = op === 'div' ? DIV : op === 'pow' ? TRANSC : ARITH;
    pairs.forEach(([sa, sb], k) => {
      add(op, `${sh(sa)}-${sh(sb)}`, (r) => (op === 'pow' ? [U(r, sa, 0.1, 3), U(r, sb, -2, 2)] : op === 'div' ? [U(r, sa, -4, 4), NZ(r, sb)] : [U(r, sa, -4, 4), U(r, sb, -4, 4)]), {
        build: x01(type),
        tol,
        ...(k === 1 || k === 2 ? { f16: op === 'pow' ? F16 : F16_ELEM } : {}),
      });
    });
    if (op === 'pow') continue;
    for (const dtype of ['int32', 'int64', 'uint8'] as const) {
      if (dtype === 'int64' && (op === 'sub' || op === 'minimum')) continue;
      const shapes: [number[], number[]][] = dtype === 'int32' ? [[[2, 3], [3]], [[3, 1], [1, 4]]] : [[[2, 3], [2, 3]]];
      for (const [sa, sb] of shapes) {
        add(op, `${dtype}-${sh(sa)}-${sh(sb)}`, (r) => [ints(dtype, r, sa, -100, 100), op === 'div' ? INZ(r, sb, dtype) : ints(dtype, r, sb, op === 'mul' && dtype === 'uint8' ? 0 : -100, op === 'mul' && dtype === 'uint8' ? 3 : 100)], {
          build: x01(type),
          tol: EXACT,
          ...(op === 'div' ? { note: 'integer division truncates toward zero' } : {}),
        });
      }
    }
  }

  // ---- comparisons --------------------------------------------------------------------------------
  const CMP: Record<string, string> = { equal: 'Equal', greater: 'Greater', greaterEqual: 'GreaterOrEqual', less: 'Less', lessEqual: 'LessOrEqual' };
  for (const [op, type] of Object.entries(CMP)) {
    add(op, '3x4-4-ties', (r) => [Q(r, [3, 4], -2, 2), Q(r, [4], -2, 2)], { build: x01(type), tol: EXACT, f16: EXACT });
    add(op, '2x1-1x3', (r) => [U(r, [2, 1]), U(r, [1, 3])], { build: x01(type), tol: EXACT });
    add(op, 'int32-3x4', (r) => [I32(r, [3, 4], -3, 3), I32(r, [3, 4], -3, 3)], { build: x01(type), tol: EXACT });
    add(op, 'int64-6', (r) => [I64(r, [6], -2, 2), I64(r, [6], -2, 2)], { build: x01(type), tol: EXACT });
    add(op, 'uint8-2x3-3', (r) => [U8(r, [2, 3], 0, 4), U8(r, [3], 0, 4)], { build: x01(type), tol: EXACT });
  }

  // ---- unary ----------------------------------------------------------------------------------------
  const UN: Record<string, { type: string; gen: (r: Rng, s: number[]) => HostTensor; tol: Tolerance }> = {
    neg: { type: 'Neg', gen: (r, s) => U(r, s, -4, 4), tol: EXACT },
    abs: { type: 'Abs', gen: (r, s) => U(r, s, -4, 4), tol: EXACT },
    sqrt: { type: 'Sqrt', gen: (r, s) => U(r, s, 0, 10), tol: ARITH },
    rsqrt: { type: '', gen: (r, s) => U(r, s, 0.01, 10), tol: DIV },
    exp: { type: 'Exp', gen: (r, s) => U(r, s, -10, 10), tol: TRANSC },
    log: { type: 'Log', gen: (r, s) => U(r, s, 0.001, 20), tol: TRANSC },
    relu: { type: 'Relu', gen: (r, s) => U(r, s, -4, 4), tol: EXACT },
    sigmoid: { type: 'Sigmoid', gen: (r, s) => U(r, s, -8, 8), tol: TRANSC },
    tanh: { type: 'Tanh', gen: (r, s) => U(r, s, -5, 5), tol: TRANSC },
    erf: { type: 'Erf', gen: (r, s) => U(r, s, -3, 3), tol: TRANSC },
    floor: { type: 'Floor', gen: (r, s) => Q(r, s, -20, 20, 4), tol: EXACT },
    ceil: { type: 'Ceil', gen: (r, s) => Q(r, s, -20, 20, 4), tol: EXACT },
    round: { type: 'Round', gen: (r, s) => Q(r, s, -20, 20, 4), tol: EXACT },
    reciprocal: { type: 'Reciprocal', gen: (r, s) => NZ(r, s, 0.1, 5), tol: DIV },
  };
  for (const [op, u] of Object.entries(UN)) {
    const build = op === 'rsqrt' ? (g: Graph) => [g.op1('Reciprocal', [g.op1('Sqrt', [g.x(0)])])] : x0(u.type);
    add(op, '3x5', (r) => [u.gen(r, [3, 5])], { build, tol: u.tol, f16: u.tol === EXACT ? EXACT : F16_ELEM, ...(op === 'rsqrt' ? { note: 'onnx: Reciprocal(Sqrt(x))' } : {}) });
    add(op, '2x3x4', (r) => [u.gen(r, [2, 3, 4])], { build, tol: u.tol });
  }
  for (const op of ['neg', 'abs', 'relu'] as const) {
    add(op, 'int32-2x5', (r) => [I32(r, [2, 5], -1000, 1000)], { build: x0(UN[op]!.type), tol: EXACT, opset: 18 });
    if (op !== 'relu') add(op, 'int64-2x5', (r) => [I64(r, [2, 5], -1000, 1000)], { build: x0(UN[op]!.type), tol: EXACT });
  }

  // ---- gelu / clamp / where / cast ----------------------------------------------------------------
  for (const approximate of ['none', 'tanh'] as const) {
    add('gelu', `${approximate}-3x7`, (r) => [U(r, [3, 7], -5, 5)], { attrs: { approximate }, build: x0('Gelu', { approximate: attr.string(approximate) }), opset: 20, tol: TRANSC, f16: F16_ELEM });
  }
  add('gelu', 'default-4x4', (r) => [U(r, [4, 4], -4, 4)], { build: x0('Gelu'), opset: 20, tol: TRANSC });
  const clip = (lo: number | null, hi: number | null) => (g: Graph) => {
    const dt = g.inputs[0]!.dtype;
    return [g.op1('Clip', [g.x(0), lo === null ? '' : scalarConst(g, dt, lo), hi === null ? '' : scalarConst(g, dt, hi)])];
  };
  add('clamp', 'both-3x5', (r) => [U(r, [3, 5], -3, 3)], { attrs: { min: -1, max: 1.5 }, build: clip(-1, 1.5), tol: EXACT, f16: EXACT });
  add('clamp', 'min-only-3x5', (r) => [U(r, [3, 5], -3, 3)], { attrs: { min: -0.5 }, build: clip(-0.5, null), tol: EXACT });
  add('clamp', 'max-only-3x5', (r) => [U(r, [3, 5], -3, 3)], { attrs: { max: 0.25 }, build: clip(null, 0.25), tol: EXACT });
  add('clamp', 'int32-3x5', (r) => [I32(r, [3, 5], -50, 50)], { attrs: { min: -10, max: 20 }, build: clip(-10, 20), tol: EXACT });
  add('clamp', 'int64-3x5', (r) => [I64(r, [3, 5], -50, 50)], { attrs: { min: -10, max: 20 }, build: clip(-10, 20), tol: EXACT });
  add('clamp', 'uint8-3x5', (r) => [U8(r, [3, 5])], { attrs: { min: 10, max: 200 }, build: clip(10, 200), tol: EXACT });
  const where3 = (g: Graph) => [g.op1('Where', [g.x(0), g.x(1), g.x(2)])];
  add('where', '2x3-2x3-3', (r) => [B(r, [2, 3]), U(r, [2, 3]), U(r, [3])], { build: where3, tol: EXACT, f16: EXACT });
  add('where', '3-2x1-scalar', (r) => [B(r, [3]), U(r, [2, 1]), U(r, [])], { build: where3, tol: EXACT });
  add('where', 'int32-2x3', (r) => [B(r, [2, 3]), I32(r, [2, 3], -9, 9), I32(r, [1, 3], -9, 9)], { build: where3, tol: EXACT });
  add('where', 'int64-4', (r) => [B(r, [4]), I64(r, [4], -9, 9), I64(r, [4], -9, 9)], { build: where3, tol: EXACT });
  // onnxruntime has no bool Where: select on uint8 copies and cast back
  add('where', 'bool-2x2', (r) => [B(r, [2, 2]), B(r, [2, 2]), B(r, [2])], {
    build: (g) => {
      const u8 = (x: string) => g.op1('Cast', [x], { to: attr.int(onnxDataType('uint8')) });
      return [g.op1('Cast', [g.op1('Where', [g.x(0), u8(g.x(1)), u8(g.x(2))])], { to: attr.int(onnxDataType('bool')) })];
    },
    tol: EXACT,
  });
  add('where', 'uint8-3', (r) => [B(r, [3]), U8(r, [3]), U8(r, [3])], { build: where3, tol: EXACT });
  const cast = (to: DType) => (g: Graph) => [g.op1('Cast', [g.x(0)], { to: attr.int(onnxDataType(to)) })];
  const casts: [string, DType, (r: Rng) => HostTensor][] = [
    ['float32-to-int32', 'int32', (r) => U(r, [3, 4], -100, 100)],
    ['float32-to-int64', 'int64', (r) => U(r, [3, 4], -1e6, 1e6)],
    ['float32-to-bool', 'bool', (r) => Q(r, [3, 4], -2, 2, 2)],
    ['float32-to-uint8', 'uint8', (r) => U(r, [3, 4], 0, 255.9)],
    ['float32-to-float16', 'float16', (r) => U(r, [3, 4], -70000, 70000)],
    ['float32-to-float16-small', 'float16', (r) => U(r, [3, 4], -1e-4, 1e-4)],
    ['float32-to-float32', 'float32', (r) => U(r, [3])],
    ['int32-to-float32', 'float32', (r) => I32(r, [3, 4], -(2 ** 26), 2 ** 26)],
    ['int32-to-int64', 'int64', (r) => I32(r, [5], -1000, 1000)],
    ['int32-to-bool', 'bool', (r) => I32(r, [6], -1, 1)],
    ['int32-to-uint8', 'uint8', (r) => I32(r, [6], 0, 255)],
    ['int64-to-int32', 'int32', (r) => I64(r, [5], -100000, 100000)],
    ['int64-to-float32', 'float32', (r) => I64(r, [5], -100000, 100000)],
    ['bool-to-float32', 'float32', (r) => B(r, [2, 3])],
    ['bool-to-int32', 'int32', (r) => B(r, [2, 3])],
    ['uint8-to-float32', 'float32', (r) => U8(r, [6])],
    ['uint8-to-int64', 'int64', (r) => U8(r, [6])],
    ['float16-to-float32', 'float32', (r) => ({ dtype: 'float16', shape: [3, 4], data: Uint16Array.from({ length: 12 }, () => r.int(0, 0xffff)).map((b) => ((b & 0x7c00) === 0x7c00 ? b & 0xfbff : b)) })],
    ['float16-to-int32', 'int32', (r) => ({ dtype: 'float16', shape: [6], data: Uint16Array.from({ length: 6 }, () => 0x4000 + r.int(0, 0x1800) + (r.float() < 0.5 ? 0x8000 : 0)) })],
  ];
  for (const [name, to, gen] of casts) add('cast', name, (r) => [gen(r)], { attrs: { dtype: to }, build: cast(to), tol: EXACT });

  // ---- matmul / linear / sdpa ---------------------------------------------------------------------
  const tr = (g: Graph, x: string, rank: number) => g.op1('Transpose', [x], { perm: attr.ints([...Array(rank - 2).keys(), rank - 1, rank - 2]) });
  const mm = (ta: boolean, tb: boolean, ra: number, rb: number) => (g: Graph) => [g.op1('MatMul', [ta ? tr(g, g.x(0), ra) : g.x(0), tb ? tr(g, g.x(1), rb) : g.x(1)])];
  const mmCases: [string, number[], number[], boolean, boolean][] = [
    ['3x4-4x5', [3, 4], [4, 5], false, false],
    ['transA-4x3-4x5', [4, 3], [4, 5], true, false],
    ['transB-3x4-5x4', [3, 4], [5, 4], false, true],
    ['transAB-4x3-5x4', [4, 3], [5, 4], true, true],
    ['batched-2x3x4-2x4x5', [2, 3, 4], [2, 4, 5], false, false],
    ['broadcast-2x1x3x4-3x4x5', [2, 1, 3, 4], [3, 4, 5], false, false],
    ['broadcast-3x4-2x4x5', [3, 4], [2, 4, 5], false, false],
    ['batched-transB-2x3x4-1x5x4', [2, 3, 4], [1, 5, 4], false, true],
    ['batched-transA-2x2x4x3-2x4x6', [2, 2, 4, 3], [2, 4, 6], true, false],
    ['k64-4x64-64x6', [4, 64], [64, 6], false, false],
    ['1x1', [1, 1], [1, 1], false, false],
    ['gemv-1x7-7x3', [1, 7], [7, 3], false, false],
  ];
  mmCases.forEach(([name, sa, sb, ta, tb], k) =>
    add('matmul', name, (r) => [U(r, sa), U(r, sb)], {
      attrs: { ...(ta ? { transA: true } : {}), ...(tb ? { transB: true } : {}) },
      build: mm(ta, tb, sa.length, sb.length),
      tol: ACCUM,
      ...(k === 0 || k === 4 || k === 2 ? { f16: F16 } : {}),
    }),
  );
  add('matmul', 'gemm-transB-3x4-5x4', (r) => [U(r, [3, 4]), U(r, [5, 4])], { attrs: { transB: true }, build: (g) => [g.op1('Gemm', [g.x(0), g.x(1)], { transB: attr.int(1) })], tol: ACCUM, note: 'onnx Gemm transB' });
  const lin2d = (g: Graph) => [g.op1('Gemm', [g.x(0), g.x(1), ...(g.has(2) ? [g.x(2)] : [])], { transB: attr.int(1) })];
  const linNd = (g: Graph) => {
    const y = g.op1('MatMul', [g.x(0), g.op1('Transpose', [g.x(1)], { perm: attr.ints([1, 0]) })]);
    return [g.has(2) ? g.op1('Add', [y, g.x(2)]) : y];
  };
  add('linear', '3x4-w5x4-b', (r) => [U(r, [3, 4]), U(r, [5, 4]), U(r, [5])], { build: lin2d, tol: ACCUM, f16: F16 });
  add('linear', '3x4-w5x4-nobias', (r) => [U(r, [3, 4]), U(r, [5, 4]), null], { build: lin2d, tol: ACCUM });
  add('linear', '2x3x8-w6x8-b', (r) => [U(r, [2, 3, 8]), U(r, [6, 8]), U(r, [6])], { build: linNd, tol: ACCUM, f16: F16 });
  add('linear', '2x2x2x5-w3x5-nobias', (r) => [U(r, [2, 2, 2, 5]), U(r, [3, 5]), null], { build: linNd, tol: ACCUM });
  add('linear', 'rank1-7-w4x7-b', (r) => [U(r, [7]), U(r, [4, 7]), U(r, [4])], { build: linNd, tol: ACCUM });
  add('linear', '5x96-w10x96-b', (r) => [U(r, [5, 96]), U(r, [10, 96]), U(r, [10])], { build: lin2d, tol: ACCUM });

  interface SdpaSpec {
    q: number[];
    k: number[];
    v: number[];
    mask?: { shape: number[]; kind: 'float' | 'bool' };
    scale?: number;
    causal?: boolean;
    f16?: boolean;
  }
  const sdpaCases: Record<string, SdpaSpec> = {
    '2x3x4x8-k5': { q: [2, 3, 4, 8], k: [2, 3, 5, 8], v: [2, 3, 5, 6], f16: true },
    'scale0.3-1x4x8': { q: [1, 4, 8], k: [1, 4, 8], v: [1, 4, 8], scale: 0.3 },
    'float-mask-1x1x4x5': { q: [2, 2, 4, 8], k: [2, 2, 5, 8], v: [2, 2, 5, 8], mask: { shape: [1, 1, 4, 5], kind: 'float' } },
    'float-mask-4x5': { q: [2, 4, 8], k: [2, 5, 8], v: [2, 5, 3], mask: { shape: [4, 5], kind: 'float' } },
    'bool-mask-2x1x4x5': { q: [2, 3, 4, 8], k: [2, 3, 5, 8], v: [2, 3, 5, 8], mask: { shape: [2, 1, 4, 5], kind: 'bool' } },
    'causal-1x2x5x4': { q: [1, 2, 5, 4], k: [1, 2, 5, 4], v: [1, 2, 5, 4], causal: true },
    'broadcast-batch': { q: [2, 3, 4, 8], k: [1, 3, 5, 8], v: [2, 1, 5, 8] },
    'long-1x2x33x16': { q: [1, 2, 33, 16], k: [1, 2, 40, 16], v: [1, 2, 40, 16], f16: true },
  };
  for (const [name, s] of Object.entries(sdpaCases)) {
    const D = s.q[s.q.length - 1]!;
    const Lq = s.q[s.q.length - 2]!;
    const Lk = s.k[s.k.length - 2]!;
    add(
      'sdpa',
      name,
      (r) => {
        const mask = !s.mask
          ? null
          : s.mask.kind === 'float'
            ? U(r, s.mask.shape, -3, 0)
            : // bool: keep at least the first key of every row
              (() => {
                const m = B(r, s.mask!.shape, 0.6);
                for (let i = 0; i < m.data.length; i += Lk) m.data[i] = 1;
                return m;
              })();
        return [U(r, s.q, -2, 2), U(r, s.k, -2, 2), U(r, s.v), mask];
      },
      {
        attrs: { ...(s.scale !== undefined ? { scale: s.scale } : {}), ...(s.causal ? { causal: true } : {}) },
        build: (g) => {
          let scores = g.op1('MatMul', [g.x(0), tr(g, g.x(1), s.k.length)]);
          scores = g.op1('Mul', [scores, g.scalarF(s.scale ?? 1 / Math.sqrt(D))]);
          if (s.causal) {
            const m: number[] = [];
            for (let i = 0; i < Lq; i++) for (let j = 0; j < Lk; j++) m.push(j <= i ? 0 : -Infinity);
            scores = g.op1('Add', [scores, g.f32(m, [Lq, Lk])]);
          }
          if (g.has(3)) {
            scores = g.inputs[3]!.dtype === 'bool' ? g.op1('Where', [g.x(3), scores, g.scalarF(-Infinity)]) : g.op1('Add', [scores, g.x(3)]);
          }
          return [g.op1('MatMul', [g.op1('Softmax', [scores], { axis: attr.int(-1) }), g.x(2)])];
        },
        tol: ACCUM,
        ...(s.f16 ? { f16: F16 } : {}),
        note: 'onnx: MatMul(q, kᵀ)·scale (+ mask) → Softmax → MatMul(v)',
      },
    );
  }

  // ---- conv / convTranspose -----------------------------------------------------------------------
  interface ConvSpec {
    x: number[];
    w: number[];
    bias: boolean;
    attrs: Record<string, unknown>;
    onnx: { pads: number[]; strides: number[]; dilations: number[]; group: number; output_padding?: number[] };
    f16?: boolean;
  }
  const convCases: Record<string, ConvSpec> = {
    '1d-k3-s2-p1': { x: [2, 3, 11], w: [4, 3, 3], bias: true, attrs: { stride: 2, padding: 1 }, onnx: { pads: [1, 1], strides: [2], dilations: [1], group: 1 } },
    '1d-dil2-asym-pads': { x: [1, 2, 10], w: [3, 2, 3], bias: false, attrs: { dilation: 2, padding: [2, 1] }, onnx: { pads: [2, 1], strides: [1], dilations: [2], group: 1 } },
    '2d-k3-p1': { x: [1, 3, 7, 8], w: [4, 3, 3, 3], bias: true, attrs: { padding: 1 }, onnx: { pads: [1, 1, 1, 1], strides: [1, 1], dilations: [1, 1], group: 1 }, f16: true },
    '2d-s2x3-dil2x1-asym-pads': { x: [1, 3, 9, 10], w: [4, 3, 3, 3], bias: true, attrs: { stride: [2, 3], dilation: [2, 1], padding: [1, 0, 2, 1] }, onnx: { pads: [1, 0, 2, 1], strides: [2, 3], dilations: [2, 1], group: 1 } },
    '2d-groups2': { x: [2, 4, 6, 6], w: [6, 2, 3, 3], bias: true, attrs: { padding: [1, 1], groups: 2 }, onnx: { pads: [1, 1, 1, 1], strides: [1, 1], dilations: [1, 1], group: 2 } },
    '2d-depthwise-k3': { x: [1, 6, 7, 7], w: [6, 1, 3, 3], bias: false, attrs: { padding: 1, groups: 6 }, onnx: { pads: [1, 1, 1, 1], strides: [1, 1], dilations: [1, 1], group: 6 } },
    '2d-depthwise-s2': { x: [1, 4, 8, 8], w: [4, 1, 3, 3], bias: true, attrs: { stride: 2, padding: 1, groups: 4 }, onnx: { pads: [1, 1, 1, 1], strides: [2, 2], dilations: [1, 1], group: 4 } },
    '2d-1x1': { x: [1, 8, 4, 5], w: [5, 8, 1, 1], bias: true, attrs: {}, onnx: { pads: [0, 0, 0, 0], strides: [1, 1], dilations: [1, 1], group: 1 } },
    '2d-same-k4': { x: [1, 2, 6, 7], w: [3, 2, 4, 4], bias: true, attrs: { padding: 'same' }, onnx: { pads: [1, 1, 2, 2], strides: [1, 1], dilations: [1, 1], group: 1 } },
    '2d-same-k3-dil2': { x: [1, 2, 6, 7], w: [2, 2, 3, 3], bias: false, attrs: { padding: 'same', dilation: 2 }, onnx: { pads: [2, 2, 2, 2], strides: [1, 1], dilations: [2, 2], group: 1 } },
    '2d-valid-s2': { x: [1, 3, 9, 9], w: [2, 3, 3, 3], bias: true, attrs: { padding: 'valid', stride: 2 }, onnx: { pads: [0, 0, 0, 0], strides: [2, 2], dilations: [1, 1], group: 1 } },
    '2d-k7-s2-p3': { x: [1, 3, 16, 16], w: [4, 3, 7, 7], bias: true, attrs: { stride: 2, padding: 3 }, onnx: { pads: [3, 3, 3, 3], strides: [2, 2], dilations: [1, 1], group: 1 } },
    '3d-depthwise-k5-p2': { x: [1, 4, 6, 7, 7], w: [4, 1, 5, 5, 5], bias: true, attrs: { padding: 2, groups: 4 }, onnx: { pads: [2, 2, 2, 2, 2, 2], strides: [1, 1, 1], dilations: [1, 1, 1], group: 4 } },
    '3d-depthwise-k3-p1': { x: [2, 5, 4, 6, 5], w: [5, 1, 3, 3, 3], bias: true, attrs: { padding: 1, groups: 5 }, onnx: { pads: [1, 1, 1, 1, 1, 1], strides: [1, 1, 1], dilations: [1, 1, 1], group: 5 }, f16: true },
    '3d-stem-k3x4x4-s2x4x4-p1x0x0': { x: [1, 3, 8, 16, 16], w: [8, 3, 3, 4, 4], bias: true, attrs: { stride: [2, 4, 4], padding: [1, 0, 0] }, onnx: { pads: [1, 0, 0, 1, 0, 0], strides: [2, 4, 4], dilations: [1, 1, 1], group: 1 } },
    '3d-patch-k1x2x2-s1x2x2': { x: [1, 6, 3, 8, 8], w: [8, 6, 1, 2, 2], bias: true, attrs: { stride: [1, 2, 2] }, onnx: { pads: [0, 0, 0, 0, 0, 0], strides: [1, 2, 2], dilations: [1, 1, 1], group: 1 } },
    '3d-1x1x1': { x: [1, 8, 2, 3, 3], w: [6, 8, 1, 1, 1], bias: false, attrs: {}, onnx: { pads: [0, 0, 0, 0, 0, 0], strides: [1, 1, 1], dilations: [1, 1, 1], group: 1 } },
    '3d-groups2-s2-dil2-asym': { x: [1, 4, 7, 7, 8], w: [6, 2, 2, 3, 3], bias: true, attrs: { stride: 2, dilation: [1, 2, 2], groups: 2, padding: [0, 1, 2, 1, 2, 0] }, onnx: { pads: [0, 1, 2, 1, 2, 0], strides: [2, 2, 2], dilations: [1, 2, 2], group: 2 } },
  };
  const convBuild = (type: string, o: ConvSpec['onnx']) => (g: Graph) => [
    g.op1(type, [g.x(0), g.x(1), ...(g.has(2) ? [g.x(2)] : [])], {
      pads: attr.ints(o.pads),
      strides: attr.ints(o.strides),
      dilations: attr.ints(o.dilations),
      group: attr.int(o.group),
      ...(o.output_padding ? { output_padding: attr.ints(o.output_padding) } : {}),
    }),
  ];
  for (const [name, s] of Object.entries(convCases)) {
    add('conv', name, (r) => [U(r, s.x), U(r, s.w, -0.5, 0.5), s.bias ? U(r, [s.w[0]!]) : null], { attrs: s.attrs, build: convBuild('Conv', s.onnx), tol: ACCUM, ...(s.f16 ? { f16: F16 } : {}) });
  }
  const ctCases: Record<string, ConvSpec & { out: number }> = {
    '2d-s2-k4-p1': { x: [1, 4, 3, 3], w: [4, 3, 4, 4], out: 3, bias: true, attrs: { stride: 2, padding: 1 }, onnx: { pads: [1, 1, 1, 1], strides: [2, 2], dilations: [1, 1], group: 1 }, f16: true },
    '2d-s2-k3-p1-outpad1': { x: [1, 2, 3, 4], w: [2, 3, 3, 3], out: 3, bias: true, attrs: { stride: 2, padding: 1, outputPadding: 1 }, onnx: { pads: [1, 1, 1, 1], strides: [2, 2], dilations: [1, 1], group: 1, output_padding: [1, 1] } },
    '2d-groups2-s2': { x: [1, 4, 3, 3], w: [4, 2, 3, 3], out: 4, bias: true, attrs: { stride: 2, groups: 2 }, onnx: { pads: [0, 0, 0, 0], strides: [2, 2], dilations: [1, 1], group: 2 } },
    '2d-groups2-k4-s2-p1-outpad1x0': { x: [2, 4, 3, 2], w: [4, 3, 4, 4], out: 6, bias: false, attrs: { stride: 2, padding: 1, outputPadding: [1, 0], groups: 2 }, onnx: { pads: [1, 1, 1, 1], strides: [2, 2], dilations: [1, 1], group: 2, output_padding: [1, 0] } },
    '2d-asym-pads': { x: [1, 2, 4, 4], w: [2, 2, 3, 3], out: 2, bias: true, attrs: { stride: 2, padding: [1, 0, 0, 2] }, onnx: { pads: [1, 0, 0, 2], strides: [2, 2], dilations: [1, 1], group: 1 } },
    '2d-dil2': { x: [1, 2, 4, 3], w: [2, 3, 3, 3], out: 3, bias: false, attrs: { dilation: 2, padding: 1 }, onnx: { pads: [1, 1, 1, 1], strides: [1, 1], dilations: [2, 2], group: 1 } },
    '1d-s3-dil2-p1': { x: [2, 3, 5], w: [3, 2, 3], out: 2, bias: true, attrs: { stride: 3, dilation: 2, padding: 1 }, onnx: { pads: [1, 1], strides: [3], dilations: [2], group: 1 } },
    '3d-s2-k2': { x: [1, 2, 2, 3, 3], w: [2, 3, 2, 2, 2], out: 3, bias: true, attrs: { stride: 2 }, onnx: { pads: [0, 0, 0, 0, 0, 0], strides: [2, 2, 2], dilations: [1, 1, 1], group: 1 } },
    '3d-k3x2x2-s1x2x2-p1x0x0': { x: [1, 3, 3, 2, 3], w: [3, 2, 3, 2, 2], out: 2, bias: false, attrs: { stride: [1, 2, 2], padding: [1, 0, 0] }, onnx: { pads: [1, 0, 0, 1, 0, 0], strides: [1, 2, 2], dilations: [1, 1, 1], group: 1 } },
  };
  for (const [name, s] of Object.entries(ctCases)) {
    add('convTranspose', name, (r) => [U(r, s.x), U(r, s.w, -0.5, 0.5), s.bias ? U(r, [s.out]) : null], { attrs: s.attrs, build: convBuild('ConvTranspose', s.onnx), tol: ACCUM, ...(s.f16 ? { f16: F16 } : {}) });
  }

  // ---- pooling --------------------------------------------------------------------------------------
  interface PoolSpec {
    x: number[];
    kernel: number[];
    stride: number[];
    pad: number[];
    dilation?: number[];
    ceil?: boolean;
    countIncludePad?: boolean;
    f16?: boolean;
  }
  const poolCases: Record<string, PoolSpec & { kinds: ('avg' | 'max')[] }> = {
    '2d-k2-s2': { x: [1, 2, 6, 6], kernel: [2, 2], stride: [2, 2], pad: [0, 0], kinds: ['avg', 'max'], f16: true },
    '2d-k3-s2-p1': { x: [2, 2, 7, 7], kernel: [3, 3], stride: [2, 2], pad: [1, 1], kinds: ['avg', 'max'] },
    '2d-k3-s2-p1-exclude-pad': { x: [1, 2, 7, 7], kernel: [3, 3], stride: [2, 2], pad: [1, 1], countIncludePad: false, kinds: ['avg'] },
    '2d-k3-s1-p1': { x: [1, 3, 5, 6], kernel: [3, 3], stride: [1, 1], pad: [1, 1], kinds: ['avg', 'max'] },
    '2d-k2x3-s1x2-p1x1': { x: [1, 2, 6, 7], kernel: [2, 3], stride: [1, 2], pad: [1, 1], kinds: ['avg', 'max'] },
    '2d-ceil-k2-s2-odd': { x: [1, 2, 7, 7], kernel: [2, 2], stride: [2, 2], pad: [0, 0], ceil: true, kinds: ['avg', 'max'] },
    '2d-ceil-k3-s2-p1': { x: [1, 1, 8, 8], kernel: [3, 3], stride: [2, 2], pad: [1, 1], ceil: true, kinds: ['avg', 'max'] },
    '2d-ceil-k3-s2-p1-exclude-pad': { x: [1, 1, 8, 8], kernel: [3, 3], stride: [2, 2], pad: [1, 1], ceil: true, countIncludePad: false, kinds: ['avg'] },
    '2d-ceil-k2-s2-p1': { x: [1, 1, 5, 5], kernel: [2, 2], stride: [2, 2], pad: [1, 1], ceil: true, kinds: ['avg', 'max'] },
    '2d-ceil-k3-s3-nochange': { x: [1, 2, 9, 9], kernel: [3, 3], stride: [3, 3], pad: [0, 0], ceil: true, kinds: ['avg', 'max'] },
    '1d-k3-s1-p1': { x: [2, 3, 9], kernel: [3], stride: [1], pad: [1], kinds: ['avg', 'max'] },
    '1d-k4-s2': { x: [1, 2, 10], kernel: [4], stride: [2], pad: [0], kinds: ['avg', 'max'] },
    '3d-k2-s2': { x: [1, 2, 4, 6, 6], kernel: [2, 2, 2], stride: [2, 2, 2], pad: [0, 0, 0], kinds: ['avg', 'max'], f16: true },
    '3d-k1x3x3-s1x2x2-p0x1x1': { x: [1, 2, 3, 7, 6], kernel: [1, 3, 3], stride: [1, 2, 2], pad: [0, 1, 1], kinds: ['avg', 'max'] },
    '3d-k1x3x3-s1x2x2-p0x1x1-exclude-pad': { x: [1, 2, 3, 7, 6], kernel: [1, 3, 3], stride: [1, 2, 2], pad: [0, 1, 1], countIncludePad: false, kinds: ['avg'] },
    '2d-k3-s1-p1-dil2': { x: [1, 2, 7, 8], kernel: [3, 3], stride: [1, 1], pad: [1, 1], dilation: [2, 2], kinds: ['max'] },
    '1d-k5-s2-p2-dil2': { x: [1, 2, 13], kernel: [5], stride: [2], pad: [2], dilation: [2], kinds: ['max'] },
    '2d-ceil-k3-s2-dil2': { x: [1, 1, 10, 10], kernel: [3, 3], stride: [2, 2], pad: [1, 1], dilation: [2, 2], ceil: true, kinds: ['max'] },
  };
  for (const [name, s] of Object.entries(poolCases)) {
    for (const kind of s.kinds) {
      const op = kind === 'avg' ? 'avgPool' : 'maxPool';
      const d = s.kernel.length;
      const dilation = s.dilation ?? new Array<number>(d).fill(1);
      const countIncludePad = kind === 'avg' ? (s.countIncludePad ?? true) : false;
      const attrs: Record<string, unknown> = { kernel: s.kernel, stride: s.stride };
      if (s.pad.some((p) => p)) attrs.padding = s.pad;
      if (s.dilation) attrs.dilation = s.dilation;
      if (s.ceil) attrs.ceilMode = true;
      if (kind === 'avg' && s.countIncludePad === false) attrs.countIncludePad = false;
      add(op, name, (r) => [U(r, s.x, -2, 2)], {
        attrs,
        build: (g) => [
          g.op1(kind === 'avg' ? 'AveragePool' : 'MaxPool', [g.x(0)], {
            kernel_shape: attr.ints(s.kernel),
            strides: attr.ints(s.stride),
            pads: attr.ints([...s.pad, ...s.pad]),
            ceil_mode: attr.int(s.ceil ? 1 : 0),
            ...(kind === 'avg' ? { count_include_pad: attr.int(countIncludePad ? 1 : 0) } : { dilations: attr.ints(dilation) }),
          }),
        ],
        tol: kind === 'max' ? EXACT : RESAMPLE,
        reference: (ins) => [ref.poolRef(ins[0]!, { kind, kernel: s.kernel, stride: s.stride, pad: s.pad, dilation, ceil: !!s.ceil, countIncludePad })],
        refTol: REF_TOL,
        ...(s.f16 ? { f16: kind === 'max' ? EXACT : F16_ELEM } : {}),
      });
    }
  }

  // ---- reductions -----------------------------------------------------------------------------------
  const RED: Record<string, string> = { sum: 'ReduceSum', mean: 'ReduceMean', max: 'ReduceMax', min: 'ReduceMin' };
  const reduceBuild = (type: string, axes: number[] | null, keep: boolean) => (g: Graph) => [g.op1(type, axes ? [g.x(0), g.i64(axes)] : [g.x(0)], { keepdims: attr.int(keep ? 1 : 0) })];
  const redCases: [string, number[] | null, boolean, Record<string, unknown>][] = [
    ['all', null, false, {}],
    ['axis1', [1], false, { axes: 1 }],
    ['axis-1-keep', [-1], true, { axes: [-1], keepDims: true }],
    ['axes0,2', [0, 2], false, { axes: [0, 2] }],
    ['axes-all-keep', [0, 1, 2], true, { axes: [2, 0, 1], keepDims: true }],
  ];
  for (const [op, type] of Object.entries(RED)) {
    redCases.forEach(([name, axes, keep, attrs], k) =>
      add(op, `3x4x5-${name}`, (r) => [U(r, [3, 4, 5], -2, 2)], { attrs, build: reduceBuild(type, axes, keep), tol: op === 'max' || op === 'min' ? EXACT : NORM, ...(k === 1 ? { f16: op === 'max' || op === 'min' ? EXACT : F16 } : {}) }),
    );
    if (op === 'mean') continue;
    add(op, 'int32-3x4-axis1', (r) => [I32(r, [3, 4], -1000, 1000)], { attrs: { axes: [1] }, build: reduceBuild(type, [1], false), tol: EXACT });
    add(op, 'int32-3x4-all', (r) => [I32(r, [3, 4], -1000, 1000)], { build: reduceBuild(type, null, false), tol: EXACT });
    add(op, 'int64-2x3-axis0-keep', (r) => [I64(r, [2, 3], -1000, 1000)], { attrs: { axes: 0, keepDims: true }, build: reduceBuild(type, [0], true), tol: EXACT });
    if (op !== 'sum') add(op, 'uint8-3x4-axis-1', (r) => [U8(r, [3, 4])], { attrs: { axes: -1 }, build: reduceBuild(type, [-1], false), tol: EXACT });
  }
  add('sum', '1x257-axis1', (r) => [U(r, [1, 257])], { attrs: { axes: [1] }, build: reduceBuild('ReduceSum', [1], false), tol: NORM });
  for (const [op, type] of [
    ['argmax', 'ArgMax'],
    ['argmin', 'ArgMin'],
  ] as const) {
    const argBuild = (axis: number, keep: boolean) => (g: Graph) => [g.op1(type, [g.x(0)], { axis: attr.int(axis), keepdims: attr.int(keep ? 1 : 0), select_last_index: attr.int(0) })];
    add(op, 'ties-3x4x5-axis-1', (r) => [Q(r, [3, 4, 5], -2, 2)], { build: argBuild(-1, false), tol: EXACT, f16: EXACT });
    add(op, 'ties-3x4x5-axis0-keep', (r) => [Q(r, [3, 4, 5], -2, 2)], { attrs: { axis: 0, keepDims: true }, build: argBuild(0, true), tol: EXACT });
    add(op, '3x4x5-axis1', (r) => [U(r, [3, 4, 5])], { attrs: { axis: 1 }, build: argBuild(1, false), tol: EXACT });
    add(op, 'int32-4x6-axis-1', (r) => [I32(r, [4, 6], -3, 3)], { build: argBuild(-1, false), tol: EXACT });
    add(op, 'int64-4x6-axis0', (r) => [I64(r, [4, 6], -3, 3)], { attrs: { axis: 0 }, build: argBuild(0, false), tol: EXACT });
    add(op, 'uint8-7', (r) => [U8(r, [7], 0, 5)], { attrs: { axis: 0 }, build: argBuild(0, false), tol: EXACT });
  }
  const topkBuild = (k: number, axis: number, largest: boolean) => (g: Graph) =>
    g.op('TopK', [g.x(0), g.i64([k])], { axis: attr.int(axis), largest: attr.int(largest ? 1 : 0), sorted: attr.int(1) }, 2);
  add('topk', '3x6-k3', (r) => [U(r, [3, 6])], { attrs: { k: 3 }, build: topkBuild(3, -1, true), tol: EXACT, f16: EXACT });
  add('topk', '4x3-k2-axis0-smallest', (r) => [U(r, [4, 3])], { attrs: { k: 2, axis: 0, largest: false }, build: topkBuild(2, 0, false), tol: EXACT });
  add('topk', '2x3x5-k5-full-sort', (r) => [U(r, [2, 3, 5])], { attrs: { k: 5, axis: -1 }, build: topkBuild(5, -1, true), tol: EXACT });
  add('topk', '2x5x3-k2-axis1', (r) => [U(r, [2, 5, 3])], { attrs: { k: 2, axis: 1 }, build: topkBuild(2, 1, true), tol: EXACT });
  add('topk', 'ties-4x8-k5', (r) => [Q(r, [4, 8], 0, 3)], { attrs: { k: 5 }, build: topkBuild(5, -1, true), tol: EXACT, note: 'ties: lower index first' });
  add('topk', 'ties-4x8-k5-smallest', (r) => [Q(r, [4, 8], 0, 3)], { attrs: { k: 5, largest: false }, build: topkBuild(5, -1, false), tol: EXACT });
  add('topk', 'int32-2x7-k3', (r) => [I32(r, [2, 7], -50, 50)], { attrs: { k: 3 }, build: topkBuild(3, -1, true), tol: EXACT });
  add('topk', 'int64-9-k4-smallest', (r) => [I64(r, [9], -50, 50)], { attrs: { k: 4, largest: false }, build: topkBuild(4, -1, false), tol: EXACT });

  // ---- normalisation ------------------------------------------------------------------------------
  for (const [name, shape, axis] of [
    ['2x3x5-axis-1', [2, 3, 5], -1],
    ['2x3x5-axis0', [2, 3, 5], 0],
    ['2x3x5-axis1', [2, 3, 5], 1],
    ['4x33-axis-1', [4, 33], -1],
  ] as const) {
    add('softmax', name, (r) => [U(r, [...shape], -5, 5)], { attrs: axis === -1 ? {} : { axis }, build: x0('Softmax', { axis: attr.int(axis) }), tol: NORM, ...(axis === -1 ? { f16: F16_ELEM } : {}) });
  }
  add('softmax', 'large-logits-3x6', (r) => [U(r, [3, 6], 50, 90)], { build: x0('Softmax', { axis: attr.int(-1) }), tol: NORM });
  const lnBuild = (axis: number, eps: number) => (g: Graph) => {
    const x = g.inputs[0]!;
    const ns = x.shape.slice(axis < 0 ? x.shape.length + axis : axis);
    const scale = g.has(1) ? g.x(1) : g.f32(new Array(size(ns)).fill(1), ns);
    return [g.op1('LayerNormalization', [g.x(0), scale, ...(g.has(2) ? [g.x(2)] : [])], { axis: attr.int(axis), epsilon: attr.float(eps) })];
  };
  add('layerNorm', '2x3x8-last-wb', (r) => [U(r, [2, 3, 8], -2, 2), U(r, [8], 0.5, 1.5), U(r, [8])], { build: lnBuild(-1, 1e-5), tol: NORM, f16: F16 });
  add('layerNorm', '2x3x8-axis1-wb', (r) => [U(r, [2, 3, 8], -2, 2), U(r, [3, 8], 0.5, 1.5), U(r, [3, 8])], { attrs: { axis: 1 }, build: lnBuild(1, 1e-5), tol: NORM });
  add('layerNorm', '4x16-w-only', (r) => [U(r, [4, 16], -2, 2), U(r, [16], 0.5, 1.5), null], { build: lnBuild(-1, 1e-5), tol: NORM });
  add('layerNorm', '4x16-no-affine', (r) => [U(r, [4, 16], -2, 2), null, null], { build: lnBuild(-1, 1e-5), tol: NORM });
  add('layerNorm', '3x32-eps1e-6-small-var', (r) => [U(r, [3, 32], -1e-3, 1e-3), U(r, [32], 0.5, 1.5), U(r, [32])], { attrs: { eps: 1e-6 }, build: lnBuild(-1, 1e-6), tol: NORM, note: 'variance ~3e-7: eps is observable' });
  add('layerNorm', '1x5x7x32-channel-last', (r) => [U(r, [1, 5, 7, 32], -3, 3), U(r, [32], 0.5, 1.5), U(r, [32])], { attrs: { eps: 1e-6 }, build: lnBuild(-1, 1e-6), tol: NORM });
  add('layerNorm', '2x4x3-axis-2', (r) => [U(r, [2, 4, 3]), U(r, [4, 3]), U(r, [4, 3])], { attrs: { axis: -2 }, build: lnBuild(-2, 1e-5), tol: NORM });
  add('layerNorm', 'offset-mean-4x64', (r) => [U(r, [4, 64], 99, 101), null, null], { build: lnBuild(-1, 1e-5), tol: { abs: 2e-4, rel: 1e-4 }, note: 'large mean, unit-ish variance: a one-pass E[x²]-E[x]² loses ~3 digits here' });
  const bnBuild = (eps: number) => (g: Graph) => {
    const C = g.inputs[0]!.shape[1]!;
    const w = g.has(3) ? g.x(3) : g.f32(new Array(C).fill(1));
    const b = g.has(4) ? g.x(4) : g.f32(new Array(C).fill(0));
    return [g.op1('BatchNormalization', [g.x(0), w, b, g.x(1), g.x(2)], { epsilon: attr.float(eps) })];
  };
  for (const [name, shape, affine, eps] of [
    ['2x3', [2, 3], true, 1e-5],
    ['2x3x5', [2, 3, 5], true, 1e-5],
    ['1x4x3x3', [1, 4, 3, 3], true, 1e-5],
    ['1x2x2x3x3', [1, 2, 2, 3, 3], true, 1e-3],
    ['1x4x3x3-no-affine', [1, 4, 3, 3], false, 1e-5],
  ] as const) {
    const C = shape[1];
    add('batchNorm', name, (r) => [U(r, [...shape], -2, 2), U(r, [C], -0.5, 0.5), U(r, [C], 0.5, 2), affine ? U(r, [C], 0.5, 1.5) : null, affine ? U(r, [C]) : null], {
      attrs: eps === 1e-5 ? {} : { eps },
      build: bnBuild(eps),
      tol: NORM,
      ...(name === '1x4x3x3' ? { f16: F16 } : {}),
    });
  }

  // ---- layout -----------------------------------------------------------------------------------
  const reshapeB = (shape: number[]) => (g: Graph) => [g.op1('Reshape', [g.x(0), g.i64(shape)])];
  for (const [name, gen, to, onnxTo] of [
    ['2x3x4-to-6x-1', (r: Rng) => U(r, [2, 3, 4]), [6, -1], [6, 4]],
    ['4x6-to-2x2x3x2', (r: Rng) => U(r, [4, 6]), [2, 2, 3, 2], [2, 2, 3, 2]],
    ['5-to-1x5x1', (r: Rng) => U(r, [5]), [1, 5, 1], [1, 5, 1]],
    ['1x1-to-scalar', (r: Rng) => U(r, [1, 1]), [], []],
    ['int32-2x3-to-3x2', (r: Rng) => I32(r, [2, 3], -9, 9), [3, 2], [3, 2]],
    ['int64-3x2-to-6', (r: Rng) => I64(r, [3, 2], -9, 9), [-1], [6]],
    ['bool-2x2-to-4', (r: Rng) => B(r, [2, 2]), [4], [4]],
    ['uint8-2x3-to-3x1x2', (r: Rng) => U8(r, [2, 3]), [3, 1, 2], [3, 1, 2]],
  ] as const) {
    add('reshape', name, (r) => [gen(r)], { attrs: { shape: [...to] }, build: reshapeB([...onnxTo]), tol: EXACT, ...(name.startsWith('2x3x4') ? { f16: EXACT } : {}) });
  }
  const transB = (perm: number[]) => (g: Graph) => [g.op1('Transpose', [g.x(0)], { perm: attr.ints(perm) })];
  for (const [name, gen, perm, onnxPerm] of [
    ['2x3x4-201', (r: Rng) => U(r, [2, 3, 4]), [2, 0, 1], [2, 0, 1]],
    ['2x3x4x5-0213', (r: Rng) => U(r, [2, 3, 4, 5]), [0, 2, 1, 3], [0, 2, 1, 3]],
    ['2x3x4-negative-perm', (r: Rng) => U(r, [2, 3, 4]), [-1, 0, 1], [2, 0, 1]],
    ['2x3x4-default', (r: Rng) => U(r, [2, 3, 4]), null, [2, 1, 0]],
    ['1x2x3x4x5-04123', (r: Rng) => U(r, [1, 2, 3, 4, 5]), [0, 4, 1, 2, 3], [0, 4, 1, 2, 3]],
    ['int32-3x4-10', (r: Rng) => I32(r, [3, 4], -9, 9), [1, 0], [1, 0]],
    ['int64-2x3-10', (r: Rng) => I64(r, [2, 3], -9, 9), [1, 0], [1, 0]],
    ['bool-2x3x2-120', (r: Rng) => B(r, [2, 3, 2]), [1, 2, 0], [1, 2, 0]],
    ['uint8-2x3-10', (r: Rng) => U8(r, [2, 3]), [1, 0], [1, 0]],
  ] as const) {
    add('transpose', name, (r) => [gen(r)], { attrs: perm ? { perm: [...perm] } : {}, build: transB([...onnxPerm]), tol: EXACT, ...(name === '2x3x4x5-0213' ? { f16: EXACT } : {}) });
  }
  const sliceB = (starts: number[], ends: number[], axes: number[], steps: number[]) => (g: Graph) => [g.op1('Slice', [g.x(0), g.i64(starts), g.i64(ends), g.i64(axes), g.i64(steps)])];
  for (const [name, gen, a] of [
    ['4x5x6-axes0,2-step2', (r: Rng) => U(r, [4, 5, 6]), { starts: [1, 0], ends: [3, 5], axes: [0, 2], steps: [1, 2] }],
    ['4x5x6-neg-step', (r: Rng) => U(r, [4, 5, 6]), { starts: [-1], ends: [-1000], axes: [1], steps: [-2] }],
    ['4x5x6-neg-axes-clamp', (r: Rng) => U(r, [4, 5, 6]), { starts: [-3, -100], ends: [-1, 100], axes: [-1, 0], steps: [1, 1] }],
    ['4x5x6-step3-all-axes', (r: Rng) => U(r, [4, 5, 6]), { starts: [0, 1, 5], ends: [4, 5, 0], axes: [0, 1, 2], steps: [3, 1, -2] }],
    ['6-reverse-partial', (r: Rng) => U(r, [6]), { starts: [4], ends: [0], axes: [0], steps: [-1] }],
    ['int32-3x4', (r: Rng) => I32(r, [3, 4], -9, 9), { starts: [1], ends: [4], axes: [1], steps: [2] }],
    ['int64-5', (r: Rng) => I64(r, [5], -9, 9), { starts: [3], ends: [-10], axes: [0], steps: [-1] }],
    ['bool-4x2', (r: Rng) => B(r, [4, 2]), { starts: [1], ends: [3], axes: [0], steps: [1] }],
  ] as const) {
    const attrs = { starts: [...a.starts], ends: [...a.ends], axes: [...a.axes], steps: [...a.steps] };
    add('slice', name, (r) => [gen(r)], { attrs, build: sliceB([...a.starts], [...a.ends], [...a.axes], [...a.steps]), tol: EXACT, ...(name === '4x5x6-neg-step' ? { f16: EXACT } : {}) });
  }
  add('slice', '3x4-default-axes', (r) => [U(r, [3, 4])], { attrs: { starts: [1, 1], ends: [3, 3] }, build: (g) => [g.op1('Slice', [g.x(0), g.i64([1, 1]), g.i64([3, 3])])], tol: EXACT });
  const concatB = (axis: number) => (g: Graph) => [g.op1('Concat', g.inputs.map((_, i) => g.x(i)), { axis: attr.int(axis) })];
  add('concat', '2x3-2x1-2x4-axis-1', (r) => [U(r, [2, 3]), U(r, [2, 1]), U(r, [2, 4])], { attrs: { axis: -1 }, build: concatB(-1), tol: EXACT, f16: EXACT });
  add('concat', '1x2x3-2x2x3-axis0', (r) => [U(r, [1, 2, 3]), U(r, [2, 2, 3])], { build: concatB(0), tol: EXACT });
  add('concat', '2x1x3-2x2x3-axis1', (r) => [U(r, [2, 1, 3]), U(r, [2, 2, 3])], { attrs: { axis: 1 }, build: concatB(1), tol: EXACT });
  add('concat', 'single', (r) => [U(r, [2, 2])], { build: concatB(0), tol: EXACT });
  add('concat', 'int32-axis1', (r) => [I32(r, [2, 2], -9, 9), I32(r, [2, 3], -9, 9)], { attrs: { axis: 1 }, build: concatB(1), tol: EXACT });
  add('concat', 'int64-axis0', (r) => [I64(r, [1, 2], -9, 9), I64(r, [2, 2], -9, 9)], { build: concatB(0), tol: EXACT });
  add('concat', 'bool-axis0', (r) => [B(r, [2]), B(r, [3])], { build: concatB(0), tol: EXACT });
  const padB = (pads: number[], mode: string, value?: number) => (g: Graph) => {
    const x = g.inputs[0]!;
    const r = x.shape.length;
    const onnxPads = [...Array(r).keys()].map((d) => pads[2 * d]!).concat([...Array(r).keys()].map((d) => pads[2 * d + 1]!));
    return [g.op1('Pad', [g.x(0), g.i64(onnxPads), ...(value !== undefined ? [scalarConst(g, x.dtype, value)] : [])], { mode: attr.string(mode) })];
  };
  // the full per-dim (begin, end) list for ONNX is written out by hand next to our (possibly short / torch-ordered) form
  for (const [name, gen, attrs, fullPads, mode, value] of [
    ['1x2x3x3-const', (r: Rng) => U(r, [1, 2, 3, 3]), { pads: [0, 0, 0, 0, 1, 2, 2, 1], value: 0.5 }, [0, 0, 0, 0, 1, 2, 2, 1], 'constant', 0.5],
    ['1x2x4x5-reflect', (r: Rng) => U(r, [1, 2, 4, 5]), { pads: [0, 0, 0, 0, 2, 1, 3, 4], mode: 'reflect' }, [0, 0, 0, 0, 2, 1, 3, 4], 'reflect', undefined],
    ['1x1x2x3x4-replicate', (r: Rng) => U(r, [1, 1, 2, 3, 4]), { pads: [1, 2, 0, 3, 2, 2], mode: 'replicate' }, [0, 0, 0, 0, 1, 2, 0, 3, 2, 2], 'edge', undefined],
    ['2x3-short-list', (r: Rng) => U(r, [2, 3]), { pads: [1, 2] }, [0, 0, 1, 2], 'constant', undefined],
    ['2x3x4-torch-order', (r: Rng) => U(r, [2, 3, 4]), { pads: [1, 2, 2, 0], torchOrder: true }, [0, 0, 2, 0, 1, 2], 'constant', undefined],
    ['2x3x4-torch-order-reflect', (r: Rng) => U(r, [2, 3, 4]), { pads: [3, 1], torchOrder: true, mode: 'reflect' }, [0, 0, 0, 0, 3, 1], 'reflect', undefined],
    ['int32-2x3-const7', (r: Rng) => I32(r, [2, 3], -9, 9), { pads: [1, 0, 0, 2], value: 7 }, [1, 0, 0, 2], 'constant', 7],
    ['int64-4-edge', (r: Rng) => I64(r, [4], -9, 9), { pads: [2, 3], mode: 'replicate' }, [2, 3], 'edge', undefined],
    ['uint8-3-reflect', (r: Rng) => U8(r, [3]), { pads: [2, 1], mode: 'reflect' }, [2, 1], 'reflect', undefined],
  ] as const) {
    add('pad', name, (r) => [gen(r)], { attrs: { ...attrs, pads: [...attrs.pads] }, build: padB([...fullPads], mode, value), tol: EXACT, ...(name.endsWith('reflect') && name.startsWith('1x2') ? { f16: EXACT } : {}) });
  }
  const gatherB = (axis: number) => (g: Graph) => [g.op1('Gather', [g.x(0), g.x(1)], { axis: attr.int(axis) })];
  add('gather', '5x4-axis0-i32', (r) => [U(r, [5, 4]), { dtype: 'int32', shape: [3], data: Int32Array.from([4, 0, -1]) }], { build: gatherB(0), tol: EXACT, f16: EXACT });
  add('gather', '3x5x2-axis1-i64-2x2-neg', (r) => [U(r, [3, 5, 2]), { dtype: 'int64', shape: [2, 2], data: BigInt64Array.from([0n, -2n, 4n, 1n]) }], { attrs: { axis: 1 }, build: gatherB(1), tol: EXACT });
  add('gather', '3x4-axis-1-scalar-idx', (r) => [U(r, [3, 4]), { dtype: 'int64', shape: [], data: BigInt64Array.from([2n]) }], { attrs: { axis: -1 }, build: gatherB(-1), tol: EXACT });
  add('gather', 'embedding-10x6-i32-2x3', (r) => [U(r, [10, 6]), I32(r, [2, 3], 0, 9)], { build: gatherB(0), tol: EXACT });
  add('gather', 'int32-6-i32', (r) => [I32(r, [6], -9, 9), I32(r, [4], -6, 5)], { build: gatherB(0), tol: EXACT });
  add('gather', 'int64-2x3-axis1', (r) => [I64(r, [2, 3], -9, 9), I64(r, [2], -3, 2)], { attrs: { axis: 1 }, build: gatherB(1), tol: EXACT });
  add('gather', 'bool-4-i32', (r) => [B(r, [4]), I32(r, [5], 0, 3)], { build: gatherB(0), tol: EXACT });
  const expandB = (shape: number[]) => (g: Graph) => [g.op1('Expand', [g.x(0), g.i64(shape)])];
  for (const [name, gen, shape, onnxShape] of [
    ['3x1-to-2x3x4', (r: Rng) => U(r, [3, 1]), [2, 3, 4], [2, 3, 4]],
    ['1-to-5', (r: Rng) => U(r, [1]), [5], [5]],
    ['2x1x3-to-2x4x3', (r: Rng) => U(r, [2, 1, 3]), [2, 4, 3], [2, 4, 3]],
    ['3x1-keep-dim', (r: Rng) => U(r, [3, 1]), [-1, 4], [3, 4]],
    ['scalar-to-2x2', (r: Rng) => U(r, []), [2, 2], [2, 2]],
    ['int32-1x3-to-2x3', (r: Rng) => I32(r, [1, 3], -9, 9), [2, 3], [2, 3]],
    ['int64-2x1-to-2x2', (r: Rng) => I64(r, [2, 1], -9, 9), [2, 2], [2, 2]],
    ['bool-1-to-3', (r: Rng) => B(r, [1]), [3], [3]],
  ] as const) {
    add('expand', name, (r) => [gen(r)], { attrs: { shape: [...shape] }, build: expandB([...onnxShape]), tol: EXACT, ...(name.startsWith('3x1-to') ? { f16: EXACT } : {}) });
  }

  // ---- interpolate (Resize) -------------------------------------------------------------------------
  interface ResizeSpec {
    x: number[];
    mode: 'nearest' | 'linear' | 'bicubic';
    size?: number[];
    scaleFactor?: number[];
    alignCorners?: boolean;
    f16?: boolean;
  }
  const resizeCases: Record<string, ResizeSpec> = {
    'nearest-2d-up2': { x: [1, 2, 3, 4], mode: 'nearest', size: [6, 8], f16: true },
    'nearest-2d-sf2': { x: [1, 2, 3, 4], mode: 'nearest', scaleFactor: [2, 2] },
    'nearest-2d-down-5x7-to-2x3': { x: [1, 2, 5, 7], mode: 'nearest', size: [2, 3] },
    'nearest-2d-up-3x4-to-7x9': { x: [1, 1, 3, 4], mode: 'nearest', size: [7, 9] },
    'nearest-1d-5-to-9': { x: [1, 2, 5], mode: 'nearest', size: [9] },
    'nearest-3d-up2': { x: [1, 1, 2, 3, 4], mode: 'nearest', size: [4, 6, 8] },
    'nearest-3d-sf1x2x2': { x: [1, 2, 2, 3, 3], mode: 'nearest', scaleFactor: [1, 2, 2] },
    'linear-1d-6-to-10': { x: [1, 2, 6], mode: 'linear', size: [10] },
    'linear-1d-6-to-10-align': { x: [1, 2, 6], mode: 'linear', size: [10], alignCorners: true },
    'bilinear-4x5-to-7x9': { x: [1, 2, 4, 5], mode: 'linear', size: [7, 9], f16: true },
    'bilinear-4x5-to-7x9-align': { x: [1, 2, 4, 5], mode: 'linear', size: [7, 9], alignCorners: true },
    'bilinear-down-8x8-to-3x5': { x: [1, 1, 8, 8], mode: 'linear', size: [3, 5] },
    'bilinear-down-8x8-to-3x5-align': { x: [1, 1, 8, 8], mode: 'linear', size: [3, 5], alignCorners: true },
    'bilinear-sf1.5': { x: [2, 1, 4, 5], mode: 'linear', scaleFactor: [1.5, 1.5] },
    'bilinear-sf2': { x: [1, 3, 3, 3], mode: 'linear', scaleFactor: [2, 2] },
    'trilinear-3x4x4-to-5x7x6': { x: [1, 1, 3, 4, 4], mode: 'linear', size: [5, 7, 6] },
    'trilinear-3x4x4-to-5x7x6-align': { x: [1, 1, 3, 4, 4], mode: 'linear', size: [5, 7, 6], alignCorners: true },
    'bicubic-5x6-to-8x9': { x: [1, 1, 5, 6], mode: 'bicubic', size: [8, 9] },
    'bicubic-5x6-to-8x9-align': { x: [1, 1, 5, 6], mode: 'bicubic', size: [8, 9], alignCorners: true },
    'bicubic-down-7x7-to-4x5': { x: [1, 2, 7, 7], mode: 'bicubic', size: [4, 5] },
    'bicubic-sf2': { x: [1, 1, 3, 4], mode: 'bicubic', scaleFactor: [2, 2] },
  };
  for (const [name, s] of Object.entries(resizeCases)) {
    const d = s.x.length - 2;
    const attrs: Record<string, unknown> = { mode: s.mode === 'linear' ? 'linear' : s.mode, ...(s.size ? { size: s.size } : { scaleFactor: s.scaleFactor }), ...(s.alignCorners ? { alignCorners: true } : {}) };
    if (name.startsWith('bilinear-4x5-to-7x9') && !s.alignCorners) attrs.mode = 'bilinear';
    if (name.startsWith('trilinear') && !s.alignCorners) attrs.mode = 'trilinear';
    const outSize = s.size ?? s.x.slice(2).map((v, i) => Math.floor(v * s.scaleFactor![i]!));
    add('interpolate', name, (r) => [U(r, s.x, -2, 2)], {
      attrs,
      build: (g) => {
        const ctm = s.mode === 'nearest' ? 'asymmetric' : s.alignCorners ? 'align_corners' : 'pytorch_half_pixel';
        const ins = s.size ? [g.x(0), '', '', g.i64([...s.x.slice(0, 2), ...s.size])] : [g.x(0), '', g.f32([1, 1, ...s.scaleFactor!])];
        return [
          g.op1('Resize', ins, {
            mode: attr.string(s.mode === 'bicubic' ? 'cubic' : s.mode),
            coordinate_transformation_mode: attr.string(ctm),
            ...(s.mode === 'nearest' ? { nearest_mode: attr.string('floor') } : {}),
            ...(s.mode === 'bicubic' ? { cubic_coeff_a: attr.float(-0.75), exclude_outside: attr.int(0) } : {}),
          }),
        ];
      },
      tol: s.mode === 'nearest' ? EXACT : RESAMPLE,
      reference: (ins) => [ref.interpolateRef(ins[0]!, { mode: s.mode, size: outSize, scaleFactor: s.scaleFactor ?? null, alignCorners: !!s.alignCorners })],
      refTol: REF_TOL,
      ...(s.f16 ? { f16: s.mode === 'nearest' ? EXACT : F16 } : {}),
      note: d === 2 && s.mode === 'bicubic' ? 'onnx Resize cubic, A = -0.75, exclude_outside 0 (border taps clamped as torch)' : undefined,
    });
  }

  // ---- gridSample -------------------------------------------------------------------------------------
  for (const mode of ['bilinear', 'nearest'] as const)
    for (const paddingMode of ['zeros', 'border', 'reflection'] as const)
      for (const alignCorners of [false, true]) {
        const name = `${mode}-${paddingMode}${alignCorners ? '-align' : ''}`;
        add('gridSample', name, (r) => [U(r, [2, 2, 5, 6], -2, 2), U(r, [2, 4, 3, 2], -1.3, 1.3)], {
          attrs: { ...(mode === 'bilinear' ? {} : { mode }), ...(paddingMode === 'zeros' ? {} : { paddingMode }), ...(alignCorners ? { alignCorners } : {}) },
          build: (g) => [g.op1('GridSample', [g.x(0), g.x(1)], { mode: attr.string(mode), padding_mode: attr.string(paddingMode), align_corners: attr.int(alignCorners ? 1 : 0) })],
          opset: 16,
          tol: RESAMPLE,
          reference: (ins) => [ref.gridSampleRef(ins[0]!, ins[1]!, { mode, paddingMode, alignCorners })],
          refTol: REF_TOL,
          ...(mode === 'bilinear' && paddingMode === 'zeros' && !alignCorners ? { f16: F16 } : {}),
        });
      }

  // ---- roiAlign -----------------------------------------------------------------------------------
  const rois = (r: Rng, K: number, batch: number, W: number, H: number) => {
    const v: number[] = [];
    for (let k = 0; k < K; k++) {
      const x1 = r.uniform(-0.2 * W, 0.9 * W);
      const y1 = r.uniform(-0.2 * H, 0.9 * H);
      const bw = k === 0 ? r.uniform(0, 0.5) : r.uniform(0.5, 0.6 * W);
      const bh = k === 0 ? r.uniform(0, 0.5) : r.uniform(0.5, 0.6 * H);
      v.push(r.int(0, batch - 1), x1, y1, x1 + bw, y1 + bh);
    }
    return tf32([K, 5], v);
  };
  for (const [name, outputSize, spatialScale, samplingRatio, aligned] of [
    ['aligned-3x3-s0.5-adaptive', [3, 3], 0.5, 0, true],
    ['legacy-3x3-s0.5-adaptive', [3, 3], 0.5, 0, false],
    ['aligned-2x4-s0.25-sr2', [2, 4], 0.25, 2, true],
    ['legacy-2x4-s0.25-sr2', [2, 4], 0.25, 2, false],
    ['aligned-7x7-s1-sr1', [7, 7], 1, 1, true],
  ] as const) {
    add('roiAlign', name, (r) => [U(r, [2, 3, 10, 12], -2, 2), rois(r, 6, 2, 12 / spatialScale, 10 / spatialScale)], {
      attrs: { outputSize: [...outputSize], spatialScale, samplingRatio, aligned },
      build: (g) => {
        const x = g.x(0);
        const rr = g.x(1);
        const boxes = g.op1('Slice', [rr, g.i64([1]), g.i64([5]), g.i64([1])]);
        const bidx = g.op1('Cast', [g.op1('Squeeze', [g.op1('Slice', [rr, g.i64([0]), g.i64([1]), g.i64([1])]), g.i64([1])])], { to: attr.int(onnxDataType('int64')) });
        return [
          g.op1('RoiAlign', [x, boxes, bidx], {
            mode: attr.string('avg'),
            output_height: attr.int(outputSize[0]),
            output_width: attr.int(outputSize[1]),
            sampling_ratio: attr.int(samplingRatio),
            spatial_scale: attr.float(spatialScale),
            coordinate_transformation_mode: attr.string(aligned ? 'half_pixel' : 'output_half_pixel'),
          }),
        ];
      },
      opset: 16,
      tol: { abs: 1e-5, rel: 1e-5 },
      reference: (ins) => [ref.roiAlignRef(ins[0]!, ins[1]!, { outputSize: [outputSize[0], outputSize[1]], spatialScale, samplingRatio, aligned })],
      refTol: REF_TOL,
      note: `onnx RoiAlign avg, coordinate_transformation_mode ${aligned ? 'half_pixel' : 'output_half_pixel'}`,
    });
  }

  // ---- nms ------------------------------------------------------------------------------------------
  /** boxes jittered around a few cluster boxes, so IoUs spread over (0, 1) and thresholds matter */
  const randBoxes = (r: Rng, K: number) => {
    const centres = Array.from({ length: 6 }, () => [r.uniform(0, 30), r.uniform(0, 30), r.uniform(6, 14), r.uniform(6, 14)] as const);
    const v: number[] = [];
    for (let k = 0; k < K; k++) {
      const [cx, cy, w, h] = r.pick(centres);
      const x1 = cx + r.uniform(-3, 3);
      const y1 = cy + r.uniform(-3, 3);
      v.push(x1, y1, x1 + w + r.uniform(-3, 3), y1 + h + r.uniform(-3, 3));
    }
    return tf32([K, 4], v);
  };
  const distinctScores = (r: Rng, K: number) => {
    const perm = Array.from({ length: K }, (_, i) => i);
    for (let i = K - 1; i > 0; i--) {
      const j = r.int(0, i);
      [perm[i], perm[j]] = [perm[j]!, perm[i]!];
    }
    return tf32([K], perm.map((p) => (p + 0.5 + 0.4 * r.float()) / K));
  };
  /** per-class NonMaxSuppression in onnxruntime, then all kept indices ordered by (score desc, index asc) */
  const nmsPost = (outs: HostTensor[], ins: (HostTensor | null)[]): HostTensor[] => {
    const scores = ins[1]!.data as Float32Array;
    const cls = ins[2] ? Array.from(ins[2].data as ArrayLike<number | bigint>, Number) : null;
    const kept: number[] = [];
    outs.forEach((o, c) => {
      const sel = o.data as BigInt64Array; // [n, 3] (batch, class, box) of the class subset
      const members = cls ? [...cls.keys()].filter((i) => cls[i] === classIds(cls)[c]) : [...scores.keys()];
      for (let i = 0; i < sel.length; i += 3) kept.push(members[Number(sel[i + 2])]!);
    });
    kept.sort((i, j) => scores[j]! - scores[i]! || i - j);
    return [{ dtype: 'int32', shape: [kept.length], data: Int32Array.from(kept) }];
  };
  const classIds = (cls: number[]) => [...new Set(cls)].sort((a, b) => a - b);
  const nmsBuild = (thr: number, maxOutput: number) => (g: Graph) => {
    const boxes = g.inputs[0]!;
    const scores = g.inputs[1]!;
    const cls = g.inputs[2] ? Array.from(g.inputs[2].data as ArrayLike<number | bigint>, Number) : null;
    const groups = cls ? classIds(cls).map((c) => [...cls.keys()].filter((i) => cls[i] === c)) : [[...Array(scores.shape[0]).keys()]];
    return groups.map((members) => {
      const b = g.f32(members.flatMap((i) => Array.from((boxes.data as Float32Array).subarray(i * 4, i * 4 + 4))), [1, members.length, 4]);
      const s = g.f32(members.map((i) => (scores.data as Float32Array)[i]!), [1, 1, members.length]);
      return g.op1('NonMaxSuppression', [b, s, g.i64([maxOutput < 0 ? members.length : maxOutput]), g.scalarF(thr)], { center_point_box: attr.int(0) });
    });
  };
  for (const [name, K, thr, nClasses, maxOutput, idxType] of [
    ['k40-iou0.5', 40, 0.5, 0, -1, null],
    ['k40-iou0.3', 40, 0.3, 0, -1, null],
    ['k60-iou0.7', 60, 0.7, 0, -1, null],
    ['k40-iou0.5-max5', 40, 0.5, 0, 5, null],
    ['k50-iou0.5-3classes-i32', 50, 0.5, 3, -1, 'int32'],
    ['k50-iou0.3-4classes-i64', 50, 0.3, 4, -1, 'int64'],
  ] as const) {
    add('nms', name, (r) => {
      const boxes = randBoxes(r, K);
      const scores = distinctScores(r, K);
      const cls = nClasses ? (idxType === 'int32' ? I32(r, [K], 0, nClasses - 1) : I64(r, [K], 0, nClasses - 1)) : null;
      return [boxes, scores, cls];
    }, {
      attrs: { iouThreshold: thr, ...(maxOutput >= 0 ? { maxOutput } : {}) },
      build: nmsBuild(thr, maxOutput),
      post: nmsPost,
      tol: EXACT,
      reference: (ins) => {
        const keep = ref.nmsRef(ins[0]!, ins[1]!, thr, ins[2] ?? null, maxOutput);
        return [{ shape: [keep.length], data: Float64Array.from(keep) }];
      },
      refTol: EXACT,
      note: 'onnx NonMaxSuppression per class, kept indices ordered by score (distinct scores)',
    });
  }

  return specs;
}
