import { type DType, type Tensor, dispose, fmtShape, shapesEqual } from '@tubelet/core';

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
  ) {
    const parts: string[] = [];
    const list = (xs: string[]) => xs.slice(0, 8).join(', ') + (xs.length > 8 ? `, … (${xs.length} in all)` : '');
    if (missing.length) parts.push(`missing keys: ${list(missing)}`);
    if (unexpected.length) parts.push(`unexpected keys: ${list(unexpected)}`);
    if (mismatched.length) parts.push(`shape mismatches: ${list(mismatched.map((m) => `${m.key} expects ${fmtShape(m.expected)} got ${fmtShape(m.got)}`))}`);
    super(`state dict does not match the model — ${parts.join('; ')}`);
    this.name = 'StateDictError';
  }
}

/** Keys that checkpoints carry but inference never uses. */
const IGNORED = /(^|\.)num_batches_tracked$/;

/**
 * Base of every building block: named parameters and child modules, PyTorch-style dotted names,
 * strict state-dict checks and one dispose() for all weights.
 */
export abstract class Module {
  readonly #params = new Map<string, { shape: number[]; tensor: Tensor | null }>();
  readonly #children = new Map<string, Module>();

  protected param(name: string, shape: number[]): void {
    this.#params.set(name, { shape, tensor: null });
  }

  protected child<M extends Module>(name: string, m: M): M {
    this.#children.set(name, m);
    return m;
  }

  /** The tensor loaded for parameter `name` (throws if weights were not loaded). */
  protected p(name: string): Tensor {
    const e = this.#params.get(name);
    if (!e) throw new Error(`${this.constructor.name} has no parameter '${name}'`);
    if (!e.tensor) throw new Error(`parameter '${name}' of ${this.constructor.name} has no weights: call loadWeights() first`);
    return e.tensor;
  }

  protected optionalP(name: string): Tensor | null {
    return this.#params.has(name) ? this.p(name) : null;
  }

  /** Every parameter with its dotted name and expected shape. */
  parameterShapes(prefix = ''): Map<string, number[]> {
    const out = new Map<string, number[]>();
    for (const [n, e] of this.#params) out.set(prefix + n, e.shape);
    for (const [n, c] of this.#children) for (const [k, v] of c.parameterShapes(`${prefix}${n}.`)) out.set(k, v);
    return out;
  }

  numParameters(): number {
    let n = 0;
    for (const s of this.parameterShapes().values()) n += s.reduce((a, b) => a * b, 1);
    return n;
  }

  /** Checks keys and shapes strictly; throws StateDictError naming every problem. */
  checkStateDict(entries: ReadonlyMap<string, StateEntry>): void {
    const want = this.parameterShapes();
    const missing = [...want.keys()].filter((k) => !entries.has(k));
    const unexpected = [...entries.keys()].filter((k) => !want.has(k) && !IGNORED.test(k));
    const mismatched = [...want]
      .filter(([k, s]) => entries.has(k) && !shapesEqual(entries.get(k)!.shape, s))
      .map(([key, expected]) => ({ key, expected, got: entries.get(key)!.shape }));
    if (missing.length || unexpected.length || mismatched.length) throw new StateDictError(missing, unexpected, mismatched);
  }

  /** Takes ownership of the given tensors as this module's weights (after a strict check). */
  loadWeights(tensors: ReadonlyMap<string, Tensor>): void {
    this.checkStateDict(tensors);
    this.#assign(tensors, '');
  }

  #assign(tensors: ReadonlyMap<string, Tensor>, prefix: string): void {
    for (const [n, e] of this.#params) {
      e.tensor?.dispose();
      e.tensor = tensors.get(prefix + n)!;
    }
    for (const [n, c] of this.#children) c.#assign(tensors, `${prefix}${n}.`);
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
