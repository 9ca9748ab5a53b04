import { type Tensor, add, fmtShape, max, mean, mul, reshape, tidy, transpose } from '@tubelet/core';
import { Linear } from '../layers';
import { Module } from '../module';
import { BatchNorm, ChannelLayerNorm, type ForwardOptions, type Layer, type OutputRecorder, Sequential, collectOutputs, release } from '../nn/index';
import { CBlock, ConvStemHead, ConvStemMiddle, PatchEmbed, SABlock, WindowSABlock } from './blocks';
import { type UniformerConfig, type UniformerConfigInput, resolveUniformerConfig } from './config';

export type { ForwardOptions } from '../nn/index';

/** Common trunk of every UniFormer: 4 patch embeddings, 4 stages of blocks (CBlock, CBlock, SABlock*, SABlock). */
export abstract class UniformerBase extends Module {
  readonly config: UniformerConfig;
  readonly patchEmbeds: readonly Layer[];
  readonly stages: readonly Sequential[];
  /** Spatial rank: 3 for video (T, H, W), 2 otherwise. */
  readonly dims: 2 | 3;
  /** dense / pose: the per-stage output norms norm1..norm4 (LayerNorm eps 1e-6 over channels); empty for classifiers. */
  readonly outNorms: readonly ChannelLayerNorm[];

  constructor(config: UniformerConfigInput | UniformerConfig) {
    super();
    const cfg = resolveUniformerConfig(config);
    this.config = cfg;
    const D = cfg.embedDim;
    const dims = cfg.kind === 'video' ? 3 : 2;
    this.dims = dims;
    const pe: Layer[] = [];
    for (let s = 0; s < 4; s++) {
      const inC = s === 0 ? cfg.inChans : D[s - 1]!;
      let m: Layer;
      if (cfg.kind === 'video') {
        m = s === 0 ? new PatchEmbed(inC, D[0], [3, 4, 4], [2, 4, 4], [1, 0, 0]) : new PatchEmbed(inC, D[s]!, [1, 2, 2], [1, 2, 2]);
      } else if (cfg.convStem) {
        m = s === 0 ? new ConvStemHead(inC, D[0]) : new ConvStemMiddle(inC, D[s]!);
      } else {
        const p = s === 0 ? 4 : 2;
        m = new PatchEmbed(inC, D[s]!, [p, p], [p, p]);
      }
      pe.push(this.child(`patch_embed${s + 1}`, m));
    }
    this.patchEmbeds = pe;
    const stages: Sequential[] = [];
    const outNorms: ChannelLayerNorm[] = [];
    for (let s = 0; s < 4; s++) {
      const C = D[s]!;
      const heads = Math.floor(C / cfg.headDim);
      const blocks: Layer[] = [];
      for (let j = 0; j < cfg.depth[s]!; j++) {
        if (s < 2) {
          blocks.push(new CBlock(C, dims, { mlpRatio: cfg.mlpRatio, layerScale: cfg.layerScale === 'all' }));
        } else {
          const opts = { mlpRatio: cfg.mlpRatio, layerScale: cfg.layerScale !== 'none', numHeads: heads, qkvBias: cfg.qkvBias, qkScale: cfg.qkScale };
          const windowed = s === 2 && (cfg.stage3 === 'window' || (cfg.stage3 === 'hybrid' && (j + 1) % 4 !== 0));
          blocks.push(windowed ? new WindowSABlock(C, cfg.windowSize, opts) : new SABlock(C, dims, opts));
        }
      }
      stages.push(this.child(`blocks${s + 1}`, new Sequential(blocks)));
      // dense / pose: norm{s} is registered right after blocks{s} (official state_dict order)
      if (cfg.kind === 'dense' || cfg.kind === 'pose') outNorms.push(this.child(`norm${s + 1}`, new ChannelLayerNorm(C, 1e-6)));
    }
    this.stages = stages;
    this.outNorms = outNorms;
  }

  /** Names forward(x, { outputs }) accepts: patch_embed{s}, blocks{s}.{j}, stage{s}, then the head's. */
  outputNames(): string[] {
    const names: string[] = [];
    for (let s = 0; s < 4; s++) {
      names.push(`patch_embed${s + 1}`);
      for (let j = 0; j < this.config.depth[s]!; j++) names.push(`blocks${s + 1}.${j}`);
      names.push(`stage${s + 1}`);
    }
    return [...names, ...this.headOutputNames()];
  }

  protected abstract headOutputNames(): string[];
  /** The outputs forward(x) returns. */
  abstract defaultOutputs(): string[];
  /** Runs after stage s (0-based) with its un-normalised output. */
  protected abstract onStage(s: number, x: Tensor, rec: OutputRecorder): void;

