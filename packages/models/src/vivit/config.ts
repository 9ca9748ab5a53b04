import { uniformFrameIndices } from './frame-sampling';

/**
 * ViViT model configuration (the library's camelCase form). `vivitConfig()` also accepts the
 * snake_case config stored in the parity vectors' metadata (`model`, `embedding`, `tubelet_size`,
 * `patch_size`, `n_sampled_frames`, `num_frames`, `image_size`, …) as is.
 *
 * Models (scenic `attention_config.type`):
 *  1 'spacetime'                          joint space-time attention (HF VivitForVideoClassification)
 *  2 'factorized_encoder'                 spatial encoder shared over time, then a temporal encoder
 *  3 'factorized_self_attention_block'    per block: spatial MSA, temporal MSA, one MLP
 *  4 'factorized_dot_product_attention'   per block: half the heads over time, half over space
 */
export type VivitModelKind = 1 | 2 | 3 | 4;
export type VivitEmbedding = 'tubelet' | 'frame_sampling';
/** 'token' (CLS token, index 0), 'gap' (mean), 'gmp' (max), 'gsp' (sum) over the tokens. */
export type VivitClassifier = 'token' | 'gap' | 'gmp' | 'gsp';
export type VivitAttentionOrder = 'space_time' | 'time_space';

export interface VivitConfig {
  model: VivitModelKind;
  embedding: VivitEmbedding;
  /** Tubelet [t, h, w] (HF order; scenic's `patches.size` is (h, w, t)). Only for 'tubelet'. */
  tubeletSize: [number, number, number] | null;
  /** Spatial patch [h, w]: the 2-D kernel for 'frame_sampling' (for 'tubelet' it equals tubeletSize[1..]). */
  patchSize: [number, number];
  /** Frames sampled by 'frame_sampling' (scenic `n_sampled_frames`). */
  nSampledFrames: number | null;
  /** Frames of the input clip. */
  numFrames: number;
  /** Input [H, W]. */
  imageSize: [number, number];
  numChannels: number;
  hiddenSize: number;
  /** Model 2: these describe the spatial encoder. */
  numHeads: number;
  numLayers: number;
  mlpDim: number;
  /** Model 2 only: the temporal encoder. */
  temporalNumHeads: number | null;
  temporalNumLayers: number | null;
  temporalMlpDim: number | null;
  classifier: VivitClassifier;
  /** 0 = no classifier (the model returns the pooled features). */
  numClasses: number;
  /** Flax LayerNorm default 1e-6 (never torch's 1e-5 or HF ViT's 1e-12). */
  layerNormEps: number;
  /** Model 3 only (scenic default config value 'space_time' = the paper's Model 3). */
  attentionOrder: VivitAttentionOrder;
  /** scenic `representation_size`: optional Dense+tanh `pre_logits` before the classifier (null in every ViViT config). */
  representationSize: number | null;
}

/** A partial config: camelCase fields (readonly arrays welcome) or the vectors' snake_case names. */
export type VivitConfigInput = { [K in keyof VivitConfig]?: VivitConfig[K] extends readonly number[] | null ? readonly number[] | null : VivitConfig[K] } & Record<string, unknown>;

/** Token grid of a configuration: temporal tokens × per-frame grid, plus sampled frame indices. */
export interface VivitTokenGrid {
  nt: number;
  nh: number;
  nw: number;
  /** nh · nw */
  spatial: number;
  /** nt · nh · nw (without CLS) */
  tokens: number;
  /** 'frame_sampling' only: the frames taken from the clip. */
  frameIndices: number[] | null;
}

const CLASSIFIERS: Record<string, VivitClassifier> = { token: 'token', '0': 'token', gap: 'gap', gmp: 'gmp', gsp: 'gsp' };
const MODEL_NAMES: Record<string, VivitModelKind> = {
  spacetime: 1,
  factorized_encoder: 2,
  factorised_encoder: 2,
  factorized_self_attention_block: 3,
  factorized_dot_product_attention: 4,
};

function pick(src: Record<string, unknown>, camel: string, snake: string): unknown {
  return src[camel] !== undefined ? src[camel] : src[snake];
}

