/** Element types a Tensor can hold. Layout and numerics follow PyTorch; float32 is the default. */
export type DType = 'float32' | 'float16' | 'int32' | 'int64' | 'uint8' | 'bool';

export const DTYPES: readonly DType[] = ['float32', 'float16', 'int32', 'int64', 'uint8', 'bool'];

/** Host storage of each dtype: float16 is kept as raw IEEE half bits, bool as 0/1 bytes. */
export interface DTypeArrayMap {
  float32: Float32Array;
  float16: Uint16Array;
  int32: Int32Array;
  int64: BigInt64Array;
  uint8: Uint8Array;
  bool: Uint8Array;
}
export type TypedArray = DTypeArrayMap[DType];
export type FloatDType = 'float32' | 'float16';

export const BYTES_PER_ELEMENT: Record<DType, number> = {
  float32: 4,
  float16: 2,
  int32: 4,
  int64: 8,
  uint8: 1,
  bool: 1,
};

export function isDType(x: unknown): x is DType {
  return typeof x === 'string' && (DTYPES as readonly string[]).includes(x);
}

export function isFloat(d: DType): d is FloatDType {
  return d === 'float32' || d === 'float16';
}

export function isInteger(d: DType): boolean {
  return d === 'int32' || d === 'int64' || d === 'uint8';
}

export function allocArray<D extends DType>(dtype: D, size: number): DTypeArrayMap[D] {
  switch (dtype) {
    case 'float32':
      return new Float32Array(size) as DTypeArrayMap[D];
    case 'float16':
      return new Uint16Array(size) as DTypeArrayMap[D];
    case 'int32':
      return new Int32Array(size) as DTypeArrayMap[D];
    case 'int64':
      return new BigInt64Array(size) as DTypeArrayMap[D];
    case 'uint8':
    case 'bool':
      return new Uint8Array(size) as DTypeArrayMap[D];
    default:
      throw new TypeError(`unknown dtype '${String(dtype)}'`);
  }
}

/** True when `arr` is the host array type that stores `dtype`. */
export function arrayMatchesDType(arr: unknown, dtype: DType): boolean {
  switch (dtype) {
    case 'float32':
      return arr instanceof Float32Array;
    case 'float16':
      return arr instanceof Uint16Array;
    case 'int32':
      return arr instanceof Int32Array;
    case 'int64':
      return arr instanceof BigInt64Array;
    case 'uint8':
    case 'bool':
      return arr instanceof Uint8Array;
    default:
      return false;
  }
}

/** The dtype a host array stores by default (Uint16Array is float16 bits, Uint8Array is uint8). */
export function dtypeOfArray(arr: ArrayBufferView): DType {
  if (arr instanceof Float32Array) return 'float32';
  if (arr instanceof Uint16Array) return 'float16';
  if (arr instanceof Int32Array) return 'int32';
  if (arr instanceof BigInt64Array) return 'int64';
  if (arr instanceof Uint8Array) return 'uint8';
  throw new TypeError(`unsupported host array type ${arr.constructor.name}; use Float32Array, Uint16Array (float16 bits), Int32Array, BigInt64Array or Uint8Array`);
}

// ---- float16 / bfloat16 conversions (round to nearest even) ----
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function f32ToF16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf / nan
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow -> inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow -> signed zero
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1))) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) half++; // may carry into exponent: still correct
  return sign | half;
}

export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

export function bf16BitsToF32(b: number): number {
  u32[0] = (b & 0xffff) << 16;
  return f32[0]!;
}

export function f32ToBf16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return ((x >>> 16) | 0x40) & 0xffff; // quiet nan
  const rounded = x + 0x7fff + ((x >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

export function f16ArrayToF32(src: Uint16Array): Float32Array {
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = f16BitsToF32(src[i]!);
  return out;
}

export function f32ArrayToF16(src: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = f32ToF16Bits(src[i]!);
  return out;
}
