import type { RawTensor, StateDict, StoredDType } from './checkpoint/types';
import { CheckpointError } from './checkpoint/types';
import { type DType, bf16BitsToF32, f16BitsToF32 } from './dtype';
import { type Tensor, tensor } from './tensor';

export interface ToTensorOptions {
  /** Backend to create the tensors on (default: the current backend). */
  backend?: string;
  /**
   * Floating-point checkpoints (F64, F16, BF16) become float32 by default, the library's
   * compute type; 'keep' keeps F16 as float16 (BF16/F64 still become float32).
   */
  floats?: 'float32' | 'keep';
}

/** The tensor dtype a stored dtype loads as. */
export function tensorDTypeOf(stored: StoredDType, floats: 'float32' | 'keep' = 'float32'): DType {
  switch (stored) {
    case 'F32':
    case 'F64':
    case 'BF16':
      return 'float32';
    case 'F16':
      return floats === 'keep' ? 'float16' : 'float32';
    case 'I64':
      return 'int64';
    case 'I32':
    case 'I16':
    case 'I8':
      return 'int32';
    case 'U8':
      return 'uint8';
    case 'BOOL':
      return 'bool';
  }
}

/** Converts one checkpoint tensor to a Tensor (values are copied; the raw tensor is untouched). */
export function rawToTensor(raw: RawTensor, opts: ToTensorOptions = {}): Tensor {
  const dtype = tensorDTypeOf(raw.dtype, opts.floats);
  const n = raw.data.length;
  let data: Float32Array | Uint16Array | Int32Array | BigInt64Array | Uint8Array;
  if (dtype === 'float32' && raw.dtype !== 'F32') {
    const f = new Float32Array(n);
    const src = raw.data;
    if (raw.dtype === 'F16') for (let i = 0; i < n; i++) f[i] = f16BitsToF32((src as Uint16Array)[i]!);
    else if (raw.dtype === 'BF16') for (let i = 0; i < n; i++) f[i] = bf16BitsToF32((src as Uint16Array)[i]!);
    else f.set(src as Float64Array);
    data = f;
  } else if (dtype === 'int32' && raw.dtype !== 'I32') {
    data = Int32Array.from(raw.data as Int16Array);
  } else {
    data = raw.data as Float32Array;
  }
  return tensor(data, raw.shape, { dtype, backend: opts.backend });
}

/** Converts a whole state dict (in order) to tensors; on error, frees what was made. */
export function stateDictToTensors(dict: StateDict, opts: ToTensorOptions = {}): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  try {
    for (const [k, v] of dict) out.set(k, rawToTensor(v, opts));
  } catch (e) {
    for (const t of out.values()) t.dispose();
    throw e;
  }
  return out;
}

const STORED_OF: Record<DType, StoredDType> = {
  float32: 'F32',
  float16: 'F16',
  int32: 'I32',
  int64: 'I64',
  uint8: 'U8',
  bool: 'BOOL',
};

/** Reads tensors back into a state dict (for writing safetensors). */
export async function tensorsToStateDict(tensors: ReadonlyMap<string, Tensor> | Record<string, Tensor>): Promise<StateDict> {
  const entries: [string, Tensor][] = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const out: StateDict = new Map();
  for (const [k, t] of entries) {
    if (t.isDisposed) throw new CheckpointError(`tensor '${k}' was disposed`);
    out.set(k, { dtype: STORED_OF[t.dtype], shape: t.shape.slice(), data: await t.data() });
  }
  return out;
}
