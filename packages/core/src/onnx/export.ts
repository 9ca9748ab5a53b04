/**
 * ONNX export of a traced graph (opset 17).
 *
 * `traceGraph(fn, inputs, { params, keepValues: true })` records every op a forward pass runs with
 * its normalised attributes, shapes and the values of every constant; {@link exportOnnx} maps each
 * node to ai.onnx opset-17 nodes and writes the parameters as initializers under their own names.
 *
 * Dynamic batch: a trace holds concrete shapes only, so which dims scale with the batch is learnt
 * from a second trace of the same function at another batch size (`batchProbe`; see
 * {@link traceForExport}, which makes both). Dims that differ between the two traces are `k·N`;
 * they become the symbolic `N` in the graph inputs / outputs, `-1` in Reshape targets, and
 * `k·Shape(input)[0]` wherever an op needs the whole shape (Expand, Resize sizes).
 *
 * Where onnxruntime's op differs from ours the export spells our semantics out: GELU (ONNX Gelu is
 * opset 20) as 0.5·x·(1 + Erf(x/√2)) or its tanh form; NaN propagation of maxPool, max / min
 * reductions and argmax / argmin (onnxruntime skips NaN) with IsNaN masks; clamp as Max / Min
 * (Clip clips ±inf); attention rows with every key masked give zeros; Where on bool via uint8.
 * Not exported (OnnxExportError naming the op): boxDecode, boxEncode, pasteMasks, warpAffine and
 * nms with per-box classes.
 */
import type { DType, TypedArray } from '../dtype';
import { opCatalogue } from '../op';
import type { TracedGraph, TracedNode } from '../trace/graph';
import { type TraceFn, type TraceInputSpec, type TraceParams, type ParamSpec, traceGraph } from '../trace/trace';
import { Tensor } from '../tensor';
import {
  buildOnnxModel,
  type OnnxAttr,
  type OnnxDType,
  type OnnxGraphSpec,
  type OnnxInitializer,
  type OnnxNode,
  type OnnxValueInfo,
  onnxDataType,
  toOnnxArray,
} from './model';

/** The opset the exporter writes. */
export const EXPORT_OPSET = 17;

export interface ExportOnnxOptions {
  /** ai.onnx opset; only 17 is written (the default). */
  opset?: number;
  /**
   * Keep the batch dim symbolic (`N`). Needs `batchProbe`; defaults to true when one is given.
   * Without it every shape is the traced one.
   */
  dynamicBatch?: boolean;
  /** The same function traced at another batch size (shape-only is enough): tells which dims scale with the batch. */
  batchProbe?: TracedGraph;
  /** Names of the graph inputs, in order (default: the traced input names). */
  inputNames?: string[];
  /** Names of the graph outputs, in order (default: the traced output names). */
  outputNames?: string[];
  /** ModelProto producer_name (default 'tubelet'). */
  producer?: string;
  producerVersion?: string;
  /** Graph name (default 'tubelet'). */
  graphName?: string;
  docString?: string;
  /** Model metadata_props (e.g. the model name, the weights' source). */
  metadata?: Record<string, string>;
}

/** Thrown when a graph cannot be exported (unmapped op, missing values, batch-dependent constants...). */
export class OnnxExportError extends Error {
  override name = 'OnnxExportError';
}

// ---------------------------------------------------------------------------------------------
// Builder

/** A value as the op mappers see it. */
export interface ExportValueInfo {
  shape: number[];
  dtype: DType;
  /** Per dim: 0 when static, else k with dim = k·N. */
  ks: number[];
}

const INT64_MIN = -(1n << 63n);

class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxInitializer[] = [];
  readonly #names = new Set<string>();
  readonly #constCache = new Map<string, string>();

  /** A name not used yet, based on `base`. */
  unique(base: string): string {
    let name = base || 'v';
    for (let i = 1; this.#names.has(name); i++) name = `${base}_${i}`;
    this.#names.add(name);
    return name;
  }

  reserve(name: string): boolean {
    if (this.#names.has(name)) return false;
    this.#names.add(name);
    return true;
  }

  initializer(base: string, dtype: OnnxDType, shape: number[], data: OnnxInitializer['data']): string {
    const name = this.unique(base);
    this.initializers.push({ name, dtype, shape, data });
    return name;
  }

  /** A small constant, shared between uses (cached by dtype, shape and values). */
  constant(dtype: OnnxDType, shape: number[], values: ArrayLike<number | bigint | boolean>, base = 'const'): string {
    if (values.length > 64) return this.initializer(base, dtype, shape, toOnnxArray(dtype, values));
    const key = `${dtype}|${shape.join(',')}|${Array.from(values as ArrayLike<unknown>, String).join(',')}`;
    const hit = this.#constCache.get(key);
    if (hit) return hit;
    const name = this.initializer(base, dtype, shape, toOnnxArray(dtype, values));
    this.#constCache.set(key, name);
    return name;
  }

  i64(values: (number | bigint)[], base = 'shape'): string {
    return this.constant('int64', [values.length], values, base);
  }

  scalar(dtype: DType, value: number): string {
    return this.constant(dtype, [], [value], 'scalar');
  }

  node(opType: string, inputs: string[], outputs: string[], attrs: Record<string, OnnxAttr> | undefined, name: string): void {
    const n: OnnxNode = { opType, inputs, outputs, name: this.unique(name) };
    if (attrs && Object.keys(attrs).length) n.attrs = attrs;
    this.nodes.push(n);
  }
}

/** What an op mapper sees of one traced node. */
export interface ExportNodeContext {
  readonly node: TracedNode;
  readonly attrs: Record<string, unknown>;
  /** Input value names ('' for an omitted optional input). */
  readonly inputs: string[];
  readonly inInfo: (ExportValueInfo | null)[];
  /** The names the node's outputs must be written under. */
  readonly outputs: string[];
  readonly outInfo: ExportValueInfo[];
  /** Emits a node; returns its output names (fresh ones unless given). */
  emit(opType: string, inputs: string[], attrs?: Record<string, OnnxAttr>, outputs?: string[] | number): string[];
  /** One-output shorthand of emit. */
  op(opType: string, inputs: string[], attrs?: Record<string, OnnxAttr>, output?: string): string;
  /** A value name not used yet, based on `base`. */
  fresh(base: string): string;
  /** A 1-D int64 constant. */
  i64(values: (number | bigint)[]): string;
  /** A scalar constant of `dtype`. */
  scalar(dtype: DType, value: number): string;
  /** A constant tensor. */
  constant(dtype: OnnxDType, shape: number[], values: ArrayLike<number | bigint | boolean>): string;
  /** The int64 shape vector of `shape` with dynamic dims (ks) computed from the batch size at run time. */
  shapeVector(shape: number[], ks: number[]): string;
  /** Throws an OnnxExportError about this node. */
  fail(message: string): never;
}

type Mapper = (c: ExportNodeContext) => void;

// ---------------------------------------------------------------------------------------------
// Op mappers

const ai = (x: number[]): OnnxAttr => ({ ints: x });
const ii = (x: number): OnnxAttr => ({ i: x });
const fa = (x: number): OnnxAttr => ({ f: x });

function direct(opType: string): Mapper {
  return (c) => void c.emit(opType, c.inputs.slice(0, c.node.inputs.length), undefined, c.outputs);
}

const attr = <T>(c: ExportNodeContext, k: string) => c.attrs[k] as T;

function info(c: ExportNodeContext, i: number): ExportValueInfo {
  const v = c.inInfo[i];
  if (!v) c.fail(`input ${i} is missing`);
  return v;
}

/** Swaps the last two dims. */
function swapLast(c: ExportNodeContext, name: string, rank: number): string {
  const perm = [...Array(rank).keys()];
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1]!, perm[rank - 2]!];
  return c.op('Transpose', [name], { perm: ai(perm) });
}