  /** The expected input layout, for error messages. */
  get inputLayout(): string {
    return this.dims === 3 ? '[N, C, T, H, W]' : '[N, C, H, W]';
  }

  protected checkInput(x: Tensor): void {
    const cfg = this.config;
    const name = `UniFormer ${cfg.kind}`;
    if (x.rank !== this.dims + 2) throw new Error(`${name}: input must be ${this.inputLayout}, got ${fmtShape(x.shape)}`);
    if (x.shape[1] !== cfg.inChans) throw new Error(`${name}: input ${fmtShape(x.shape)} has ${x.shape[1]} channels, the model expects ${cfg.inChans}`);
    if (x.dtype !== 'float32') throw new Error(`${name}: input must be float32, got ${x.dtype}`);
    if (cfg.imgSize !== null && (x.shape[2] !== cfg.imgSize || x.shape[3] !== cfg.imgSize)) {
      throw new Error(`${name}: the official ImageNet model asserts the input is imgSize × imgSize = ${cfg.imgSize} × ${cfg.imgSize}, got ${fmtShape(x.shape)} (set imgSize to the input size, or null to skip the check)`);
    }
  }

  /** Runs the network and returns the requested named intermediates (each a new tensor the caller owns). */
  protected run(x: Tensor, outputs: readonly string[]): Map<string, Tensor> {
    this.checkInput(x);
    return collectOutputs(outputs, this.outputNames(), `UniFormer ${this.config.kind}`, (rec) => {
      let cur = x;
      for (let s = 0; s < 4; s++) {
        let next = this.patchEmbeds[s]!.forward(cur);
        release(cur, x);
        cur = next;
        rec.record(`patch_embed${s + 1}`, cur);
        this.stages[s]!.items.forEach((b, j) => {
          next = (b as Layer).forward(cur);
          release(cur, x);
          cur = next;
          rec.record(`blocks${s + 1}.${j}`, cur);
        });
        rec.record(`stage${s + 1}`, cur);
        this.onStage(s, cur, rec);
        if (rec.done) break;
      }
      release(cur, x);
    });
  }

  /** The default output(s) as a map (see forward()). */
  forwardDefault(x: Tensor): Map<string, Tensor> {
    return this.run(x, this.defaultOutputs());
  }
}

/**
 * Video (`video_classification/slowfast/models/uniformer.py` `Uniformer`, input [N, 3, T, H, W])
 * and image (`image_classification/models/uniformer.py` `UniFormer`, input [N, 3, H, W])
 * classifiers: trunk → BatchNorm `norm` (`features`) → mean over all positions (`pooled`) →
 * `head` Linear (`logits`, no softmax). Token-labeling models add `aux_head`:
 * logits = head(pooled) + 0.5 · max over positions of aux_head(features).
 */
export class UniformerClassifier extends UniformerBase {
  readonly norm: BatchNorm;
  readonly head: Linear | null;
  readonly auxHead: Linear | null;

  constructor(config: UniformerConfigInput | UniformerConfig) {
    super(config);
    const cfg = this.config;
    if (cfg.kind !== 'video' && cfg.kind !== 'image') throw new Error(`UniformerClassifier: kind must be video or image, got ${cfg.kind}`);
    const C = cfg.embedDim[3];
    this.norm = this.child('norm', new BatchNorm(C));
    this.head = cfg.numClasses > 0 ? this.child('head', new Linear(C, cfg.numClasses)) : null;
    this.auxHead = cfg.auxHead ? this.child('aux_head', new Linear(C, cfg.numClasses)) : null;
  }

  get numClasses(): number {
    return this.config.numClasses;
  }

  protected headOutputNames(): string[] {
    return ['features', 'pooled', ...(this.head ? ['logits'] : [])];
  }

  defaultOutputs(): string[] {
    return [this.head ? 'logits' : 'pooled'];
  }

  protected onStage(s: number, x: Tensor, rec: OutputRecorder): void {
    if (s !== 3 || !rec.wantsAny(['features', 'pooled', 'logits'])) return;
    tidy(() => {
      const features = this.norm.forward(x);
      rec.record('features', features);
      const axes = Array.from({ length: this.dims }, (_, i) => i + 2);
      const pooled = mean(features, { axes });
      rec.record('pooled', pooled);
      if (this.head && rec.wants('logits')) {
        let logits = this.head.forward(pooled);
        if (this.auxHead) {
          const [N, C] = features.shape as [number, number];
          const tokens = transpose(reshape(features, [N, C, -1]), [0, 2, 1]);
          const aux = max(this.auxHead.forward(tokens), { axes: 1 });
          logits = add(logits, mul(aux, 0.5));
        }
        rec.record('logits', logits);
      }
    });
  }

