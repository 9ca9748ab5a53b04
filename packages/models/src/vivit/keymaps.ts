import { type Tensor, reshape, tidy, transpose } from '@tubelet/core';

/*
 * Checkpoint key maps.
 *
 * The model's own names are Hugging Face ViViT's (`google/vivit-b-16x2-kinetics400`:
 * `vivit.embeddings.*`, `vivit.encoder.layer.{i}.*`, `vivit.layernorm.*`, `classifier.*`) and, for
 * models 2–4, the documented extension of them (spec §9.2). Two other layouts are mapped here:
 *
 *  - HF `VivitModel` (bare backbone, e.g. `google/vivit-b-16x2`): keys without the `vivit.` prefix
 *    and an unused `pooler.dense.*` (dropped: ViViT never uses HF's pooler for logits).
 *  - scenic Flax parameter trees flattened with '/' (or '.'): `embedding/kernel`, `cls`,
 *    `Transformer/encoderblock_{i}/MultiHeadDotProductAttention_0/query/kernel`, … (spec §9.1), with
 *    the layout transforms of HF's conversion script (conv kernels transposed to [D, C, t, h, w],
 *    Dense kernels transposed, q/k/v kernels [D, heads, hd] → [heads·hd, D], out [heads, hd, D] → [D, heads·hd]).
 */

const TRANSFORMERS: Record<string, { enc: string; emb: string; norm: string }> = {
  Transformer: { enc: 'vivit.encoder', emb: 'vivit.embeddings', norm: 'vivit.layernorm' },
  SpatialTransformer: { enc: 'vivit.spatial_encoder', emb: 'vivit.spatial_embeddings', norm: 'vivit.spatial_layernorm' },
  TemporalTransformer: { enc: 'vivit.temporal_encoder', emb: 'vivit.temporal_embeddings', norm: 'vivit.temporal_layernorm' },
};

const LAYER_NORMS: Record<string, string> = {
  LayerNorm_0: 'layernorm_before',
  LayerNorm_1: 'layernorm_after',
  LayerNorm_space: 'layernorm_spatial',
  LayerNorm_time: 'layernorm_temporal',
  LayerNorm_mlp: 'layernorm_after',
};

const ATTENTIONS: Record<string, string> = {
  MultiHeadDotProductAttention_0: 'attention',
  MultiHeadDotProductAttention_space: 'attention_spatial',
  MultiHeadDotProductAttention_time: 'attention_temporal',
};

type Transform = 'none' | 'dense' | 'qkv' | 'qkvBias' | 'out' | 'conv';

/** One scenic name → [HF name, layout transform], or null when the name is not a ViViT parameter. */
export function scenicToHfName(name: string): [string, Transform] | null {
  let parts = name.split(name.includes('/') ? '/' : '.');
  while (parts.length && ['params', 'target', 'optimizer', 'param'].includes(parts[0]!)) parts = parts.slice(1);
  const [a, b, c, d, e] = parts;
  const leaf = (l: string | undefined) => (l === 'scale' ? 'weight' : l === 'kernel' ? 'weight' : l === 'bias' ? 'bias' : null);
  if (a === 'embedding' && parts.length === 2) {
    const l = leaf(b);
    return l ? [`vivit.embeddings.patch_embeddings.projection.${l}`, b === 'kernel' ? 'conv' : 'none'] : null;
  }
  if (parts.length === 1 && a === 'cls') return ['vivit.embeddings.cls_token', 'none'];
  if (parts.length === 1 && a?.startsWith('cls_')) {
    const t = TRANSFORMERS[a.slice(4)];
    return t ? [`${t.emb}.cls_token`, 'none'] : null;
  }
  if ((a === 'output_projection' || a === 'pre_logits') && parts.length === 2) {
    const l = leaf(b);
    const head = a === 'output_projection' ? 'classifier' : 'pre_logits';
    return l ? [`${head}.${l}`, b === 'kernel' ? 'dense' : 'none'] : null;
  }
  const t = a ? TRANSFORMERS[a] : undefined;
  if (!t) return null;
  if (b === 'posembed_input' && c === 'pos_embedding' && parts.length === 3) return [`${t.emb}.position_embeddings`, 'none'];
  if (b === 'encoder_norm' && parts.length === 3) {
    const l = leaf(c);
    return l ? [`${t.norm}.${l}`, 'none'] : null;
  }
  const m = b ? /^encoderblock_(\d+)$/.exec(b) : null;
  if (!m || !c) return null;
  const layer = `${t.enc}.layer.${m[1]}`;
  if (LAYER_NORMS[c] && parts.length === 4) {
    const l = leaf(d);
    return l ? [`${layer}.${LAYER_NORMS[c]}.${l}`, 'none'] : null;
  }
  if (ATTENTIONS[c] && parts.length === 5) {
    const l = leaf(e);
    if (!l) return null;
    if (d === 'query' || d === 'key' || d === 'value') return [`${layer}.${ATTENTIONS[c]}.attention.${d}.${l}`, l === 'weight' ? 'qkv' : 'qkvBias'];
    if (d === 'out') return [`${layer}.${ATTENTIONS[c]}.output.dense.${l}`, l === 'weight' ? 'out' : 'none'];
    return null;
  }
  if ((c === 'MlpBlock_0' || c === 'MlpBlock') && parts.length === 5) {
    const l = leaf(e);
    const dense = d === 'Dense_0' ? 'intermediate.dense' : d === 'Dense_1' ? 'output.dense' : null;
    return l && dense ? [`${layer}.${dense}.${l}`, l === 'weight' ? 'dense' : 'none'] : null;
  }
  return null;
}

