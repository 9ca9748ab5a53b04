/**
 * Dependency-free ONNX `ModelProto` writer and reader.
 *
 * Field numbers follow onnx/onnx.proto (IR version 3 through 11). Tensor data is always written
 * as little-endian `raw_data`; the reader also understands the typed `*_data` fields.
 */
import { arrayMatchesDType, type DType, type TypedArray, f32ToF16Bits, f32ToBf16Bits } from '../dtype';
import { ProtoDecodeError, ProtoMessage, ProtoWriter } from './protobuf';

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

/** Element types the ONNX writer accepts: the core {@link DType}s plus a few ONNX-only ones. */
export type OnnxDType = DType | 'int8' | 'float64' | 'bfloat16';
/** Host storage: float16/bfloat16 are raw 16-bit patterns (Uint16Array), bool is 0/1 bytes. */
export type OnnxTypedArray = TypedArray | Int8Array | Float64Array;

/** `TensorProto.DataType` enum values. */
export const OnnxDataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  COMPLEX64: 14,
  COMPLEX128: 15,
  BFLOAT16: 16,
  FLOAT8E4M3FN: 17,
  FLOAT8E4M3FNUZ: 18,
  FLOAT8E5M2: 19,
  FLOAT8E5M2FNUZ: 20,
  UINT4: 21,
  INT4: 22,
  FLOAT4E2M1: 23,
} as const;

const DTYPE_TO_ONNX: Record<OnnxDType, number> = {
  float32: OnnxDataType.FLOAT,
  uint8: OnnxDataType.UINT8,
  int8: OnnxDataType.INT8,
  int32: OnnxDataType.INT32,
  int64: OnnxDataType.INT64,
  bool: OnnxDataType.BOOL,
  float16: OnnxDataType.FLOAT16,
  float64: OnnxDataType.DOUBLE,
  bfloat16: OnnxDataType.BFLOAT16,
};
const ONNX_TO_DTYPE = new Map<number, OnnxDType>(Object.entries(DTYPE_TO_ONNX).map(([k, v]) => [v, k as OnnxDType]));

const ONNX_BYTES: Record<OnnxDType, number> = {
  float32: 4,
  uint8: 1,
  int8: 1,
  int32: 4,
  int64: 8,
  bool: 1,
  float16: 2,
  float64: 8,
  bfloat16: 2,
};

/** `TensorProto.DataType` number of a dtype (e.g. for Cast's `to` attribute). */
export function onnxDataType(dtype: OnnxDType): number {
  const n = DTYPE_TO_ONNX[dtype];
  if (n === undefined) throw new TypeError(`unsupported ONNX dtype '${String(dtype)}'`);
  return n;
}

/** The dtype of a `TensorProto.DataType` number, or undefined when tubelet has no host type for it. */
export function dtypeFromOnnx(dataType: number): OnnxDType | undefined {
  return ONNX_TO_DTYPE.get(dataType);
}

export function isOnnxDType(x: unknown): x is OnnxDType {
  return typeof x === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_TO_ONNX, x);
}

/** True when `arr` is the host array type that stores `dtype`. */
export function onnxArrayMatchesDType(arr: unknown, dtype: OnnxDType): boolean {
  switch (dtype) {
    case 'int8':
      return arr instanceof Int8Array;
    case 'float64':
      return arr instanceof Float64Array;
    case 'bfloat16':
      return arr instanceof Uint16Array;
    default:
      return arrayMatchesDType(arr, dtype);
  }
}

/**
 * Converts plain numbers to the host array of `dtype` (float16/bfloat16 are rounded to bits,
 * bool maps non-zero to 1, int64 accepts numbers or bigints).
 */
export function toOnnxArray(dtype: OnnxDType, values: ArrayLike<number | bigint | boolean>): OnnxTypedArray {
  const n = values.length;
  const num = (i: number): number => Number(values[i]);
  switch (dtype) {
    case 'float32':
      return Float32Array.from({ length: n }, (_, i) => num(i));
    case 'float64':
      return Float64Array.from({ length: n }, (_, i) => num(i));
    case 'float16':
      return Uint16Array.from({ length: n }, (_, i) => f32ToF16Bits(num(i)));
    case 'bfloat16':
      return Uint16Array.from({ length: n }, (_, i) => f32ToBf16Bits(num(i)));
    case 'int32':
      return Int32Array.from({ length: n }, (_, i) => num(i));
    case 'int8':
      return Int8Array.from({ length: n }, (_, i) => num(i));
    case 'uint8':
      return Uint8Array.from({ length: n }, (_, i) => num(i));
    case 'bool':
      return Uint8Array.from({ length: n }, (_, i) => (values[i] ? 1 : 0));
    case 'int64':
      return BigInt64Array.from({ length: n }, (_, i) => {
        const v = values[i]!;
        return typeof v === 'bigint' ? v : BigInt(Number(v));
      });
    default:
      throw new TypeError(`unsupported ONNX dtype '${String(dtype)}'`);
  }
}

