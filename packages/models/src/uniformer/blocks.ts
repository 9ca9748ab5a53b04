import { type Tensor, add, gelu, mul, pad, reshape, slice, tidy, transpose } from '@tubelet/core';
import { LayerNorm, Mlp } from '../layers';
import { Module } from '../module';
import { BatchNorm, ChannelLayerNorm, Conv, ConvMlp, MultiHeadAttention, Sequential } from '../nn/index';

const nTuple = (n: number, v: number) => new Array<number>(n).fill(v);

/**
 * `PatchEmbed` / `SpeicalPatchEmbed`: conv (children registered as `norm` then `proj`, as the
 * official state dict) followed by LayerNorm(eps 1e-5) over channels.
 */
export class PatchEmbed extends Module {
  readonly norm: ChannelLayerNorm;
  readonly proj: Conv;
  constructor(inC: number, outC: number, kernel: number[], stride: number[], padding: number[] = nTuple(kernel.length, 0)) {
    super();
    this.norm = this.child('norm', new ChannelLayerNorm(outC, 1e-5));
    this.proj = this.child('proj', new Conv(inC, outC, kernel, { stride, padding }));
  }

  forward(x: Tensor): Tensor {
    return tidy(() => this.norm.forward(this.proj.forward(x)));
  }
}

/** S+ conv stem, stage 1 (`head_embedding`): proj = [Conv3×3 s2 p1 → C/2, BN, GELU, Conv3×3 s2 p1 → C, BN]. */
export class ConvStemHead extends Module {
  readonly proj: Sequential;
  constructor(inC: number, outC: number) {
    super();
    const half = Math.floor(outC / 2);
    this.proj = this.child(
      'proj',
      new Sequential([
        new Conv(inC, half, [3, 3], { stride: 2, padding: 1 }),
        new BatchNorm(half),
        (x: Tensor) => gelu(x, { approximate: 'none' }),
        new Conv(half, outC, [3, 3], { stride: 2, padding: 1 }),
        new BatchNorm(outC),
      ]),
    );
  }
  forward(x: Tensor): Tensor {
    return this.proj.forward(x);
  }
}

/** S+ conv stem, stages 2–4 (`middle_embedding`): proj = [Conv3×3 s2 p1, BN]. */
export class ConvStemMiddle extends Module {
  readonly proj: Sequential;
  constructor(inC: number, outC: number) {
    super();
    this.proj = this.child('proj', new Sequential([new Conv(inC, outC, [3, 3], { stride: 2, padding: 1 }), new BatchNorm(outC)]));
  }
  forward(x: Tensor): Tensor {
    return this.proj.forward(x);
  }
}

export interface BlockOptions {
  mlpRatio: number;
  /** Register gamma_1 / gamma_2 (layer scale). */
  layerScale: boolean;
}

/**
 * `CBlock` (local MHRA, stages 1–2), 2-D or 3-D by `dims`:
 * x += DPE(x); x += conv2(attn(conv1(BN1(x)))) [·γ1]; x += CMlp(BN2(x)) [·γ2] — attn is a depthwise 5×5(×5) conv.
 */
export class CBlock extends Module {
  readonly pos_embed: Conv;
  readonly norm1: BatchNorm;
  readonly conv1: Conv;
  readonly conv2: Conv;
  readonly attn: Conv;
  readonly norm2: BatchNorm;
  readonly mlp: ConvMlp;
  readonly layerScale: boolean;

  constructor(
    readonly dim: number,
    readonly dims: 2 | 3,
    opts: BlockOptions,
  ) {
    super();
    this.layerScale = opts.layerScale;
    if (opts.layerScale) {
      // token-labeling CBlock: nn.Parameter(init · ones(1, C, 1, 1)) — registered before the children
      this.param('gamma_1', [1, dim, ...nTuple(dims, 1)]);
      this.param('gamma_2', [1, dim, ...nTuple(dims, 1)]);
    }
    const k = (n: number) => nTuple(dims, n);
    this.pos_embed = this.child('pos_embed', new Conv(dim, dim, k(3), { padding: 1, groups: dim }));
    this.norm1 = this.child('norm1', new BatchNorm(dim));
    this.conv1 = this.child('conv1', new Conv(dim, dim, k(1)));
    this.conv2 = this.child('conv2', new Conv(dim, dim, k(1)));
    this.attn = this.child('attn', new Conv(dim, dim, k(5), { padding: 2, groups: dim }));
    this.norm2 = this.child('norm2', new BatchNorm(dim));
    this.mlp = this.child('mlp', new ConvMlp(dim, Math.floor(dim * opts.mlpRatio), dims));
  }

  forward(x: Tensor): Tensor {
    return tidy(() => {
      const x1 = add(x, this.pos_embed.forward(x));
      let y = this.conv2.forward(this.attn.forward(this.conv1.forward(this.norm1.forward(x1))));
      if (this.layerScale) y = mul(this.p('gamma_1'), y);
      const x2 = add(x1, y);
      let z = this.mlp.forward(this.norm2.forward(x2));
      if (this.layerScale) z = mul(this.p('gamma_2'), z);
      return add(x2, z);
    });
  }
}

