/**
 * Binary arithmetic (add sub mul div pow minimum maximum) and comparisons (equal greater
 * greaterEqual less lessEqual → bool) on every dtype their descriptors allow: float32, float16
 * (computed in f32, rounded once to nearest even), int32 (wrapping), uint8 (wrapping mod 256),
 * int64 (exact 64-bit arithmetic on (lo, hi) pairs). Numpy broadcasting reads inputs in place.
 *
 * Semantics follow the cpu reference: integer division truncates toward zero and x / 0 gives 0
 * for int32 / uint8 (the cpu backend throws for int64; a shader cannot, so int64 also gives 0);
 * minimum / maximum propagate NaN; pow is C's pow (1^NaN = NaN^0 = 1); comparisons with NaN are
 * false. int32 mul wraps exactly (torch); the cpu reference rounds products beyond 2^53 first.
 */
import { type DType, type KernelContext, OpError, registerKernel } from '@tubelet/core';
import { type WebGpuBackend } from '../backend';
import type { ProgramDesc, WgslElement } from '../program';
import { type ComputeType, type Storage, computeTypeOf, storageOf } from './common-dtype';
import { type OperandMode, elementwise, elementwiseProgram } from './common-map';

const ARITH = ['add', 'sub', 'mul', 'div', 'pow', 'minimum', 'maximum'] as const;
const COMPARE = ['equal', 'greater', 'greaterEqual', 'less', 'lessEqual'] as const;
export type WebGpuBinaryOp = (typeof ARITH)[number] | (typeof COMPARE)[number];

/** WGSL of `op` over values `a`, `b` of compute type `t`, and the helpers it needs. */
function binaryExpr(op: WebGpuBinaryOp, t: ComputeType): { expr: string; lib: string[] } | null {
  const cmp = (e: string) => `select(0u, 1u, ${e})`;
  if (t === 'f32') {
    switch (op) {
      case 'add':
        return { expr: 'a + b', lib: [] };
      case 'sub':
        return { expr: 'a - b', lib: [] };
      case 'mul':
        return { expr: 'a * b', lib: [] };
      case 'div':
        return { expr: 'f32_div(a, b)', lib: ['fmath'] };
      case 'pow':
        return { expr: 'f32_pow(a, b)', lib: ['fmath'] };
      case 'minimum':
        return { expr: 'f32_min_nan(a, b)', lib: ['fcmp'] };
      case 'maximum':
        return { expr: 'f32_max_nan(a, b)', lib: ['fcmp'] };
      case 'equal':
        return { expr: cmp('f32_eq(a, b)'), lib: ['fcmp'] };
      case 'greater':
        return { expr: cmp('f32_lt(b, a)'), lib: ['fcmp'] };
      case 'greaterEqual':
        return { expr: cmp('f32_le(b, a)'), lib: ['fcmp'] };
      case 'less':
        return { expr: cmp('f32_lt(a, b)'), lib: ['fcmp'] };
      case 'lessEqual':
        return { expr: cmp('f32_le(a, b)'), lib: ['fcmp'] };
    }
  }
  if (t === 'vec2<u32>') {
    const f: Partial<Record<WebGpuBinaryOp, string>> = {
      add: 'u64_add(a, b)',
      sub: 'u64_sub(a, b)',
      mul: 'i64_mul(a, b)',
      div: 'i64_div(a, b)',
      minimum: 'i64_min(a, b)',
      maximum: 'i64_max(a, b)',
      equal: cmp('i64_eq(a, b)'),
      greater: cmp('i64_lt(b, a)'),
      greaterEqual: cmp('i64_le(b, a)'),
      less: cmp('i64_lt(a, b)'),
      lessEqual: cmp('i64_le(a, b)'),
    };
    return f[op] ? { expr: f[op]!, lib: ['i64'] } : null;
  }
  // i32 (wrapping two's complement) and u32 (uint8: wrapped by the byte packing)
  const zero = t === 'i32' ? '0i' : '0u';
  const f: Partial<Record<WebGpuBinaryOp, string>> = {
    add: 'a + b',
    sub: 'a - b',
    mul: 'a * b',
    div: `select(a / b, ${zero}, b == ${zero})`,
    minimum: 'min(a, b)',
    maximum: 'max(a, b)',
    equal: cmp('a == b'),
    greater: cmp('a > b'),
    greaterEqual: cmp('a >= b'),
    less: cmp('a < b'),
    lessEqual: cmp('a <= b'),
  };
  return f[op] ? { expr: f[op]!, lib: [] } : null;
}

