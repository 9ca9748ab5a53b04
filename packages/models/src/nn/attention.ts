import { type Tensor, reshape, sdpa, slice, tidy, transpose } from '@tubelet/core';
import { Linear } from '../layers';
import { Module } from '../module';

export interface AttentionOptions {
  /** Bias on the fused qkv projection (timm `qkv_bias`; default true). */
  qkvBias?: boolean;
  /** Softmax scale; default head_dim^-0.5 (timm `qk_scale=None`). */
  scale?: number | null;
}

/**
 * timm-style multi-head self-attention with a fused qkv projection (UniFormer `Attention`):
 * children `qkv` = Linear(C, 3C) whose outputs are ordered [q | k | v], each split head-major
 * into heads × head_dim, and `proj` = Linear(C, C). forward([B, L, C]) → [B, L, C];
 * softmax(q·kᵀ·scale)·v through the core `sdpa` op, no mask, no bias.
 */
export class MultiHeadAttention extends Module {
  readonly qkv: Linear;
  readonly proj: Linear;
  readonly headDim: number;
  readonly scale: number;

  constructor(
    readonly dim: number,
    readonly numHeads: number,
    opts: AttentionOptions = {},
  ) {
    super();
    if (numHeads < 1 || dim % numHeads) throw new Error(`MultiHeadAttention: ${numHeads} heads do not divide dim ${dim}`);
    this.headDim = dim / numHeads;
    this.scale = opts.scale ?? this.headDim ** -0.5;
    this.qkv = this.child('qkv', new Linear(dim, 3 * dim, opts.qkvBias ?? true));
    this.proj = this.child('proj', new Linear(dim, dim));
  }

  forward(x: Tensor): Tensor {
    return tidy(() => {
      const [B, L, C] = x.shape as [number, number, number];
      if (x.rank !== 3 || C !== this.dim) throw new Error(`MultiHeadAttention: expected [B, L, ${this.dim}], got [${x.shape.join(', ')}]`);
      const h = this.numHeads;
      const hd = this.headDim;
      // [B, L, 3C] → [B, L, 3, h, hd] → [3, B, h, L, hd]
      const qkv = transpose(reshape(this.qkv.forward(x), [B, L, 3, h, hd]), [2, 0, 3, 1, 4]);
      const part = (i: number) => reshape(slice(qkv, { starts: [i], ends: [i + 1], axes: [0] }), [B, h, L, hd]);
      const o = sdpa(part(0), part(1), part(2), null, { scale: this.scale });
      // [B, h, L, hd] → [B, L, h, hd] → [B, L, C]
      return this.proj.forward(reshape(transpose(o, [0, 2, 1, 3]), [B, L, C]));
    });
  }
}
