import { type Tensor, concat, div, expand, fmtShape, interpolate, mul, reshape, slice, tensor, tidy, transpose, zeros } from '@tubelet/core';
import type { VivitConfigInput } from './config';
import { vivitRandomWeights } from './init';
import { convertScenicParams, isScenicLayout } from './keymaps';
import { VivitModel } from './model';

/*
 * Initialising a video model from an image ViT (scenic `model_utils.initialise_from_train_state`,
 * spec §8) — how ViViT is fine-tuned from ImageNet-21k weights.
 */

export type KernelInit = 'central_frame' | 'average_frame' | 'average_arp_frame';
export type PosEmbSizeChange = 'tile' | 'resize_tile' | 'resize';

export interface InflateOptions {
  /** 2-D → 3-D embedding filter (tubelet models): scenic's K400 configs use 'central_frame'. */
  kernelInit?: KernelInit;
  /** How position embeddings adapt when the token count differs (K400 configs: 'tile'). */
  posEmbSizeChange?: PosEmbSizeChange;
  /**
   * Model 3's temporal attention: 'copy' of the image attention (scenic's default,
   * init_temporal_transformer=True) or 'zero' weights and biases (the paper: the block starts as
   * a residual in time).
   */
  temporalAttentionInit?: 'copy' | 'zero';
  /** Also copy the image classifier (scenic restore_output_proj; default false: it stays at its init). */
  restoreOutputProjection?: boolean;
  /** Does the image ViT use a CLS token? Default: when it has `embeddings.cls_token`. */
  vitClassifier?: 'token' | 'gap';
  /** The image ViT's patch grid [gh, gw] (default: a square grid from its position embeddings). */
  vitGrid?: [number, number];
  /**
   * The target's own values for everything the image model does not provide (scenic keeps its
   * fresh initialisation). Default: `vivitRandomWeights(model, seed)`.
   */
  init?: ReadonlyMap<string, Tensor>;
  seed?: number;
  backend?: string;
}

export interface InflateResult {
  /** A complete weight set for the target (new tensors the caller owns). */
  weights: Map<string, Tensor>;
  /** Target keys derived from the image checkpoint. */
  restored: string[];
  /** Target keys left at their own initialisation. */
  notRestored: string[];
}

/** `arp[τ] = 2(ft − τ + 1) − (ft + 1)(H_ft − H_{τ−1})`, τ = 1..ft (Bilen et al., scenic `average_arp`). */
export function averageArpWeights(ft: number): number[] {
  const H = [0];
  for (let k = 1; k <= ft; k++) H.push(H[k - 1]! + 1 / k);
  return Array.from({ length: ft }, (_, i) => 2 * (ft - (i + 1) + 1) - (ft + 1) * (H[ft]! - H[i]!));
}

/** Finds the prefix under which an image ViT's `embeddings.position_embeddings` lives ('', 'vit.', …). */
function vitPrefix(keys: readonly string[]): string {
  const hits = keys.filter((k) => k.endsWith('embeddings.position_embeddings') && !k.includes('vivit.'));
  if (hits.length !== 1) {
    throw new Error(
      hits.length === 0
        ? 'image ViT checkpoint: no `embeddings.position_embeddings` key (expected transformers ViT names such as vit.embeddings.position_embeddings, or scenic names)'
        : `image ViT checkpoint: several position embeddings (${hits.join(', ')})`,
    );
  }
  return hits[0]!.slice(0, -'embeddings.position_embeddings'.length);
}

/** Resizes a grid [gh·gw, D] to [nh·nw, D]: separable align-corners linear (= scipy.ndimage.zoom order 1). */
function resizeGrid(grid: Tensor, from: [number, number], to: [number, number]): Tensor {
  const D = grid.shape[1]!;
  if (from[0] === to[0] && from[1] === to[1]) return grid.clone();
  const img = transpose(reshape(grid, [1, from[0], from[1], D]), [0, 3, 1, 2]);
  const r = interpolate(img, { mode: 'linear', size: to, alignCorners: true });
  return reshape(transpose(r, [0, 2, 3, 1]), [to[0] * to[1], D]);
}

function tileRows(grid: Tensor, n: number): Tensor {
  return n === 1 ? grid.clone() : concat(new Array<Tensor>(n).fill(grid), 0);
}

