import { type Tensor, batchNorm, layerNorm, tidy, transpose } from '@tubelet/core';
import { Module } from '../module';

/**
 * torch.nn.BatchNorm1d/2d/3d in eval mode (running statistics) over channel axis 1.
 * State dict: weight, bias, running_mean, running_var (buffers), num_batches_tracked (int64 [], ignored).
 */
export class BatchNorm extends Module {
  constructor(
    readonly channels: number,
    readonly eps = 1e-5,
  ) {
    super();
    this.param('weight', [channels]);
    this.param('bias', [channels]);
    this.buffer('running_mean', [channels]);
    this.buffer('running_var', [channels]);
    this.extra('num_batches_tracked', []);
  }

  forward(x: Tensor): Tensor {
    return batchNorm(x, this.p('running_mean'), this.p('running_var'), this.p('weight'), this.p('bias'), { eps: this.eps });
  }
}

/** The permutation moving axis 1 (channels) last, and its inverse, for a rank-r tensor. */
export function channelsLastPerm(rank: number): { toLast: number[]; toFirst: number[] } {
  const toLast = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2), 1];
  const toFirst = [0, rank - 1, ...Array.from({ length: rank - 2 }, (_, i) => i + 1)];
  return { toLast, toFirst };
}

/** LayerNorm over the channel axis (1) of an [N, C, ...spatial] tensor: permute channel-last, normalise, permute back. */
export function layerNormChannels(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps: number): Tensor {
  return tidy(() => {
    const { toLast, toFirst } = channelsLastPerm(x.rank);
    return transpose(layerNorm(transpose(x, toLast), weight, bias, { eps }), toFirst);
  });
}

/**
 * torch.nn.LayerNorm(C) applied to the channels of an [N, C, ...spatial] map (what UniFormer's
 * patch embeds and dense output norms do by permuting to channel-last). State dict: weight, bias [C].
 */
export class ChannelLayerNorm extends Module {
  constructor(
    readonly channels: number,
    readonly eps = 1e-5,
  ) {
    super();
    this.param('weight', [channels]);
    this.param('bias', [channels]);
  }

  forward(x: Tensor): Tensor {
    return layerNormChannels(x, this.p('weight'), this.p('bias'), this.eps);
  }
}
