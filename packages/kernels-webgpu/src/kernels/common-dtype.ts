/**
 * How each dtype lives in a webgpu buffer and how a kernel reads and writes it (the layout of
 * backend.ts `write`): float32 / int32 as 4-byte words, int64 as (lo, hi) u32 pairs, float16 as
 * raw u16 halves (two per word), uint8 / bool as bytes (four per word).
 *
 * A kernel sees every element as a "compute" value: f32 (float32, float16 unpacked), i32 (int32),
 * u32 (uint8, bool as 0/1, and raw bits in copies) or vec2<u32> (int64 as lo, hi).
 */
import { BYTES_PER_ELEMENT, type DType, sizeOf, type Shape } from '@tubelet/core';
import { type GpuHandle, type WebGpuBackend } from '../backend';
import type { WgslElement } from '../program';

/**
 * Storage classes. 'f32' | 'i32' | 'f16' | 'u8' | 'i64' decode values; 'w32' | 'w16' are raw bits
 * of 4- and 2-byte elements (layout kernels copy bits, never values: NaN payloads survive).
 */
export type Storage = 'f32' | 'i32' | 'w32' | 'f16' | 'w16' | 'u8' | 'i64';

/** The WGSL type of values of a storage class. */
export type ComputeType = 'f32' | 'i32' | 'u32' | 'vec2<u32>';

/** Storage class of a dtype for value-level kernels. */
export function storageOf(dtype: DType): Storage {
  switch (dtype) {
    case 'float32':
      return 'f32';
    case 'int32':
      return 'i32';
    case 'float16':
      return 'f16';
    case 'int64':
      return 'i64';
    case 'uint8':
    case 'bool':
      return 'u8';
  }
}

/** Storage class of a dtype for bit copies (layout kernels). */
export function rawStorageOf(dtype: DType): Storage {
  switch (BYTES_PER_ELEMENT[dtype]) {
    case 4:
      return 'w32';
    case 2:
      return 'w16';
    case 8:
      return 'i64';
    default:
      return 'u8';
  }
}

export function computeTypeOf(s: Storage): ComputeType {
  switch (s) {
    case 'f32':
    case 'f16':
      return 'f32';
    case 'i32':
      return 'i32';
    case 'i64':
      return 'vec2<u32>';
    default:
      return 'u32';
  }
}

/** The WGSL element type a buffer of this storage class is bound as. */
export function bindingType(s: Storage): WgslElement {
  return s === 'f32' ? 'f32' : s === 'i32' ? 'i32' : 'u32';
}

/** Elements per 32-bit word (> 1 for packed classes, whose words several elements share). */
export function elementsPerWord(s: Storage): number {
  return s === 'f16' || s === 'w16' ? 2 : s === 'u8' ? 4 : 1;
}

export function isPacked(s: Storage): boolean {
  return elementsPerWord(s) > 1;
}

/** WGSL expression reading element `j` (a u32 expression) of buffer `buf` as a compute value. */
export function readExpr(s: Storage, buf: string, j: string): string {
  switch (s) {
    case 'f32':
    case 'i32':
    case 'w32':
      return `${buf}[${j}]`;
    case 'f16':
      return `f16_unpack((${buf}[(${j}) >> 1u] >> (((${j}) & 1u) << 4u)) & 0xffffu)`;
    case 'w16':
      return `((${buf}[(${j}) >> 1u] >> (((${j}) & 1u) << 4u)) & 0xffffu)`;
    case 'u8':
      return `((${buf}[(${j}) >> 2u] >> (((${j}) & 3u) << 3u)) & 0xffu)`;
    case 'i64':
      return `vec2<u32>(${buf}[2u * (${j})], ${buf}[2u * (${j}) + 1u])`;
  }
}

/** WGSL helper names (common-wgsl.ts) a storage class's read/write code needs. */
export function storageLib(s: Storage): string[] {
  return s === 'f16' ? ['f16'] : [];
}

/** The part of an output word holding compute value `v` of a packed class (before shifting). */
export function packedBits(s: Storage, v: string): string {
  switch (s) {
    case 'f16':
      return `f16_pack(${v})`;
    case 'w16':
      return `((${v}) & 0xffffu)`;
    case 'u8':
      return `((${v}) & 0xffu)`;
    default:
      throw new Error(`webgpu: storage ${s} is not packed`);
  }
}

/** Bits per element of a packed class. */
export function packedWidth(s: Storage): number {
  return 32 / elementsPerWord(s);
}

/** WGSL statements storing compute value `v` as element `i` of an unpacked output `buf`. */
export function storeStmt(s: Storage, buf: string, i: string, v: string): string {
  if (s === 'i64') return `{ let r64 = ${v}; ${buf}[2u * (${i})] = r64.x; ${buf}[2u * (${i}) + 1u] = r64.y; }`;
  if (isPacked(s)) throw new Error(`webgpu: storage ${s} is packed: write whole words`);
  return `${buf}[${i}] = ${v};`;
}

/** A new, uninitialised buffer for `size` elements of `dtype` (padded to whole words). */
export function allocFor(backend: WebGpuBackend, dtype: DType, shapeOrSize: Shape | number): GpuHandle {
  const n = typeof shapeOrSize === 'number' ? shapeOrSize : sizeOf(shapeOrSize);
  return backend.allocate(n * BYTES_PER_ELEMENT[dtype]);
}

