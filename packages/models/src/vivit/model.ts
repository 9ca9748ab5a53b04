import { type Tensor, add, fmtShape, gather, max, mean, reshape, slice, sum, tanh, tensor, tidy, transpose } from '@tubelet/core';
import { LayerNorm, Linear } from '../layers';
import { Module } from '../module';
import { type VivitConfig, type VivitConfigInput, type VivitTokenGrid, vivitConfig, vivitTokenGrid } from './config';
import { Container, FactorisedSelfAttentionLayer, Params, PatchConv, Recorder, VivitLayer, prefixed, prependCls, scoped } from './modules';

type EncoderLayer = VivitLayer | FactorisedSelfAttentionLayer;

/**
 * ViViT (Arnab et al. 2021) exactly as scenic implements it, models 1–4, with Hugging Face ViViT
 * parameter names (spec §9; models 2–4 use the documented extension of those names), so
 * `parameterShapes()` is the checkpoint layout and `loadWeights()` a strict key/shape check.
 *
 * **Input layout: [N, C, T, H, W]** — the library's video layout for every model — with values
 * already preprocessed (x·2/255 − 1, see `normalizeVivitFrames`). HF's `pixel_values` are
 * [B, T, C, H, W]: convert with `fromHfPixelValues(pixelValues)` (= transpose(x, [0, 2, 1, 3, 4]));
 * scenic's [B, T, H, W, C] with transpose(x, [0, 4, 1, 2, 3]).
 *
 * Named outputs (`forwardOutputs`), in the parity vectors' layouts:
 *  - all models: `patch_embeddings` [B, N, D] (embedding conv output, (t, h, w) token order),
 *    `pooled` [B, D] (input of the head), `logits` [B, classes]; `pre_logits` [B, R] with representationSize
 *  - models 1/3/4: `hidden_states.{0..L}` [B, (1+)N, D] (0 = after CLS + pos), `last_hidden_state`
 *  - model 3: `layer.{i}.after_spatial`, `layer.{i}.after_temporal` [B, N, D]
 *  - model 4: `layer.{i}.attn_context` [B, N, D] (head outputs before the projection: temporal heads, then spatial)
 *  - model 2: `spatial_hidden_states.{0..L}`, `spatial_last_hidden_state` [B, nt, (1+)S, D],
 *    `spatial_pooled` [B, nt, D], `temporal_hidden_states.{0..Lt}`, `last_hidden_state` [B, (1+)nt, D]
 */
export class VivitModel extends Module {
  readonly config: VivitConfig;
  /** The token grid the position embeddings were built for. */
  readonly grid: VivitTokenGrid;
  readonly #patch: PatchConv;
  readonly #embeddings: Params;
  readonly #layers: EncoderLayer[] = [];
  readonly #norm: LayerNorm;
  readonly #temporalEmbeddings: Params | null = null;
  readonly #temporalLayers: VivitLayer[] = [];
  readonly #temporalNorm: LayerNorm | null = null;
  readonly #preLogits: Linear | null = null;
  readonly #classifier: Linear | null = null;