const isFloat = (d: DType) => d === 'float32' || d === 'float16';

/** Conv / ConvTranspose inputs: x, weight and the bias when present. */
function convInputs(c: ExportNodeContext): string[] {
  return c.inputs[2] ? c.inputs.slice(0, 3) : c.inputs.slice(0, 2);
}

/** The attributes Conv and ConvTranspose share (pads are already [begins..., ends...], ONNX order). */
function convAttrs(c: ExportNodeContext) {
  return {
    kernel_shape: ai(info(c, 1).shape.slice(2)),
    strides: ai(attr<number[]>(c, 'stride')),
    pads: ai(attr<number[]>(c, 'pads')),
    dilations: ai(attr<number[]>(c, 'dilation')),
    group: ii(attr<number>(c, 'groups')),
  };
}

const MAPPERS: Record<string, Mapper> = {
  // ---- elementwise
  add: direct('Add'),
  sub: direct('Sub'),
  mul: direct('Mul'),
  div: direct('Div'),
  pow: direct('Pow'),
  minimum: direct('Min'),
  maximum: direct('Max'),
  equal: direct('Equal'),
  greater: direct('Greater'),
  greaterEqual: direct('GreaterOrEqual'),
  less: direct('Less'),
  lessEqual: direct('LessOrEqual'),
  neg: direct('Neg'),
  abs: direct('Abs'),
  sqrt: direct('Sqrt'),
  rsqrt: (c) => void c.op('Reciprocal', [c.op('Sqrt', [c.inputs[0]!])], undefined, c.outputs[0]),
  exp: direct('Exp'),
  log: direct('Log'),
  relu: (c) => {
    const x = info(c, 0);
    if (isFloat(x.dtype)) c.op('Relu', [c.inputs[0]!], undefined, c.outputs[0]);
    else c.op('Max', [c.inputs[0]!, c.scalar(x.dtype, 0)], undefined, c.outputs[0]);
  },
  sigmoid: direct('Sigmoid'),
  tanh: direct('Tanh'),
  erf: direct('Erf'),
  floor: direct('Floor'),
  ceil: direct('Ceil'),
  round: direct('Round'), // half to even, as torch.round
  reciprocal: direct('Reciprocal'),
  gelu: (c) => {
    // ONNX Gelu needs opset 20: spelled out (the erf form is the pattern onnxruntime fuses back into Gelu)
    const x = c.inputs[0]!;
    const dt = info(c, 0).dtype;
    if (attr<string>(c, 'approximate') === 'tanh') {
      const x3 = c.op('Mul', [c.op('Mul', [x, x]), x]);
      const inner = c.op('Mul', [c.op('Add', [x, c.op('Mul', [x3, c.scalar(dt, 0.044715)])]), c.scalar(dt, Math.sqrt(2 / Math.PI))]);
      const t = c.op('Add', [c.op('Tanh', [inner]), c.scalar(dt, 1)]);
      c.op('Mul', [c.op('Mul', [x, t]), c.scalar(dt, 0.5)], undefined, c.outputs[0]);
    } else {
      const e = c.op('Erf', [c.op('Div', [x, c.scalar(dt, Math.SQRT2)])]);
      c.op('Mul', [c.op('Mul', [x, c.op('Add', [e, c.scalar(dt, 1)])]), c.scalar(dt, 0.5)], undefined, c.outputs[0]);
    }
  },
  clamp: (c) => {
    // Max / Min rather than Clip: Clip without a bound clips to the dtype's finite range (±inf would become ±FLT_MAX)
    const dt = info(c, 0).dtype;
    const lo = attr<number>(c, 'min');
    const hi = attr<number>(c, 'max');
    let y = c.inputs[0]!;
    const hasLo = Number.isFinite(lo);
    const hasHi = Number.isFinite(hi);
    if (hasLo) y = c.op('Max', [y, c.scalar(dt, lo)], undefined, hasHi ? undefined : c.outputs[0]);
    if (hasHi) y = c.op('Min', [y, c.scalar(dt, hi)], undefined, c.outputs[0]);
    if (!hasLo && !hasHi) c.op('Identity', [y], undefined, c.outputs[0]);
  },
  where: (c) => {
    if (info(c, 1).dtype !== 'bool') return void c.op('Where', c.inputs.slice(0, 3), undefined, c.outputs[0]);
    // onnxruntime has no bool Where kernel: select on uint8
    const u8 = (n: string) => c.op('Cast', [n], { to: ii(onnxDataType('uint8')) });
    const y = c.op('Where', [c.inputs[0]!, u8(c.inputs[1]!), u8(c.inputs[2]!)]);
    c.op('Cast', [y], { to: ii(onnxDataType('bool')) }, c.outputs[0]);
  },
  cast: (c) => void c.op('Cast', [c.inputs[0]!], { to: ii(onnxDataType(attr<DType>(c, 'dtype'))) }, c.outputs[0]),

  // ---- linear algebra
  matmul: (c) => {
    let a = c.inputs[0]!;
    let b = c.inputs[1]!;
    if (attr<boolean>(c, 'transA')) a = swapLast(c, a, info(c, 0).shape.length);
    if (attr<boolean>(c, 'transB')) b = swapLast(c, b, info(c, 1).shape.length);
    c.op('MatMul', [a, b], undefined, c.outputs[0]);
  },
  linear: (c) => {
    const x = info(c, 0);
    const bias = c.inputs[2] ?? '';
    if (x.shape.length === 2) {
      c.op('Gemm', bias ? [c.inputs[0]!, c.inputs[1]!, bias] : [c.inputs[0]!, c.inputs[1]!], { transB: ii(1) }, c.outputs[0]);
      return;
    }
    // x [..., in] @ weightᵀ (a Transpose of an initializer, folded by onnxruntime at load time) + bias
    const wt = c.op('Transpose', [c.inputs[1]!], { perm: ai([1, 0]) });
    const y = c.op('MatMul', [c.inputs[0]!, wt], undefined, bias ? undefined : c.outputs[0]);
    if (bias) c.op('Add', [y, bias], undefined, c.outputs[0]);
  },
  sdpa: (c) => {
    const q = info(c, 0);
    const k = info(c, 1);
    const D = q.shape[q.shape.length - 1]!;
    const Lq = q.shape[q.shape.length - 2]!;
    const Lk = k.shape[k.shape.length - 2]!;
    const scale = attr<number | null>(c, 'scale') ?? 1 / Math.sqrt(D);
    const dt = q.dtype;
    let s = c.op('MatMul', [c.inputs[0]!, swapLast(c, c.inputs[1]!, k.shape.length)]);
    s = c.op('Mul', [s, c.scalar(dt, scale)]);
    const mask = c.inputs[3] ?? '';
    const minusInf = () => c.scalar(dt, -Infinity);
    if (mask) {
      const m = info(c, 3);
      s = m.dtype === 'bool' ? c.op('Where', [mask, s, minusInf()]) : c.op('Add', [s, mask]);
    }
    if (attr<boolean>(c, 'causal')) {
      const keep = new Uint8Array(Lq * Lk);
      for (let i = 0; i < Lq; i++) for (let j = 0; j <= Math.min(i, Lk - 1); j++) keep[i * Lk + j] = 1;
      s = c.op('Where', [c.constant('bool', [Lq, Lk], keep), s, minusInf()]);
    }
    let p = c.op('Softmax', [s], { axis: ii(-1) });
    // a row with every key masked: softmax gives NaN in onnxruntime, zeros here (our kernels' rule)
    if (mask || attr<boolean>(c, 'causal')) p = c.op('Where', [c.op('IsNaN', [p]), c.scalar(dt, 0), p]);
    c.op('MatMul', [p, c.inputs[2]!], undefined, c.outputs[0]);
  },

  // ---- convolution and pooling
  conv: (c) => {
    c.op('Conv', convInputs(c), convAttrs(c), c.outputs[0]);
  },
  convTranspose: (c) => {
    c.op('ConvTranspose', convInputs(c), { ...convAttrs(c), output_padding: ai(attr<number[]>(c, 'outputPadding')) }, c.outputs[0]);
  },
  avgPool: (c) => {
    c.op(
      'AveragePool',
      [c.inputs[0]!],
      {
        kernel_shape: ai(attr<number[]>(c, 'kernel')),
        strides: ai(attr<number[]>(c, 'stride')),
        pads: ai(attr<number[]>(c, 'pads')),
        ceil_mode: ii(attr<boolean>(c, 'ceilMode') ? 1 : 0),
        count_include_pad: ii(attr<boolean>(c, 'countIncludePad') ? 1 : 0),
      },
      c.outputs[0],
    );
  },
  maxPool: (c) => {
    const x = info(c, 0);
    const a: Record<string, OnnxAttr> = {
      kernel_shape: ai(attr<number[]>(c, 'kernel')),
      strides: ai(attr<number[]>(c, 'stride')),
      pads: ai(attr<number[]>(c, 'pads')),
      dilations: ai(attr<number[]>(c, 'dilation')),
      ceil_mode: ii(attr<boolean>(c, 'ceilMode') ? 1 : 0),
    };
    // onnxruntime's MaxPool skips NaN; ours (torch) propagates it: pool an is-NaN map alongside
    const pooled = c.op('MaxPool', [c.inputs[0]!], a);
    const nan = c.op('MaxPool', [c.op('Cast', [c.op('IsNaN', [c.inputs[0]!])], { to: ii(onnxDataType(x.dtype)) })], a);
    c.op('Where', [c.op('Cast', [nan], { to: ii(onnxDataType('bool')) }), c.scalar(x.dtype, NaN), pooled], undefined, c.outputs[0]);
  },

  // ---- normalisation
  softmax: (c) => void c.op('Softmax', [c.inputs[0]!], { axis: ii(attr<number>(c, 'axis')) }, c.outputs[0]),
  layerNorm: (c) => {
    const x = info(c, 0);
    const axis = attr<number>(c, 'axis');
    const ns = x.shape.slice(axis);
    if (x.ks.slice(axis).some((k) => k)) c.fail('normalising over the batch dim cannot be exported with a dynamic batch');
    const n = ns.reduce((a, b) => a * b, 1);
    const scale = c.inputs[1] || c.constant(x.dtype, ns, new Array<number>(n).fill(1));
    const ins = [c.inputs[0]!, scale];
    if (c.inputs[2]) ins.push(c.inputs[2]);
    c.op('LayerNormalization', ins, { axis: ii(axis), epsilon: fa(attr<number>(c, 'eps')) }, c.outputs[0]);
  },
  batchNorm: (c) => {
    const x = info(c, 0);
    const C = x.shape[1]!;
    const w = c.inputs[3] || c.constant(x.dtype, [C], new Array<number>(C).fill(1));
    const b = c.inputs[4] || c.constant(x.dtype, [C], new Array<number>(C).fill(0));
    c.op('BatchNormalization', [c.inputs[0]!, w, b, c.inputs[1]!, c.inputs[2]!], { epsilon: fa(attr<number>(c, 'eps')) }, c.outputs[0]);
  },

  // ---- reductions
  sum: (c) => reduce(c, 'ReduceSum'),
  mean: (c) => reduce(c, 'ReduceMean'),
  max: (c) => reduce(c, 'ReduceMax'),
  min: (c) => reduce(c, 'ReduceMin'),
  argmax: (c) => argReduce(c, 'ArgMax'),
  argmin: (c) => argReduce(c, 'ArgMin'),
  topk: (c) => {
    const idx = c.fresh(`${c.outputs[1]}_int64`);
    c.emit('TopK', [c.inputs[0]!, c.i64([attr<number>(c, 'k')])], { axis: ii(attr<number>(c, 'axis')), largest: ii(attr<boolean>(c, 'largest') ? 1 : 0), sorted: ii(1) }, [c.outputs[0]!, idx]);
    c.op('Cast', [idx], { to: ii(onnxDataType('int32')) }, c.outputs[1]);
  },

  // ---- layout
  reshape: (c) => {
    const y = c.outInfo[0]!;
    const dyn = y.ks.map((k, i) => (k ? i : -1)).filter((i) => i >= 0);
    const x = info(c, 0);
    if (!dyn.length && x.ks.some((k) => k)) c.fail(`reshape ${JSON.stringify(x.shape)} → ${JSON.stringify(y.shape)} folds the batch dim into a fixed shape`);
    let shape: string;
    if (dyn.length === 1) shape = c.i64(y.shape.map((d, i) => (i === dyn[0] ? -1 : d)));
    else shape = c.shapeVector(y.shape, y.ks);
    const attrs: Record<string, OnnxAttr> = {};
    if (!dyn.length && y.shape.includes(0)) attrs.allowzero = ii(1);
    c.op('Reshape', [c.inputs[0]!, shape], attrs, c.outputs[0]);
  },
  transpose: (c) => void c.op('Transpose', [c.inputs[0]!], { perm: ai(attr<number[]>(c, 'perm')) }, c.outputs[0]),
  slice: (c) => {
    const x = info(c, 0);
    const starts = attr<number[]>(c, 'starts');
    const steps = attr<number[]>(c, 'steps');
    const sizes = attr<number[]>(c, 'sizes');
    const s: bigint[] = [];
    const e: bigint[] = [];
    const axes: number[] = [];
    const st: number[] = [];
    x.shape.forEach((dim, ax) => {
      const [b, t, n] = [starts[ax]!, steps[ax]!, sizes[ax]!];
      const full = b === 0 && t === 1 && n === dim;
      if (x.ks[ax]) {
        if (!full) c.fail(`slicing along the batch dim (axis ${ax}) cannot be exported with a dynamic batch`);
        return;
      }
      if (full) return;
      const end = b + n * t;
      s.push(BigInt(b));
      e.push(t < 0 && end < 0 ? INT64_MIN : BigInt(end));
      axes.push(ax);
      st.push(t);
    });
    if (!axes.length) {
      c.op('Identity', [c.inputs[0]!], undefined, c.outputs[0]);
      return;
    }
    c.op('Slice', [c.inputs[0]!, c.i64(s), c.i64(e), c.i64(axes), c.i64(st)], undefined, c.outputs[0]);
  },
  concat: (c) => void c.op('Concat', c.inputs, { axis: ii(attr<number>(c, 'axis')) }, c.outputs[0]),
  pad: (c) => {
    const x = info(c, 0);
    const p = attr<number[]>(c, 'pads');
    const r = x.shape.length;
    const onnxPads = [...Array(r).keys()].map((i) => p[2 * i]!).concat([...Array(r).keys()].map((i) => p[2 * i + 1]!));
    const mode = attr<string>(c, 'mode');
    const ins = [c.inputs[0]!, c.i64(onnxPads)];
    if (mode === 'constant') ins.push(c.scalar(x.dtype, attr<number>(c, 'value')));
    c.op('Pad', ins, { mode: mode === 'replicate' ? 'edge' : mode }, c.outputs[0]);
  },
  gather: (c) => void c.op('Gather', [c.inputs[0]!, c.inputs[1]!], { axis: ii(attr<number>(c, 'axis')) }, c.outputs[0]),
  expand: (c) => {
    const y = c.outInfo[0]!;
    c.op('Expand', [c.inputs[0]!, c.shapeVector(y.shape, y.ks)], undefined, c.outputs[0]);
  },

  // ---- resampling and vision
  interpolate: (c) => {
    const x = info(c, 0);
    const y = c.outInfo[0]!;
    const mode = attr<string>(c, 'mode');
    const align = attr<boolean>(c, 'alignCorners');
    const scales = attr<number[]>(c, 'scales');
    const size = attr<number[]>(c, 'size');
    const a: Record<string, OnnxAttr> =
      mode === 'nearest'
        ? { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }
        : { mode: mode === 'bicubic' ? 'cubic' : 'linear', coordinate_transformation_mode: align ? 'align_corners' : 'half_pixel' };
    if (mode === 'bicubic') a.cubic_coeff_a = fa(-0.75);
    // onnxruntime: out = (int64)(float(in) · scale); pass torch's scale factors when they give our sizes
    const f = scales.map((s) => Math.fround(1 / s));
    const exact = x.shape.slice(2).every((d, i) => Math.floor(Math.fround(d * f[i]!)) === size[i]);
    if (exact) c.op('Resize', [c.inputs[0]!, '', c.constant('float32', [x.shape.length], [1, 1, ...f])], a, c.outputs[0]);
    else c.op('Resize', [c.inputs[0]!, '', '', c.shapeVector(y.shape, y.ks)], a, c.outputs[0]);
  },
  gridSample: (c) =>
    void c.op(
      'GridSample',
      [c.inputs[0]!, c.inputs[1]!],
      { mode: attr<string>(c, 'mode'), padding_mode: attr<string>(c, 'paddingMode'), align_corners: ii(attr<boolean>(c, 'alignCorners') ? 1 : 0) },
      c.outputs[0],
    ),
  roiAlign: (c) => {
    const [oh, ow] = attr<number[]>(c, 'outputSize');
    const rois = c.inputs[1]!;
    const boxes = c.op('Slice', [rois, c.i64([1]), c.i64([5]), c.i64([1])]);
    const idx = c.op('Cast', [c.op('Gather', [rois, c.constant('int64', [], [0])], { axis: ii(1) })], { to: ii(onnxDataType('int64')) });
    c.op(
      'RoiAlign',
      [c.inputs[0]!, boxes, idx],
      {
        coordinate_transformation_mode: attr<boolean>(c, 'aligned') ? 'half_pixel' : 'output_half_pixel',
        mode: 'avg',
        output_height: ii(oh!),
        output_width: ii(ow!),
        sampling_ratio: ii(attr<number>(c, 'samplingRatio')),
        spatial_scale: fa(attr<number>(c, 'spatialScale')),
      },
      c.outputs[0],
    );
  },
  nms: (c) => {
    if (c.inputs[2]) c.fail("nms with 'classes' (batched NMS) has no exact ONNX opset-17 form");
    const K = info(c, 0).shape[0]!;
    const maxOut = attr<number>(c, 'maxOutput');
    const boxes = c.op('Unsqueeze', [c.inputs[0]!, c.i64([0])]);
    const scores = c.op('Unsqueeze', [c.inputs[1]!, c.i64([0, 1])]);
    const sel = c.op('NonMaxSuppression', [boxes, scores, c.i64([maxOut < 0 ? K : maxOut]), c.constant('float32', [1], [attr<number>(c, 'iouThreshold')])], {
      center_point_box: ii(0),
    });
    const idx = c.op('Gather', [sel, c.constant('int64', [], [2])], { axis: ii(1) });
    c.op('Cast', [idx], { to: ii(onnxDataType('int32')) }, c.outputs[0]);
  },
  gridAnchors: (c) => {
    const [H, W] = attr<number[]>(c, 'size');
    const [sy, sx] = attr<number[]>(c, 'stride');
    const shifts = new Float32Array(H! * W! * 4);
    for (let y = 0; y < H!; y++) {
      for (let x = 0; x < W!; x++) {
        const o = (y * W! + x) * 4;
        shifts[o] = shifts[o + 2] = x * sx!;
        shifts[o + 1] = shifts[o + 3] = y * sy!;
      }
    }
    const base = c.op('Unsqueeze', [c.inputs[0]!, c.i64([0])]); // [1, A, 4]
    const sum = c.op('Add', [base, c.constant('float32', [H! * W!, 1, 4], shifts)]);
    c.op('Reshape', [sum, c.i64([-1, 4])], undefined, c.outputs[0]);
  },
};

