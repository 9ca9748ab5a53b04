import { type DType, type Tensor, dispose, fmtShape, keep, shapesEqual, tensor } from '@tubelet/core';

/** A named tensor as found in a checkpoint (shape and dtype are all loading needs to check). */
export interface StateEntry {
  shape: readonly number[];
  dtype: DType | string;
}

/** Thrown when a state dict does not fit a model; lists every offending key by name. */
export class StateDictError extends Error {
  constructor(
    readonly missing: string[],
    readonly unexpected: string[],
    readonly mismatched: { key: string; expected: readonly number[]; got: readonly number[] }[],
    /** Optional extra sentence (e.g. a hint about what the checkpoint looks like). */
    readonly hint?: string,
  ) {
    const parts: string[] = [];
    const list = (xs: string[]) => xs.slice(0, 8).join(', ') + (xs.length > 8 ? `, … (${xs.length} in all)` : '');
    if (missing.length) parts.push(`missing keys: ${list(missing)}`);
    if (unexpected.length) parts.push(`unexpected keys: ${list(unexpected)}`);
    if (mismatched.length) parts.push(`shape mismatches: ${list(mismatched.map((m) => `${m.key} expects ${fmtShape(m.expected)} got ${fmtShape(m.got)}`))}`);
    super(`state dict does not match the model — ${parts.join('; ')}${hint ? ` (${hint})` : ''}`);
    this.name = 'StateDictError';
  }
}

/** Keys that checkpoints carry but inference never uses. */
const IGNORED = /(^|\.)num_batches_tracked$/;

/**
 * How a registered tensor takes part in the state dict:
 * - `param`: a learnable parameter (counted by numParameters(), required when loading);
 * - `buffer`: a persistent buffer inference needs (BatchNorm running stats; required, not counted);
 * - `extra`: a state-dict entry inference never reads (BatchNorm `num_batches_tracked`): listed by
 *   stateDictShapes() so key lists match PyTorch exactly, accepted but not required when loading.
 */
export type EntryKind = 'param' | 'buffer' | 'extra';

/** Initial values for randomInit(): 'auto' picks from the name and shape (see Module.randomInit). */
export type InitKind = 'auto' | 'zeros' | 'ones' | 'normal' | { constant: number };

interface Entry {
  shape: number[];
  kind: EntryKind;
  dtype: DType;
  init: InitKind;
  tensor: Tensor | null;
}

/** Deterministic uniform [0, 1) stream (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Base of every building block: named parameters, buffers and child modules, PyTorch-style dotted
 * names in PyTorch's state_dict order (a module's own entries first, then its children in
 * registration order), strict state-dict checks and one dispose() for all weights.
 */
export abstract class Module {
  readonly #params = new Map<string, Entry>();
  readonly #children = new Map<string, Module>();

  /** Registers a learnable parameter. */
  protected param(name: string, shape: number[], init: InitKind = 'auto'): void {
    this.#params.set(name, { shape, kind: 'param', dtype: 'float32', init, tensor: null });
  }

  /** Registers a persistent buffer that inference reads (e.g. BatchNorm running_mean / running_var). */
  protected buffer(name: string, shape: number[], init: InitKind = 'auto'): void {
    this.#params.set(name, { shape, kind: 'buffer', dtype: 'float32', init, tensor: null });
  }

  /** Registers a state-dict entry that inference never reads (e.g. BatchNorm num_batches_tracked, int64 []). */
  protected extra(name: string, shape: number[], dtype: DType = 'int64'): void {
    this.#params.set(name, { shape, kind: 'extra', dtype, init: 'zeros', tensor: null });
  }

  protected child<M extends Module>(name: string, m: M): M {
    this.#children.set(name, m);
    return m;
  }

  /** The tensor loaded for parameter / buffer `name` (throws if weights were not loaded). */
  protected p(name: string): Tensor {
    const e = this.#params.get(name);
    if (!e || e.kind === 'extra') throw new Error(`${this.constructor.name} has no parameter '${name}'`);
    if (!e.tensor) throw new Error(`parameter '${name}' of ${this.constructor.name} has no weights: call loadWeights() first`);
    return e.tensor;
  }

  protected optionalP(name: string): Tensor | null {
    return this.#params.has(name) ? this.p(name) : null;
  }