  constructor(config: VivitConfigInput | VivitConfig) {
    super();
    const cfg = (this.config = vivitConfig(config as VivitConfigInput));
    const g = (this.grid = vivitTokenGrid(cfg));
    const D = cfg.hiddenSize;
    const eps = cfg.layerNormEps;
    const token = cfg.classifier === 'token';
    const cls = (n: number) => ({ ...(token ? { cls_token: [1, 1, D] } : {}), position_embeddings: [1, (token ? 1 : 0) + n, D] });
    const vivit = this.child('vivit', new Container());
    const kernel = cfg.embedding === 'tubelet' ? cfg.tubeletSize! : cfg.patchSize;
    const patch = new PatchConv(cfg.numChannels, D, kernel);

    if (cfg.model === 2) {
      vivit.add('embeddings', new Container()).add('patch_embeddings', new Container()).add('projection', patch);
      this.#embeddings = vivit.add('spatial_embeddings', new Params(cls(g.spatial)));
      const enc = vivit.add('spatial_encoder', new Container()).add('layer', new Container());
      for (let i = 0; i < cfg.numLayers; i++) this.#layers.push(enc.add(String(i), new VivitLayer(D, cfg.numHeads, cfg.mlpDim, eps)));
      this.#norm = vivit.add('spatial_layernorm', new LayerNorm(D, eps));
      this.#temporalEmbeddings = vivit.add('temporal_embeddings', new Params(cls(g.nt)));
      const tenc = vivit.add('temporal_encoder', new Container()).add('layer', new Container());
      for (let i = 0; i < cfg.temporalNumLayers!; i++) {
        this.#temporalLayers.push(tenc.add(String(i), new VivitLayer(D, cfg.temporalNumHeads!, cfg.temporalMlpDim!, eps)));
      }
      this.#temporalNorm = vivit.add('temporal_layernorm', new LayerNorm(D, eps));
    } else {
      this.#embeddings = vivit.add('embeddings', new Params(cls(g.tokens)));
      this.#embeddings.add('patch_embeddings', new Container()).add('projection', patch);
      const enc = vivit.add('encoder', new Container()).add('layer', new Container());
      for (let i = 0; i < cfg.numLayers; i++) {
        const layer =
          cfg.model === 3
            ? new FactorisedSelfAttentionLayer(D, cfg.numHeads, cfg.mlpDim, eps, cfg.attentionOrder)
            : new VivitLayer(D, cfg.numHeads, cfg.mlpDim, eps, cfg.model === 4);
        this.#layers.push(enc.add(String(i), layer));
      }
      this.#norm = vivit.add('layernorm', new LayerNorm(D, eps));
    }
    this.#patch = patch;
    let feat = D;
    if (cfg.representationSize !== null) {
      this.#preLogits = this.child('pre_logits', new Linear(D, cfg.representationSize));
      feat = cfg.representationSize;
    }
    if (cfg.numClasses > 0) this.#classifier = this.child('classifier', new Linear(feat, cfg.numClasses));
  }

