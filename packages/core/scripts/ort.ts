/**
 * Node-only helpers that run ONNX models with onnxruntime-node (CPU). Used by tests and fixture
 * generation; not part of the published package.
 */
import * as ort from 'onnxruntime-node';
import {
  buildOnnxModel,
  onnxArrayMatchesDType,
  type OnnxAttr,
  type OnnxDType,
  type OnnxInitializer,
  type OnnxTypedArray,
  type OnnxValueInfo,
  type OpsetId,
} from '../src/onnx/index';

/** A host tensor: `data` is the host array of `dtype` (float16 as raw bits, bool as 0/1 bytes). */
export interface HostTensor {
  dtype: OnnxDType;
  shape: number[];
  data: OnnxTypedArray;
}

type OrtType = ort.Tensor['type'];

const TO_ORT: Partial<Record<OnnxDType, OrtType>> = {
  float32: 'float32',
  float16: 'float16',
  float64: 'float64',
  int32: 'int32',
  int64: 'int64',
  int8: 'int8',
  uint8: 'uint8',
  bool: 'bool',
};

function toOrtTensor(name: string, t: HostTensor): ort.Tensor {
  const type = TO_ORT[t.dtype];
  if (!type) throw new TypeError(`feed '${name}': onnxruntime-node has no tensor type for ${t.dtype}`);
  if (!onnxArrayMatchesDType(t.data, t.dtype)) {
    throw new TypeError(`feed '${name}': ${t.data.constructor.name} does not store ${t.dtype}`);
  }
  return new ort.Tensor(type, t.data as never, t.shape);
}

/** Copies an ORT output into an owned host array (float16 is returned as Uint16Array bits). */
function fromOrtTensor(name: string, t: ort.Tensor): HostTensor {
  const shape = t.dims.map(Number);
  const d = t.data as ArrayBufferView & { length: number };
  switch (t.type) {
    case 'float32':
      return { dtype: 'float32', shape, data: Float32Array.from(d as Float32Array) };
    case 'float64':
      return { dtype: 'float64', shape, data: Float64Array.from(d as Float64Array) };
    case 'float16': // Uint16Array, or Float16Array where the runtime has one: same bits either way
      return { dtype: 'float16', shape, data: new Uint16Array(d.buffer, d.byteOffset, d.length).slice() };
    case 'int32':
      return { dtype: 'int32', shape, data: Int32Array.from(d as Int32Array) };
    case 'int64':
      return { dtype: 'int64', shape, data: BigInt64Array.from(d as BigInt64Array) };
    case 'int8':
      return { dtype: 'int8', shape, data: Int8Array.from(d as Int8Array) };
    case 'uint8':
      return { dtype: 'uint8', shape, data: Uint8Array.from(d as Uint8Array) };
    case 'bool':
      return { dtype: 'bool', shape, data: Uint8Array.from(d as Uint8Array, (x) => (x ? 1 : 0)) };
    default:
      throw new TypeError(`output '${name}': unsupported onnxruntime tensor type ${t.type}`);
  }
}

export interface RunOnnxOptions {
  /** Output names to fetch; default all graph outputs. */
  outputs?: string[];
  /** Graph optimization level; default 'all' (ORT's default). Use 'disabled' to run ops exactly as written. */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
}

/** Runs serialized ONNX model bytes on ORT's CPU provider (one intra-op thread) and returns owned outputs. */
export async function runOnnx(
  model: Uint8Array,
  feeds: Record<string, HostTensor>,
  opts: RunOnnxOptions = {},
): Promise<Record<string, HostTensor>> {
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionProviders: ['cpu'],
    graphOptimizationLevel: opts.graphOptimizationLevel ?? 'all',
  });
  try {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [k, v] of Object.entries(feeds)) ortFeeds[k] = toOrtTensor(k, v);
    const fetches = opts.outputs ?? [...session.outputNames];
    const results = await session.run(ortFeeds, fetches);
    const out: Record<string, HostTensor> = {};
    for (const k of fetches) {
      const t = results[k];
      if (!t) throw new Error(`onnxruntime returned no output '${k}'`);
      out[k] = fromOrtTensor(k, t);
      t.dispose();
    }
    return out;
  } finally {
    await session.release();
  }
}

export interface SingleOpOptions {
  /** ai.onnx opset; default 17. */
  opset?: number;
  /** Operator domain (needs `extraOpsets` unless ai.onnx). */
  domain?: string;
  extraOpsets?: OpsetId[];
  /** Number of outputs; default 1 (or `outputDTypes.length`). */
  numOutputs?: number;
  /** Declared output dtypes; default: left for onnxruntime to infer. */
  outputDTypes?: OnnxDType[];
  /** Indices of inputs to embed as initializers (constants) instead of feeding them. */
  constantInputs?: number[];
  graphOptimizationLevel?: RunOnnxOptions['graphOptimizationLevel'];
}

/**
 * Builds a one-node graph for `opType` and runs it. Input `i` is named `x{i}` (null inputs are
 * omitted optional inputs, `''`); outputs `y{j}` have unknown shapes (and, unless `outputDTypes`
 * is given, unknown types, which onnxruntime infers) and are returned in order.
 */
export async function runSingleOp(
  opType: string,
  attrs: Record<string, OnnxAttr>,
  inputs: (HostTensor | null)[],
  opts: SingleOpOptions = {},
): Promise<HostTensor[]> {
  const numOutputs = opts.numOutputs ?? opts.outputDTypes?.length ?? 1;
  const outDTypes = opts.outputDTypes ?? Array.from({ length: numOutputs }, (): OnnxDType | undefined => undefined);
  if (outDTypes.length !== numOutputs) throw new Error(`outputDTypes has ${outDTypes.length} entries, expected ${numOutputs}`);
  const constants = new Set(opts.constantInputs ?? []);
  const graphInputs: OnnxValueInfo[] = [];
  const initializers: OnnxInitializer[] = [];
  const feeds: Record<string, HostTensor> = {};
  const names = inputs.map((t, i) => {
    if (t === null) return '';
    const name = `x${i}`;
    if (constants.has(i)) initializers.push({ name, ...t });
    else {
      graphInputs.push({ name, dtype: t.dtype, shape: t.shape });
      feeds[name] = t;
    }
    return name;
  });
  const outputs: OnnxValueInfo[] = outDTypes.map((dtype, j) => ({ name: `y${j}`, dtype }));
  const model = buildOnnxModel({
    name: `single_${opType}`,
    opset: opts.opset,
    extraOpsets: opts.extraOpsets,
    nodes: [{ opType, domain: opts.domain, inputs: names, outputs: outputs.map((o) => o.name), attrs }],
    inputs: graphInputs,
    outputs,
    initializers,
  });
  const res = await runOnnx(model, feeds, { graphOptimizationLevel: opts.graphOptimizationLevel });
  return outputs.map((o) => res[o.name]!);
}
