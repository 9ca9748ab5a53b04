/**
 * Shared pieces of the matmul / conv / pool / attention kernels: how each dtype is stored and
 * read in WGSL (float32, float16 with or without `shader-f16`), the float16 output path for
 * devices without `shader-f16`, and batch-offset helpers.
 *
 * Element kinds (storage of one tensor as a kernel sees it):
 *  - `f32`:  float32, `array<f32>` (or `array<vec4<f32>>` for vec4 access);
 *  - `f16`:  float16 on a device with `shader-f16`: `array<f16>` / `array<vec4<f16>>`, widened to
 *            f32 on load and narrowed on store (arithmetic stays f32: accumulation in f16 would
 *            not meet the float16 tolerances of long reductions);
 *  - `f16p`: float16 without `shader-f16`: the raw u16 pairs as `array<u32>` / `array<vec2<u32>>`,
 *            unpacked with unpack2x16float. Outputs of this kind are computed into an f32 scratch
 *            buffer and packed by a second dispatch (two invocations may not write halves of one
 *            word).
 */
import { type DType, OpError, sizeOf } from '@tubelet/core';
import { type GpuHandle, type WebGpuBackend, asHandle } from '../backend';
import type { ProgramDesc, StorageBinding, WgslElement } from '../program';
import { linearWorkgroups } from '../program';

export type ElemKind = 'f32' | 'f16' | 'f16p';

/** Test hook: force the packed float16 path even where the device has `shader-f16`. */
let forcePackedF16 = false;
/** @internal Forces (true) or releases (false) the f16p path; returns the previous setting. */
export function setForcePackedF16(on: boolean): boolean {
  const prev = forcePackedF16;
  forcePackedF16 = on;
  return prev;
}

/** The element kind a float tensor of `dtype` has on `backend`. */
export function elemKind(backend: WebGpuBackend, dtype: DType, op: string): ElemKind {
  if (dtype === 'float32') return 'f32';
  if (dtype === 'float16') return backend.hasF16 && !forcePackedF16 ? 'f16' : 'f16p';
  throw new OpError(op, `the webgpu backend runs ${op} on float32 and float16, got ${dtype}`);
}

/**
 * The element type of a storage binding. `vec4<…>` / `vec2<u32>` are valid WGSL array element
 * types; program.ts spells only scalars in its WgslElement type, so the vector ones are cast here.
 */
function elementType(kind: ElemKind, vec: boolean): WgslElement {
  if (!vec) return kind === 'f32' ? 'f32' : kind === 'f16' ? 'f16' : 'u32';
  return (kind === 'f32' ? 'vec4<f32>' : kind === 'f16' ? 'vec4<f16>' : 'vec2<u32>') as WgslElement;
}

/** A read-only storage binding of a tensor of `kind` (vec: element access by groups of 4). */
export function inBinding(name: string, kind: ElemKind, vec = false): StorageBinding {
  return { name, type: elementType(kind, vec), access: 'read' };
}

/** An output binding (kind `f32` or `f16`: packed f16 outputs go through an f32 scratch). */
export function outBinding(name: string, kind: 'f32' | 'f16', vec = false): StorageBinding {
  return { name, type: elementType(kind, vec), access: 'read_write' };
}

/**
 * WGSL loaders for binding `name`: `ld_<name>(i) -> f32` (element i) and, for vec bindings,
 * `ld4_<name>(i) -> vec4<f32>` (elements i..i+3, i a multiple of 4).
 */
export function loaders(name: string, kind: ElemKind, vec = false): string {
  const n = name;
  if (!vec) {
    if (kind === 'f32') return `fn ld_${n}(i: u32) -> f32 { return ${n}[i]; }`;
    if (kind === 'f16') return `fn ld_${n}(i: u32) -> f32 { return f32(${n}[i]); }`;
    return `fn ld_${n}(i: u32) -> f32 { return unpack2x16float(${n}[i >> 1u])[i & 1u]; }`;
  }
  if (kind === 'f32') {
    return [`fn ld4_${n}(i: u32) -> vec4<f32> { return ${n}[i >> 2u]; }`, `fn ld_${n}(i: u32) -> f32 { return ${n}[i >> 2u][i & 3u]; }`].join('\n');
  }
  if (kind === 'f16') {
    return [
      `fn ld4_${n}(i: u32) -> vec4<f32> { return vec4<f32>(${n}[i >> 2u]); }`,
      `fn ld_${n}(i: u32) -> f32 { return f32(${n}[i >> 2u][i & 3u]); }`,
    ].join('\n');
  }
  return [
    `fn ld4_${n}(i: u32) -> vec4<f32> { let w = ${n}[i >> 2u]; return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y)); }`,
    `fn ld_${n}(i: u32) -> f32 { return unpack2x16float(${n}[i >> 2u][(i >> 1u) & 1u])[i & 1u]; }`,
  ].join('\n');
}

/** WGSL stores for output binding `name`: `st_<name>(i, v)` and, for vec bindings, `st4_<name>(i, v4)`. */
export function storers(name: string, kind: 'f32' | 'f16', vec = false): string {
  const n = name;
  if (!vec) return kind === 'f32' ? `fn st_${n}(i: u32, v: f32) { ${n}[i] = v; }` : `fn st_${n}(i: u32, v: f32) { ${n}[i] = f16(v); }`;
  if (kind === 'f32') {
    return [`fn st4_${n}(i: u32, v: vec4<f32>) { ${n}[i >> 2u] = v; }`, `fn st_${n}(i: u32, v: f32) { ${n}[i >> 2u][i & 3u] = v; }`].join('\n');
  }
  return [`fn st4_${n}(i: u32, v: vec4<f32>) { ${n}[i >> 2u] = vec4<f16>(v); }`, `fn st_${n}(i: u32, v: f32) { ${n}[i >> 2u][i & 3u] = f16(v); }`].join('\n');
}

