import { type Backend, type KernelContext, type KernelFn, registerBackend, registeredBackends } from '../backend';
import { BYTES_PER_ELEMENT, type DType, type TypedArray } from '../dtype';
import { opCatalogue } from '../op';
import { type Shape, fmtShape, sizeOf } from '../shape';
import { type MemoryInfo, memory } from '../tensor';
import type { TracedConstant, TracedGraph, TracedInput, TracedNode, TracedNodeOutput, TracedOutput, TracedRelease } from './graph';

/** The message `read()` rejects with (tensors on a trace backend have no values). */
export const TRACE_READ_MESSAGE = 'the trace backend records shapes only; values are not computed';

/**
 * Upper bound of the outputs of a data-dependent op: one full shape per output (only the entries
 * where shape inference gave -1 are used).
 */
export type DynamicBound = (ctx: KernelContext) => number[][];

const dynamicBounds = new Map<string, DynamicBound>([
  [
    'nms',
    (ctx) => {
      const K = ctx.inputs[0]?.shape[0] ?? 0;
      const maxOutput = (ctx.attrs as { maxOutput?: number }).maxOutput ?? -1;
      return [[maxOutput >= 0 ? Math.min(K, maxOutput) : K]];
    },
  ],
]);

/**
 * Registers how the trace backend bounds the output shape of a data-dependent (async) op.
 * Without one, every -1 dim is bounded by the element count of the op's largest input.
 */
export function registerDynamicBound(op: string, bound: DynamicBound): void {
  dynamicBounds.set(op, bound);
}

function fallbackBound(ctx: KernelContext): number[][] {
  const n = Math.max(1, ...ctx.inputs.map((i) => (i ? sizeOf(i.shape) : 0)));
  return ctx.outputs.map((o) => o.shape.map((d) => (d < 0 ? n : d)));
}

/** Registration priority of trace backends: never picked as the default backend. */
export const TRACE_PRIORITY = Number.MIN_SAFE_INTEGER;

/** Ops whose output is a view sharing the input's buffer (as the cpu backend does). */
const VIEW_OPS: ReadonlySet<string> = new Set(['reshape']);

type ValueKind = 'input' | 'constant' | 'activation';

interface ValueRecord {
  kind: ValueKind;
  shape: number[];
  dtype: DType;
  bytes: number;
}

export interface TraceBackendOptions {
  /** Keep a private copy of the values written as constants (needed for ONNX export). Default false. */
  keepValues?: boolean;
}

/** Live counts of a trace backend: the core's tensor counters plus the values it has not seen freed. */
export interface TraceMemoryInfo extends MemoryInfo {
  /** Values allocated and not yet released. */
  liveValues: number;
  /** Bytes those values would occupy. */
  liveBytes: number;
}

function bytesOf(shape: Shape, dtype: DType): number {
  return sizeOf(shape) * BYTES_PER_ELEMENT[dtype];
}

function cloneAttrs(attrs: unknown): Record<string, unknown> {
  if (attrs === null || attrs === undefined) return {};
  return structuredClone(attrs) as Record<string, unknown>;
}

/**
 * A backend that computes nothing and records the op graph instead: buffer handles are value ids
 * (numbers), `write()` records a constant, every op runs one generic kernel that records a node
 * with its normalised attributes, inferred output shapes and FLOP estimate, and `release()`
 * records a free event. `read()` rejects.
 *
 * Usually created for you by `traceGraph()` (a fresh, uniquely named instance per trace); an
 * instance can also be registered under a fixed name with `registerTraceBackend()` and used
 * with setBackend(), reading the recording back with `graph()`.
 */
export class TraceBackend implements Backend {
  readonly name: string;
  readonly keepValues: boolean;
  #nextId = 1;
  #values = new Map<number, ValueRecord>();
  #live = new Set<number>();
  #liveBytes = 0;
  #inputs: TracedInput[] = [];
  #constants: TracedConstant[] = [];
  #nodes: TracedNode[] = [];
  #releases: TracedRelease[] = [];
  readonly #kernel: KernelFn = (ctx) => this.#record(ctx);

  constructor(name = 'trace', opts: TraceBackendOptions = {}) {
    this.name = name;
    this.keepValues = opts.keepValues ?? false;
  }

