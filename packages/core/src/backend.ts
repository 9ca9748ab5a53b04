import type { DType, TypedArray } from './dtype';
import type { Shape } from './shape';

/** What a kernel sees of one input tensor: the backend's handle plus metadata. */
export interface TensorInfo {
  readonly handle: unknown;
  readonly shape: Shape;
  readonly dtype: DType;
  readonly size: number;
}

/** An output a kernel must produce; `shape` was inferred by the op descriptor (dynamic-shape ops set it). */
export interface OutputSpec {
  shape: number[];
  dtype: DType;
}

export interface KernelContext<A = unknown, B extends Backend = Backend> {
  readonly op: string;
  readonly backend: B;
  /** Inputs in descriptor order; an omitted optional input is null. */
  readonly inputs: readonly (TensorInfo | null)[];
  readonly attrs: A;
  /** Inferred outputs. Kernels of dynamic-shape ops overwrite `shape` with the real one. */
  readonly outputs: OutputSpec[];
}

/**
 * A kernel returns one backend handle per output. Returning an input's handle makes the
 * output share that input's storage (reshape, identity). Only ops declared `async` may return
 * a Promise.
 */
export type KernelFn<A = any, B extends Backend = any> = (
  ctx: KernelContext<A, B>,
) => unknown[] | Promise<unknown[]>;

/** A compute backend: memory plus a table of kernels keyed by op name. */
export interface Backend {
  readonly name: string;
  /** Copies host values into a new backend buffer and returns its handle. Must not keep `values`. */
  write(values: TypedArray, dtype: DType, shape: Shape): unknown;
  /** Asynchronous readback of a whole buffer (a fresh host array). */
  read(handle: unknown, dtype: DType, size: number): Promise<TypedArray>;
  /** Synchronous readback, only where the backend can do it without blocking on a device. */
  readSync?(handle: unknown, dtype: DType, size: number): TypedArray;
  /** Frees a buffer; called once when the last tensor using it is disposed. */
  release(handle: unknown): void;
  /** The kernel for `op`, if this backend has one (beyond those registered with registerKernel). */
  kernel?(op: string): KernelFn | undefined;
  /** Resolves when all submitted work is finished. */
  sync?(): Promise<void>;
  dispose?(): void;
}

/** Thrown by a backend factory when it cannot run here; the message is the reason shown to users. */
export class BackendUnavailableError extends Error {
  constructor(
    readonly backend: string,
    readonly reason: string,
  ) {
    super(`${backend} backend unavailable: ${reason}`);
    this.name = 'BackendUnavailableError';
  }
}

export type BackendFactory = () => Backend | Promise<Backend>;

interface Registration {
  name: string;
  factory: BackendFactory;
  priority: number;
  instance?: Backend;
  pending?: Promise<Backend>;
  error?: Error;
}

const registry = new Map<string, Registration>();
const kernels = new Map<string, Map<string, KernelFn>>();
let current: string | null = null;

/**
 * Registers a backend under `name`. Higher priority wins when no backend was chosen with
 * setBackend. Re-registering a name replaces it (and disposes a live instance).
 */
export function registerBackend(name: string, factory: BackendFactory, priority = 0): void {
  const old = registry.get(name);
  old?.instance?.dispose?.();
  registry.set(name, { name, factory, priority });
}

export function removeBackend(name: string): void {
  const r = registry.get(name);
  r?.instance?.dispose?.();
  registry.delete(name);
  if (current === name) current = null;
}

/** Registers the kernel of `op` on backend `backend` (the typed op/backend table). */
export function registerKernel(op: string, backend: string, fn: KernelFn): void {
  let m = kernels.get(op);
  if (!m) kernels.set(op, (m = new Map()));
  m.set(backend, fn);
}

export function getKernel(op: string, backend: Backend): KernelFn | undefined {
  return kernels.get(op)?.get(backend.name) ?? backend.kernel?.(op);
}

/** Names of ops with a kernel registered for `backend`. */
export function kernelsOf(backend: string): string[] {
  const out: string[] = [];
  for (const [op, m] of kernels) if (m.has(backend)) out.push(op);
  return out.sort();
}

function unknownBackend(name: string): Error {
  const known = [...registry.keys()].join(', ') || 'none';
  return new Error(`unknown backend '${name}' (registered: ${known})`);
}

function instantiate(r: Registration): Backend | Promise<Backend> {
  if (r.instance) return r.instance;
  if (r.error) throw r.error;
  if (r.pending) return r.pending;
  const done = (b: Backend): Backend => {
    r.instance = b;
    r.pending = undefined;
    return b;
  };
  const fail = (e: unknown): never => {
    r.error = e instanceof Error ? e : new Error(String(e));
    r.pending = undefined;
    throw r.error;
  };
  let made: Backend | Promise<Backend>;
  try {
    made = r.factory();
  } catch (e) {
    return fail(e);
  }
  if (made instanceof Promise) return (r.pending = made.then(done, fail));
  return done(made);
}

/** Initialises (once) and returns the backend named `name`. */
export async function initBackend(name: string): Promise<Backend> {
  const r = registry.get(name);
  if (!r) throw unknownBackend(name);
  return instantiate(r);
}

/** Makes `name` the backend new tensors are created on. Throws with the reason when it cannot run here. */
export async function setBackend(name: string): Promise<Backend> {
  const b = await initBackend(name);
  current = name;
  return b;
}

/**
 * The current backend, already initialised. Without setBackend: the highest-priority backend
 * whose factory is synchronous and succeeds (the `cpu` backend is always there).
 */
export function getBackend(name?: string): Backend {
  const pick = name ?? current;
  if (pick) {
    const r = registry.get(pick);
    if (!r) throw unknownBackend(pick);
    if (r.instance) return r.instance;
    const b = instantiate(r);
    if (b instanceof Promise) {
      b.catch(() => undefined);
      throw new Error(`backend '${pick}' initialises asynchronously: await setBackend('${pick}') or initBackend('${pick}') first`);
    }
    return b;
  }
  const ordered = [...registry.values()].sort((a, b) => b.priority - a.priority);
  for (const r of ordered) {
    if (r.instance) return (current = r.name), r.instance;
    if (r.error || r.pending) continue;
    try {
      const b = instantiate(r);
      if (b instanceof Promise) {
        b.catch(() => undefined);
        continue;
      }
      current = r.name;
      return b;
    } catch {
      continue;
    }
  }
  throw new Error('no backend is available (is @tubelet/core loaded twice?)');
}

export function getBackendName(): string {
  return getBackend().name;
}

export interface BackendStatus {
  name: string;
  priority: number;
  available: boolean;
  /** Why it is unavailable (absent when available). */
  reason?: string;
  current: boolean;
}

/** Tries every registered backend and reports which can run here and, if not, why. */
export async function backendReport(): Promise<BackendStatus[]> {
  const out: BackendStatus[] = [];
  for (const r of [...registry.values()].sort((a, b) => b.priority - a.priority)) {
    try {
      await instantiate(r);
      out.push({ name: r.name, priority: r.priority, available: true, current: current === r.name });
    } catch (e) {
      const reason = e instanceof BackendUnavailableError ? e.reason : e instanceof Error ? e.message : String(e);
      out.push({ name: r.name, priority: r.priority, available: false, reason, current: false });
    }
  }
  return out;
}

export function registeredBackends(): string[] {
  return [...registry.keys()];
}
