/**
 * webgpu kernels: unary math, gelu, clamp, where and cast (one thread per output word; see
 * common-map.ts). float16 is unpacked to f32, computed in f32 and rounded once to nearest even,
 * like the cpu reference, with or without 'shader-f16'. Transcendentals use our own NaN/inf-safe
 * implementations (common-wgsl.ts): exp to ~1 ulp, erf/erfc after fdlibm (~1 ulp), tanh after
 * Cephes, so results do not depend on a driver's fast-math builtins.
 */
import {
  type CastAttrs,
  type ClampAttrs,
  type DType,
  type GeluAttrs,
  type KernelContext,
  OpError,
  type UnaryOp,
  registerKernel,
} from '@tubelet/core';
import type { WebGpuBackend } from '../backend';
import type { UniformField, UniformValues } from '../program';
import { type ComputeType, computeTypeOf, rawStorageOf, storageOf } from './common-dtype';
import { elementwise } from './common-map';

type Ctx<A = unknown> = KernelContext<A, WebGpuBackend>;

interface Expr {
  expr: string;
  lib: string[];
}

const FLOAT_UNARY: Record<UnaryOp, Expr> = {
  neg: { expr: 'bitcast<f32>(bitcast<u32>(a) ^ 0x80000000u)', lib: [] },
  abs: { expr: 'bitcast<f32>(bitcast<u32>(a) & 0x7fffffffu)', lib: [] },
  sqrt: { expr: 'f32_sqrt(a)', lib: ['fmath'] },
  rsqrt: { expr: 'f32_rsqrt(a)', lib: ['fmath'] },
  exp: { expr: 'f32_exp(a)', lib: ['fmath'] },
  log: { expr: 'f32_log(a)', lib: ['fmath'] },
  relu: { expr: 'select(select(0.0, a, a > 0.0), a, f32_isnan(a))', lib: ['bits'] },
  sigmoid: { expr: 'f32_sigmoid(a)', lib: ['fmath'] },
  tanh: { expr: 'f32_tanh(a)', lib: ['fmath'] },
  erf: { expr: 'f32_erf(a)', lib: ['erf'] },
  floor: { expr: 'select(a, floor(a), f32_finite(a))', lib: ['bits'] },
  ceil: { expr: 'select(a, ceil(a), f32_finite(a))', lib: ['bits'] },
  round: { expr: 'f32_round_even(a)', lib: ['fmath'] },
  reciprocal: { expr: 'f32_recip(a)', lib: ['fmath'] },
};

const INT_UNARY: Partial<Record<UnaryOp, Partial<Record<ComputeType, Expr>>>> = {
  neg: { i32: { expr: 'bitcast<i32>(0u - bitcast<u32>(a))', lib: [] }, 'vec2<u32>': { expr: 'i64_neg(a)', lib: ['i64'] } },
  abs: { i32: { expr: 'abs(a)', lib: [] }, 'vec2<u32>': { expr: 'i64_abs(a)', lib: ['i64'] } },
  relu: { i32: { expr: 'max(a, 0i)', lib: [] }, 'vec2<u32>': { expr: 'select(a, vec2<u32>(0u, 0u), i64_isneg(a))', lib: ['i64'] } },
};

function unaryKernel(op: UnaryOp) {
  return (ctx: Ctx): unknown[] => {
    const x = ctx.inputs[0]!;
    const o = ctx.outputs[0]!;
    const t = computeTypeOf(storageOf(x.dtype));
    const e = t === 'f32' ? FLOAT_UNARY[op] : INT_UNARY[op]?.[t];
    if (!e) throw new OpError(op, `the webgpu backend has no ${op} kernel for ${x.dtype}`);
    return [elementwise(ctx.backend, { id: `unary/${op}`, inputs: [x], outShape: o.shape, outDtype: o.dtype, ...e })];
  };
}

const GELU: Record<GeluAttrs['approximate'], Expr> = {
  // x·Φ(x) = x/2 · erfc(-x/√2): no cancellation for negative x
  none: { expr: '0.5 * a * f32_erfc(a * -0.7071067811865476)', lib: ['erf'] },
  // 0.5x(1 + tanh(u)) = x·sigmoid(2u), u = √(2/π)(x + 0.044715x³)
  tanh: { expr: 'a * f32_sigmoid(1.5957691216057308 * (a + 0.044715 * a * a * a))', lib: ['fmath'] },
};