interface SAOptions extends BlockOptions {
  numHeads: number;
  qkvBias: boolean;
  qkScale: number | null;
}

/** Shared parameters of SABlock and SABlock_Windows (identical state dicts). */
abstract class AttentionBlockBase extends Module {
  readonly pos_embed: Conv;
  readonly norm1: LayerNorm;
  readonly attn: MultiHeadAttention;
  readonly norm2: LayerNorm;
  readonly mlp: Mlp;
  readonly layerScale: boolean;

  constructor(
    readonly dim: number,
    readonly dims: 2 | 3,
    opts: SAOptions,
  ) {
    super();
    this.layerScale = opts.layerScale;
    if (opts.layerScale) {
      this.param('gamma_1', [dim]);
      this.param('gamma_2', [dim]);
    }
    this.pos_embed = this.child('pos_embed', new Conv(dim, dim, nTuple(dims, 3), { padding: 1, groups: dim }));
    this.norm1 = this.child('norm1', new LayerNorm(dim, 1e-6));
    this.attn = this.child('attn', new MultiHeadAttention(dim, opts.numHeads, { qkvBias: opts.qkvBias, scale: opts.qkScale }));
    this.norm2 = this.child('norm2', new LayerNorm(dim, 1e-6));
    this.mlp = this.child('mlp', new Mlp(dim, Math.floor(dim * opts.mlpRatio), 'none'));
  }

  protected scaled(i: 1 | 2, y: Tensor): Tensor {
    return this.layerScale ? mul(y, this.p(`gamma_${i}`)) : y;
  }

  abstract forward(x: Tensor): Tensor;
}

/**
 * `SABlock` (global MHRA, stages 3–4): x += DPE(x); tokens t = flatten(x) [N, L, C] (row-major
 * T,H,W); t += attn(LN1(t)) [·γ1]; t += mlp(LN2(t)) [·γ2]; back to [N, C, ...]. LN eps 1e-6.
 */
export class SABlock extends AttentionBlockBase {
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const [N, C] = x.shape as [number, number];
      const L = x.size / (N * C);
      const x1 = add(x, this.pos_embed.forward(x));
      const t = transpose(reshape(x1, [N, C, L]), [0, 2, 1]);
      const t2 = add(t, this.scaled(1, this.attn.forward(this.norm1.forward(t))));
      const t3 = add(t2, this.scaled(2, this.mlp.forward(this.norm2.forward(t2))));
      return reshape(transpose(t3, [0, 2, 1]), x.shape.slice());
    });
  }
}

/**
 * `SABlock_Windows` (dense backbones, stage 3; 2-D only): x += DPE(x); channel-last; y = LN1(x);
 * zero-pad y bottom/right to a multiple of the window (AFTER the norm: padded tokens are exact
 * zeros); attention inside non-overlapping ws×ws windows (row-major windows and tokens, no mask);
 * merge, crop to H×W; x += y; x += mlp(LN2(x)).
 */
export class WindowSABlock extends AttentionBlockBase {
  constructor(
    dim: number,
    readonly windowSize: number,
    opts: SAOptions,
  ) {
    super(dim, 2, opts);
  }

  forward(x: Tensor): Tensor {
    return tidy(() => {
      const [N, C, H, W] = x.shape as [number, number, number, number];
      const ws = this.windowSize;
      const x1 = add(x, this.pos_embed.forward(x));
      const xs = transpose(x1, [0, 2, 3, 1]); // N, H, W, C (the shortcut)
      let y = this.norm1.forward(xs);
      const padB = (ws - (H % ws)) % ws;
      const padR = (ws - (W % ws)) % ws;
      if (padB || padR) y = pad(y, { pads: [0, 0, 0, padB, 0, padR, 0, 0] });
      const Hp = H + padB;
      const Wp = W + padR;
      const nH = Hp / ws;
      const nW = Wp / ws;
      // window partition: [N, nH, ws, nW, ws, C] → [N, nH, nW, ws, ws, C] → [N·nH·nW, ws², C]
      const win = reshape(transpose(reshape(y, [N, nH, ws, nW, ws, C]), [0, 1, 3, 2, 4, 5]), [N * nH * nW, ws * ws, C]);
      const a = this.attn.forward(win);
      // merge: [N, nH, nW, ws, ws, C] → [N, nH, ws, nW, ws, C] → [N, Hp, Wp, C], crop
      let m = reshape(transpose(reshape(a, [N, nH, nW, ws, ws, C]), [0, 1, 3, 2, 4, 5]), [N, Hp, Wp, C]);
      if (padB || padR) m = slice(m, { starts: [0, 0], ends: [H, W], axes: [1, 2] });
      const x2 = add(xs, this.scaled(1, m));
      const x3 = add(x2, this.scaled(2, this.mlp.forward(this.norm2.forward(x2))));
      return transpose(x3, [0, 3, 1, 2]);
    });
  }
}