  /** Every name `forwardOutputs` accepts, in computation order. */
  outputNames(): string[] {
    const cfg = this.config;
    const names = ['patch_embeddings'];
    if (cfg.model === 2) {
      for (let i = 0; i <= cfg.numLayers; i++) names.push(`spatial_hidden_states.${i}`);
      names.push('spatial_last_hidden_state', 'spatial_pooled');
      for (let i = 0; i <= cfg.temporalNumLayers!; i++) names.push(`temporal_hidden_states.${i}`);
    } else {
      names.push('hidden_states.0');
      for (let i = 0; i < cfg.numLayers; i++) {
        if (cfg.model === 3) {
          const parts = cfg.attentionOrder === 'space_time' ? ['after_spatial', 'after_temporal'] : ['after_temporal', 'after_spatial'];
          for (const p of parts) names.push(`layer.${i}.${p}`);
        }
        if (cfg.model === 4) names.push(`layer.${i}.attn_context`);
        names.push(`hidden_states.${i + 1}`);
      }
    }
    names.push('last_hidden_state', 'pooled');
    if (this.#preLogits) names.push('pre_logits');
    if (this.#classifier) names.push('logits');
    return names;
  }

  /** The name of what forward() returns: 'logits', or the features when there is no classifier. */
  get finalOutput(): string {
    return this.#classifier ? 'logits' : this.#preLogits ? 'pre_logits' : 'pooled';
  }

  /** video [N, C, T, H, W] → logits [N, classes] (or the pooled features without a classifier). */
  forward(video: Tensor): Tensor {
    const name = this.finalOutput;
    return this.forwardOutputs(video, [name])[name]!;
  }

  /**
   * Runs the model and returns the requested named outputs (see the class doc; 'all' for every
   * one). Every other tensor the pass creates is freed; the caller owns (and disposes) the result.
   */
  forwardOutputs(video: Tensor, outputs: readonly string[] | 'all' = 'all'): Record<string, Tensor> {
    let want: Set<string> | 'all' = 'all';
    if (outputs !== 'all') {
      const known = new Set(this.outputNames());
      const unknown = outputs.filter((n) => !known.has(n));
      if (unknown.length) throw new Error(`VivitModel: unknown output${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `'${n}'`).join(', ')}; this model (model ${this.config.model}) has: ${[...known].join(', ')}`);
      want = new Set(outputs);
    }
    const grid = this.#checkInput(video);
    return tidy(() => {
      const rec = new Recorder(want);
      const tokens = this.#embed(video, grid);
      rec.putSame('patch_embeddings', tokens);
      const pooled = this.config.model === 2 ? this.#factorisedEncoder(tokens, rec) : this.#encoder(tokens, rec);
      rec.putSame('pooled', pooled);
      let feat = pooled;
      if (this.#preLogits) {
        feat = tanh(this.#preLogits.forward(pooled));
        rec.putSame('pre_logits', feat);
      }
      if (this.#classifier && rec.wants('logits')) rec.putSame('logits', this.#classifier.forward(feat));
      return Object.fromEntries(rec.out);
    });
  }

  #checkInput(video: Tensor): VivitTokenGrid {
    const cfg = this.config;
    const s = video.shape;
    const hint = `expected a video [N, C, T, H, W] with C = ${cfg.numChannels} (HF pixel_values [B, T, C, H, W] convert with fromHfPixelValues())`;
    if (s.length !== 5) throw new Error(`VivitModel: got ${video.describe()}; ${hint}`);
    if (video.dtype !== 'float32') throw new Error(`VivitModel: got ${video.describe()}; the model computes in float32`);
    if (s[1] !== cfg.numChannels) throw new Error(`VivitModel: got ${video.describe()} with ${s[1]} channels; ${hint}`);
    let g: VivitTokenGrid;
    try {
      g = vivitTokenGrid(cfg, s[2]!, [s[3]!, s[4]!]);
    } catch (e) {
      throw new Error(`VivitModel: input ${fmtShape(s)}: ${(e as Error).message}`);
    }
    const want = this.grid;
    if (g.nt !== want.nt || g.nh !== want.nh || g.nw !== want.nw || g.tokens !== want.tokens) {
      throw new Error(
        `VivitModel: input ${fmtShape(s)} (N, C, T, H, W) gives a ${g.nt}×${g.nh}×${g.nw} token grid, but the position embeddings were built for ${want.nt}×${want.nh}×${want.nw} (config: ${cfg.numFrames} frames of ${cfg.imageSize[0]}×${cfg.imageSize[1]})`,
      );
    }
    return g;
  }

  /** Embedding conv → tokens [B, N, D] in (t, h, w) order. */
  #embed(video: Tensor, g: VivitTokenGrid): Tensor {
    return scoped(() => {
      const [B, C, T, H, W] = video.shape as [number, number, number, number, number];
      const D = this.config.hiddenSize;
      let y: Tensor;
      if (this.config.embedding === 'tubelet') {
        y = this.#patch.forward(video); // [B, D, nt, nh, nw]
      } else {
        // scenic: sample frames, stack them vertically ([B, ts·H, W, C]) and run one 2-D conv
        const idx = g.frameIndices!;
        const identity = idx.length === T && idx.every((v, i) => v === i);
        const frames = identity ? video : gather(video, tensor(Int32Array.from(idx), [idx.length], { backend: video.backend }), 2);
        y = this.#patch.forward(reshape(frames, [B, C, idx.length * H, W])); // [B, D, rows, nw]
      }
      return transpose(reshape(y, [B, D, -1]), [0, 2, 1]);
    });
  }

  #pool(x: Tensor): Tensor {
    switch (this.config.classifier) {
      case 'token':
        return reshape(slice(x, { starts: [0], ends: [1], axes: [1] }), [x.shape[0]!, x.shape[2]!]);
      case 'gap':
        return mean(x, { axes: 1 });
      case 'gmp':
        return max(x, { axes: 1 });
      case 'gsp':
        return sum(x, { axes: 1 });
    }
  }

  /** CLS (when the classifier is 'token') then + position embeddings. */
  #addEmbeddings(x: Tensor, p: Params): Tensor {
    return scoped(() => add(p.has('cls_token') ? prependCls(x, p.get('cls_token')) : x, p.get('position_embeddings')));
  }

