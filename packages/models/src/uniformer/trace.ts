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

export interface UniformerStageCost {
  /** 'stage1'..'stage4' (patch embedding + blocks), then 'head' (classifier norm / pool / head, or the dense output norms). */
  name: string;
  flops: number;
  /** Output shape of this part (stage{s}; the default outputs' first shape for 'head'). */
  shape: number[];
}

/**
 * FLOPs per stage, from shape-only traces that stop after each stage (the forward returns as
 * soon as the requested outputs exist), differenced; the last entry is what follows stage 4.
 */
export async function traceUniformerStages(modelOrConfig: UniformerBase | UniformerConfigInput | UniformerConfig, inputShape: readonly number[]): Promise<UniformerStageCost[]> {
  const out: UniformerStageCost[] = [];
  let prev = 0;
  for (let s = 1; s <= 4; s++) {
    const { summary, graph } = await traceUniformer(modelOrConfig, inputShape, { outputs: [`stage${s}`] });
    out.push({ name: `stage${s}`, flops: summary.flops - prev, shape: graph.outputs[0]!.shape.slice() });
    prev = summary.flops;
  }
  const full = await traceUniformer(modelOrConfig, inputShape);
  out.push({ name: 'head', flops: full.summary.flops - prev, shape: full.graph.outputs[0]!.shape.slice() });
  return out;
}
