import { getBackendName, initBackend, registerBackend, removeBackend, setBackend } from '../backend';
import { type DType, isDType } from '../dtype';
import { checkShape } from '../shape';
import { Scope, Tensor, wrapHandle } from '../tensor';
import { TRACE_PRIORITY, TraceBackend } from './backend';
import type { TracedGraph, TracedOutput } from './graph';

/** A graph input: traceGraph creates a placeholder tensor of this shape (default dtype float32). */
export interface TraceInputSpec {
  name: string;
  shape: readonly number[];
  dtype?: DType;
}

/** A parameter passed by shape only (no tensor, no values): enough for reports. */
export interface ParamSpec {
  shape: readonly number[];
  dtype?: DType;
}

export type TraceParams = Record<string, Tensor | ParamSpec> | ReadonlyMap<string, Tensor | ParamSpec>;

/** What the traced function gets after its input tensors. */
export interface TraceContext {
  /** The `params` of the options, re-created on the trace backend as named constants, in the same order. */
  params: Map<string, Tensor>;
  /** Name of this trace's backend (for `tensor(..., { backend })`). */
  backend: string;
}

export type TraceResult = Tensor | readonly Tensor[] | Record<string, Tensor> | ReadonlyMap<string, Tensor>;

type InputTensors<I extends readonly unknown[]> = { [K in keyof I]: Tensor };

/**
 * The traced function: called with one placeholder tensor per input spec, then a TraceContext.
 * With a literal input list the parameters are typed positionally; otherwise loosely.
 */
export type TraceFn<I extends readonly TraceInputSpec[]> = number extends I['length']
  ? (...args: any[]) => TraceResult | Promise<TraceResult>
  : (...args: [...InputTensors<I>, TraceContext]) => TraceResult | Promise<TraceResult>;

export interface TraceOptions {
  /**
   * Named parameters to move onto the trace backend as named constants (the originals are not
   * touched); the traced function receives them as `ctx.params`. A Tensor entry may live on any
   * backend: its values are read (await t.data()) only with keepValues. A `{ shape, dtype }`
   * entry needs no tensor at all (e.g. from `model.parameterShapes()`).
   */
  params?: TraceParams;
  /** Keep copies of constant values in the graph (for ONNX export). Default false. */
  keepValues?: boolean;
  /**
   * Make the trace backend the current backend while `fn` runs, so tensors it creates without
   * naming a backend are recorded too (default true). The previous backend is restored.
   */
  makeCurrent?: boolean;
}

let traceCount = 0;

function entriesOf(p: TraceParams | undefined): [string, Tensor | ParamSpec][] {
  if (!p) return [];
  return p instanceof Map ? [...(p as ReadonlyMap<string, Tensor | ParamSpec>)] : Object.entries(p);
}

function collectOutputs(result: unknown): [string, Tensor][] {
  const bad = () =>
    new TypeError(`traceGraph: the traced function must return a Tensor, an array of Tensors or an object / Map of Tensors, got ${result === null ? 'null' : typeof result}`);
  if (result instanceof Tensor) return [['output', result]];
  let entries: [string, unknown][];
  if (Array.isArray(result)) entries = result.map((t, i) => [`output_${i}`, t]);
  else if (result instanceof Map) entries = [...result].map(([k, v]) => [String(k), v]);
  else if (result !== null && typeof result === 'object' && Object.getPrototypeOf(result) === Object.prototype) entries = Object.entries(result);
  else throw bad();
  if (entries.length === 0) throw new TypeError('traceGraph: the traced function returned no tensors');
  for (const [name, t] of entries) if (!(t instanceof Tensor)) throw new TypeError(`traceGraph: output '${name}' is not a Tensor`);
  return entries as [string, Tensor][];
}

/**
 * Traces `fn` on a fresh trace backend and returns the recorded op graph.
 *
 * - Registers an isolated TraceBackend under a unique name (`trace:<n>`) for the duration of the
 *   call (so traces never mix) and, unless `makeCurrent: false`, makes it the current backend
 *   while `fn` runs; afterwards the previous backend is restored and the instance removed.
 * - Creates the named `params` as constants first, then one placeholder per input spec, and calls
 *   `fn(...inputs, ctx)` inside a cleanup scope. Nothing is computed: shapes come from the op
 *   descriptors, so no kernels of any other backend are needed.
 * - Records the returned tensors as outputs (a single tensor is named `output`, array entries
 *   `output_<i>`, object / Map entries by key), then disposes every tensor of the trace, so the
 *   backend's memory counters are back to zero.
 *
 * Not re-entrant with other code creating tensors concurrently (it uses a cleanup scope and the
 * current-backend setting across awaits, like tidyAsync()).
 */
