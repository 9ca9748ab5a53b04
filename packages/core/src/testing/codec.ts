/**
 * Serialisation of conformance data: tensors as base64 of their little-endian bytes inside JSON,
 * attributes as JSON with non-finite numbers tagged. Dependency-free (works in browsers).
 */
import { type DType, type DTypeArrayMap, allocArray, f32ToF16Bits, isDType } from '../dtype';
import { sizeOf } from '../shape';
import type { HostTensor, Tolerance } from './types';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const LOOKUP = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i;

export function bytesToBase64(bytes: Uint8Array): string {
  let out = '';
  const n = bytes.length;
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += ALPHABET[v >> 18]! + ALPHABET[(v >> 12) & 63]! + ALPHABET[(v >> 6) & 63]! + ALPHABET[v & 63]!;
  }
  if (i < n) {
    const v = (bytes[i]! << 16) | ((i + 1 < n ? bytes[i + 1]! : 0) << 8);
    out += ALPHABET[v >> 18]! + ALPHABET[(v >> 12) & 63]! + (i + 1 < n ? ALPHABET[(v >> 6) & 63]! : '=') + '=';
  }
  return out;
}

export function base64ToBytes(s: string): Uint8Array {
  let len = s.length;
  while (len > 0 && s[len - 1] === '=') len--;
  const out = new Uint8Array(Math.floor((len * 3) / 4));
  let o = 0;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? LOOKUP[c]! : -1;
    if (v < 0) throw new Error(`invalid base64 character '${s[i]}' at ${i}`);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 255;
    }
  }
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function bytesOf(data: ArrayBufferView): Uint8Array {
  if (!LITTLE_ENDIAN) throw new Error('conformance data assumes a little-endian host');
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** JSON form of a tensor. */
export interface RawTensor {
  /** dtype */
  d: DType;
  /** shape */
  s: number[];
  /** base64 of the little-endian element bytes */
  b: string;
}

export function encodeTensor(t: HostTensor): RawTensor {
  return { d: t.dtype, s: t.shape.slice(), b: bytesToBase64(bytesOf(t.data)) };
}

export function decodeTensor(r: RawTensor): HostTensor {
  if (!isDType(r.d)) throw new Error(`conformance data: unknown dtype '${String(r.d)}'`);
  const bytes = base64ToBytes(r.b);
  const n = sizeOf(r.s);
  const data = allocArray(r.d, n);
  if (bytes.length !== data.byteLength) throw new Error(`conformance data: ${bytes.length} bytes for ${r.d}[${r.s.join(', ')}]`);
  new Uint8Array(data.buffer).set(bytes);
  return { dtype: r.d, shape: r.s.slice(), data } as HostTensor;
}

/** JSON replacer/reviver pair that keeps ±Infinity and NaN in attributes. */
export function encodeAttrs(attrs: Record<string, unknown>): unknown {
  return JSON.parse(JSON.stringify(attrs, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? { $num: String(v) } : v)));
}

export function decodeAttrs(raw: unknown): Record<string, unknown> {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.$num === 'string' && Object.keys(o).length === 1) return Number(o.$num);
      return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, walk(x)]));
    }
    return v;
  };
  return (walk(raw) ?? {}) as Record<string, unknown>;
}

/** JSON form of an op case (generated data). */
export interface RawCase {
  /** name */
  n: string;
  /** op */
  o: string;
  /** source */
  src: 'closed-form' | 'onnxruntime' | 'official';
  /** attributes (encodeAttrs) */
  a: unknown;
  /** inputs (null = omitted optional input) */
  i: (RawTensor | null)[];
  /** expected outputs */
  e: RawTensor[];
  /** tolerance [abs, rel] */
  t: [number, number];
  /** note */
  note?: string;
  /** official program name (src/testing/programs.ts); absent for op cases */
  p?: string;
}

// ---------------------------------------------------------------------------------------------
// Host tensor constructors (used by closed-form cases and tests)

function make<D extends DType>(dtype: D, shape: number[], values: ArrayLike<number | bigint | boolean>): HostTensor<D> {
  const n = sizeOf(shape);
  if (values.length !== n) throw new Error(`host tensor ${dtype}[${shape.join(', ')}] needs ${n} values, got ${values.length}`);
  const data = allocArray(dtype, n);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (dtype === 'int64') (data as BigInt64Array)[i] = typeof v === 'bigint' ? v : BigInt(Number(v));
    else if (dtype === 'float16') (data as Uint16Array)[i] = f32ToF16Bits(Number(v));
    else if (dtype === 'bool') (data as Uint8Array)[i] = v ? 1 : 0;
    else (data as Float32Array)[i] = Number(v);
  }
  return { dtype, shape: shape.slice(), data: data as DTypeArrayMap[D] };
}

export const host = {
  f32: (shape: number[], values: ArrayLike<number>) => make('float32', shape, values),
  /** float16 from numbers (rounded to nearest even). */
  f16: (shape: number[], values: ArrayLike<number>) => make('float16', shape, values),
  i32: (shape: number[], values: ArrayLike<number>) => make('int32', shape, values),
  i64: (shape: number[], values: ArrayLike<number | bigint>) => make('int64', shape, values),
  u8: (shape: number[], values: ArrayLike<number>) => make('uint8', shape, values),
  bool: (shape: number[], values: ArrayLike<number | boolean>) => make('bool', shape, values),
  of: make,
};

export function tol(abs: number, rel = 0): Tolerance {
  return { abs, rel };
}
