/**
 * The globals a torch state-dict pickle may name, and the stand-ins they resolve to. Anything else is refused,
 * so a checkpoint can never make tubelet run code.
 */
import { f16BitsToF32 } from '../dtype';
import { PyDict, PyGlobal, isTuple } from './pickle';
import { type StoredDType } from './types';

/** A storage named by a persistent id; its bytes are attached once the container has been read. */
export class Storage {
  bytes: Uint8Array | null = null;
  /** True when `bytes` is a private buffer, so a tensor covering all of it may adopt it without copying. */
  owned = false;
  /** How many loaded tensors read this storage. */
  users = 0;
  constructor(
    readonly key: string,
    readonly dtype: StoredDType,
    readonly numel: number,
  ) {}
}

/** A window of a storage in elements (legacy files may pickle storage views; otherwise the whole storage). */
export class StorageView {
  constructor(
    readonly storage: Storage,
    readonly offset: number,
    readonly numel: number,
  ) {}
}

/** A tensor as pickled: a strided view of a storage, materialized once the storage bytes are known. */
export class TensorRef {
  constructor(
    readonly view: StorageView,
    readonly offset: number,
    readonly size: readonly number[],
    readonly stride: readonly number[],
  ) {}
}

/** `torch.FloatStorage` and friends: only meaningful inside a storage persistent id. */
export class StorageType extends PyGlobal {
  constructor(
    qualname: string,
    readonly dtype: StoredDType,
  ) {
    super(qualname);
  }
}

/** `numpy.dtype(code, align, copy)`; BUILD sets its byte order. */
class NumpyDType {
  byteorder = '=';
  constructor(readonly code: string) {}

  setState(state: unknown): void {
    if (!isTuple(state) || typeof state[1] !== 'string') throw new Error('unexpected numpy dtype state');
    this.byteorder = state[1];
  }
}

const STORAGE_DTYPES: Record<string, StoredDType> = {
  DoubleStorage: 'F64',
  FloatStorage: 'F32',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
};

export function isIndex(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

function indexTuple(x: unknown, what: string): number[] {
  if (!Array.isArray(x) || !x.every(isIndex)) throw new Error(`${what} must be a tuple of non-negative ints`);
  return [...x];
}

/** `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])` (and v1). */
function rebuildTensor(args: readonly unknown[]): TensorRef {
  const [view, offset, size, stride] = args;
  if (!(view instanceof StorageView)) throw new Error('the first argument is not a storage');
  if (!isIndex(offset)) throw new Error('storage_offset must be a non-negative int');
  const sizes = indexTuple(size, 'size');
  const strides = indexTuple(stride, 'stride');
  if (sizes.length !== strides.length) throw new Error(`size has ${sizes.length} dims but stride has ${strides.length}`);
  return new TensorRef(view, offset, sizes, strides);
}

/** `_rebuild_parameter(data, requires_grad, backward_hooks[, state])`: a Parameter is just its tensor here. */
function rebuildParameter(args: readonly unknown[]): TensorRef {
  if (!(args[0] instanceof TensorRef)) throw new Error('the parameter data is not a tensor');
  return args[0];
}

function orderedDict(args: readonly unknown[]): PyDict {
  const d = new PyDict();
  // Python 2 pickles OrderedDict(items) with the item pairs as the argument.
  for (const pair of (args[0] ?? []) as unknown[]) {
    if (!Array.isArray(pair) || pair.length !== 2) throw new Error('items must be (key, value) pairs');
    d.set(pair[0], pair[1]);
  }
  return d;
}

/** `_codecs.encode(text, 'latin1')`: how protocol 2 pickles Python 3 bytes. */
function codecsEncode(args: readonly unknown[]): Uint8Array {
  const [text, encoding] = args;
  if (typeof text !== 'string' || (encoding !== 'latin1' && encoding !== 'latin-1')) {
    throw new Error('only latin1-encoded bytes are supported');
  }
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff) throw new Error('character out of latin1 range');
    out[i] = c;
  }
  return out;
}