/**
 * Initialises a ViViT model (1–4) from an image ViT checkpoint, exactly as scenic:
 *  1. embedding: the 2-D filter becomes a 3-D one — 'central_frame' puts it at τ = ft // 2 (the
 *     second frame for ft = 2) and zeros elsewhere; 'average_frame' uses W/ft at every τ;
 *     'average_arp_frame' W·arp[τ]/ft. The bias is copied; frame-sampling models copy the filter.
 *  2. CLS: only Model 1 with a token classifier takes the ViT's CLS (Model 2's `cls_SpatialTransformer`
 *     is not restored in scenic: name mismatch).
 *  3. position embeddings: copied when the shapes agree; otherwise the grid rows are tiled over
 *     time ('tile'), resized per frame and tiled ('resize_tile') or resized ('resize'); the ViT's
 *     CLS row is kept only when both models use a CLS token (a target CLS row the ViT lacks keeps
 *     its own init).
 *  4. encoder blocks copied 1:1 (Model 2: into the spatial encoder); Model 3 maps LayerNorm_0 →
 *     layernorm_spatial, attention → attention_spatial and attention_temporal (copy or zero),
 *     LayerNorm_1 → layernorm_after, MLP → MLP, and never restores layernorm_temporal.
 *  5. the final LayerNorm → `vivit.layernorm` (Model 2: `vivit.spatial_layernorm`).
 *  6. classifier only with restoreOutputProjection; Model 2's temporal encoder and CLS tokens stay at init.
 *
 * `vit` holds transformers ViT names (`vit.embeddings.*`, `vit.encoder.layer.{i}.*`, `vit.layernorm.*`,
 * under any prefix) or a scenic ViT tree (`embedding/kernel`, `Transformer/…`). Nothing passed in
 * is modified or disposed.
 */
export function inflateImageVit(vit: ReadonlyMap<string, Tensor>, target: VivitModel | VivitConfigInput, opts: InflateOptions = {}): InflateResult {
  const model = target instanceof VivitModel ? target : new VivitModel(target);
  const cfg = model.config;
  const shapes = model.parameterShapes();
  const ownInit = !opts.init;
  const init = opts.init ?? vivitRandomWeights(model, opts.seed ?? 0, opts.backend);
  let converted: Map<string, Tensor> | null = null;
  try {
    let src: ReadonlyMap<string, Tensor> = vit;
    if (isScenicLayout(vit.keys())) {
      // scenic ViT tree: reuse the ViViT converter (same sub-tree names), then view it as `vit.*`
      converted = convertScenicParams(vit);
      const renamed = new Map<string, Tensor>();
      for (const [k, t] of converted) renamed.set(k.replace(/^vivit\./, 'vit.').replace(/^pre_logits\./, 'vit.pooler.dense.'), t);
      src = renamed;
    }
    return tidy(() => inflate(src, model, shapes, init, opts));
  } finally {
    if (converted) for (const t of converted.values()) t.dispose();
    if (ownInit) for (const t of init.values()) t.dispose();
  }
}