  #newValue(kind: ValueKind, shape: Shape, dtype: DType): number {
    const id = this.#nextId++;
    const bytes = bytesOf(shape, dtype);
    this.#values.set(id, { kind, shape: shape.slice(), dtype, bytes });
    this.#live.add(id);
    this.#liveBytes += bytes;
    return id;
  }

  #idOf(handle: unknown, op: string): number {
    if (typeof handle !== 'number' || !this.#values.has(handle)) {
      throw new Error(`${this.name}: ${op} got a handle (${String(handle)}) that this trace backend did not create`);
    }
    return handle;
  }

  /** Records a constant from host values (copied only with keepValues). */
  write(values: TypedArray, dtype: DType, shape: Shape): number {
    return this.addConstant(shape, dtype, { values });
  }

  /**
   * Records a constant without going through host values: `values` (if given) are copied only
   * when the backend keeps values. Returns the value id, to wrap as a tensor.
   */
  addConstant(shape: Shape, dtype: DType, opts: { name?: string; values?: TypedArray } = {}): number {
    const id = this.#newValue('constant', shape, dtype);
    const c: TracedConstant = { valueId: id, shape: shape.slice(), dtype };
    if (opts.name !== undefined) c.name = opts.name;
    if (this.keepValues && opts.values) c.values = opts.values.slice() as TypedArray;
    this.#constants.push(c);
    return id;
  }

  /** Records a graph input placeholder. Returns the value id. */
  addInput(name: string, shape: Shape, dtype: DType): number {
    const id = this.#newValue('input', shape, dtype);
    this.#inputs.push({ name, valueId: id, shape: shape.slice(), dtype });
    return id;
  }

  async read(): Promise<TypedArray> {
    throw new Error(TRACE_READ_MESSAGE);
  }

  release(handle: unknown): void {
    if (typeof handle !== 'number' || !this.#live.has(handle)) return;
    this.#live.delete(handle);
    this.#liveBytes -= this.#values.get(handle)!.bytes;
    this.#releases.push({ valueId: handle, afterNode: this.#nodes.length });
  }

  /** The same generic recording kernel for every op. */
  kernel(): KernelFn {
    return this.#kernel;
  }

  async sync(): Promise<void> {}

  #record(ctx: KernelContext): number[] {
    const op = ctx.op;
    const inputs = ctx.inputs.map((i) => (i ? this.#idOf(i.handle, op) : null));
    const declared = ctx.outputs.map((o) => o.shape.slice());
    const isDyn = declared.map((s) => s.some((d) => d < 0));
    const dynamic = isDyn.some(Boolean);
    if (dynamic) {
      const bound = (dynamicBounds.get(op) ?? fallbackBound)(ctx);
      ctx.outputs.forEach((o, i) => {
        if (!isDyn[i]) return;
        const b = bound[i];
        if (!b || b.length !== o.shape.length || b.some((d) => !Number.isInteger(d) || d < 0)) {
          throw new Error(`${this.name}: the dynamic bound of '${op}' gave ${b ? fmtShape(b) : 'nothing'} for output ${i} declared ${fmtShape(o.shape)}`);
        }
        o.shape = o.shape.map((d, j) => (d < 0 ? b[j]! : d));
      });
    }
    const desc = opCatalogue().get(op);
    let flops = 0;
    if (desc?.flops) {
      const f = desc.flops(ctx.inputs, ctx.attrs, ctx.outputs);
      flops = Number.isFinite(f) ? f : 0;
    }
    const view = VIEW_OPS.has(op) && inputs[0] != null;
    const outputs: TracedNodeOutput[] = ctx.outputs.map((o, i) => {
      const rec: TracedNodeOutput = { valueId: this.#newValue('activation', o.shape, o.dtype), shape: o.shape.slice(), dtype: o.dtype };
      if (isDyn[i]) {
        rec.dynamic = true;
        rec.declaredShape = declared[i]!;
      }
      if (view) rec.aliasOf = inputs[0]!;
      return rec;
    });
    const node: TracedNode = { id: this.#nodes.length, op, attrs: cloneAttrs(ctx.attrs), inputs, outputs, flops };
    if (dynamic) node.dynamic = true;
    this.#nodes.push(node);
    return outputs.map((o) => o.valueId);
  }

  /** Core tensor counters of this backend plus the values it still holds. */
  memory(): TraceMemoryInfo {
    return { ...memory(this.name), liveValues: this.#live.size, liveBytes: this.#liveBytes };
  }

  /** Value ids allocated and not yet released. */
  liveValueIds(): number[] {
    return [...this.#live];
  }

  /** Number of nodes recorded so far. */
  get nodeCount(): number {
    return this.#nodes.length;
  }

  /** A plain-data snapshot of what was recorded so far, with the given outputs. */
  graph(outputs: TracedOutput[] = []): TracedGraph {
    const copyInfo = <T extends { shape: number[] }>(x: T): T => ({ ...x, shape: x.shape.slice() });
    return {
      backend: this.name,
      keepValues: this.keepValues,
      inputs: this.#inputs.map(copyInfo),
      outputs: outputs.map(copyInfo),
      constants: this.#constants.map(copyInfo),
      nodes: this.#nodes.map((n) => ({ ...n, inputs: n.inputs.slice(), outputs: n.outputs.map(copyInfo) })),
      releases: this.#releases.map((r) => ({ ...r })),
    };
  }

  /** Forgets everything recorded (live tensors of this backend must not be used afterwards). */
  reset(): void {
    this.#values.clear();
    this.#live.clear();
    this.#liveBytes = 0;
    this.#inputs = [];
    this.#constants = [];
    this.#nodes = [];
    this.#releases = [];
  }

  dispose(): void {
    // nothing to free: the recording stays readable until reset()
  }
}

/**
 * Registers a shared trace backend under `name` (default 'trace'), for `setBackend('trace')` /
 * `tensor(..., { backend: 'trace' })` outside traceGraph; read its recording with
 * `(getBackend('trace') as TraceBackend).graph()`. Its priority is the lowest possible, so it is never
 * picked as the default backend. Idempotent: an existing registration under `name` is kept.
 * traceGraph() does not use it (it creates an isolated instance per trace).
 */
export function registerTraceBackend(name = 'trace', opts: TraceBackendOptions = {}): void {
  if (registeredBackends().includes(name)) return;
  registerBackend(name, () => new TraceBackend(name, opts), TRACE_PRIORITY);
}