/** A graph input/output/value_info entry. String dims become `dim_param` (symbolic, e.g. 'N'). */
export interface OnnxValueInfo {
  name: string;
  /**
   * Element type. Required for graph inputs; may be omitted on outputs and `valueInfo` to leave
   * the type to the runtime (ONNX requires it on top-level outputs, but onnxruntime infers it).
   */
  dtype?: OnnxDType;
  /** Omitted: unknown rank. `[]`: a scalar. Requires `dtype`. */
  shape?: (number | string)[];
  docString?: string;
}

/** A constant tensor (attribute value). */
export interface OnnxTensor {
  name?: string;
  dtype: OnnxDType;
  shape: number[];
  /** Host array matching `dtype` with `prod(shape)` elements (see {@link OnnxTypedArray}). */
  data: OnnxTypedArray;
}

/** A named graph initializer (weight). */
export interface OnnxInitializer extends OnnxTensor {
  name: string;
}

/**
 * A node attribute, tagged with its ONNX type so ints and floats are never confused:
 * `{f: 0.5}`, `{i: 1}`, `{s: 'tanh'}`, `{t: tensor}`, `{g: subgraph}`, `{floats: [...]}`,
 * `{ints: [...]}`, `{strings: [...]}`, `{tensors: [...]}`, `{graphs: [...]}`.
 * A bare string is shorthand for `{s: string}`. See also the {@link attr} helpers.
 */
export type OnnxAttr =
  | string
  | { f: number }
  | { i: number | bigint }
  | { s: string | Uint8Array }
  | { t: OnnxTensor }
  | { g: OnnxSubgraph }
  | { floats: number[] }
  | { ints: (number | bigint)[] }
  | { strings: string[] }
  | { tensors: OnnxTensor[] }
  | { graphs: OnnxSubgraph[] };

/** Constructors for {@link OnnxAttr} values. */
export const attr = {
  float: (f: number): OnnxAttr => ({ f }),
  int: (i: number | bigint): OnnxAttr => ({ i }),
  string: (s: string | Uint8Array): OnnxAttr => ({ s }),
  tensor: (t: OnnxTensor): OnnxAttr => ({ t }),
  graph: (g: OnnxSubgraph): OnnxAttr => ({ g }),
  floats: (floats: number[]): OnnxAttr => ({ floats }),
  ints: (ints: (number | bigint)[]): OnnxAttr => ({ ints }),
  strings: (strings: string[]): OnnxAttr => ({ strings }),
  tensors: (tensors: OnnxTensor[]): OnnxAttr => ({ tensors }),
  graphs: (graphs: OnnxSubgraph[]): OnnxAttr => ({ graphs }),
};

export interface OnnxNode {
  opType: string;
  /** Input value names; `''` marks an omitted optional input. */
  inputs: string[];
  /** Output value names; `''` marks an omitted optional output. */
  outputs: string[];
  /** Defaults to `${opType}_${index}`. */
  name?: string;
  /** Operator domain; `''` (default) is ai.onnx. Other domains need an `extraOpsets` entry. */
  domain?: string;
  attrs?: Record<string, OnnxAttr>;
  docString?: string;
}

