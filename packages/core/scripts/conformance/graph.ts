/** A tiny ONNX graph builder over buildOnnxModel, run with onnxruntime-node (scripts/ort.ts). */
import type { HostTensor } from '../../src/testing/types';
import { attr, buildOnnxModel, onnxDataType, type OnnxAttr, type OnnxDType, type OnnxInitializer, type OnnxNode } from '../../src/onnx/index';
import { runOnnx, type HostTensor as OrtHostTensor } from '../ort';

export { attr, onnxDataType };

export class Graph {
  readonly nodes: OnnxNode[] = [];
  readonly inits: OnnxInitializer[] = [];
  private n = 0;

  constructor(readonly inputs: readonly (HostTensor | null)[]) {}

  /** The graph input holding op input `i`. */
  x(i: number): string {
    if (!this.inputs[i]) throw new Error(`graph: op input ${i} is omitted`);
    return `x${i}`;
  }

  has(i: number): boolean {
    return !!this.inputs[i];
  }

  const(dtype: OnnxDType, shape: number[], data: OrtHostTensor['data']): string {
    const name = `c${this.n++}`;
    this.inits.push({ name, dtype, shape, data });
    return name;
  }

  i64(values: number[], shape = [values.length]): string {
    return this.const('int64', shape, BigInt64Array.from(values.map((v) => BigInt(v))));
  }

  f32(values: number[], shape = [values.length]): string {
    return this.const('float32', shape, Float32Array.from(values));
  }

  scalarF(v: number): string {
    return this.f32([v], []);
  }

  op(opType: string, inputs: string[], attrs: Record<string, OnnxAttr> = {}, numOutputs = 1): string[] {
    const outs = Array.from({ length: numOutputs }, () => `t${this.n++}`);
    this.nodes.push({ opType, inputs, outputs: outs, attrs });
    return outs;
  }

  op1(opType: string, inputs: string[], attrs: Record<string, OnnxAttr> = {}): string {
    return this.op(opType, inputs, attrs, 1)[0]!;
  }
}

/** Runs the graph built by `build` on `inputs` and returns the outputs it names, in order. */
export async function runGraph(
  inputs: readonly (HostTensor | null)[],
  build: (g: Graph) => string[],
  opset = 18,
): Promise<OrtHostTensor[]> {
  const g = new Graph(inputs);
  const outs = build(g);
  const feeds: Record<string, OrtHostTensor> = {};
  const graphInputs = inputs.flatMap((t, i) => (t ? [{ name: `x${i}`, dtype: t.dtype as OnnxDType, shape: t.shape }] : []));
  inputs.forEach((t, i) => {
    if (t) feeds[`x${i}`] = { dtype: t.dtype, shape: t.shape, data: t.data };
  });
  // outputs get fresh names through Identity so a graph input can be returned as is
  const finals = outs.map((o) => g.op1('Identity', [o]));
  const model = buildOnnxModel({
    name: 'conformance',
    opset,
    nodes: g.nodes,
    inputs: graphInputs,
    outputs: finals.map((name) => ({ name })),
    initializers: g.inits,
  });
  const res = await runOnnx(model, feeds, { graphOptimizationLevel: 'disabled', outputs: finals });
  return finals.map((n) => res[n]!);
}