function applyTransform(t: Tensor, tr: Transform, name: string): Tensor {
  const s = t.shape;
  const bad = (want: string) => new Error(`scenic parameter '${name}' has shape [${s.join(', ')}], expected ${want}`);
  switch (tr) {
    case 'none':
      return t.clone();
    case 'dense':
      if (s.length !== 2) throw bad('[in, out]');
      return transpose(t, [1, 0]);
    case 'conv':
      if (s.length === 5) return transpose(t, [4, 3, 0, 1, 2]); // [t, h, w, C, D] → [D, C, t, h, w]
      if (s.length === 4) return transpose(t, [3, 2, 0, 1]); // [h, w, C, D] → [D, C, h, w]
      throw bad('[t, h, w, C, D] or [h, w, C, D]');
    case 'qkv':
      if (s.length === 3) return transpose(reshape(t, [s[0]!, s[1]! * s[2]!]), [1, 0]); // [D, heads, hd] → [heads·hd, D]
      if (s.length === 2) return transpose(t, [1, 0]);
      throw bad('[D, heads, head_dim]');
    case 'qkvBias':
      if (s.length === 2) return reshape(t, [s[0]! * s[1]!]);
      if (s.length === 1) return t.clone();
      throw bad('[heads, head_dim]');
    case 'out':
      if (s.length === 3) return transpose(reshape(t, [s[0]! * s[1]!, s[2]!]), [1, 0]); // [heads, hd, D] → [D, heads·hd]
      if (s.length === 2) return transpose(t, [1, 0]);
      throw bad('[heads, head_dim, D]');
  }
}

/** True when the keys look like a scenic (Flax) parameter tree rather than PyTorch names. */
export function isScenicLayout(keys: Iterable<string>): boolean {
  for (const k of keys) if (k.includes('/') || /^(params\.)?(Transformer|SpatialTransformer|TemporalTransformer|embedding|output_projection)\./.test(k) || k === 'cls') return true;
  return false;
}

/**
 * Converts a flattened scenic ViViT (or ViT) parameter tree to HF-style names and PyTorch layouts.
 * Returns new tensors (the inputs are neither modified nor disposed); throws naming every key it
 * does not recognise.
 */
export function convertScenicParams(params: ReadonlyMap<string, Tensor>): Map<string, Tensor> {
  const plan: [string, string, Transform][] = [];
  const unknown: string[] = [];
  for (const k of params.keys()) {
    const m = scenicToHfName(k);
    if (m) plan.push([k, m[0], m[1]]);
    else unknown.push(k);
  }
  if (unknown.length) throw new Error(`not scenic ViViT parameter names: ${unknown.slice(0, 8).join(', ')}${unknown.length > 8 ? `, … (${unknown.length} in all)` : ''}`);
  return tidy(() => {
    const out = new Map<string, Tensor>();
    for (const [from, to, tr] of plan) {
      if (out.has(to)) throw new Error(`scenic parameters '${from}' and another key both map to '${to}'`);
      out.set(to, applyTransform(params.get(from)!, tr, from));
    }
    return out;
  });
}

/**
 * Brings a checkpoint's tensors to the model's names: scenic trees are converted; HF `VivitModel`
 * keys get their `vivit.` prefix; HF's pooler (`vivit.pooler.dense.*`, unused by ViViT) is dropped
 * when the model has no such parameter. Returns a new Map of new tensor handles (clones share the
 * storage): the caller's tensors are untouched and remain theirs to dispose.
 */
export function normalizeVivitWeights(weights: ReadonlyMap<string, Tensor>, expected: ReadonlySet<string> | ReadonlyMap<string, unknown>): Map<string, Tensor> {
  const has = (k: string) => expected.has(k);
  if (isScenicLayout(weights.keys())) {
    const converted = convertScenicParams(weights);
    try {
      return normalizeVivitWeights(converted, expected);
    } finally {
      for (const t of converted.values()) t.dispose();
    }
  }
  const keys = [...weights.keys()];
  const addPrefix = !keys.some((k) => k.startsWith('vivit.')) && keys.some((k) => k.startsWith('embeddings.') || k.startsWith('encoder.'));
  const out = new Map<string, Tensor>();
  for (const [k, t] of weights) {
    const name = addPrefix && !k.startsWith('classifier.') && !k.startsWith('pre_logits.') ? `vivit.${k}` : k;
    if (/^vivit\.pooler\.dense\.(weight|bias)$/.test(name) && !has(name)) continue;
    out.set(name, t.clone());
  }
  return out;
}
