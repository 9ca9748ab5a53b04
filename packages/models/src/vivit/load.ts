import {
  type GraphSummary,
  type StateDict,
  type Tensor,
  type TracedGraph,
  add,
  cast,
  formatReport,
  getBackend,
  loadStateDict,
  mul,
  parseStateDict,
  reshape,
  stateDictToTensors,
  summarizeGraph,
  tidy,
  traceGraph,
  transpose,
} from '@tubelet/core';
import type { VivitConfig, VivitConfigInput } from './config';
import { VIVIT_PRESETS, vivitPreset } from './configs';
import { type InflateOptions, inflateImageVit } from './inflate';
import { vivitRandomWeights } from './init';
import { normalizeVivitWeights } from './keymaps';
import { VivitModel } from './model';

/** Weights given as a file path, the bytes of a checkpoint, a parsed state dict or tensors. */
export type VivitWeightsSource = string | Uint8Array | StateDict | ReadonlyMap<string, Tensor>;

export interface LoadVivitOptions {
  /**
   * Checkpoint: safetensors or PyTorch .pth (zip or legacy), read by magic bytes. Key layouts: HF
   * ViViT (`vivit.*`, `classifier.*`, with or without the `vivit.` prefix), the documented names of
   * models 2–4, or a scenic tree flattened with '/'.
   */
  weights?: VivitWeightsSource;
  /** Initialise from an image ViT (transformers ViT or scenic names) instead — for fine-tuning. */
  fromImageVit?: InflateOptions & { weights: VivitWeightsSource };
  /** Backend for the weights (default: the current backend). */
  backend?: string;
  /** Seed of the random initialisation used without weights (default 0), and for what an image ViT does not provide. */
  seed?: number;
  /** Overrides on the named config (e.g. { numClasses: 0 } for a bare backbone). */
  config?: Partial<VivitConfig>;
}

function resolveConfig(nameOrConfig: string | VivitConfigInput, overrides?: Partial<VivitConfig>): VivitConfigInput {
  const base = typeof nameOrConfig === 'string' ? vivitPreset(nameOrConfig).config : nameOrConfig;
  return { ...base, ...overrides } as VivitConfigInput;
}

async function readWeights(src: VivitWeightsSource, backend: string | undefined): Promise<{ tensors: Map<string, Tensor>; owned: boolean }> {
  if (typeof src === 'string') return { tensors: stateDictToTensors((await loadStateDict(src)).stateDict, { backend }), owned: true };
  if (src instanceof Uint8Array) return { tensors: stateDictToTensors(parseStateDict(src).stateDict, { backend }), owned: true };
  const first = src.values().next().value as unknown;
  if (first && typeof first === 'object' && 'data' in first && 'dtype' in first && !('dispose' in first)) {
    return { tensors: stateDictToTensors(src as StateDict, { backend }), owned: true };
  }
  return { tensors: src as Map<string, Tensor>, owned: false };
}

/**
 * Builds a named (or given) ViViT configuration and loads its weights:
 *
 *   const m = await loadVivit('vivit-b-16x2-k400', { weights: 'vivit-b-16x2-kinetics400.safetensors' });
 *   const logits = m.forward(video); // video [N, 3, 32, 224, 224], values x·2/255 − 1
 *
 * Without `weights` the model gets scenic's random initialisation from `seed`. Loading is strict:
 * a StateDictError names every missing, unexpected or mis-shaped key. Tensors passed in stay the
 * caller's (the model holds its own handles).
 */
export async function loadVivit(nameOrConfig: string | VivitConfigInput, opts: LoadVivitOptions = {}): Promise<VivitModel> {
  const backend = opts.backend ?? getBackend().name;
  const model = new VivitModel(resolveConfig(nameOrConfig, opts.config));
  if (opts.weights !== undefined && opts.fromImageVit) throw new Error('loadVivit: give either weights or fromImageVit, not both');
  let weights: Map<string, Tensor>;
  if (opts.fromImageVit) {
    const { weights: vitSrc, ...inflateOpts } = opts.fromImageVit;
    const { tensors, owned } = await readWeights(vitSrc, backend);
    try {
      weights = inflateImageVit(tensors, model, { seed: opts.seed, backend, ...inflateOpts }).weights;
    } finally {
      if (owned) for (const t of tensors.values()) t.dispose();
    }
  } else if (opts.weights !== undefined) {
    const { tensors, owned } = await readWeights(opts.weights, backend);
    try {
      weights = normalizeVivitWeights(tensors, model.parameterShapes());
    } finally {
      if (owned) for (const t of tensors.values()) t.dispose();
    }
  } else {
    weights = vivitRandomWeights(model, opts.seed ?? 0, backend);
  }
  try {
    model.loadWeights(weights);
  } catch (e) {
    for (const t of weights.values()) t.dispose();
    throw e;
  }
  return model;
}

/**
 * uint8 RGB frames [T, H, W, C] (or [N, T, H, W, C]) → the model input [N, C, T, H, W] as
 * x·2/255 − 1 (scenic / DMVR zero-centring; no mean/std). Resizing and cropping are the caller's
 * (shorter side to 256, centre 224 crop for the K400 presets).
 */
export function normalizeVivitFrames(frames: Tensor): Tensor {
  return tidy(() => {
    const x = frames.rank === 4 ? reshape(frames, [1, ...frames.shape]) : frames;
    if (x.rank !== 5) throw new Error(`normalizeVivitFrames: expected frames [T, H, W, C] or [N, T, H, W, C], got ${frames.describe()}`);
    const f = x.dtype === 'float32' ? x : cast(x, 'float32');
    return transpose(add(mul(f, 2 / 255), -1), [0, 4, 1, 2, 3]);
  });
}

export interface VivitTrace {
  graph: TracedGraph;
  summary: GraphSummary;
  /** Learnable parameters (the model's named weights). */
  params: number;
  flops: number;
  report: string;
}

/**
 * Shape-only trace of a model's forward pass (nothing is computed): parameters, FLOPs, op mix and
 * peak activation memory, e.g. for `tubelet inspect vivit-b-16x2-k400`.
 */
export async function traceVivit(nameOrConfig: string | VivitConfigInput, opts: { batch?: number; config?: Partial<VivitConfig> } = {}): Promise<VivitTrace> {
  const model = new VivitModel(resolveConfig(nameOrConfig, opts.config));
  const cfg = model.config;
  const params = new Map([...model.parameterShapes()].map(([k, s]) => [k, { shape: s }] as const));
  const input = [{ name: 'video', shape: [opts.batch ?? 1, cfg.numChannels, cfg.numFrames, cfg.imageSize[0], cfg.imageSize[1]] }];
  try {
    const graph = await traceGraph(
      (video: Tensor, ctx: { params: Map<string, Tensor> }) => {
        model.loadWeights(ctx.params);
        return { [model.finalOutput]: model.forward(video) };
      },
      input,
      { params },
    );
    const summary = summarizeGraph(graph);
    const title = typeof nameOrConfig === 'string' && VIVIT_PRESETS[nameOrConfig] ? `${nameOrConfig}: ${VIVIT_PRESETS[nameOrConfig].title}` : `ViViT model ${cfg.model}`;
    return { graph, summary, params: summary.namedParams, flops: summary.flops, report: formatReport(summary, { title }) };
  } finally {
    model.dispose();
  }
}