/** A graph body: the top-level graph, or a subgraph attribute (If/Loop/Scan), which may use outer-scope names. */
export interface OnnxSubgraph {
  name?: string;
  nodes: OnnxNode[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  initializers?: OnnxInitializer[];
  /** Optional type/shape annotations of intermediate values. */
  valueInfo?: OnnxValueInfo[];
  docString?: string;
}

export interface OpsetId {
  domain: string;
  version: number;
}

export interface OnnxGraphSpec extends OnnxSubgraph {
  /** ai.onnx opset version; default 17. */
  opset?: number;
  /** Opsets of other domains used by nodes (e.g. `{domain: 'com.microsoft', version: 1}`). */
  extraOpsets?: OpsetId[];
  /** Default: the lowest IR version that supports `opset`. */
  irVersion?: number;
  /** Default 'tubelet'. */
  producer?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: number;
  /** Model-level doc string (the graph's own is `graphDocString`). */
  docString?: string;
  graphDocString?: string;
  metadata?: Record<string, string>;
}

/** Default ai.onnx opset version. */
export const DEFAULT_OPSET = 17;

/**
 * Lowest IR version that supports an ai.onnx opset (onnx/docs/Versioning.md); opsets >= 23 map
 * to 11 (onnxruntime 1.30 loads opsets up to 26 at IR 11). Override with `OnnxGraphSpec.irVersion`.
 */
export function irVersionForOpset(opset: number): number {
  if (opset <= 8) return 3;
  if (opset === 9) return 4;
  if (opset === 10) return 5;
  if (opset === 11) return 6;
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  if (opset <= 22) return 10;
  return 11;
}

/** Thrown by {@link buildOnnxModel} / {@link validateOnnxGraph} for an invalid spec. */
export class OnnxSpecError extends Error {
  override name = 'OnnxSpecError';
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

function fail(where: string, msg: string): never {
  throw new OnnxSpecError(`${where}: ${msg}`);
}

function isAttrObject(a: unknown): a is Record<string, unknown> {
  return typeof a === 'object' && a !== null && !Array.isArray(a);
}

function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function validateTensor(t: OnnxTensor, where: string): void {
  if (!isOnnxDType(t.dtype)) fail(where, `unknown dtype '${String(t.dtype)}'`);
  if (!Array.isArray(t.shape)) fail(where, 'shape must be an array');
  for (const d of t.shape) {
    if (!Number.isSafeInteger(d) || d < 0) fail(where, `invalid dimension ${String(d)} in shape [${t.shape.join(', ')}]`);
  }
  if (!onnxArrayMatchesDType(t.data, t.dtype)) {
    fail(where, `data is ${(t.data as object)?.constructor?.name ?? typeof t.data}, which does not store dtype ${t.dtype}`);
  }
  const n = numel(t.shape);
  if (t.data.length !== n) fail(where, `data has ${t.data.length} elements but shape [${t.shape.join(', ')}] needs ${n}`);
}

function validateValueInfo(v: OnnxValueInfo, where: string, requireType: boolean): void {
  if (typeof v.name !== 'string' || v.name === '') fail(where, 'name must be a non-empty string');
  if (v.dtype === undefined) {
    if (requireType) fail(`${where} '${v.name}'`, 'dtype is required');
    if (v.shape !== undefined) fail(`${where} '${v.name}'`, 'a shape needs a dtype');
  } else if (!isOnnxDType(v.dtype)) fail(`${where} '${v.name}'`, `unknown dtype '${String(v.dtype)}'`);
  if (v.shape !== undefined) {
    if (!Array.isArray(v.shape)) fail(`${where} '${v.name}'`, 'shape must be an array');
    for (const d of v.shape) {
      const ok = typeof d === 'string' ? d !== '' : Number.isSafeInteger(d) && d >= 0;
      if (!ok) fail(`${where} '${v.name}'`, `invalid dimension ${JSON.stringify(d)} (use a non-negative integer or a non-empty symbol)`);
    }
  }
}

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

function checkInt(v: unknown, where: string): void {
  if (typeof v === 'bigint') {
    if (v < INT64_MIN || v > INT64_MAX) fail(where, `${v} does not fit in int64`);
  } else if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
    fail(where, `expected an integer (number or bigint), got ${String(v)}`);
  }
}

function validateAttr(a: OnnxAttr, where: string, scope: () => ReadonlySet<string>, domains: ReadonlySet<string>): void {
  if (typeof a === 'string') return;
  if (typeof a === 'number' || typeof a === 'bigint') {
    fail(where, `bare ${typeof a} ${String(a)} is ambiguous; use {i: ${String(a)}} for INT or {f: ${String(a)}} for FLOAT`);
  }
  if (Array.isArray(a)) fail(where, 'bare arrays are ambiguous; use {ints: [...]}, {floats: [...]} or {strings: [...]}');
  if (!isAttrObject(a)) fail(where, `invalid attribute value ${String(a)}`);
  const keys = Object.keys(a);
  if (keys.length !== 1) fail(where, `attribute object must have exactly one key of f/i/s/t/g/floats/ints/strings/tensors/graphs, got {${keys.join(', ')}}`);
  const k = keys[0]!;
  const v = (a as Record<string, unknown>)[k];
  switch (k) {
    case 'f':
      if (typeof v !== 'number') fail(where, `{f} must be a number, got ${typeof v}`);
      return;
    case 'i':
      return checkInt(v, where);
    case 's':
      if (typeof v !== 'string' && !(v instanceof Uint8Array)) fail(where, '{s} must be a string or Uint8Array');
      return;
    case 't':
      return validateTensor(v as OnnxTensor, where);
    case 'g':
      return validateGraph(v as OnnxSubgraph, where, scope(), domains);
    case 'floats':
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'number')) fail(where, '{floats} must be an array of numbers');
      return;
    case 'ints':
      if (!Array.isArray(v)) fail(where, '{ints} must be an array');
      v.forEach((x, j) => checkInt(x, `${where}[${j}]`));
      return;
    case 'strings':
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) fail(where, '{strings} must be an array of strings');
      return;
    case 'tensors':
      if (!Array.isArray(v)) fail(where, '{tensors} must be an array');
      v.forEach((t, j) => validateTensor(t as OnnxTensor, `${where}[${j}]`));
      return;
    case 'graphs':
      if (!Array.isArray(v)) fail(where, '{graphs} must be an array');
      const outer = scope();
      v.forEach((g, j) => validateGraph(g as OnnxSubgraph, `${where}[${j}]`, outer, domains));
      return;
    default:
      fail(where, `unknown attribute kind '${k}' (expected f/i/s/t/g/floats/ints/strings/tensors/graphs)`);
  }
}

