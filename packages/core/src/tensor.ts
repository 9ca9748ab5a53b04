import { type Backend, getBackend, initBackend } from './backend';
import {
  BYTES_PER_ELEMENT,
  type DType,
  type DTypeArrayMap,
  type TypedArray,
  allocArray,
  arrayMatchesDType,
  dtypeOfArray,
  f32ToF16Bits,
  isDType,
} from './dtype';
import { type Shape, checkShape, fmtShape, sizeOf } from './shape';

/** A backend buffer shared by one or more tensors (views such as reshape share it). */
export class Storage {
  refs = 1;
  constructor(
    readonly backend: Backend,
    readonly handle: unknown,
    readonly bytes: number,
  ) {
    const m = counters(backend.name);
    m.numStorages++;
    m.numBytes += bytes;
  }

  retain(): this {
    this.refs++;
    return this;
  }

  release(): void {
    if (--this.refs > 0) return;
    const m = counters(this.backend.name);
    m.numStorages--;
    m.numBytes -= this.bytes;
    this.backend.release(this.handle);
  }
}

export interface MemoryInfo {
  /** Live (undisposed) tensors. */
  numTensors: number;
  /** Live backend buffers (several tensors may share one). */
  numStorages: number;
  /** Bytes held by live buffers. */
  numBytes: number;
}

const memoryByBackend = new Map<string, MemoryInfo>();

function counters(backend: string): MemoryInfo {
  let m = memoryByBackend.get(backend);
  if (!m) memoryByBackend.set(backend, (m = { numTensors: 0, numStorages: 0, numBytes: 0 }));
  return m;
}

/** Live tensor / buffer / byte counts of one backend (default: the current one), or of all backends summed. */
export function memory(backend?: string | 'all'): MemoryInfo {
  if (backend === 'all') {
    const sum = { numTensors: 0, numStorages: 0, numBytes: 0 };
    for (const m of memoryByBackend.values()) {
      sum.numTensors += m.numTensors;
      sum.numStorages += m.numStorages;
      sum.numBytes += m.numBytes;
    }
    return sum;
  }
  return { ...counters(backend ?? getBackend().name) };
}

let nextId = 1;

/** An n-dimensional array living on one backend. Create with `tensor()`, free with `dispose()`. */
export class Tensor<D extends DType = DType> {
  readonly id = nextId++;
  readonly shape: readonly number[];
  readonly size: number;
  #storage: Storage | null;

  /** @internal use tensor(), zeros() or ops; this wraps an existing storage. */
  constructor(
    storage: Storage,
    shape: Shape,
    readonly dtype: D,
  ) {
    this.#storage = storage;
    this.shape = Object.freeze(shape.slice());
    this.size = sizeOf(shape);
    counters(storage.backend.name).numTensors++;
    track(this);
  }

  get rank(): number {
    return this.shape.length;
  }

  get isDisposed(): boolean {
    return this.#storage === null;
  }

  /** The backend instance this tensor lives on. */
  get backendInstance(): Backend {
    return this.storage.backend;
  }

  /** The name of the backend this tensor lives on. */
  get backend(): string {
    return this.storage.backend.name;
  }