function exprOrThrow(op: WebGpuBinaryOp, dtype: DType): { expr: string; lib: string[] } {
  const e = binaryExpr(op, computeTypeOf(storageOf(dtype)));
  if (!e) throw new OpError(op, `the webgpu backend has no ${op} kernel for ${dtype}`);
  return e;
}

const ELEMENT_DTYPE: Record<WgslElement, DType> = { f32: 'float32', i32: 'int32', u32: 'int32', f16: 'float16' };

/** out[i] = op(a[i], b[i]) when both inputs have the output's shape (float32 / int32 elements). */
export function sameShapeProgram(op: WebGpuBinaryOp, t: WgslElement): ProgramDesc {
  return binaryProgram(op, ELEMENT_DTYPE[t], ['same', 'same'], 0);
}

/**
 * Numpy broadcasting of rank `rank`: each output index is unravelled over `shape`, and the
 * inputs are read through their broadcast strides (0 on broadcast dims), passed as uniforms.
 */
export function broadcastProgram(op: WebGpuBinaryOp, t: WgslElement, rank: number): ProgramDesc {
  return binaryProgram(op, ELEMENT_DTYPE[t], ['bcast', 'bcast'], rank);
}

/** Cache key of a binary variant: `binary/<op>/<storage>/same`, `.../bcast<rank>`, or `.../<modeA>-<modeB>/r<rank>`. */
function binaryKey(op: WebGpuBinaryOp, s: Storage, modes: readonly OperandMode[], rank: number): string {
  if (modes[0] === 'same' && modes[1] === 'same') return `binary/${op}/${s}/same`;
  if (modes[0] === 'bcast' && modes[1] === 'bcast') return `binary/${op}/${s}/bcast${rank}`;
  return `binary/${op}/${s}/${modes[0]}-${modes[1]}/r${rank}`;
}

function binaryProgram(op: WebGpuBinaryOp, dtype: DType, modes: readonly OperandMode[], rank: number): ProgramDesc {
  const s = storageOf(dtype);
  const outStorage: Storage = (COMPARE as readonly string[]).includes(op) ? 'u8' : s;
  return elementwiseProgram(binaryKey(op, s, modes, rank), ['a', 'b'], [s, s], modes, rank, outStorage, exprOrThrow(op, dtype));
}

/** The webgpu kernel of binary op `op` (same-shape fast path, general broadcast otherwise). */
export function binaryKernel(op: WebGpuBinaryOp) {
  return (ctx: KernelContext<unknown, WebGpuBackend>): unknown[] => {
    const a = ctx.inputs[0]!;
    const b = ctx.inputs[1]!;
    const o = ctx.outputs[0]!;
    const e = exprOrThrow(op, a.dtype);
    const s = storageOf(a.dtype);
    const key = (modes: readonly OperandMode[], rank: number) => binaryKey(op, s, modes, rank);
    return [elementwise(ctx.backend, { id: `binary/${op}`, inputs: [a, b], outShape: o.shape, outDtype: o.dtype, key, ...e })];
  };
}

let registered = false;
/** Registers the webgpu binary and comparison kernels (idempotent). */
export function registerBinaryKernels(): void {
  if (registered) return;
  registered = true;
  for (const op of [...ARITH, ...COMPARE]) registerKernel(op, 'webgpu', binaryKernel(op));
}
