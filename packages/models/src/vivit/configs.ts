import { type VivitConfig, type VivitConfigInput, vivitConfig } from './config';

/** How clips are prepared for a named model (scenic / DMVR, spec §1, §11, §12). */
export interface VivitPreprocessing {
  /** Frames per clip and the stride they are taken at from the decoded video. */
  numFrames: number;
  frameStride: number;
  /** Shorter side resized to this (bilinear), then a centre crop. */
  minResize: number;
  cropSize: number;
  /** uint8 x → x·scale + offset = x·2/255 − 1 ∈ [−1, 1] (DMVR zero_centering; no ImageNet mean/std). */
  scale: number;
  offset: number;
  /** Model input layout. */
  layout: 'NCTHW';
  /** Test-time views whose raw logits are averaged: temporal clips × spatial crops. */
  testViews: { temporalClips: number; spatialCrops: number };
}

export interface VivitPreset {
  name: string;
  title: string;
  config: VivitConfig;
  preprocessing: VivitPreprocessing;
  /** How the model is initialised for fine-tuning (spec §8). */
  init: { from: string; kernelInit: 'central_frame'; posEmbSizeChange: 'tile' };
  /** Published checkpoint in this key layout, when one exists. */
  checkpoint: string | null;
  /** Where the configuration comes from. */
  source: string;
  /** K400 top-1 (4×3 views) reported by scenic's README, when reported. */
  top1: number | null;
}

const K400: VivitPreprocessing = {
  numFrames: 32,
  frameStride: 2,
  minResize: 256,
  cropSize: 224,
  scale: 2 / 255,
  offset: -1,
  layout: 'NCTHW',
  testViews: { temporalClips: 4, spatialCrops: 3 },
};

const base = { embedding: 'tubelet', tubeletSize: [2, 16, 16], numFrames: 32, imageSize: [224, 224], numChannels: 3, numClasses: 400, classifier: 'token', layerNormEps: 1e-6 } as const;

function preset(name: string, title: string, cfg: VivitConfigInput, extra: Omit<VivitPreset, 'name' | 'title' | 'config' | 'preprocessing' | 'init'>): VivitPreset {
  return {
    name,
    title,
    config: vivitConfig({ ...base, ...cfg } as VivitConfigInput),
    preprocessing: K400,
    init: { from: cfg.hiddenSize === 1024 ? 'ImageNet-21k ViT-L/16 (token)' : 'ImageNet-21k ViT-B/16 (token)', kernelInit: 'central_frame', posEmbSizeChange: 'tile' },
    ...extra,
  };
}

/** Named ViViT configurations for Kinetics-400 (16×16 spatial patches, 2-frame tubelets, 32 frames of 224²). */
export const VIVIT_PRESETS: Readonly<Record<string, VivitPreset>> = Object.freeze({
  'vivit-b-16x2-k400': preset('vivit-b-16x2-k400', 'ViViT-B/16x2, Model 1 (spatio-temporal attention), Kinetics-400', { model: 1, hiddenSize: 768, numHeads: 12, numLayers: 12, mlpDim: 3072 }, {
    checkpoint: 'google/vivit-b-16x2-kinetics400',
    source: 'scenic projects/vivit/configs/kinetics400/vivit_base_k400.py',
    top1: 79.9,
  }),
  'vivit-b-16x2-fe-k400': preset(
    'vivit-b-16x2-fe-k400',
    'ViViT-B/16x2 Factorised Encoder (Model 2), Kinetics-400',
    { model: 2, hiddenSize: 768, numHeads: 12, numLayers: 12, mlpDim: 3072, temporalNumHeads: 12, temporalNumLayers: 4, temporalMlpDim: 3072 },
    { checkpoint: null, source: 'scenic projects/vivit/configs/kinetics400/vivit_base_factorised_encoder.py', top1: 78.4 },
  ),
  'vivit-l-16x2-k400': preset('vivit-l-16x2-k400', 'ViViT-L/16x2, Model 1 (spatio-temporal attention), Kinetics-400', { model: 1, hiddenSize: 1024, numHeads: 16, numLayers: 24, mlpDim: 4096 }, {
    checkpoint: null,
    source: 'paper Table 6 (ViViT-L/16x2); scenic ships no config: ViT-L/16 dimensions with the vivit_base_k400 recipe',
    top1: null,
  }),
  'vivit-l-16x2-fe-k400': preset(
    'vivit-l-16x2-fe-k400',
    'ViViT-L/16x2 Factorised Encoder (Model 2), Kinetics-400',
    { model: 2, hiddenSize: 1024, numHeads: 16, numLayers: 24, mlpDim: 4096, temporalNumHeads: 16, temporalNumLayers: 24, temporalMlpDim: 4096 },
    { checkpoint: null, source: 'scenic projects/vivit/configs/kinetics400/vivit_large_factorised_encoder.py (temporal 24 layers as written there)', top1: 80.3 },
  ),
});

/** The named preset (throws listing the known names). */
export function vivitPreset(name: string): VivitPreset {
  const p = VIVIT_PRESETS[name];
  if (!p) throw new Error(`unknown ViViT model '${name}'; known: ${Object.keys(VIVIT_PRESETS).join(', ')}`);
  return p;
}

/**
 * A ViViT config from a Hugging Face `config.json` (`VivitConfig`: image_size, num_frames,
 * tubelet_size, hidden_size, num_hidden_layers, …). HF ViViT is Model 1 with a token classifier.
 */
export function vivitConfigFromHf(hf: Record<string, unknown>): VivitConfig {
  const act = hf.hidden_act ?? 'gelu_fast';
  if (!['gelu_fast', 'gelu_new', 'gelu_pytorch_tanh', 'gelu_tanh'].includes(String(act))) {
    throw new Error(`HF ViViT config: hidden_act '${String(act)}' is not the tanh GELU ViViT uses (gelu_fast); this implementation follows scenic`);
  }
  if (hf.qkv_bias === false) throw new Error('HF ViViT config: qkv_bias false is not supported (scenic always has q/k/v biases)');
  const size = hf.image_size ?? 224;
  const id2label = hf.id2label as Record<string, string> | undefined;
  return vivitConfig({
    model: 1,
    embedding: 'tubelet',
    tubeletSize: (hf.tubelet_size as [number, number, number]) ?? [2, 16, 16],
    numFrames: (hf.num_frames as number) ?? 32,
    imageSize: (Array.isArray(size) ? size : [size, size]) as [number, number],
    numChannels: (hf.num_channels as number) ?? 3,
    hiddenSize: (hf.hidden_size as number) ?? 768,
    numHeads: (hf.num_attention_heads as number) ?? 12,
    numLayers: (hf.num_hidden_layers as number) ?? 12,
    mlpDim: (hf.intermediate_size as number) ?? 3072,
    classifier: 'token',
    numClasses: (hf.num_labels as number) ?? (id2label ? Object.keys(id2label).length : 400),
    layerNormEps: (hf.layer_norm_eps as number) ?? 1e-6,
  });
}