function geluKernel(ctx: Ctx<GeluAttrs>): unknown[] {
  const x = ctx.inputs[0]!;
  const o = ctx.outputs[0]!;
  return [elementwise(ctx.backend, { id: `gelu/${ctx.attrs.approximate}`, inputs: [x], outShape: o.shape, outDtype: o.dtype, ...GELU[ctx.attrs.approximate] })];
}

// ---------------------------------------------------------------------------------------------
// clamp

/**
 * The cpu reference compares x with the (float) bounds and stores the bound into the output array:
 * for integer dtypes `x < min` is `x < ceil(min)` and the value stored is the bound truncated and
 * wrapped (int32 / uint8) or ceil(min) / floor(max) wrapped (int64). mode: 0 never, 1 compare,
 * 2 always (a bound beyond the dtype's range).
 */
function intBound(bound: number, lower: boolean, lo: bigint, hi: bigint): { mode: number; cmp: bigint } {
  if (!Number.isFinite(bound)) return { mode: (bound > 0) === lower ? 2 : 0, cmp: 0n };
  const c = BigInt(lower ? Math.ceil(bound) : Math.floor(bound));
  if (lower) return { mode: c <= lo ? 0 : c > hi ? 2 : 1, cmp: c };
  return { mode: c >= hi ? 0 : c < lo ? 2 : 1, cmp: c };
}

const wrap32 = (v: number) => (Number.isFinite(v) ? Number(BigInt.asIntN(32, BigInt(Math.trunc(v)))) : 0);
const pair64 = (v: bigint): [number, number] => {
  const u = BigInt.asUintN(64, v);
  return [Number(u & 0xffffffffn), Number(u >> 32n)];
};

function clampKernel(ctx: Ctx<ClampAttrs>): unknown[] {
  const x = ctx.inputs[0]!;
  const o = ctx.outputs[0]!;
  const { min, max } = ctx.attrs;
  const t = computeTypeOf(storageOf(x.dtype));
  let expr: string;
  let lib: string[] = [];
  let uniforms: UniformField[];
  let values: UniformValues;
  if (t === 'f32') {
    expr = 'select(select(a, u.hi, f32_lt(u.hi, a)), u.lo, f32_lt(a, u.lo))';
    lib = ['fcmp'];
    uniforms = [
      { name: 'lo', type: 'f32' },
      { name: 'hi', type: 'f32' },
    ];
    values = { lo: min, hi: max };
  } else if (t === 'vec2<u32>') {
    const lb = intBound(min, true, -(2n ** 63n), 2n ** 63n - 1n);
    const hb = intBound(max, false, -(2n ** 63n), 2n ** 63n - 1n);
    expr = [
      'select(select(a, u_hiVal64(), u.hiMode == 2u || (u.hiMode == 1u && i64_lt(u_hiVal64(), a))),',
      '  u_loVal64(), u.loMode == 2u || (u.loMode == 1u && i64_lt(a, u_loVal64())))',
    ].join(' ');
    lib = ['i64'];
    uniforms = [
      { name: 'loMode', type: 'u32' },
      { name: 'hiMode', type: 'u32' },
      { name: 'bounds', type: 'u32', length: 4 },
    ];
    values = { loMode: lb.mode, hiMode: hb.mode, bounds: [...pair64(lb.cmp), ...pair64(hb.cmp)] };
    return [
      elementwise(ctx.backend, {
        id: 'clamp',
        inputs: [x],
        outShape: o.shape,
        outDtype: o.dtype,
        expr,
        lib,
        uniforms,
        uniformValues: values,
        header: [
          'fn u_loVal64() -> vec2<u32> { return vec2<u32>(u_bounds(0u), u_bounds(1u)); }',
          'fn u_hiVal64() -> vec2<u32> { return vec2<u32>(u_bounds(2u), u_bounds(3u)); }',
        ].join('\n'),
      }),
    ];
  } else {
    const u8 = t === 'u32';
    const [L, H] = u8 ? [0n, 255n] : [-(2n ** 31n), 2n ** 31n - 1n];
    const lb = intBound(min, true, L, H);
    const hb = intBound(max, false, L, H);
    const ty = u8 ? 'u32' : 'i32';
    const val = (v: number) => (u8 ? wrap32(v) & 0xff : wrap32(v));
    expr = [
      'select(select(a, u.hiVal, u.hiMode == 2u || (u.hiMode == 1u && a > u.hiCmp)),',
      '  u.loVal, u.loMode == 2u || (u.loMode == 1u && a < u.loCmp))',
    ].join(' ');
    uniforms = [
      { name: 'loMode', type: 'u32' },
      { name: 'hiMode', type: 'u32' },
      { name: 'loCmp', type: ty },
      { name: 'hiCmp', type: ty },
      { name: 'loVal', type: ty },
      { name: 'hiVal', type: ty },
    ];
    values = { loMode: lb.mode, hiMode: hb.mode, loCmp: lb.mode === 1 ? Number(lb.cmp) : 0, hiCmp: hb.mode === 1 ? Number(hb.cmp) : 0, loVal: val(min), hiVal: val(max) };
  }
  return [elementwise(ctx.backend, { id: 'clamp', inputs: [x], outShape: o.shape, outDtype: o.dtype, expr, lib, uniforms, uniformValues: values })];
}