  #walk(prefix: string, fn: (key: string, e: Entry) => void): void {
    for (const [n, e] of this.#params) fn(prefix + n, e);
    for (const [n, c] of this.#children) c.#walk(`${prefix}${n}.`, fn);
  }

  /** Every tensor loadWeights() needs (parameters and buffers) with its dotted name and shape, in state_dict order. */
  parameterShapes(prefix = ''): Map<string, number[]> {
    const out = new Map<string, number[]>();
    this.#walk(prefix, (k, e) => {
      if (e.kind !== 'extra') out.set(k, e.shape);
    });
    return out;
  }

  /** Every state_dict entry PyTorch would write (parameters, buffers and extras such as num_batches_tracked), in order. */
  stateDictShapes(prefix = ''): Map<string, number[]> {
    const out = new Map<string, number[]>();
    this.#walk(prefix, (k, e) => out.set(k, e.shape));
    return out;
  }

  /** The kind of every state_dict entry. */
  stateDictKinds(prefix = ''): Map<string, EntryKind> {
    const out = new Map<string, EntryKind>();
    this.#walk(prefix, (k, e) => out.set(k, e.kind));
    return out;
  }

  /** Learnable parameters only (PyTorch's `sum(p.numel() for p in model.parameters())`; buffers excluded). */
  numParameters(): number {
    let n = 0;
    this.#walk('', (_k, e) => {
      if (e.kind === 'param') n += e.shape.reduce((a, b) => a * b, 1);
    });
    return n;
  }

  /** Elements in buffers (BatchNorm running statistics), extras excluded. */
  numBufferElements(): number {
    let n = 0;
    this.#walk('', (_k, e) => {
      if (e.kind === 'buffer') n += e.shape.reduce((a, b) => a * b, 1);
    });
    return n;
  }

  /**
   * Checks keys and shapes strictly; throws StateDictError naming every problem. Extras
   * (num_batches_tracked) and any `…num_batches_tracked` key are accepted and not required.
   */
  checkStateDict(entries: ReadonlyMap<string, StateEntry>, hint?: (missing: string[], unexpected: string[]) => string | undefined): void {
    const want = this.parameterShapes();
    const kinds = this.stateDictKinds();
    const missing = [...want.keys()].filter((k) => !entries.has(k));
    const unexpected = [...entries.keys()].filter((k) => !want.has(k) && kinds.get(k) !== 'extra' && !IGNORED.test(k));
    const mismatched = [...want]
      .filter(([k, s]) => entries.has(k) && !shapesEqual(entries.get(k)!.shape, s))
      .map(([key, expected]) => ({ key, expected, got: entries.get(key)!.shape }));
    if (missing.length || unexpected.length || mismatched.length) throw new StateDictError(missing, unexpected, mismatched, hint?.(missing, unexpected));
  }

  /**
   * Takes ownership of the given tensors as this module's weights (after a strict check). Tensors
   * for keys the module does not read (num_batches_tracked) are disposed, since they are owned too.
   */
  loadWeights(tensors: ReadonlyMap<string, Tensor>): void {
    this.checkStateDict(tensors);
    const used = new Set<Tensor>();
    this.#assign(tensors, '', used);
    for (const t of tensors.values()) if (!used.has(t)) t.dispose();
  }

  #assign(tensors: ReadonlyMap<string, Tensor>, prefix: string, used: Set<Tensor>): void {
    for (const [n, e] of this.#params) {
      if (e.kind === 'extra') continue;
      const t = tensors.get(prefix + n)!;
      if (e.tensor !== t) e.tensor?.dispose();
      e.tensor = t;
      used.add(t);
    }
    for (const [n, c] of this.#children) c.#assign(tensors, `${prefix}${n}.`, used);
  }

  /** True when every parameter and buffer holds a tensor. */
  get isLoaded(): boolean {
    let ok = true;
    this.#walk('', (_k, e) => {
      if (e.kind !== 'extra' && (!e.tensor || e.tensor.isDisposed)) ok = false;
    });
    return ok;
  }

  /** The loaded tensors by dotted name (the module keeps ownership: do not dispose them). */
  namedTensors(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    this.#walk('', (k, e) => {
      if (e.tensor) out.set(k, e.tensor);
    });
    return out;
  }

  /**
   * Loads deterministic random weights (for users without a checkpoint, benchmarks and tests).
   * 'auto': tensors of rank ≥ 2 ~ N(0, 1/fan_in) with fan_in = prod(shape[1:]); rank-1 `weight`
   * (norm scales), `running_var` and layer-scale `gamma*` = 1; other rank-1 tensors (biases,
   * running_mean) = 0. Values are float32 on `backend` (default: the current backend).
   */
  randomInit(seed = 0, opts: { backend?: string } = {}): void {
    const next = rng(seed);
    const normal = () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
    const made = new Map<string, Tensor>();
    try {
      this.#walk('', (k, e) => {
        if (e.kind === 'extra') return;
        const n = e.shape.reduce((a, b) => a * b, 1);
        const v = new Float32Array(n);
        let init = e.init;
        if (init === 'auto') {
          const leaf = k.slice(k.lastIndexOf('.') + 1);
          if (e.shape.length >= 2 && !leaf.startsWith('gamma')) init = 'normal';
          else if (leaf === 'weight' || leaf === 'running_var' || leaf.startsWith('gamma')) init = 'ones';
          else init = 'zeros';
        }
        if (init === 'ones') v.fill(1);
        else if (init === 'normal') {
          const std = 1 / Math.sqrt(Math.max(1, e.shape.slice(1).reduce((a, b) => a * b, 1)));
          for (let i = 0; i < n; i++) v[i] = normal() * std;
        } else if (typeof init === 'object') v.fill(init.constant);
        made.set(k, keep(tensor(v, e.shape, { backend: opts.backend })));
      });
    } catch (err) {
      dispose(made);
      throw err;
    }
    this.loadWeights(made);
  }

  /** Frees every weight tensor. */
  dispose(): void {
    for (const e of this.#params.values()) {
      dispose(e.tensor);
      e.tensor = null;
    }
    for (const c of this.#children.values()) c.dispose();
  }
}
