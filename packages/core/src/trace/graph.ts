import type { DType, TypedArray } from '../dtype';

/**
 * The plain-data op graph recorded by the trace backend. Every tensor that existed during the
 * trace is a *value* with a numeric id (the trace backend's buffer handle); graph inputs,
 * constants and node outputs each define one value. The graph holds no Tensor objects and no
 * backend references, so it can be kept, cloned (structuredClone) or handed to an exporter.
 */

/** A value as it appears in the graph: its id plus static shape and dtype. */
export interface TracedValueInfo {
  valueId: number;
  shape: number[];
  dtype: DType;
}

/** A graph input (a placeholder created by traceGraph; it has no values). */
export interface TracedInput extends TracedValueInfo {
  name: string;
}

/** A graph output, named by the traced function's return value. */
export interface TracedOutput extends TracedValueInfo {
  name: string;
}

/**
 * A constant / initializer: a named parameter moved in with `params`, or any tensor created from
 * host values on the trace backend while tracing (`tensor()`, scalars lifted by `add(x, 1)`...).
 * `values` is a private copy, present only when the trace was started with `keepValues: true`
 * (and for shape-only params never).
 */
export interface TracedConstant extends TracedValueInfo {
  name?: string;
  values?: TypedArray;
}

/** One output of a node. */
export interface TracedNodeOutput extends TracedValueInfo {
  /**
   * The op's output shape is data dependent: `shape` is an upper bound (e.g. nms keeps at most
   * all K boxes) and `declaredShape` is what shape inference said (with -1 dims).
   */
  dynamic?: true;
  declaredShape?: number[];
  /** The output is a view of this input value (reshape): it shares that value's buffer. */
  aliasOf?: number;
}

/** One op application, in execution order. */
export interface TracedNode {
  /** Index of the node in `TracedGraph.nodes`. */
  id: number;
  op: string;
  /** The attributes after the descriptor's normalize() (defaults filled, axes resolved). */
  attrs: Record<string, unknown>;
  /** Input value ids in descriptor order; null where an optional input was omitted. */
  inputs: (number | null)[];
  outputs: TracedNodeOutput[];
  /** Floating-point operations from the descriptor's estimate (multiply-add = 2); 0 when it has none. */
  flops: number;
  /** Some output shape depends on data: the recorded shapes are upper bounds. */
  dynamic?: true;
}

/** A buffer was freed (the last tensor using the value was disposed). */
export interface TracedRelease {
  valueId: number;
  /** How many nodes had been recorded when it was freed: it is freed after node `afterNode - 1` ran and before node `afterNode`. */
  afterNode: number;
}

export interface TracedGraph {
  /** Name of the (temporary) trace backend instance the graph was recorded on. */
  backend: string;
  /** Whether constants carry their values. */
  keepValues: boolean;
  inputs: TracedInput[];
  outputs: TracedOutput[];
  constants: TracedConstant[];
  nodes: TracedNode[];
  /** Free events in the order they happened (used for live-activation-memory reports). */
  releases: TracedRelease[];
  /**
   * Values that were still allocated after traceGraph disposed its scope and the outputs
   * (tensors the traced function passed to keep() and never returned). Absent when none.
   */
  leaked?: number[];
}
