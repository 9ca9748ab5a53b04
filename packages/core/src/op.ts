import { type Backend, type OutputSpec, type TensorInfo, getBackend, getKernel } from './backend';
import type { DType } from './dtype';
import { type Shape, fmtShape } from './shape';
import { Tensor, wrapHandle } from './tensor';

/** Shape and dtype of an input as seen by shape inference. */
export interface TensorMeta {
  readonly shape: Shape;
  readonly dtype: DType;
}

export interface InputSpec {
  name: string;
  optional?: boolean;
  /** Allowed dtypes (default: any). */
  dtypes?: readonly DType[];
  /** This input takes all remaining tensors (concat). */
  variadic?: boolean;
}

/** Error raised by an op's validation; the message starts with the op name. */
export class OpError extends Error {
  constructor(
    readonly op: string,
    message: string,
  ) {
    super(`${op}: ${message}`);
    this.name = 'OpError';
  }
}

/** One entry of the op catalogue: inputs, attributes, shape/dtype inference and semantics. */
export interface OpDescriptor<A = any> {
  readonly name: string;
  readonly inputs: readonly InputSpec[];
  /** Reference semantics, in words (PyTorch-compatible unless stated). */
  readonly doc: string;
  /** Fills defaults and validates user attributes; throws OpError naming the problem. */
  normalize(attrs: Partial<A> | undefined, inputs: readonly (TensorMeta | null)[]): A;
  /** Output shapes/dtypes; throws OpError naming the problem. A -1 dim is data dependent. */
  infer(inputs: readonly (TensorMeta | null)[], attrs: A): OutputSpec[];
  /** Floating-point operations (multiply-add = 2) for reports. */
  flops?(inputs: readonly (TensorMeta | null)[], attrs: A, outputs: readonly OutputSpec[]): number;
  /** The op's output shape depends on data, so its user function is async. */
  readonly async?: boolean;
}

const catalogue = new Map<string, OpDescriptor>();

export function defineOp<A>(d: OpDescriptor<A>): OpDescriptor<A> {
  if (catalogue.has(d.name)) throw new Error(`op '${d.name}' is defined twice`);
  catalogue.set(d.name, d as OpDescriptor);
  return d;
}

/** Every op in the catalogue, by name. */
export function opCatalogue(): ReadonlyMap<string, OpDescriptor> {
  return catalogue;
}

export function getOp(name: string): OpDescriptor {
  const d = catalogue.get(name);
  if (!d) throw new Error(`unknown op '${name}'`);
  return d;
}

type Inputs = readonly (Tensor | null | undefined)[];

interface Prepared {
  desc: OpDescriptor;
  backend: Backend;
  infos: (TensorInfo | null)[];
  attrs: unknown;
  outputs: OutputSpec[];
}

function prepare(desc: OpDescriptor, inputs: Inputs, rawAttrs: unknown, backendName?: string): Prepared {
  const op = desc.name;
  const specs = desc.inputs;
  const variadic = specs.length > 0 && specs[specs.length - 1]!.variadic;
  if (!variadic && inputs.length > specs.length) {
    throw new OpError(op, `takes ${specs.length} inputs (${specs.map((s) => s.name).join(', ')}), got ${inputs.length}`);
  }
  let backend: Backend | null = null;
  let first: Tensor | null = null;
  const infos: (TensorInfo | null)[] = [];
  const n = Math.max(inputs.length, variadic ? specs.length - 1 : specs.length);
  for (let i = 0; i < n; i++) {
    const spec = specs[Math.min(i, specs.length - 1)]!;
    const label = spec.variadic ? `${spec.name}[${i - specs.length + 1}]` : spec.name;
    const t = inputs[i];
    if (t === null || t === undefined) {
      if (!spec.optional) throw new OpError(op, `input '${label}' is required`);
      infos.push(null);
      continue;
    }
    if (!(t instanceof Tensor)) throw new OpError(op, `input '${label}' must be a Tensor, got ${typeof t}`);
    if (t.isDisposed) throw new OpError(op, `input '${label}' (tensor #${t.id}) was disposed`);
    if (spec.dtypes && !spec.dtypes.includes(t.dtype)) {
      throw new OpError(op, `input '${label}' has dtype ${t.dtype}; expected ${spec.dtypes.join(' or ')}`);
    }
    const s = t.storage;
    if (!backend) {
      backend = s.backend;
      first = t;
    } else if (s.backend !== backend) {
      throw new OpError(
        op,
        `input '${label}' is on backend '${s.backend.name}' but ${first!.describe()} is on '${backend.name}'; move one explicitly with await t.to('${backend.name}')`,
      );
    }
    infos.push({ handle: s.handle, shape: t.shape, dtype: t.dtype, size: t.size });
  }
  if (backendName !== undefined && backend && backend.name !== backendName) {
    throw new OpError(op, `inputs are on backend '${backend.name}', not the requested '${backendName}'`);
  }
  backend ??= getBackend(backendName);
  const attrs = desc.normalize(rawAttrs as never, infos);
  const outputs = desc.infer(infos, attrs);
  return { desc, backend, infos, attrs, outputs };
}

function kernelFor(p: Prepared) {
  const k = getKernel(p.desc.name, p.backend);
  if (!k) throw new OpError(p.desc.name, `backend '${p.backend.name}' has no kernel for this op`);
  return k;
}

function wrap(p: Prepared, handles: unknown[], inputs: Inputs): Tensor[] {
  const op = p.desc.name;
  if (!Array.isArray(handles) || handles.length !== p.outputs.length) {
    throw new OpError(op, `kernel on '${p.backend.name}' returned ${Array.isArray(handles) ? handles.length : 'no'} outputs, expected ${p.outputs.length}`);
  }
  return handles.map((h, i) => {
    const o = p.outputs[i]!;
    if (o.shape.some((d) => d < 0)) throw new OpError(op, `kernel on '${p.backend.name}' left output ${i} with an unresolved shape ${fmtShape(o.shape)}`);
    const j = p.infos.findIndex((x) => x !== null && x.handle === h);
    return wrapHandle(p.backend, h, o.shape, o.dtype, j >= 0 ? inputs[j]!.storage : undefined);
  });
}

/** Runs an op synchronously and returns all its outputs. */
export function runOp(desc: OpDescriptor, inputs: Inputs, attrs?: unknown, backend?: string): Tensor[] {
  const p = prepare(desc, inputs, attrs, backend);
  if (desc.async) throw new OpError(desc.name, 'has a data-dependent output shape; call it with await');
  const handles = kernelFor(p)({ op: desc.name, backend: p.backend, inputs: p.infos, attrs: p.attrs, outputs: p.outputs });
  if (handles instanceof Promise) throw new OpError(desc.name, `kernel on '${p.backend.name}' is async but the op is not`);
  return wrap(p, handles, inputs);
}

/** Runs an op that has a data-dependent output shape (or an async kernel). */
export async function runOpAsync(desc: OpDescriptor, inputs: Inputs, attrs?: unknown, backend?: string): Promise<Tensor[]> {
  const p = prepare(desc, inputs, attrs, backend);
  const handles = await kernelFor(p)({ op: desc.name, backend: p.backend, inputs: p.infos, attrs: p.attrs, outputs: p.outputs });
  return wrap(p, handles, inputs);
}

/** Only shape/dtype inference, without running anything (used by reports and tests). */
export function inferOp(desc: OpDescriptor, inputs: readonly (TensorMeta | null)[], attrs?: unknown): { attrs: unknown; outputs: OutputSpec[] } {
  const a = desc.normalize(attrs as never, inputs);
  return { attrs: a, outputs: desc.infer(inputs, a) };
}