function int(name: string, v: unknown, min = 1): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new VivitConfigError(`'${name}' must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  return v;
}

function optInt(name: string, v: unknown, min = 1): number | null {
  return v === undefined || v === null ? null : int(name, v, min);
}

function ints<N extends number>(name: string, v: unknown, n: N): number[] {
  if (typeof v === 'number') v = new Array(n).fill(v);
  if (!Array.isArray(v) || v.length !== n) throw new VivitConfigError(`'${name}' must be ${n} positive integers, got ${JSON.stringify(v)}`);
  return v.map((x, i) => int(`${name}[${i}]`, x));
}

export class VivitConfigError extends Error {
  constructor(message: string) {
    super(`ViViT config: ${message}`);
    this.name = 'VivitConfigError';
  }
}

/**
 * A complete, validated configuration from a partial one (camelCase or the vectors' snake_case).
 * Defaults: ViViT-B/16x2 shapes for what is not given (embedding 'tubelet' [2,16,16], 32 frames of
 * 224², D 768, 12 heads, 12 layers, MLP 3072, token classifier, 400 classes, eps 1e-6).
 */
export function vivitConfig(input: VivitConfigInput = {}): VivitConfig {
  const src = input as Record<string, unknown>;
  let model = pick(src, 'model', 'model') as unknown;
  if (typeof model === 'string') model = MODEL_NAMES[model] ?? Number(model);
  if (model === undefined) model = 1;
  if (model !== 1 && model !== 2 && model !== 3 && model !== 4) throw new VivitConfigError(`'model' must be 1, 2, 3 or 4 (or a scenic attention type), got ${JSON.stringify(model)}`);

  const embRaw = pick(src, 'embedding', 'embedding') ?? 'tubelet';
  const embedding = embRaw === '3d_conv' ? 'tubelet' : embRaw === 'temporal_sampling' ? 'frame_sampling' : embRaw;
  if (embedding !== 'tubelet' && embedding !== 'frame_sampling') throw new VivitConfigError(`'embedding' must be 'tubelet' or 'frame_sampling', got ${JSON.stringify(embRaw)}`);

  const tubRaw = pick(src, 'tubeletSize', 'tubelet_size');
  const patchRaw = pick(src, 'patchSize', 'patch_size');
  let tubeletSize: [number, number, number] | null = null;
  let patchSize: [number, number];
  if (embedding === 'tubelet') {
    tubeletSize = ints('tubeletSize', tubRaw ?? [2, 16, 16], 3) as [number, number, number];
    patchSize = patchRaw === undefined || patchRaw === null ? [tubeletSize[1], tubeletSize[2]] : (ints('patchSize', patchRaw, 2) as [number, number]);
    if (patchSize[0] !== tubeletSize[1] || patchSize[1] !== tubeletSize[2]) {
      throw new VivitConfigError(`patchSize ${JSON.stringify(patchSize)} differs from the tubelet's spatial size ${JSON.stringify(tubeletSize.slice(1))}`);
    }
  } else {
    patchSize = ints('patchSize', patchRaw ?? [16, 16], 2) as [number, number];
  }
  const nSampledFrames = embedding === 'frame_sampling' ? int('nSampledFrames', pick(src, 'nSampledFrames', 'n_sampled_frames')) : null;

  const numFrames = int('numFrames', pick(src, 'numFrames', 'num_frames') ?? 32);
  const imageSize = ints('imageSize', pick(src, 'imageSize', 'image_size') ?? [224, 224], 2) as [number, number];
  const numChannels = int('numChannels', pick(src, 'numChannels', 'num_channels') ?? 3);
  const hiddenSize = int('hiddenSize', pick(src, 'hiddenSize', 'hidden_size') ?? 768);
  const numHeads = int('numHeads', pick(src, 'numHeads', 'num_heads') ?? 12);
  const numLayers = int('numLayers', pick(src, 'numLayers', 'num_layers') ?? 12, 0);
  const mlpDim = int('mlpDim', pick(src, 'mlpDim', 'mlp_dim') ?? 3072);
  if (hiddenSize % numHeads) throw new VivitConfigError(`hiddenSize ${hiddenSize} is not divisible by numHeads ${numHeads}`);

  let temporalNumHeads = optInt('temporalNumHeads', pick(src, 'temporalNumHeads', 'temporal_num_heads'));
  let temporalNumLayers = optInt('temporalNumLayers', pick(src, 'temporalNumLayers', 'temporal_num_layers'), 0);
  let temporalMlpDim = optInt('temporalMlpDim', pick(src, 'temporalMlpDim', 'temporal_mlp_dim'));
  if (model === 2) {
    temporalNumHeads ??= numHeads;
    temporalNumLayers ??= 4;
    temporalMlpDim ??= mlpDim;
    if (hiddenSize % temporalNumHeads) throw new VivitConfigError(`hiddenSize ${hiddenSize} is not divisible by temporalNumHeads ${temporalNumHeads}`);
  } else {
    temporalNumHeads = temporalNumLayers = temporalMlpDim = null;
  }

  const clsRaw = String(pick(src, 'classifier', 'classifier') ?? (model === 3 || model === 4 ? 'gap' : 'token'));
  const classifier = CLASSIFIERS[clsRaw];
  if (!classifier) throw new VivitConfigError(`'classifier' must be 'token', 'gap', 'gmp' or 'gsp', got ${JSON.stringify(clsRaw)}`);
  if ((model === 3 || model === 4) && classifier === 'token') {
    throw new VivitConfigError(`model ${model} has no CLS token (scenic asserts classifier not in {token, '0'}): use 'gap'`);
  }
  if (model === 4 && numHeads % 2) throw new VivitConfigError(`model 4 splits the heads into a temporal and a spatial half: numHeads ${numHeads} must be even`);

  const numClasses = int('numClasses', pick(src, 'numClasses', 'num_classes') ?? 400, 0);
  const eps = pick(src, 'layerNormEps', 'layer_norm_eps') ?? 1e-6;
  if (typeof eps !== 'number' || !(eps > 0)) throw new VivitConfigError(`'layerNormEps' must be a positive number, got ${JSON.stringify(eps)}`);
  const orderRaw = pick(src, 'attentionOrder', 'attention_order') ?? 'space_time';
  if (orderRaw !== 'space_time' && orderRaw !== 'time_space') throw new VivitConfigError(`'attentionOrder' must be 'space_time' or 'time_space', got ${JSON.stringify(orderRaw)}`);
  const representationSize = optInt('representationSize', pick(src, 'representationSize', 'representation_size'));

  const cfg: VivitConfig = {
    model,
    embedding,
    tubeletSize,
    patchSize,
    nSampledFrames,
    numFrames,
    imageSize,
    numChannels,
    hiddenSize,
    numHeads,
    numLayers,
    mlpDim,
    temporalNumHeads,
    temporalNumLayers,
    temporalMlpDim,
    classifier,
    numClasses,
    layerNormEps: eps,
    attentionOrder: orderRaw,
    representationSize,
  };
  vivitTokenGrid(cfg); // validates the geometry
  return cfg;
}