function validateGraph(g: OnnxSubgraph, where: string, outer: ReadonlySet<string>, domains: ReadonlySet<string>): void {
  const gw = `${where} graph${g.name ? ` '${g.name}'` : ''}`;
  if (!Array.isArray(g.nodes) || !Array.isArray(g.inputs) || !Array.isArray(g.outputs)) {
    fail(gw, 'nodes, inputs and outputs must be arrays');
  }
  // Names defined in this graph (SSA: each exactly once). Initializers may double as inputs (overridable defaults).
  const defined = new Set<string>();
  const inputNames = new Set<string>();
  for (const [i, v] of g.inputs.entries()) {
    validateValueInfo(v, `${gw} > input #${i}`, true);
    if (inputNames.has(v.name)) fail(gw, `duplicate graph input '${v.name}'`);
    inputNames.add(v.name);
    defined.add(v.name);
  }
  const initNames = new Set<string>();
  for (const [i, t] of (g.initializers ?? []).entries()) {
    const iw = `${gw} > initializer #${i}${t.name ? ` '${t.name}'` : ''}`;
    if (typeof t.name !== 'string' || t.name === '') fail(iw, 'name must be a non-empty string');
    if (initNames.has(t.name)) fail(gw, `duplicate initializer '${t.name}'`);
    validateTensor(t, iw);
    initNames.add(t.name);
    defined.add(t.name);
  }
  const visible = (name: string): boolean => defined.has(name) || outer.has(name);
  for (const [i, n] of g.nodes.entries()) {
    const nw = `${gw} > node #${i} (${String(n.opType)}${n.name ? ` '${n.name}'` : ''})`;
    if (typeof n.opType !== 'string' || n.opType === '') fail(nw, 'opType must be a non-empty string');
    if (!Array.isArray(n.inputs) || !Array.isArray(n.outputs)) fail(nw, 'inputs and outputs must be arrays');
    const dom = n.domain ?? '';
    if (dom !== '' && dom !== 'ai.onnx' && !domains.has(dom)) {
      fail(nw, `domain '${dom}' has no opset import; add {domain: '${dom}', version} to extraOpsets`);
    }
    for (const inp of n.inputs) {
      if (typeof inp !== 'string') fail(nw, `input names must be strings, got ${String(inp)}`);
      if (inp !== '' && !visible(inp)) {
        fail(nw, `input '${inp}' is not a graph input, an initializer or an output of an earlier node`);
      }
    }
    // Attributes; subgraphs see everything defined so far.
    const scope = (): ReadonlySet<string> => new Set([...outer, ...defined]);
    for (const [k, a] of Object.entries(n.attrs ?? {})) {
      if (k === '') fail(nw, 'attribute name must be non-empty');
      validateAttr(a, `${nw} > attribute '${k}'`, scope, domains);
    }
    for (const out of n.outputs) {
      if (typeof out !== 'string') fail(nw, `output names must be strings, got ${String(out)}`);
      if (out === '') continue;
      if (defined.has(out)) {
        const what = inputNames.has(out) ? 'a graph input' : initNames.has(out) ? 'an initializer' : 'an earlier node output';
        fail(nw, `output '${out}' is already defined as ${what}`);
      }
      defined.add(out);
    }
  }
  const outNames = new Set<string>();
  for (const [i, v] of g.outputs.entries()) {
    validateValueInfo(v, `${gw} > output #${i}`, false);
    if (outNames.has(v.name)) fail(gw, `duplicate graph output '${v.name}'`);
    outNames.add(v.name);
    if (!visible(v.name)) fail(gw, `graph output '${v.name}' is not produced by any node, input or initializer`);
  }
  for (const [i, v] of (g.valueInfo ?? []).entries()) validateValueInfo(v, `${gw} > value_info #${i}`, false);
}

