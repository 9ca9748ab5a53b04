import { Scope, type Tensor, keep } from '@tubelet/core';

/** `forward(x, { outputs })`: the named intermediates to return (names are model specific; see each model's outputNames()). */
export interface ForwardOptions {
  outputs: readonly string[];
}

/**
 * Collects named intermediates during a forward pass. A recorded tensor is a clone (it shares the
 * storage, no copy) exempt from tidy() scopes, so the forward may record inside nested tidy()
 * calls and dispose its own reference as soon as it is done with it.
 */
export class OutputRecorder {
  readonly #wanted: Set<string>;
  readonly #order: readonly string[];
  readonly #got = new Map<string, Tensor>();

  constructor(requested: readonly string[], valid: readonly string[], model: string) {
    if (!Array.isArray(requested) || requested.length === 0) throw new Error(`${model}: forward(x, { outputs }) needs at least one output name; valid names: ${valid.join(', ')}`);
    const ok = new Set(valid);
    const bad = requested.filter((n) => !ok.has(n));
    if (bad.length) throw new Error(`${model}: unknown output name${bad.length > 1 ? 's' : ''} ${bad.map((b) => `'${b}'`).join(', ')}; valid names: ${valid.join(', ')}`);
    this.#wanted = new Set(requested);
    this.#order = [...this.#wanted];
  }

  wants(name: string): boolean {
    return this.#wanted.has(name) && !this.#got.has(name);
  }

  /** True when any of the names is still wanted. */
  wantsAny(names: readonly string[]): boolean {
    return names.some((n) => this.wants(n));
  }

  /** Keeps a storage-sharing clone of `t` (exempt from enclosing tidy() scopes) when `name` is wanted. */
  record(name: string, t: Tensor): void {
    if (this.wants(name)) this.#got.set(name, keep(t.clone()));
  }

  /** Frees everything recorded so far (on failure). */
  disposeAll(): void {
    for (const t of this.#got.values()) t.dispose();
    this.#got.clear();
  }

  /** Every requested output has been recorded (the forward can stop early). */
  get done(): boolean {
    return this.#got.size === this.#wanted.size;
  }

  /** The recorded tensors in request order. */
  result(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const n of this.#order) {
      const t = this.#got.get(n);
      if (!t) throw new Error(`internal: output '${n}' was requested but never produced`);
      out.set(n, t);
    }
    return out;
  }
}

/**
 * Runs a forward body with a recorder inside a cleanup scope: every tensor the body creates and
 * does not return is disposed (also when it throws); the recorded outputs survive.
 */
export function collectOutputs(requested: readonly string[], valid: readonly string[], model: string, body: (rec: OutputRecorder) => void): Map<string, Tensor> {
  const rec = new OutputRecorder(requested, valid, model);
  const scope = new Scope();
  try {
    body(rec);
    return scope.end(rec.result());
  } catch (e) {
    rec.disposeAll();
    scope.end();
    throw e;
  }
}

/** Disposes `t` unless it is `keepIt` (the caller's input, which a model never frees). */
export function release(t: Tensor, keepIt?: Tensor): void {
  if (t !== keepIt) t.dispose();
}