/**
 * The token grid a configuration produces (VALID convolutions: leftover frames / rows / columns are
 * dropped). For frame sampling the sampled frames are stacked vertically and embedded by one 2-D
 * convolution, exactly as scenic; a per-frame grid exists only when the stacked rows split evenly
 * into frames (always when H % patch_h == 0).
 */
export function vivitTokenGrid(cfg: Pick<VivitConfig, 'embedding' | 'tubeletSize' | 'patchSize' | 'nSampledFrames' | 'numFrames' | 'imageSize' | 'model'>, numFrames = cfg.numFrames, imageSize = cfg.imageSize): VivitTokenGrid {
  const [H, W] = imageSize;
  if (cfg.embedding === 'tubelet') {
    const [ft, fh, fw] = cfg.tubeletSize!;
    const nt = Math.floor(numFrames / ft);
    const nh = Math.floor(H / fh);
    const nw = Math.floor(W / fw);
    if (nt < 1 || nh < 1 || nw < 1) {
      throw new VivitConfigError(`a ${numFrames}×${H}×${W} clip gives no tokens with tubelet ${JSON.stringify(cfg.tubeletSize)} (grid ${nt}×${nh}×${nw})`);
    }
    return { nt, nh, nw, spatial: nh * nw, tokens: nt * nh * nw, frameIndices: null };
  }
  const [fh, fw] = cfg.patchSize;
  const frameIndices = uniformFrameIndices(numFrames, cfg.nSampledFrames!);
  const nt = frameIndices.length;
  const rows = Math.floor((nt * H) / fh);
  const nw = Math.floor(W / fw);
  if (rows < 1 || nw < 1) throw new VivitConfigError(`${nt} sampled ${H}×${W} frames give no tokens with patch ${JSON.stringify(cfg.patchSize)}`);
  if (rows % nt) {
    if (cfg.model !== 1) {
      throw new VivitConfigError(`frame sampling with H=${H} not divisible by patch height ${fh} gives ${rows} token rows for ${nt} frames: model ${cfg.model} needs a per-frame grid`);
    }
    // model 1 only needs the flat sequence; report the stacked grid as one "frame"
    return { nt: 1, nh: rows, nw, spatial: rows * nw, tokens: rows * nw, frameIndices };
  }
  const nh = rows / nt;
  return { nt, nh, nw, spatial: nh * nw, tokens: nt * nh * nw, frameIndices };
}

/** The config as the vectors' snake_case JSON (the form `tubelet run --config` accepts). */
export function vivitConfigToJson(cfg: VivitConfig): Record<string, unknown> {
  return {
    model: cfg.model,
    embedding: cfg.embedding,
    tubelet_size: cfg.tubeletSize,
    patch_size: cfg.patchSize,
    n_sampled_frames: cfg.nSampledFrames,
    num_frames: cfg.numFrames,
    image_size: cfg.imageSize,
    num_channels: cfg.numChannels,
    hidden_size: cfg.hiddenSize,
    num_heads: cfg.numHeads,
    num_layers: cfg.numLayers,
    mlp_dim: cfg.mlpDim,
    temporal_num_heads: cfg.temporalNumHeads,
    temporal_num_layers: cfg.temporalNumLayers,
    temporal_mlp_dim: cfg.temporalMlpDim,
    classifier: cfg.classifier,
    num_classes: cfg.numClasses,
    layer_norm_eps: cfg.layerNormEps,
    attention_order: cfg.model === 3 ? cfg.attentionOrder : null,
    representation_size: cfg.representationSize,
  };
}