/** Checks a spec without encoding it; throws {@link OnnxSpecError} describing the first problem. */
export function validateOnnxGraph(spec: OnnxGraphSpec): void {
  const opset = spec.opset ?? DEFAULT_OPSET;
  if (!Number.isSafeInteger(opset) || opset < 1) fail('model', `invalid opset ${String(opset)}`);
  const domains = new Set<string>();
  for (const o of spec.extraOpsets ?? []) {
    if (typeof o.domain !== 'string' || o.domain === '' || o.domain === 'ai.onnx') {
      fail('model', `extraOpsets domain must be a non-default domain, got '${String(o.domain)}' (set 'opset' for ai.onnx)`);
    }
    if (!Number.isSafeInteger(o.version) || o.version < 1) fail('model', `invalid version ${String(o.version)} for domain '${o.domain}'`);
    if (domains.has(o.domain)) fail('model', `duplicate opset import for domain '${o.domain}'`);
    domains.add(o.domain);
  }
  if (spec.irVersion !== undefined && (!Number.isSafeInteger(spec.irVersion) || spec.irVersion < 3)) {
    fail('model', `invalid irVersion ${String(spec.irVersion)}`);
  }
  validateGraph(spec, 'model', new Set(), domains);
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Little-endian bytes of a host array (a view of it on little-endian hosts; bool normalized to 0/1). */
export function tensorRawBytes(dtype: OnnxDType, data: OnnxTypedArray): Uint8Array {
  if (dtype === 'bool' && (data as Uint8Array).some((x) => x > 1)) {
    return Uint8Array.from(data as Uint8Array, (x) => (x ? 1 : 0));
  }
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const w = ONNX_BYTES[dtype];
  if (LITTLE_ENDIAN || w === 1) return bytes;
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += w) for (let j = 0; j < w; j++) out[i + j] = bytes[i + w - 1 - j]!;
  return out;
}

function writeTensor(w: ProtoWriter, t: OnnxTensor): void {
  w.packedVarint(1, t.shape); // dims
  w.varint(2, onnxDataType(t.dtype)); // data_type
  if (t.name) w.string(8, t.name);
  w.bytes(9, tensorRawBytes(t.dtype, t.data)); // raw_data
}

function writeValueInfo(w: ProtoWriter, v: OnnxValueInfo): void {
  w.string(1, v.name);
  const { dtype, shape } = v;
  if (dtype !== undefined) {
    w.message(2, (tp) =>
      tp.message(1, (tt) => {
        tt.varint(1, onnxDataType(dtype)); // elem_type
        if (shape) {
          tt.message(2, (sh) => {
            for (const d of shape) sh.message(1, (dim) => (typeof d === 'string' ? dim.string(2, d) : dim.varint(1, d)));
          });
        }
      }),
    );
  }
  if (v.docString) w.string(3, v.docString);
}

const AttrType = {
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
  SPARSE_TENSOR: 11,
  SPARSE_TENSORS: 12,
  TYPE_PROTO: 13,
  TYPE_PROTOS: 14,
} as const;

