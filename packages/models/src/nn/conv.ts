import { type Tensor, conv } from '@tubelet/core';
import { Module } from '../module';

export interface ConvOptions {
  /** One int for every spatial dim, or one per dim (default 1). */
  stride?: number | readonly number[];
  /** Symmetric zero padding: one int, or one per spatial dim (PyTorch `padding`; default 0). */
  padding?: number | readonly number[];
  dilation?: number | readonly number[];
  /** Channel groups (depthwise: groups = in = out channels). Default 1. */
  groups?: number;
  /** Default true (PyTorch). */
  bias?: boolean;
}

const perDim = (v: number | readonly number[] | undefined, d: number, def: number, what: string): number[] => {
  if (v === undefined) return new Array<number>(d).fill(def);
  if (typeof v === 'number') return new Array<number>(d).fill(v);
  if (v.length !== d) throw new Error(`Conv: ${what} ${JSON.stringify(v)} needs ${d} values`);
  return v.slice();
};

/**
 * torch.nn.Conv1d/2d/3d (the rank comes from `kernel`): weight [out, in/groups, ...kernel],
 * bias [out]. Input [N, in, ...spatial].
 */
export class Conv extends Module {
  readonly kernel: number[];
  readonly stride: number[];
  readonly padding: number[];
  readonly dilation: number[];
  readonly groups: number;
  readonly hasBias: boolean;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernel: number | readonly number[],
    opts: ConvOptions & { dims?: number } = {},
  ) {
    super();
    const d = typeof kernel === 'number' ? (opts.dims ?? 2) : kernel.length;
    if (d < 1 || d > 3) throw new Error(`Conv: 1 to 3 spatial dims, got ${d}`);
    this.kernel = perDim(kernel, d, 1, 'kernel');
    this.stride = perDim(opts.stride, d, 1, 'stride');
    this.padding = perDim(opts.padding, d, 0, 'padding');
    this.dilation = perDim(opts.dilation, d, 1, 'dilation');
    this.groups = opts.groups ?? 1;
    if (inChannels % this.groups || outChannels % this.groups) throw new Error(`Conv: groups ${this.groups} must divide ${inChannels} and ${outChannels}`);
    this.hasBias = opts.bias ?? true;
    this.param('weight', [outChannels, inChannels / this.groups, ...this.kernel]);
    if (this.hasBias) this.param('bias', [outChannels]);
  }

  /** Spatial output size for a spatial input size (PyTorch's floor rule). */
  outputSize(spatial: readonly number[]): number[] {
    return spatial.map((s, i) => Math.floor((s + 2 * this.padding[i]! - this.dilation[i]! * (this.kernel[i]! - 1) - 1) / this.stride[i]!) + 1);
  }

  forward(x: Tensor): Tensor {
    return conv(x, this.p('weight'), this.optionalP('bias'), { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups });
  }
}