  /** Runs encoder layers, freeing each layer's input, recording `${name}.{i}`. */
  #runLayers(x: Tensor, layers: readonly EncoderLayer[], rec: Recorder, name: string, view: (t: Tensor) => Tensor, layerPrefix: string | null): Tensor {
    const grid = { nt: this.grid.nt, S: this.grid.spatial };
    layers.forEach((layer, i) => {
      const r = layerPrefix === null ? null : prefixed(rec, `${layerPrefix}${i}.`);
      const next = layer.forward(x, r, grid);
      x.dispose();
      x = next;
      rec.put(`${name}.${i + 1}`, () => view(next));
    });
    return x;
  }

  /** Models 1, 3, 4 → pooled [B, D]. */
  #encoder(tokens: Tensor, rec: Recorder): Tensor {
    let x = this.#addEmbeddings(tokens, this.#embeddings);
    tokens.dispose();
    rec.putSame('hidden_states.0', x);
    x = this.#runLayers(x, this.#layers, rec, 'hidden_states', (t) => t.clone(), 'layer.');
    const out = this.#norm.forward(x);
    x.dispose();
    rec.putSame('last_hidden_state', out);
    return this.#pool(out);
  }

  /** Model 2 → pooled [B, D]. */
  #factorisedEncoder(tokens: Tensor, rec: Recorder): Tensor {
    const B = tokens.shape[0]!;
    const D = this.config.hiddenSize;
    const { nt, spatial: S } = this.grid;
    const perFrame = reshape(tokens, [B * nt, S, D]);
    tokens.dispose();
    let z = this.#addEmbeddings(perFrame, this.#embeddings);
    perFrame.dispose();
    const Ls = z.shape[1]!;
    const frameView = (t: Tensor) => reshape(t, [B, nt, Ls, D]);
    rec.put('spatial_hidden_states.0', () => frameView(z));
    z = this.#runLayers(z, this.#layers, rec, 'spatial_hidden_states', frameView, null);
    const zn = this.#norm.forward(z);
    z.dispose();
    rec.put('spatial_last_hidden_state', () => frameView(zn));
    const frames = reshape(this.#pool(zn), [B, nt, D]);
    zn.dispose();
    rec.putSame('spatial_pooled', frames);

    let h = this.#addEmbeddings(frames, this.#temporalEmbeddings!);
    frames.dispose();
    rec.putSame('temporal_hidden_states.0', h);
    h = this.#runLayers(h, this.#temporalLayers, rec, 'temporal_hidden_states', (t) => t.clone(), null);
    const out = this.#temporalNorm!.forward(h);
    h.dispose();
    rec.putSame('last_hidden_state', out);
    return this.#pool(out);
  }
}

/** HF `pixel_values` [B, T, C, H, W] → the library's video layout [B, C, T, H, W] (a new tensor). */
export function fromHfPixelValues(pixelValues: Tensor): Tensor {
  if (pixelValues.rank !== 5) throw new Error(`fromHfPixelValues: expected pixel_values [B, T, C, H, W], got ${pixelValues.describe()}`);
  return transpose(pixelValues, [0, 2, 1, 3, 4]);
}