function writeAttr(w: ProtoWriter, name: string, a: OnnxAttr): void {
  w.string(1, name);
  const v = typeof a === 'string' ? { s: a } : a;
  if ('f' in v) w.float(2, v.f).varint(20, AttrType.FLOAT);
  else if ('i' in v) w.varint(3, v.i).varint(20, AttrType.INT);
  else if ('s' in v) (typeof v.s === 'string' ? w.string(4, v.s) : w.bytes(4, v.s)).varint(20, AttrType.STRING);
  else if ('t' in v) w.message(5, (t) => writeTensor(t, v.t)).varint(20, AttrType.TENSOR);
  else if ('g' in v) w.message(6, (g) => writeGraph(g, v.g, name)).varint(20, AttrType.GRAPH);
  else if ('floats' in v) w.packedFloat(7, v.floats).varint(20, AttrType.FLOATS);
  else if ('ints' in v) w.packedVarint(8, v.ints).varint(20, AttrType.INTS);
  else if ('strings' in v) {
    for (const s of v.strings) w.string(9, s);
    w.varint(20, AttrType.STRINGS);
  } else if ('tensors' in v) {
    for (const t of v.tensors) w.message(10, (tw) => writeTensor(tw, t));
    w.varint(20, AttrType.TENSORS);
  } else if ('graphs' in v) {
    v.graphs.forEach((g, j) => w.message(11, (gw) => writeGraph(gw, g, `${name}_${j}`)));
    w.varint(20, AttrType.GRAPHS);
  }
}

function writeGraph(w: ProtoWriter, g: OnnxSubgraph, defaultName: string, docString = g.docString): void {
  g.nodes.forEach((n, i) => {
    const nodeName = n.name ?? `${n.opType}_${i}`;
    w.message(1, (nw) => {
      for (const s of n.inputs) nw.string(1, s);
      for (const s of n.outputs) nw.string(2, s);
      nw.string(3, nodeName);
      nw.string(4, n.opType);
      for (const [k, a] of Object.entries(n.attrs ?? {})) nw.message(5, (aw) => writeAttr(aw, k, a));
      if (n.docString) nw.string(6, n.docString);
      if (n.domain && n.domain !== 'ai.onnx') nw.string(7, n.domain);
    });
  });
  w.string(2, g.name ?? defaultName);
  for (const t of g.initializers ?? []) w.message(5, (tw) => writeTensor(tw, t));
  if (docString) w.string(10, docString);
  for (const v of g.inputs) w.message(11, (vw) => writeValueInfo(vw, v));
  for (const v of g.outputs) w.message(12, (vw) => writeValueInfo(vw, v));
  for (const v of g.valueInfo ?? []) w.message(13, (vw) => writeValueInfo(vw, v));
}

/**
 * Validates `spec` and encodes it as serialized ONNX `ModelProto` bytes.
 * Initializer arrays are read (not retained) during the call.
 */