// ---------------------------------------------------------------------------------------------
// where: bit copies (NaN payloads and float16 bits survive)

function whereKernel(ctx: Ctx): unknown[] {
  const [c, a, b] = [ctx.inputs[0]!, ctx.inputs[1]!, ctx.inputs[2]!];
  const o = ctx.outputs[0]!;
  const s = rawStorageOf(o.dtype);
  return [
    elementwise(ctx.backend, {
      id: 'where',
      inputs: [c, { ...a, storage: s }, { ...b, storage: s }],
      names: ['c', 'a', 'b'],
      outShape: o.shape,
      outDtype: o.dtype,
      outStorage: s,
      expr: 'select(b, a, c != 0u)',
    }),
  ];
}

// ---------------------------------------------------------------------------------------------
// cast (PyTorch / cpu reference rules)

/** WGSL converting value `a` of compute type `from` to dtype `to`. */
function castExpr(from: ComputeType, to: DType): Expr {
  const T = (e: string, ...lib: string[]): Expr => ({ expr: e, lib });
  switch (to) {
    case 'float32':
    case 'float16':
      return from === 'f32' ? T('a') : from === 'i32' ? T('i32_to_f32(a)', 'conv') : from === 'u32' ? T('f32(a)') : T('i64_to_f32(a)', 'conv');
    case 'int32':
      return from === 'f32' ? T('f32_to_i32(a)', 'conv') : from === 'i32' ? T('a') : from === 'u32' ? T('i32(a)') : T('bitcast<i32>(a.x)');
    case 'uint8':
      return from === 'f32' ? T('f32_to_u8(a)', 'conv') : from === 'i32' ? T('bitcast<u32>(a)') : from === 'u32' ? T('a') : T('a.x');
    case 'bool':
      return from === 'f32'
        ? T('select(0u, 1u, !f32_iszero(a))', 'bits')
        : from === 'i32'
          ? T('select(0u, 1u, a != 0i)')
          : from === 'u32'
            ? T('select(0u, 1u, a != 0u)')
            : T('select(0u, 1u, a.x != 0u || a.y != 0u)');
    case 'int64':
      return from === 'f32' ? T('f32_to_i64(a)', 'conv') : from === 'i32' ? T('i64_from_i32(a)', 'i64') : from === 'u32' ? T('vec2<u32>(a, 0u)') : T('a');
  }
}

function castKernel(ctx: Ctx<CastAttrs>): unknown[] {
  const x = ctx.inputs[0]!;
  const o = ctx.outputs[0]!;
  // same dtype: the output shares the input's storage (tensors are immutable)
  if (x.dtype === o.dtype) return [x.handle];
  const e = castExpr(computeTypeOf(storageOf(x.dtype)), o.dtype);
  return [elementwise(ctx.backend, { id: `cast/${o.dtype}`, inputs: [x], outShape: o.shape, outDtype: o.dtype, ...e })];
}

let registered = false;
/** Registers the webgpu elementwise kernels (idempotent). */
export function registerElementwiseKernels(): void {
  if (registered) return;
  registered = true;
  for (const op of Object.keys(FLOAT_UNARY) as UnaryOp[]) registerKernel(op, 'webgpu', unaryKernel(op));
  registerKernel('gelu', 'webgpu', geluKernel);
  registerKernel('clamp', 'webgpu', clampKernel);
  registerKernel('where', 'webgpu', whereKernel);
  registerKernel('cast', 'webgpu', castKernel);
}