export async function traceGraph<const I extends readonly TraceInputSpec[]>(fn: TraceFn<I>, inputs: I, opts: TraceOptions = {}): Promise<TracedGraph> {
  const specs = inputs.map((s, i) => {
    if (!s || typeof s.name !== 'string' || s.name === '') throw new TypeError(`traceGraph: input ${i} needs a non-empty name`);
    const dtype = s.dtype ?? 'float32';
    if (!isDType(dtype)) throw new TypeError(`traceGraph: input '${s.name}' has an unknown dtype '${String(dtype)}'`);
    return { name: s.name, shape: checkShape(s.shape as number[], `traceGraph: input '${s.name}' shape`), dtype };
  });
  const seen = new Set<string>();
  for (const s of specs) {
    if (seen.has(s.name)) throw new TypeError(`traceGraph: input name '${s.name}' is used twice`);
    seen.add(s.name);
  }
  const params = entriesOf(opts.params).map(([name, p]) => {
    if (p instanceof Tensor) {
      if (p.isDisposed) throw new Error(`traceGraph: param '${name}' (${p.toString()}) was disposed`);
      return { name, shape: p.shape.slice(), dtype: p.dtype, tensor: p };
    }
    if (!p || typeof p !== 'object') throw new TypeError(`traceGraph: param '${name}' must be a Tensor or { shape, dtype? }`);
    const dtype = p.dtype ?? 'float32';
    if (!isDType(dtype)) throw new TypeError(`traceGraph: param '${name}' has an unknown dtype '${String(dtype)}'`);
    return { name, shape: checkShape(p.shape as number[], `traceGraph: param '${name}' shape`), dtype, tensor: null };
  });

  const keepValues = opts.keepValues ?? false;
  // Read parameter values before opening the scope / switching backends.
  const values = keepValues ? await Promise.all(params.map((p) => p.tensor?.data())) : [];

  const name = `trace:${++traceCount}`;
  const backend = new TraceBackend(name, { keepValues });
  registerBackend(name, () => backend, TRACE_PRIORITY);
  await initBackend(name);
  const makeCurrent = opts.makeCurrent ?? true;
  let previous: string | null = null;
  if (makeCurrent) {
    try {
      previous = getBackendName();
    } catch {
      previous = null;
    }
    await setBackend(name);
  }

  const scope = new Scope();
  let outputs: TracedOutput[] = [];
  let result: unknown;
  try {
    const moved = new Map<string, Tensor>();
    params.forEach((p, i) => {
      const id = backend.addConstant(p.shape, p.dtype, { name: p.name, values: values[i] });
      moved.set(p.name, wrapHandle(backend, id, p.shape, p.dtype));
    });
    const tensors = specs.map((s) => wrapHandle(backend, backend.addInput(s.name, s.shape, s.dtype), s.shape, s.dtype));
    result = await (fn as (...args: unknown[]) => unknown)(...tensors, { params: moved, backend: name } satisfies TraceContext);
    outputs = collectOutputs(result).map(([oname, t]) => {
      if (t.isDisposed) throw new Error(`traceGraph: output '${oname}' (tensor #${t.id}) was disposed before it was returned`);
      if (t.backend !== name) {
        throw new Error(`traceGraph: output '${oname}' (${t.describe()}) lives on backend '${t.backend}', not the trace backend '${name}'; create every tensor of the traced function on the trace backend`);
      }
      return { name: oname, valueId: t.storage.handle as number, shape: t.shape.slice(), dtype: t.dtype };
    });
  } finally {
    scope.end();
    // outputs created outside our scope (none normally) are still ours to free
    if (result !== undefined) {
      try {
        for (const [, t] of collectOutputs(result)) if (!t.isDisposed && t.backend === name) t.dispose();
      } catch {
        // an invalid result was already reported
      }
    }
    if (makeCurrent && previous !== null && previous !== name) {
      try {
        await setBackend(previous);
      } catch {
        // the previous backend went away meanwhile; removeBackend below clears the selection
      }
    }
    removeBackend(name);
  }
  const graph = backend.graph(outputs);
  const leaked = backend.liveValueIds();
  if (leaked.length) graph.leaked = leaked;
  return graph;
}
