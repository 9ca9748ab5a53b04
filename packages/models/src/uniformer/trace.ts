import { type GraphSummary, type Tensor, type TracedGraph, summarizeGraph, traceGraph } from '@tubelet/core';
import { type UniformerConfig, type UniformerConfigInput, resolveUniformerConfig } from './config';
import { UniformerBase, createUniformer } from './model';

export interface UniformerTrace {
  graph: TracedGraph;
  summary: GraphSummary;
  config: UniformerConfig;
}

/**
 * Traces a UniFormer forward on the shape-only tracing backend (no weights are allocated, nothing
 * is computed): op graph, exact parameter count, FLOPs, output shapes and peak activation memory.
 * `outputs` defaults to the model's default outputs (logits / out1..out4 / backbone_out).
 */
export async function traceUniformer(
  modelOrConfig: UniformerBase | UniformerConfigInput | UniformerConfig,
  inputShape: readonly number[],
  opts: { outputs?: readonly string[] } = {},
): Promise<UniformerTrace> {
  const config = modelOrConfig instanceof UniformerBase ? modelOrConfig.config : resolveUniformerConfig(modelOrConfig);
  const model = createUniformer(config);
  const outputs = opts.outputs ?? [...model.defaultOutputs()];
  const params = new Map([...model.parameterShapes()].map(([k, shape]) => [k, { shape }]));
  const graph = await traceGraph(
    (x: Tensor, ctx: { params: Map<string, Tensor> }) => {
      model.loadWeights(ctx.params);
      return model.forward(x, { outputs });
    },
    [{ name: 'input', shape: inputShape.slice() }],
    { params },
  );
  return { graph, summary: summarizeGraph(graph), config };
}