function numpyDType(args: readonly unknown[]): NumpyDType {
  if (typeof args[0] !== 'string') throw new Error('dtype code must be a string');
  return new NumpyDType(args[0]);
}

/** `numpy.core.multiarray.scalar(dtype, bytes)` decoded to a plain number / boolean (e.g. a pickled `max_accuracy`). */
function numpyScalar(args: readonly unknown[]): number | bigint | boolean {
  const [dtype, data] = args;
  if (!(dtype instanceof NumpyDType) || !(data instanceof Uint8Array)) throw new Error('expected (dtype, bytes)');
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const le = dtype.byteorder !== '>';
  const size = Number(dtype.code.slice(1));
  if (data.length !== size) throw new Error(`numpy '${dtype.code}' scalar has ${data.length} bytes`);
  switch (dtype.code) {
    case 'f8':
      return dv.getFloat64(0, le);
    case 'f4':
      return dv.getFloat32(0, le);
    case 'f2':
      return f16BitsToF32(dv.getUint16(0, le));
    case 'i8': {
      const v = dv.getBigInt64(0, le);
      return Number.isSafeInteger(Number(v)) ? Number(v) : v;
    }
    case 'u8': {
      const v = dv.getBigUint64(0, le);
      return Number.isSafeInteger(Number(v)) ? Number(v) : v;
    }
    case 'i4':
      return dv.getInt32(0, le);
    case 'u4':
      return dv.getUint32(0, le);
    case 'i2':
      return dv.getInt16(0, le);
    case 'u2':
      return dv.getUint16(0, le);
    case 'i1':
      return dv.getInt8(0);
    case 'u1':
      return dv.getUint8(0);
    case 'b1':
      return dv.getUint8(0) !== 0;
    default:
      throw new Error(`unsupported numpy scalar type '${dtype.code}'`);
  }
}

function buildAllowlist(): Map<string, PyGlobal> {
  const globals: PyGlobal[] = [
    new PyGlobal('collections.OrderedDict', orderedDict),
    new PyGlobal('torch._utils._rebuild_tensor_v2', rebuildTensor),
    new PyGlobal('torch._utils._rebuild_tensor', rebuildTensor),
    new PyGlobal('torch._utils._rebuild_parameter', rebuildParameter),
    new PyGlobal('torch._utils._rebuild_parameter_with_state', rebuildParameter),
    new PyGlobal('torch.Size', (args) => indexTuple(args[0], 'torch.Size')),
    new PyGlobal('_codecs.encode', codecsEncode),
    new PyGlobal('numpy.dtype', numpyDType),
    new PyGlobal('numpy.core.multiarray.scalar', numpyScalar),
    new PyGlobal('numpy._core.multiarray.scalar', numpyScalar),
    new StorageType('torch.UntypedStorage', 'U8'),
    new StorageType('torch.storage.UntypedStorage', 'U8'),
  ];
  for (const [name, dtype] of Object.entries(STORAGE_DTYPES)) {
    globals.push(new StorageType(`torch.${name}`, dtype), new StorageType(`torch.cuda.${name}`, dtype));
  }
  return new Map(globals.map((g) => [g.qualname, g]));
}

const ALLOWED_GLOBALS = buildAllowlist();

/** Resolves a pickled global against the allowlist; everything else is refused. */
export function resolveTorchGlobal(module: string, name: string): PyGlobal {
  const qualname = `${module}.${name}`;
  const g = ALLOWED_GLOBALS.get(qualname);
  if (!g) {
    throw new Error(
      `forbidden global '${qualname}': tubelet only loads state dicts (tensors, dicts and plain values) and never calls other Python objects`,
    );
  }
  return g;
}

/** A resolver for pickles that may name no globals at all (the legacy header pickles). */
export function refuseGlobal(module: string, name: string): never {
  throw new Error(`forbidden global '${module}.${name}' in a checkpoint header pickle`);
}