function inflate(src: ReadonlyMap<string, Tensor>, model: VivitModel, shapes: Map<string, number[]>, init: ReadonlyMap<string, Tensor>, opts: InflateOptions): InflateResult {
  const cfg = model.config;
  const g = model.grid;
  const p = vitPrefix([...src.keys()]);
  const get = (k: string) => src.get(p + k);
  const need = (k: string) => {
    const t = get(k);
    if (!t) throw new Error(`image ViT checkpoint: missing '${p}${k}'`);
    return t;
  };
  const out = new Map<string, Tensor>();
  const set = (k: string, t: Tensor) => {
    const want = shapes.get(k);
    if (!want) throw new Error(`inflateImageVit: target has no parameter '${k}'`);
    if (want.length !== t.shape.length || want.some((d, i) => d !== t.shape[i])) {
      throw new Error(`inflateImageVit: '${k}' expects ${fmtShape(want)} but the image ViT gives ${fmtShape(t.shape)}`);
    }
    out.set(k, t);
  };
  const model2 = cfg.model === 2;
  const emb = model2 ? 'vivit.spatial_embeddings' : 'vivit.embeddings';

  // 1. embedding filter
  const w2 = need('embeddings.patch_embeddings.projection.weight');
  const wKey = 'vivit.embeddings.patch_embeddings.projection.weight';
  const wt = shapes.get(wKey)!;
  if (wt.length === w2.shape.length) {
    set(wKey, w2.clone());
  } else {
    const [D, C, fh, fw] = w2.shape as [number, number, number, number];
    if (wt.length !== 5 || wt[0] !== D || wt[1] !== C || wt[3] !== fh || wt[4] !== fw) {
      throw new Error(`inflateImageVit: the image filter ${fmtShape(w2.shape)} does not fit the tubelet filter ${fmtShape(wt)} (only the time axis may differ)`);
    }
    const ft = wt[2]!;
    const kind = opts.kernelInit ?? 'central_frame';
    const w5 = reshape(w2, [D, C, 1, fh, fw]);
    if (kind === 'central_frame') {
      const c = Math.floor(ft / 2);
      const parts: Tensor[] = [];
      if (c > 0) parts.push(zeros([D, C, c, fh, fw], { backend: w2.backend }));
      parts.push(w5);
      if (ft - c - 1 > 0) parts.push(zeros([D, C, ft - c - 1, fh, fw], { backend: w2.backend }));
      set(wKey, parts.length === 1 ? w5.clone() : concat(parts, 2));
    } else if (kind === 'average_frame') {
      set(wKey, div(expand(w5, [D, C, ft, fh, fw]), ft));
    } else if (kind === 'average_arp_frame') {
      const f = tensor(Float32Array.from(averageArpWeights(ft), (v) => v / ft), [1, 1, ft, 1, 1], { backend: w2.backend });
      set(wKey, mul(expand(w5, [D, C, ft, fh, fw]), f));
    } else {
      throw new Error(`inflateImageVit: unknown kernelInit '${String(kind)}' (central_frame, average_frame or average_arp_frame)`);
    }
  }
  set('vivit.embeddings.patch_embeddings.projection.bias', need('embeddings.patch_embeddings.projection.bias').clone());

  // 2. CLS (only a parameter literally named `cls` in scenic, i.e. Model 1's)
  const vitCls = get('embeddings.cls_token');
  const vitToken = (opts.vitClassifier ?? (vitCls ? 'token' : 'gap')) === 'token';
  const tgtToken = cfg.classifier === 'token';
  if (!model2 && tgtToken && vitCls) set('vivit.embeddings.cls_token', vitCls.clone());

  // 3. position embeddings
  const vpos = need('embeddings.position_embeddings');
  const posKey = `${emb}.position_embeddings`;
  const tpos = shapes.get(posKey)!;
  if (vpos.shape.length === 3 && vpos.shape[1] === tpos[1] && vpos.shape[2] === tpos[2]) {
    set(posKey, vpos.clone());
  } else {
    const D = vpos.shape[2]!;
    const rows = vpos.shape[1]!;
    const grid = vitToken ? slice(reshape(vpos, [rows, D]), { starts: [1], ends: [rows], axes: [0] }) : reshape(vpos, [rows, D]);
    const G = grid.shape[0]!;
    let vg = opts.vitGrid;
    if (!vg) {
      const s = Math.round(Math.sqrt(G));
      if (s * s !== G) throw new Error(`inflateImageVit: the image ViT has ${G} grid position embeddings, not a square grid: pass vitGrid [gh, gw]`);
      vg = [s, s];
    }
    if (vg[0] * vg[1] !== G) throw new Error(`inflateImageVit: vitGrid ${JSON.stringify(vg)} does not hold the ${G} grid position embeddings`);
    const ntok = tpos[1]! - (tgtToken ? 1 : 0);
    let body: Tensor;
    if (G === ntok) {
      body = grid;
    } else {
      const mode = opts.posEmbSizeChange ?? 'tile';
      const frame: [number, number] = [g.nh, g.nw];
      if (mode === 'tile') {
        if (ntok % G) throw new Error(`inflateImageVit: cannot tile ${G} image position embeddings to ${ntok} tokens (the per-frame grid ${g.nh}×${g.nw} differs from the ViT's ${vg[0]}×${vg[1]}): use posEmbSizeChange 'resize_tile'`);
        body = tileRows(grid, ntok / G);
      } else if (mode === 'resize_tile') {
        const perFrame = model2 ? ntok : ntok / g.nt;
        if (perFrame !== g.nh * g.nw) throw new Error(`inflateImageVit: ${ntok} tokens do not split into frames of ${g.nh}×${g.nw}`);
        body = tileRows(resizeGrid(grid, vg, frame), ntok / perFrame);
      } else if (mode === 'resize') {
        let to: [number, number];
        if (ntok === g.nh * g.nw) to = frame;
        else {
          const s = Math.round(Math.sqrt(ntok));
          if (s * s !== ntok) throw new Error(`inflateImageVit: 'resize' needs a square token count (scenic), got ${ntok}`);
          to = [s, s];
        }
        body = resizeGrid(grid, vg, to);
      } else {
        throw new Error(`inflateImageVit: unknown posEmbSizeChange '${String(mode)}' (tile, resize_tile or resize)`);
      }
    }
    let clsRow: Tensor | null = null;
    if (tgtToken) {
      if (vitToken) clsRow = slice(reshape(vpos, [rows, D]), { starts: [0], ends: [1], axes: [0] });
      else {
        const own = init.get(posKey);
        if (!own) throw new Error(`inflateImageVit: no initial value for '${posKey}'`);
        clsRow = slice(reshape(own, [tpos[1]!, D]), { starts: [0], ends: [1], axes: [0] });
      }
    }
    set(posKey, reshape(clsRow ? concat([clsRow, body], 0) : body, [1, tpos[1]!, D]));
  }

  // 4. encoder blocks
  const layerRe = new RegExp(`^${p.replace(/\./g, '\\.')}encoder\\.layer\\.(\\d+)\\.(.+)$`);
  const targetLayers = cfg.numLayers;
  const encoder = model2 ? 'vivit.spatial_encoder' : 'vivit.encoder';
  for (const [k, t] of src) {
    const m = layerRe.exec(k);
    if (!m) continue;
    const i = Number(m[1]);
    const sub = m[2]!;
    if (i >= targetLayers) throw new Error(`inflateImageVit: the image ViT has layer ${i} but the target has only ${targetLayers} layers`);
    const base = `${encoder}.layer.${i}.`;
    if (cfg.model !== 3) {
      set(base + sub, t.clone());
      continue;
    }
    if (sub.startsWith('layernorm_before.')) set(base + sub.replace('layernorm_before.', 'layernorm_spatial.'), t.clone());
    else if (sub.startsWith('attention.')) {
      const rest = sub.slice('attention.'.length);
      set(`${base}attention_spatial.${rest}`, t.clone());
      const zero = (opts.temporalAttentionInit ?? 'copy') === 'zero';
      set(`${base}attention_temporal.${rest}`, zero ? zeros(t.shape as number[], { backend: t.backend }) : t.clone());
    } else set(base + sub, t.clone());
  }

  // 5. final LayerNorm
  for (const w of ['weight', 'bias']) {
    const t = get(`layernorm.${w}`);
    if (t) set(`${model2 ? 'vivit.spatial_layernorm' : 'vivit.layernorm'}.${w}`, t.clone());
  }

  // 6. heads
  if (shapes.has('pre_logits.weight')) {
    for (const w of ['weight', 'bias']) {
      const t = get(`pooler.dense.${w}`);
      if (t) set(`pre_logits.${w}`, t.clone());
    }
  }
  if (opts.restoreOutputProjection) {
    const root = p.endsWith('vit.') ? p.slice(0, -'vit.'.length) : p;
    for (const w of ['weight', 'bias']) {
      const t = src.get(`${root}classifier.${w}`);
      if (!t) throw new Error(`inflateImageVit: restoreOutputProjection, but the checkpoint has no '${root}classifier.${w}'`);
      if (shapes.has(`classifier.${w}`)) set(`classifier.${w}`, t.clone());
    }
  }

  const restored = [...shapes.keys()].filter((k) => out.has(k));
  const notRestored = [...shapes.keys()].filter((k) => !out.has(k));
  const weights = new Map<string, Tensor>();
  for (const k of shapes.keys()) {
    const t = out.get(k) ?? init.get(k)?.clone();
    if (!t) throw new Error(`inflateImageVit: no initial value for '${k}' (give opts.init with every parameter of the target)`);
    weights.set(k, t);
  }
  return { weights, restored, notRestored };
}