function reduce(c: ExportNodeContext, opType: string): void {
  const x = info(c, 0);
  const axes = attr<number[]>(c, 'axes');
  const keep = attr<boolean>(c, 'keepDims') ? 1 : 0;
  if (axes.length === 0) {
    c.op('Identity', [c.inputs[0]!], undefined, c.outputs[0]);
    return;
  }
  // opset 13+: ReduceSum takes axes as an input; the others (until opset 18) as an attribute
  const red = (op: string, input: string, out?: string) =>
    op === 'ReduceSum' ? c.op(op, [input, c.i64(axes)], { keepdims: ii(keep) }, out) : c.op(op, [input], { axes: ai(axes), keepdims: ii(keep) }, out);
  if ((opType !== 'ReduceMax' && opType !== 'ReduceMin') || !isFloat(x.dtype)) {
    red(opType, c.inputs[0]!, c.outputs[0]);
    return;
  }
  // onnxruntime's ReduceMax / ReduceMin skip NaN; ours propagate it
  const r = red(opType, c.inputs[0]!);
  const nan = red('ReduceMax', c.op('Cast', [c.op('IsNaN', [c.inputs[0]!])], { to: ii(onnxDataType(x.dtype)) }));
  c.op('Where', [c.op('Cast', [nan], { to: ii(onnxDataType('bool')) }), c.scalar(x.dtype, NaN), r], undefined, c.outputs[0]);
}