export function buildOnnxModel(spec: OnnxGraphSpec): Uint8Array {
  validateOnnxGraph(spec);
  const opset = spec.opset ?? DEFAULT_OPSET;
  const w = new ProtoWriter();
  w.varint(1, spec.irVersion ?? irVersionForOpset(opset)); // ir_version
  w.string(2, spec.producer ?? 'tubelet');
  if (spec.producerVersion) w.string(3, spec.producerVersion);
  if (spec.domain) w.string(4, spec.domain);
  if (spec.modelVersion !== undefined) w.varint(5, spec.modelVersion);
  if (spec.docString) w.string(6, spec.docString);
  w.message(7, (gw) => writeGraph(gw, spec, 'main', spec.graphDocString));
  w.message(8, (o) => o.string(1, '').varint(2, opset));
  for (const o of spec.extraOpsets ?? []) w.message(8, (ow) => ow.string(1, o.domain).varint(2, o.version));
  for (const [key, value] of Object.entries(spec.metadata ?? {})) {
    w.message(14, (m) => m.string(1, key).string(2, value));
  }
  return w.finish();
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

/** A decoded tensor. `data` is present when the dtype has a host type and the data is stored inline. */
export interface DecodedOnnxTensor {
  name: string;
  /** `TensorProto.DataType` number. */
  dataType: number;
  dtype: OnnxDType | undefined;
  shape: number[];
  data?: OnnxTypedArray;
  /** `external_data` key/values when the tensor's data lives in a separate file. */
  externalData?: Record<string, string>;
  docString?: string;
}

/** A decoded value info. `shape` is undefined for unknown rank; `null` dims are unknown. */
export interface DecodedOnnxValueInfo {
  name: string;
  /** Tensor element type number (0 when the value is not a tensor). */
  elemType: number;
  dtype: OnnxDType | undefined;
  shape?: (number | string | null)[];
}

/** A decoded attribute in the same tagged form as {@link OnnxAttr} (strings are decoded as UTF-8). */
export type DecodedOnnxAttr =
  | { f: number }
  | { i: number | bigint }
  | { s: string }
  | { t: DecodedOnnxTensor }
  | { g: DecodedOnnxGraph }
  | { floats: number[] }
  | { ints: (number | bigint)[] }
  | { strings: string[] }
  | { tensors: DecodedOnnxTensor[] }
  | { graphs: DecodedOnnxGraph[] }
  | { unsupported: number };

export interface DecodedOnnxNode {
  opType: string;
  inputs: string[];
  outputs: string[];
  name: string;
  domain: string;
  attrs: Record<string, DecodedOnnxAttr>;
  docString?: string;
}

export interface DecodedOnnxGraph {
  name: string;
  nodes: DecodedOnnxNode[];
  inputs: DecodedOnnxValueInfo[];
  outputs: DecodedOnnxValueInfo[];
  valueInfo: DecodedOnnxValueInfo[];
  initializers: DecodedOnnxTensor[];
  docString?: string;
}

export interface DecodedOnnxModel {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  domain: string;
  modelVersion: number;
  docString?: string;
  /** Opset imports; the ai.onnx one has domain `''`. */
  opsets: OpsetId[];
  metadata: Record<string, string>;
  graph: DecodedOnnxGraph;
}

function safeNum(v: number | bigint, what: string): number {
  if (typeof v === 'bigint') throw new ProtoDecodeError(`${what} ${v} is not a safe integer`);
  return v;
}

function rawToArray(dtype: OnnxDType, raw: Uint8Array, n: number, name: string): OnnxTypedArray {
  const w = ONNX_BYTES[dtype];
  if (raw.length !== n * w) {
    throw new ProtoDecodeError(`tensor '${name}': raw_data has ${raw.length} bytes, expected ${n * w} for ${n} x ${dtype}`);
  }
  const copy = raw.slice(); // aligned, owned
  if (!LITTLE_ENDIAN && w > 1) {
    for (let i = 0; i < copy.length; i += w) copy.subarray(i, i + w).reverse();
  }
  const buf = copy.buffer;
  switch (dtype) {
    case 'float32':
      return new Float32Array(buf);
    case 'float64':
      return new Float64Array(buf);
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(buf);
    case 'int32':
      return new Int32Array(buf);
    case 'int64':
      return new BigInt64Array(buf);
    case 'int8':
      return new Int8Array(buf);
    case 'uint8':
    case 'bool':
      return copy;
  }
}

function typedFieldsToArray(dtype: OnnxDType, m: ProtoMessage, n: number, name: string): OnnxTypedArray | undefined {
  let arr: OnnxTypedArray;
  switch (dtype) {
    case 'float32':
      arr = Float32Array.from(m.floats(4));
      break;
    case 'float64':
      arr = Float64Array.from(m.doubles(10));
      break;
    case 'int64':
      arr = BigInt64Array.from(m.rawVarints(7), (v) => BigInt.asIntN(64, v));
      break;
    default: {
      // int32_data holds int32/int8/uint8/bool values and float16/bfloat16 bit patterns
      const vals = m.rawVarints(5).map((v) => Number(BigInt.asIntN(32, v)));
      if (dtype === 'int32') arr = Int32Array.from(vals);
      else if (dtype === 'int8') arr = Int8Array.from(vals);
      else if (dtype === 'float16' || dtype === 'bfloat16') arr = Uint16Array.from(vals);
      else arr = Uint8Array.from(vals);
    }
  }
  if (arr.length === 0 && n !== 0) return undefined; // no inline data
  if (arr.length !== n) throw new ProtoDecodeError(`tensor '${name}': has ${arr.length} values, expected ${n}`);
  return arr;
}

function decodeTensor(m: ProtoMessage): DecodedOnnxTensor {
  const name = m.string(8);
  const dataType = m.num(2);
  const dtype = dtypeFromOnnx(dataType);
  const shape = m.ints(1).map((d) => safeNum(d, `tensor '${name}' dim`));
  const t: DecodedOnnxTensor = { name, dataType, dtype, shape };
  const doc = m.string(12);
  if (doc) t.docString = doc;
  if (m.num(14) === 1 || m.has(13)) {
    const ext: Record<string, string> = {};
    for (const e of m.messages(13)) ext[e.string(1)] = e.string(2);
    t.externalData = ext;
    return t;
  }
  if (dtype) {
    const n = numel(shape);
    const raw = m.bytes(9);
    const data = raw ? rawToArray(dtype, raw, n, name) : typedFieldsToArray(dtype, m, n, name);
    if (data) t.data = data;
  }
  return t;
}

function decodeValueInfo(m: ProtoMessage): DecodedOnnxValueInfo {
  const name = m.string(1);
  const tensorType = m.message(2)?.message(1);
  const elemType = tensorType?.num(1) ?? 0;
  const v: DecodedOnnxValueInfo = { name, elemType, dtype: dtypeFromOnnx(elemType) };
  const shape = tensorType?.message(2);
  if (shape) {
    v.shape = shape.messages(1).map((d) => {
      if (d.has(1)) return safeNum(d.int(1), `value '${name}' dim`);
      if (d.has(2)) return d.string(2);
      return null;
    });
  }
  return v;
}

function decodeAttr(m: ProtoMessage): DecodedOnnxAttr {
  let type = m.num(20);
  if (type === 0) {
    // pre-IR-v3 models may omit the type; infer it from the field present
    const byField: [number, number][] = [
      [2, AttrType.FLOAT], [3, AttrType.INT], [4, AttrType.STRING], [5, AttrType.TENSOR], [6, AttrType.GRAPH],
      [7, AttrType.FLOATS], [8, AttrType.INTS], [9, AttrType.STRINGS], [10, AttrType.TENSORS], [11, AttrType.GRAPHS],
    ];
    type = byField.find(([f]) => m.has(f))?.[1] ?? 0;
  }
  switch (type) {
    case AttrType.FLOAT:
      return { f: m.float(2) };
    case AttrType.INT:
      return { i: m.int(3) };
    case AttrType.STRING:
      return { s: m.string(4) };
    case AttrType.TENSOR:
      return { t: decodeTensor(m.message(5) ?? new ProtoMessage(new Uint8Array())) };
    case AttrType.GRAPH:
      return { g: decodeGraph(m.message(6) ?? new ProtoMessage(new Uint8Array())) };
    case AttrType.FLOATS:
      return { floats: m.floats(7) };
    case AttrType.INTS:
      return { ints: m.ints(8) };
    case AttrType.STRINGS:
      return { strings: m.strings(9) };
    case AttrType.TENSORS:
      return { tensors: m.messages(10).map(decodeTensor) };
    case AttrType.GRAPHS:
      return { graphs: m.messages(11).map(decodeGraph) };
    default:
      return { unsupported: type };
  }
}

function decodeNode(m: ProtoMessage): DecodedOnnxNode {
  const attrs: Record<string, DecodedOnnxAttr> = {};
  for (const a of m.messages(5)) attrs[a.string(1)] = decodeAttr(a);
  const n: DecodedOnnxNode = {
    opType: m.string(4),
    inputs: m.strings(1),
    outputs: m.strings(2),
    name: m.string(3),
    domain: m.string(7),
    attrs,
  };
  const doc = m.string(6);
  if (doc) n.docString = doc;
  return n;
}

function decodeGraph(m: ProtoMessage): DecodedOnnxGraph {
  const g: DecodedOnnxGraph = {
    name: m.string(2),
    nodes: m.messages(1).map(decodeNode),
    inputs: m.messages(11).map(decodeValueInfo),
    outputs: m.messages(12).map(decodeValueInfo),
    valueInfo: m.messages(13).map(decodeValueInfo),
    initializers: m.messages(5).map(decodeTensor),
  };
  const doc = m.string(10);
  if (doc) g.docString = doc;
  return g;
}

/**
 * Decodes serialized `ModelProto` bytes into a structured view (opsets, nodes with attributes,
 * inputs/outputs, initializers with data). Throws `ProtoDecodeError` on malformed input.
 */
export function decodeOnnxModel(bytes: Uint8Array): DecodedOnnxModel {
  const m = new ProtoMessage(bytes);
  const graph = m.message(7);
  if (!graph) throw new ProtoDecodeError('not an ONNX model: ModelProto has no graph');
  const metadata: Record<string, string> = {};
  for (const e of m.messages(14)) metadata[e.string(1)] = e.string(2);
  const model: DecodedOnnxModel = {
    irVersion: m.num(1),
    producerName: m.string(2),
    producerVersion: m.string(3),
    domain: m.string(4),
    modelVersion: m.num(5),
    opsets: m.messages(8).map((o) => ({ domain: o.string(1), version: o.num(2) })),
    metadata,
    graph: decodeGraph(graph),
  };
  const doc = m.string(6);
  if (doc) model.docString = doc;
  return model;
}