  /**
   * forward(x) → logits [N, classes] (pooled features when numClasses is 0);
   * forward(x, { outputs: ['stage1', 'logits', …] }) → Map of the named intermediates.
   * Every tensor returned is new and owned by the caller; nothing else stays allocated.
   */
  forward(x: Tensor): Tensor;
  forward(x: Tensor, opts: ForwardOptions): Map<string, Tensor>;
  forward(x: Tensor, opts?: ForwardOptions): Tensor | Map<string, Tensor> {
    if (opts) return this.run(x, opts.outputs);
    return [...this.forwardDefault(x).values()][0]!;
  }
}

/**
 * Dense-prediction backbone (`object_detection/mmdet/models/backbones/uniformer.py`, identical
 * for segmentation), input [N, 3, H, W] (any size; floors like the official code): per-stage
 * LayerNorm(eps 1e-6, channel-last) outputs out1..out4 (strides 4, 8, 16, 32) while the next
 * stage consumes the un-normalised map. Stage 3 per config.stage3 (hybrid: window blocks, global
 * when (i+1) % 4 == 0).
 */
export class UniformerDense extends UniformerBase {
  constructor(config: UniformerConfigInput | UniformerConfig) {
    super(config);
    if (this.config.kind !== 'dense') throw new Error(`UniformerDense: kind must be dense, got ${this.config.kind}`);
  }

  protected headOutputNames(): string[] {
    return ['out1', 'out2', 'out3', 'out4'];
  }

  defaultOutputs(): string[] {
    return ['out1', 'out2', 'out3', 'out4'];
  }

  protected onStage(s: number, x: Tensor, rec: OutputRecorder): void {
    const name = `out${s + 1}`;
    if (!rec.wants(name)) return;
    const o = this.outNorms[s]!.forward(x);
    rec.record(name, o);
    o.dispose();
  }

  /**
   * forward(x) → [out1, out2, out3, out4]; forward(x, { outputs }) → Map of named intermediates.
   * Every tensor returned is new and owned by the caller.
   */
  forward(x: Tensor): [Tensor, Tensor, Tensor, Tensor];
  forward(x: Tensor, opts: ForwardOptions): Map<string, Tensor>;
  forward(x: Tensor, opts?: ForwardOptions): [Tensor, Tensor, Tensor, Tensor] | Map<string, Tensor> {
    if (opts) return this.run(x, opts.outputs);
    return [...this.forwardDefault(x).values()] as [Tensor, Tensor, Tensor, Tensor];
  }
}

/**
 * Pose backbone (`pose_estimation/mmpose/models/backbones/uniformer.py`): the dense backbone
 * (all-global stage 3 in every published config) returning only out4 = norm4(stage4), named
 * `backbone_out`; norm1..norm3 exist in its state dict but are unused (out1..out3 can still be
 * requested by name).
 */
export class UniformerPose extends UniformerBase {
  constructor(config: UniformerConfigInput | UniformerConfig) {
    super(config);
    if (this.config.kind !== 'pose') throw new Error(`UniformerPose: kind must be pose, got ${this.config.kind}`);
  }

  protected headOutputNames(): string[] {
    return ['out1', 'out2', 'out3', 'out4', 'backbone_out'];
  }

  defaultOutputs(): string[] {
    return ['backbone_out'];
  }

  protected onStage(s: number, x: Tensor, rec: OutputRecorder): void {
    const name = `out${s + 1}`;
    if (!rec.wants(name) && !(s === 3 && rec.wants('backbone_out'))) return;
    const o = this.outNorms[s]!.forward(x);
    rec.record(name, o);
    if (s === 3) rec.record('backbone_out', o);
    o.dispose();
  }

  /** forward(x) → out4 [N, C4, H/32, W/32]; forward(x, { outputs }) → Map of named intermediates. */
  forward(x: Tensor): Tensor;
  forward(x: Tensor, opts: ForwardOptions): Map<string, Tensor>;
  forward(x: Tensor, opts?: ForwardOptions): Tensor | Map<string, Tensor> {
    if (opts) return this.run(x, opts.outputs);
    return [...this.forwardDefault(x).values()][0]!;
  }
}

export type UniformerModel = UniformerClassifier | UniformerDense | UniformerPose;

/** Builds the model class for a config's kind (shape-only: no weights are allocated until loaded). */
export function createUniformer(config: UniformerConfigInput | UniformerConfig): UniformerModel {
  const cfg = resolveUniformerConfig(config);
  if (cfg.kind === 'dense') return new UniformerDense(cfg);
  if (cfg.kind === 'pose') return new UniformerPose(cfg);
  return new UniformerClassifier(cfg);
}