function argReduce(c: ExportNodeContext, opType: string): void {
  const x = info(c, 0);
  const a = { axis: ii(attr<number>(c, 'axis')), keepdims: ii(attr<boolean>(c, 'keepDims') ? 1 : 0), select_last_index: ii(0) };
  let r = c.op(opType, [c.inputs[0]!], a);
  if (isFloat(x.dtype)) {
    // ours (torch) take the first NaN as the largest / smallest value; onnxruntime skips NaN
    const isNan = c.op('Cast', [c.op('IsNaN', [c.inputs[0]!])], { to: ii(onnxDataType('float32')) });
    const any = c.op('ReduceMax', [isNan], { axes: ai([attr<number>(c, 'axis')]), keepdims: a.keepdims });
    r = c.op('Where', [c.op('Cast', [any], { to: ii(onnxDataType('bool')) }), c.op('ArgMax', [isNan], a), r]);
  }
  c.op('Cast', [r], { to: ii(onnxDataType('int32')) }, c.outputs[0]);
}

/** Ops of the catalogue with no ONNX form, and why. */
const UNMAPPED: Record<string, string> = {
  boxDecode: 'mmdet / torchvision box decoding (clamps, clipping) has no single ONNX op; export the detector without its post-processing',
  boxEncode: 'box encoding is a training-time op with no ONNX counterpart',
  pasteMasks: 'mask paste-back is post-processing with data-dependent crops and no ONNX counterpart',
  warpAffine: "OpenCV's fixed-point warpAffine is preprocessing with no ONNX counterpart",
};

