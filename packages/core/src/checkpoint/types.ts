/** Shared types and byte helpers for the checkpoint readers and writers. */

/** Element types a checkpoint can store (safetensors spelling). */
export type StoredDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export type RawTensorData =
  | Float64Array
  | Float32Array
  | Uint16Array
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array;

/** A contiguous row-major tensor as stored on disk: F16/BF16 are raw Uint16 bits, BOOL is Uint8 0/1. */
export interface RawTensor {
  dtype: StoredDType;
  shape: number[];
  data: RawTensorData;
}

/** Parameter name -> tensor, in checkpoint order. */
export type StateDict = Map<string, RawTensor>;

/** Every checkpoint failure; the message starts with the file (when known) and names the entry or key at fault. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
  constructor(
    message: string,
    /** The file or label of the checkpoint being read, when known. */
    readonly source?: string,
  ) {
    super(source ? `${source}: ${message}` : message);
  }
}

export const STORED_DTYPES: readonly StoredDType[] = ['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL'];

const DTYPE_SIZE: Record<StoredDType, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

export function isStoredDType(x: unknown): x is StoredDType {
  return typeof x === 'string' && (STORED_DTYPES as readonly string[]).includes(x);
}

export function dtypeSize(dtype: StoredDType): number {
  return DTYPE_SIZE[dtype];
}

export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Views `length` elements of `buffer` at `byteOffset` (which must be aligned) as the host array of `dtype`. */
export function viewAs(dtype: StoredDType, buffer: ArrayBufferLike, byteOffset: number, length: number): RawTensorData {
  switch (dtype) {
    case 'F64':
      return new Float64Array(buffer, byteOffset, length);
    case 'F32':
      return new Float32Array(buffer, byteOffset, length);
    case 'F16':
    case 'BF16':
      return new Uint16Array(buffer, byteOffset, length);
    case 'I64':
      return new BigInt64Array(buffer, byteOffset, length);
    case 'I32':
      return new Int32Array(buffer, byteOffset, length);
    case 'I16':
      return new Int16Array(buffer, byteOffset, length);
    case 'I8':
      return new Int8Array(buffer, byteOffset, length);
    case 'U8':
    case 'BOOL':
      return new Uint8Array(buffer, byteOffset, length);
  }
}

/** True when `data` is the host array type that stores `dtype`. */
export function arrayMatchesDType(data: unknown, dtype: StoredDType): boolean {
  switch (dtype) {
    case 'F64':
      return data instanceof Float64Array;
    case 'F32':
      return data instanceof Float32Array;
    case 'F16':
    case 'BF16':
      return data instanceof Uint16Array;
    case 'I64':
      return data instanceof BigInt64Array;
    case 'I32':
      return data instanceof Int32Array;
    case 'I16':
      return data instanceof Int16Array;
    case 'I8':
      return data instanceof Int8Array;
    case 'U8':
    case 'BOOL':
      return data instanceof Uint8Array;
  }
}

/** The bytes of a typed array (a view, no copy). */
export function bytesOf(data: RawTensorData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Whether this JS engine stores typed arrays little-endian (all common hosts do). */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Reverses the byte order of every `elementSize`-byte element of `bytes`, in place. */
export function swapBytes(bytes: Uint8Array, elementSize: number): void {
  if (elementSize === 1) return;
  for (let i = 0; i + elementSize <= bytes.length; i += elementSize) {
    for (let a = i, b = i + elementSize - 1; a < b; a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  }
}

/** "[2, 3]"-style rendering of a shape or index list for error messages. */
export function fmtList(xs: readonly unknown[]): string {
  return `[${xs.join(', ')}]`;
}