  /** @internal */
  get storage(): Storage {
    if (!this.#storage) throw new Error(`${this.describe()} was disposed and cannot be used`);
    return this.#storage;
  }

  /** A short description for error messages, e.g. `tensor #12 float32[2, 3]`. */
  describe(): string {
    return `tensor #${this.id} ${this.dtype}${fmtShape(this.shape)}`;
  }

  /** Asynchronous readback: a fresh host copy of the values (row-major). */
  async data(): Promise<DTypeArrayMap[D]> {
    const s = this.storage;
    return (await s.backend.read(s.handle, this.dtype, this.size)) as DTypeArrayMap[D];
  }

  /** Synchronous readback; only backends that hold data on the host (cpu) support it. */
  dataSync(): DTypeArrayMap[D] {
    const s = this.storage;
    if (!s.backend.readSync) {
      throw new Error(`${this.describe()} lives on '${s.backend.name}', which has no synchronous readback: use await t.data()`);
    }
    return s.backend.readSync(s.handle, this.dtype, this.size) as DTypeArrayMap[D];
  }

  /** Values as a plain number array (int64 converted with Number()). */
  async toArray(): Promise<number[]> {
    const d = await this.data();
    return Array.from(d as ArrayLike<number | bigint>, Number);
  }

  /** Explicit move (copy) to another backend; the source tensor stays valid. */
  async to(backend: string): Promise<Tensor<D>> {
    const target = await initBackend(backend);
    if (target === this.storage.backend) return this.clone();
    const values = await this.data();
    return fromHost(values, this.shape, this.dtype, target);
  }

  /** A new tensor sharing this one's storage (freed when both are disposed). */
  clone(): Tensor<D> {
    return new Tensor(this.storage.retain(), this.shape, this.dtype);
  }

  dispose(): void {
    const s = this.#storage;
    if (!s) return;
    this.#storage = null;
    counters(s.backend.name).numTensors--;
    untrack(this);
    s.release();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  toString(): string {
    return this.isDisposed ? `Tensor(#${this.id}, disposed)` : `Tensor(${this.describe()}, ${this.backend})`;
  }
}

function fromHost<D extends DType>(values: TypedArray, shape: Shape, dtype: D, backend: Backend): Tensor<D> {
  const handle = backend.write(values, dtype, shape);
  return new Tensor(new Storage(backend, handle, sizeOf(shape) * BYTES_PER_ELEMENT[dtype]), shape, dtype);
}

// ---------------------------------------------------------------------------------------------
// Creation

export interface CreateOptions<D extends DType = DType> {
  dtype?: D;
  /** Backend name (default: the current backend). */
  backend?: string;
}

type NestedNumbers = number | boolean | bigint | NestedNumbers[];

function inferShape(v: NestedNumbers): number[] {
  const shape: number[] = [];
  let x: NestedNumbers = v;
  while (Array.isArray(x)) {
    shape.push(x.length);
    x = x[0] as NestedNumbers;
  }
  return shape;
}

function toHostArray(values: ArrayLike<number | bigint | boolean>, dtype: DType, size: number): TypedArray {
  if (values.length !== size) throw new Error(`tensor(): ${values.length} values do not fill a shape of ${size} elements`);
  const out = allocArray(dtype, size);
  for (let i = 0; i < size; i++) {
    const v = values[i]!;
    if (dtype === 'int64') (out as BigInt64Array)[i] = typeof v === 'bigint' ? v : BigInt(Math.trunc(Number(v)));
    else if (dtype === 'float16') (out as Uint16Array)[i] = f32ToF16Bits(Number(v));
    else if (dtype === 'bool') (out as Uint8Array)[i] = v ? 1 : 0;
    else (out as Float32Array)[i] = Number(v);
  }
  return out;
}

/**
 * Creates a tensor from host values: a typed array (Float32Array → float32, Int32Array → int32,
 * BigInt64Array → int64, Uint8Array → uint8, Uint16Array → float16 bits), a flat array with a
 * shape, or a nested array. The values are copied; the caller's array is never kept or mutated.
 */
export function tensor(values: Int32Array, shape?: Shape, opts?: CreateOptions<'int32'>): Tensor<'int32'>;
export function tensor(values: BigInt64Array, shape?: Shape, opts?: CreateOptions<'int64'>): Tensor<'int64'>;
export function tensor<D extends DType = 'float32'>(values: TypedArray | NestedNumbers | ArrayLike<number>, shape?: Shape, opts?: CreateOptions<D>): Tensor<D>;
export function tensor<D extends DType = 'float32'>(
  values: TypedArray | NestedNumbers | ArrayLike<number>,
  shape?: Shape,
  opts: CreateOptions<D> = {},
): Tensor<D> {
  const backend = getBackend(opts.backend);
  if (opts.dtype !== undefined && !isDType(opts.dtype)) throw new TypeError(`tensor(): unknown dtype '${String(opts.dtype)}'`);
  if (ArrayBuffer.isView(values)) {
    const dtype = (opts.dtype ?? dtypeOfArray(values as ArrayBufferView)) as D;
    const shp = shape ? checkShape(shape) : [(values as TypedArray).length];
    const size = sizeOf(shp);
    if ((values as TypedArray).length !== size) {
      throw new Error(`tensor(): ${(values as TypedArray).length} values do not match shape ${fmtShape(shp)} (${size} elements)`);
    }
    const host = arrayMatchesDType(values, dtype) ? (values as TypedArray) : toHostArray(values as ArrayLike<number>, dtype, size);
    return fromHost(host, shp, dtype, backend);
  }
  const dtype = (opts.dtype ?? 'float32') as D;
  const shp = shape ? checkShape(shape) : inferShape(values as NestedNumbers);
  const flat = Array.isArray(values) ? (values as NestedNumbers[]).flat(Infinity as 1) : typeof values === 'object' ? Array.from(values as ArrayLike<number>) : [values];
  return fromHost(toHostArray(flat as ArrayLike<number>, dtype, sizeOf(shp)), shp, dtype, backend);
}

export function scalar<D extends DType = 'float32'>(value: number | bigint | boolean, opts: CreateOptions<D> = {}): Tensor<D> {
  return tensor([value as number], [], opts);
}

export function full<D extends DType = 'float32'>(shape: Shape, value: number | bigint | boolean, opts: CreateOptions<D> = {}): Tensor<D> {
  const dtype = (opts.dtype ?? 'float32') as D;
  const shp = checkShape(shape);
  const n = sizeOf(shp);
  const host = allocArray(dtype, n);
  if (value !== 0) {
    const one = toHostArray([value as number], dtype, 1);
    (host as Float32Array).fill((one as Float32Array)[0]!);
  }
  return fromHost(host, shp, dtype, getBackend(opts.backend));
}

export function zeros<D extends DType = 'float32'>(shape: Shape, opts: CreateOptions<D> = {}): Tensor<D> {
  return full(shape, 0, opts);
}

export function ones<D extends DType = 'float32'>(shape: Shape, opts: CreateOptions<D> = {}): Tensor<D> {
  return full(shape, 1, opts);
}

/** @internal wraps kernel output handles as tensors. */
export function wrapHandle<D extends DType>(backend: Backend, handle: unknown, shape: Shape, dtype: D, share?: Storage): Tensor<D> {
  const storage = share ? share.retain() : new Storage(backend, handle, sizeOf(shape) * BYTES_PER_ELEMENT[dtype]);
  return new Tensor(storage, shape, dtype);
}

// ---------------------------------------------------------------------------------------------
// Scoped cleanup

class ScopeFrame {
  readonly tensors = new Set<Tensor>();
}
const scopes: ScopeFrame[] = [];
const kept = new WeakSet<Tensor>();

function track(t: Tensor): void {
  scopes[scopes.length - 1]?.tensors.add(t);
}
function untrack(t: Tensor): void {
  scopes[scopes.length - 1]?.tensors.delete(t);
}

function collectTensors(value: unknown, out: Set<Tensor>, seen = new Set<unknown>()): void {
  if (value instanceof Tensor) {
    out.add(value);
    return;
  }
  if (value === null || typeof value !== 'object' || seen.has(value) || ArrayBuffer.isView(value)) return;
  seen.add(value);
  if (Array.isArray(value)) for (const v of value) collectTensors(v, out, seen);
  else if (value instanceof Map) for (const v of value.values()) collectTensors(v, out, seen);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collectTensors(v, out, seen);
}

/** A cleanup scope: tensors created while it is the innermost open scope are disposed when it ends. */
export class Scope implements Disposable {
  #frame = new ScopeFrame();
  #open = true;

  constructor() {
    scopes.push(this.#frame);
  }

  /**
   * Ends the scope: disposes what it created except tensors reachable from `result` (tensors,
   * arrays, plain objects, Maps) and tensors passed to keep(); those move to the enclosing scope.
   */
  end<T>(result?: T): T {
    if (!this.#open) return result as T;
    this.#open = false;
    const i = scopes.lastIndexOf(this.#frame);
    if (i >= 0) scopes.splice(i, 1);
    const survivors = new Set<Tensor>();
    collectTensors(result, survivors);
    const parent = scopes[scopes.length - 1];
    for (const t of this.#frame.tensors) {
      if (survivors.has(t) || kept.has(t)) parent?.tensors.add(t);
      else t.dispose();
    }
    this.#frame.tensors.clear();
    return result as T;
  }

  [Symbol.dispose](): void {
    this.end();
  }
}

/** Runs `fn` in a scope; every tensor it creates is disposed afterwards unless returned or kept. */
export function tidy<T>(fn: () => T): T {
  const s = new Scope();
  try {
    const r = fn();
    if (r instanceof Promise) throw new Error('tidy() got an async function: use tidyAsync()');
    return s.end(r);
  } catch (e) {
    s.end();
    throw e;
  }
}

/**
 * Async form of tidy(). Tensors are attributed to the innermost open scope, so do not run two
 * tidyAsync() scopes concurrently (sequential awaits inside one are fine).
 */
export async function tidyAsync<T>(fn: () => Promise<T>): Promise<T> {
  const s = new Scope();
  try {
    return s.end(await fn());
  } catch (e) {
    s.end();
    throw e;
  }
}

/** Exempts a tensor from disposal by the scopes it was created in. */
export function keep<T extends Tensor>(t: T): T {
  kept.add(t);
  return t;
}

/** Disposes every tensor found in `value` (a tensor, array, plain object or Map of tensors). */
export function dispose(value: unknown): void {
  const s = new Set<Tensor>();
  collectTensors(value, s);
  for (const t of s) t.dispose();
}