/** Ops the exporter maps to ONNX. */
export function onnxExportableOps(): string[] {
  return Object.keys(MAPPERS).sort();
}

/** Catalogue ops the exporter cannot map, with the reason. */
export function onnxUnmappedOps(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of opCatalogue().keys()) if (!MAPPERS[name]) out[name] = UNMAPPED[name] ?? 'no ONNX mapping';
  return out;
}

// ---------------------------------------------------------------------------------------------
// Batch analysis

function sameValues(a: TypedArray | undefined, b: TypedArray | undefined): boolean {
  if (!a || !b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !(a[i] !== a[i] && b[i] !== b[i])) return false;
  return true;
}

interface BatchInfo {
  /** The traced batch size (B) of the main graph. */
  batch: number;
  /** Graph input index and dim the batch is read from at run time. */
  input: number;
  dim: number;
  /** ks per value id. */
  ks: Map<number, number[]>;
}

function analyseBatch(g: TracedGraph, p: TracedGraph): BatchInfo {
  const bad = (m: string): never => {
    throw new OnnxExportError(`dynamic batch: ${m}`);
  };
  if (g.inputs.length !== p.inputs.length) bad('the probe trace has a different number of inputs');
  if (g.nodes.length !== p.nodes.length) bad(`the probe trace recorded ${p.nodes.length} ops, the main one ${g.nodes.length}: the traced function's structure depends on the batch size`);
  if (g.constants.length !== p.constants.length) bad('the probe trace created a different number of constants');
  // the batch sizes: the first input dim that differs
  let pick: { input: number; dim: number; d1: number; d2: number } | null = null;
  g.inputs.forEach((inp, i) => {
    const q = p.inputs[i]!;
    if (q.shape.length !== inp.shape.length) bad(`input '${inp.name}' has rank ${inp.shape.length} in one trace and ${q.shape.length} in the other`);
    inp.shape.forEach((d, j) => {
      if (!pick && d !== q.shape[j]) pick = { input: i, dim: j, d1: d, d2: q.shape[j]! };
    });
  });
  if (!pick) bad('no input dim differs between the two traces');
  // the picked dim is N itself: B1 = d1, B2 = d2; every other dim is k·N (k a positive integer) or static
  const { input, dim, d1, d2 } = pick!;
  const ks = new Map<number, number[]>();
  const coef = (a: number, b: number, what: string): number => {
    if (a === b) return 0;
    const k = (b - a) / (d2 - d1);
    if (!Number.isInteger(k) || k < 1 || a !== k * d1) bad(`${what} is ${a} / ${b} at batch ${d1} / ${d2}: not a multiple of the batch size`);
    return k;
  };
  const record = (id: number, s1: number[], s2: number[], what: string) => {
    if (s1.length !== s2.length) bad(`${what} has rank ${s1.length} in one trace and ${s2.length} in the other`);
    ks.set(id, s1.map((d, j) => coef(d, s2[j]!, `${what} dim ${j}`)));
  };
  g.inputs.forEach((inp, i) => record(inp.valueId, inp.shape, p.inputs[i]!.shape, `input '${inp.name}'`));
  g.constants.forEach((cst, i) => {
    const q = p.constants[i]!;
    if (cst.shape.join() !== q.shape.join()) bad(`constant ${cst.name ?? `#${i}`} has shape [${cst.shape}] in one trace and [${q.shape}] in the other: it depends on the batch size`);
    if (!cst.name && !sameValues(cst.values, q.values)) bad(`constant #${i} [${cst.shape}] holds different values in the two traces: it depends on the batch size`);
    ks.set(cst.valueId, cst.shape.map(() => 0));
  });
  g.nodes.forEach((n, i) => {
    const m = p.nodes[i]!;
    if (n.op !== m.op || n.outputs.length !== m.outputs.length) bad(`op #${i} is '${n.op}' in one trace and '${m.op}' in the other`);
    n.outputs.forEach((o, j) => record(o.valueId, o.shape, m.outputs[j]!.shape, `output ${j} of op #${i} (${n.op})`));
  });
  return { batch: d1, input, dim, ks };
}

// ---------------------------------------------------------------------------------------------
// Export

function diffKeys(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}

/** Attributes that may depend on the batch size (the mappers read the batch-aware output shapes instead). */
const BATCH_ATTRS: Record<string, readonly string[]> = {
  reshape: ['shape'],
  expand: ['shape'],
  slice: ['sizes'],
};

const dimParam = (k: number) => (k === 1 ? 'N' : `${k}N`);

/** Maps a traced graph to an ONNX graph spec (what {@link exportOnnx} serialises). */
export function exportOnnxSpec(graph: TracedGraph, opts: ExportOnnxOptions = {}): OnnxGraphSpec {
  const opset = opts.opset ?? EXPORT_OPSET;
  if (opset !== EXPORT_OPSET) throw new OnnxExportError(`the exporter writes opset ${EXPORT_OPSET}, not ${opset}`);
  const dynamic = opts.dynamicBatch ?? opts.batchProbe !== undefined;
  if (dynamic && !opts.batchProbe) {
    throw new OnnxExportError('dynamicBatch needs batchProbe: the same function traced at another batch size (traceForExport() makes both traces)');
  }
  if (opts.inputNames && opts.inputNames.length !== graph.inputs.length) throw new OnnxExportError(`inputNames has ${opts.inputNames.length} names for ${graph.inputs.length} inputs`);
  if (opts.outputNames && opts.outputNames.length !== graph.outputs.length) throw new OnnxExportError(`outputNames has ${opts.outputNames.length} names for ${graph.outputs.length} outputs`);
  if (graph.outputs.length === 0) throw new OnnxExportError('the graph has no outputs');

  const batch = dynamic ? analyseBatch(graph, opts.batchProbe!) : null;
  const b = new GraphBuilder();
  const names = new Map<number, string>();
  const infos = new Map<number, ExportValueInfo>();
  const ksOf = (id: number, shape: number[]) => batch?.ks.get(id) ?? shape.map(() => 0);

  // graph inputs
  const inputs: OnnxValueInfo[] = graph.inputs.map((inp, i) => {
    const name = opts.inputNames?.[i] ?? inp.name;
    if (!b.reserve(name)) throw new OnnxExportError(`input name '${name}' is used twice`);
    names.set(inp.valueId, name);
    const ks = ksOf(inp.valueId, inp.shape);
    infos.set(inp.valueId, { shape: inp.shape, dtype: inp.dtype, ks });
    return { name, dtype: inp.dtype, shape: inp.shape.map((d, j) => (ks[j] ? dimParam(ks[j]!) : d)) };
  });
  // graph outputs: a value produced by a node and used by one output is written under its name
  const outNames = graph.outputs.map((o, i) => opts.outputNames?.[i] ?? o.name);
  const seenOut = new Set<string>();
  for (const n of outNames) {
    if (seenOut.has(n)) throw new OnnxExportError(`output name '${n}' is used twice`);
    seenOut.add(n);
    if (!b.reserve(n)) throw new OnnxExportError(`output name '${n}' collides with an input name`);
  }
  const produced = new Set(graph.nodes.flatMap((n) => n.outputs.map((o) => o.valueId)));
  const outputAlias = new Map<number, string>();
  graph.outputs.forEach((o, i) => {
    if (produced.has(o.valueId) && !outputAlias.has(o.valueId)) outputAlias.set(o.valueId, outNames[i]!);
  });

  // constants: initializers under their own names (only those used)
  const used = new Set<number>();
  for (const n of graph.nodes) for (const id of n.inputs) if (id !== null) used.add(id);
  for (const o of graph.outputs) used.add(o.valueId);
  for (const cst of graph.constants) {
    if (!used.has(cst.valueId)) continue;
    if (!cst.values) {
      throw new OnnxExportError(`constant ${cst.name ? `'${cst.name}'` : `#${cst.valueId}`} [${cst.shape}] has no values: trace with keepValues: true (and real parameter tensors, not shapes)`);
    }
    const name = b.initializer(cst.name ?? `const_${cst.valueId}`, cst.dtype, cst.shape.slice(), cst.values);
    names.set(cst.valueId, name);
    infos.set(cst.valueId, { shape: cst.shape, dtype: cst.dtype, ks: ksOf(cst.valueId, cst.shape) });
  }

  // the batch size at run time, made on first use
  let batchName: string | null = null;
  const batchSize = (): string => {
    if (batchName) return batchName;
    const inp = graph.inputs[batch!.input]!;
    batchName = b.unique('batch_size');
    b.node('Shape', [names.get(inp.valueId)!], [batchName], { start: ii(batch!.dim), end: ii(batch!.dim + 1) }, 'batch_shape');
    return batchName;
  };
  const shapeVector = (shape: number[], ks: number[]): string => {
    if (!ks.some((k) => k)) return b.i64(shape);
    const parts: string[] = [];
    let run: number[] = [];
    const flush = () => {
      if (run.length) parts.push(b.i64(run));
      run = [];
    };
    shape.forEach((d, i) => {
      const k = ks[i]!;
      if (!k) return void run.push(d);
      flush();
      if (k === 1) parts.push(batchSize());
      else {
        const out = b.unique('batch_times');
        b.node('Mul', [batchSize(), b.i64([k])], [out], undefined, 'batch_mul');
        parts.push(out);
      }
    });
    flush();
    if (parts.length === 1) return parts[0]!;
    const out = b.unique('shape');
    b.node('Concat', parts, [out], { axis: ii(0) }, 'shape_concat');
    return out;
  };

  graph.nodes.forEach((node, idx) => {
    const mapper = MAPPERS[node.op];
    const where = `op #${node.id} '${node.op}'`;
    if (!mapper) {
      const why = UNMAPPED[node.op] ?? (opCatalogue().has(node.op) ? 'no ONNX mapping' : 'not an op of the catalogue');
      throw new OnnxExportError(`cannot export ${where} to ONNX: ${why}`);
    }
    if (batch) {
      const d = diffKeys(node.attrs, opts.batchProbe!.nodes[idx]!.attrs).filter((k) => !(BATCH_ATTRS[node.op] ?? []).includes(k));
      if (d.length) throw new OnnxExportError(`dynamic batch: attribute${d.length > 1 ? 's' : ''} ${d.join(', ')} of ${where} depend${d.length > 1 ? '' : 's'} on the batch size`);
    }
    const inNames = node.inputs.map((id) => {
      if (id === null) return '';
      const n = names.get(id);
      if (n === undefined) throw new OnnxExportError(`${where} reads value ${id}, which no input, constant or earlier op defines`);
      return n;
    });
    const base = `${node.op}_${node.id}`;
    const outNamesNode = node.outputs.map((o, j) => {
      const alias = outputAlias.get(o.valueId);
      const n = alias ?? b.unique(node.outputs.length > 1 ? `${base}_out${j}` : base);
      names.set(o.valueId, n);
      infos.set(o.valueId, { shape: o.shape, dtype: o.dtype, ks: ksOf(o.valueId, o.shape) });
      return n;
    });
    const ctx: ExportNodeContext = {
      node,
      attrs: node.attrs,
      inputs: inNames,
      inInfo: node.inputs.map((id) => (id === null ? null : infos.get(id)!)),
      outputs: outNamesNode,
      outInfo: node.outputs.map((o) => infos.get(o.valueId)!),
      emit(opType, ins, attrs, outs) {
        const outputs = Array.isArray(outs) ? outs : Array.from({ length: outs ?? 1 }, (_, j) => b.unique(`${base}/${opType}${(outs ?? 1) > 1 ? `_${j}` : ''}`));
        b.node(opType, ins, outputs, attrs, `${base}/${opType}`);
        return outputs;
      },
      op(opType, ins, attrs, output) {
        return ctx.emit(opType, ins, attrs, output === undefined ? 1 : [output])[0]!;
      },
      fresh: (base) => b.unique(base),
      i64: (v) => b.i64(v),
      scalar: (dt, v) => b.scalar(dt, v),
      constant: (dt, shape, v) => b.constant(dt, shape, v),
      shapeVector,
      fail(message): never {
        throw new OnnxExportError(`cannot export ${where}: ${message}`);
      },
    };
    mapper(ctx);
  });

  // graph outputs that are not a node's own output (inputs, constants, repeated values) go through Identity
  const outputs: OnnxValueInfo[] = graph.outputs.map((o, i) => {
    const name = outNames[i]!;
    const src = names.get(o.valueId);
    if (src === undefined) throw new OnnxExportError(`output '${o.name}' is value ${o.valueId}, which nothing defines`);
    if (src !== name) b.node('Identity', [src], [name], undefined, `output_${name}`);
    const ks = ksOf(o.valueId, o.shape);
    const dyn = graph.nodes.some((n) => n.dynamic && n.outputs.some((x) => x.valueId === o.valueId && x.dynamic));
    const shape = dyn ? undefined : o.shape.map((d, j) => (ks[j] ? dimParam(ks[j]!) : d));
    return shape ? { name, dtype: o.dtype, shape } : { name, dtype: o.dtype };
  });

  const spec: OnnxGraphSpec = {
    name: opts.graphName ?? 'tubelet',
    opset,
    producer: opts.producer ?? 'tubelet',
    nodes: b.nodes,
    inputs,
    outputs,
    initializers: b.initializers,
  };
  if (opts.producerVersion) spec.producerVersion = opts.producerVersion;
  if (opts.docString) spec.docString = opts.docString;
  if (opts.metadata) spec.metadata = opts.metadata;
  return spec;
}

/**
 * Serialises a traced graph as an ONNX model (opset 17): one or a few ONNX nodes per traced op,
 * every used constant as an initializer (parameters under their own names). The graph must have
 * been traced with `keepValues: true` and real parameter tensors. Throws {@link OnnxExportError}
 * naming the op for anything that has no ONNX form.
 */
export function exportOnnx(graph: TracedGraph, opts: ExportOnnxOptions = {}): Uint8Array {
  return buildOnnxModel(exportOnnxSpec(graph, opts));
}

// ---------------------------------------------------------------------------------------------
// Tracing for export

export interface TraceForExportOptions {
  /** Named parameters (real tensors: their values become initializers). */
  params?: TraceParams;
  /** Batch size of the probe trace (default: the traced batch + 1). */
  probeBatch?: number;
}

export interface ExportTraces {
  /** The trace with values (keepValues). */
  graph: TracedGraph;
  /** The same function traced shape-only at another batch size (for `batchProbe`). */
  probe: TracedGraph;
}

/**
 * Traces `fn` twice for export with a dynamic batch: once with values at the given input shapes,
 * once shape-only with dim 0 of every input set to `probeBatch`. Pass both to exportOnnx:
 *
 *   const { graph, probe } = await traceForExport(fn, [{ name: 'input', shape: [1, 3, 8, 224, 224] }], { params });
 *   const bytes = exportOnnx(graph, { batchProbe: probe });
 *
 * `fn` runs once per trace; it must not keep state between calls (load the parameters from
 * `ctx.params` into a fresh module each time).
 */
export async function traceForExport<const I extends readonly TraceInputSpec[]>(fn: TraceFn<I>, inputs: I, opts: TraceForExportOptions = {}): Promise<ExportTraces> {
  if (inputs.length === 0) throw new OnnxExportError('traceForExport needs at least one input');
  const B = inputs[0]!.shape[0];
  if (B === undefined) throw new OnnxExportError(`input '${inputs[0]!.name}' has no batch dim`);
  const probeBatch = opts.probeBatch ?? B + 1;
  if (!Number.isInteger(probeBatch) || probeBatch < 1 || probeBatch === B) throw new OnnxExportError(`probeBatch must be a positive integer other than ${B}, got ${probeBatch}`);
  const graph = await traceGraph(fn, inputs, { params: opts.params, keepValues: true });
  const entries: [string, Tensor | ParamSpec][] = opts.params ? (opts.params instanceof Map ? [...opts.params] : Object.entries(opts.params)) : [];
  const shapes = new Map<string, ParamSpec>(entries.map(([k, v]) => [k, v instanceof Tensor ? { shape: v.shape.slice(), dtype: v.dtype } : v]));
  const probeInputs = inputs.map((s) => ({ ...s, shape: s.shape.length && s.shape[0] === B ? [probeBatch, ...s.shape.slice(1)] : s.shape.slice() }));
  const probe = await traceGraph(fn as never, probeInputs, { params: shapes, keepValues: true });
  return { graph, probe };
}