/** `enable f16;` when any kind is a real f16 one. */
export function enables(...kinds: ElemKind[]): string[] {
  return kinds.includes('f16') ? ['f16'] : [];
}

/** WGSL helpers for IEEE special values that fast-math compilers may not honour as literals/comparisons. */
export const FLOAT_BITS_HELPERS = `
const NEG_INF_BITS: u32 = 0xff800000u;
// a private variable, not a constant: WGSL const-evaluation rejects an infinite value
var<private> neg_inf_bits: u32 = NEG_INF_BITS;
fn neg_inf() -> f32 { return bitcast<f32>(neg_inf_bits); }
fn is_neg_inf(x: f32) -> bool { return bitcast<u32>(x) == NEG_INF_BITS; }
fn is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }`;

/** Byte size of `size` elements of a float dtype on webgpu (float16 packed two per word). */
export function floatBytes(dtype: DType, size: number): number {
  return dtype === 'float16' ? size * 2 : size * 4;
}

/**
 * Where a kernel writes a float output of `dtype` with `size` elements: `buffer` (bind it as an
 * output of kind `kind`); `finish()` returns the output handle (for packed float16 it records the
 * f32 → f16 pack dispatch and releases the scratch buffer).
 */
export interface OutputTarget {
  buffer: GPUBuffer;
  kind: 'f32' | 'f16';
  finish(): GpuHandle;
}

export function outputTarget(backend: WebGpuBackend, dtype: DType, size: number, op: string): OutputTarget {
  const k = elemKind(backend, dtype, op);
  if (k !== 'f16p') {
    const h = backend.allocate(floatBytes(dtype, size));
    return { buffer: h.buffer, kind: k, finish: () => h };
  }
  const scratch = backend.allocate(size * 4);
  return {
    buffer: scratch.buffer,
    kind: 'f32',
    finish: () => {
      const out = backend.allocate(size * 2);
      packF16(backend, scratch.buffer, out.buffer, size);
      // later dispatches are recorded after the pack, so the buffer may go back to the pool now
      backend.release(scratch);
      return out;
    },
  };
}

const PACK_WG = 256;

function packProgram(): ProgramDesc {
  return {
    key: 'gemm-common/pack-f16',
    workgroupSize: PACK_WG,
    bindings: [
      { name: 'S', type: 'f32', access: 'read' },
      { name: 'Y', type: 'u32', access: 'read_write' },
    ],
    uniforms: [
      { name: 'size', type: 'u32' },
      { name: 'words', type: 'u32' },
    ],
    main: [
      '  if (idx >= u.words) { return; }',
      '  let i = 2u * idx;',
      '  let hi = select(0.0, S[min(i + 1u, u.size - 1u)], i + 1u < u.size);',
      '  Y[idx] = pack2x16float(vec2<f32>(S[i], hi));',
    ].join('\n'),
  };
}

/** Packs `size` floats of `src` into float16 pairs in `dst`. */
export function packF16(backend: WebGpuBackend, src: GPUBuffer, dst: GPUBuffer, size: number): void {
  if (size === 0) return;
  const words = Math.ceil(size / 2);
  const p = backend.program('gemm-common/pack-f16', packProgram);
  backend.dispatch(p, [src, dst], { size, words }, linearWorkgroups(words, PACK_WG, backend.limits.maxComputeWorkgroupsPerDimension));
}

/** The storage buffer of a tensor handle. */
export function bufferOf(handle: unknown): GPUBuffer {
  return asHandle(handle).buffer;
}

/**
 * Collapses batch dimensions for offset computation: `shape` is the output batch shape and
 * `strides` holds one stride array per operand (0 on broadcast dims). Size-1 dims are dropped and
 * neighbours merged where every operand's strides allow. Returns at least one dim.
 */
export function collapseBatch(shape: readonly number[], strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const dims: number[] = [];
  const st: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = dims.length - 1;
    if (last >= 0 && strides.every((s, o) => st[o]![last] === s[d]! * shape[d]!)) {
      dims[last]! *= shape[d]!;
      strides.forEach((s, o) => (st[o]![last] = s[d]!));
      continue;
    }
    dims.push(shape[d]!);
    strides.forEach((s, o) => st[o]!.push(s[d]!));
  }
  if (dims.length === 0) return { shape: [1], strides: strides.map(() => [0]) };
  return { shape: dims, strides: st };
}

/**
 * WGSL that turns a batch index into per-operand element offsets: `batchOffsets_<tag>(b)` returns
 * an array of `n` offsets, reading uniforms `<tag>Shape` and `<tag>St<o>` (rank `rank`).
 */
export function batchOffsetFn(tag: string, rank: number, names: readonly string[]): string {
  const lines = [`fn ${tag}_offsets(b: u32) -> array<u32, ${names.length}> {`, `  var rem = b;`, `  var o: array<u32, ${names.length}>;`];
  lines.push(`  for (var d = ${rank - 1}; d >= 0; d--) {`, '    let k = u32(d);', `    let c = rem % u_${tag}Shape(k);`, `    rem = rem / u_${tag}Shape(k);`);
  names.forEach((n, i) => lines.push(`    o[${i}] += c * u_${tag}${n}(k);`));
  lines.push('  }', '  return o;', '}');
  return lines.join('\n');
}

/** Row-major element strides of `shape`. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = s;
    s *= shape[i]!;
  }
  return st;
}

/** Product of dims (core's sizeOf, re-exported for the kernel files). */
export const numel = (s: readonly number[]) => sizeOf(s);

/** Smallest power of two >= n (n >= 1). */
export function pow2ceil(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
