import { type Tensor, gelu, tidy } from '@tubelet/core';
import { Module } from '../module';
import { Conv } from './conv';

/**
 * UniFormer `CMlp`: 1×1(×1) convolutions C → hidden → out with an activation between (exact erf
 * GELU by default). Children `fc1`, `fc2` (Conv with bias); `dims` = 2 (image) or 3 (video).
 */
export class ConvMlp extends Module {
  readonly fc1: Conv;
  readonly fc2: Conv;
  constructor(
    dim: number,
    hidden: number,
    dims: number,
    readonly approximate: 'none' | 'tanh' = 'none',
    out = dim,
  ) {
    super();
    const k = new Array<number>(dims).fill(1);
    this.fc1 = this.child('fc1', new Conv(dim, hidden, k));
    this.fc2 = this.child('fc2', new Conv(hidden, out, k));
  }

  forward(x: Tensor): Tensor {
    return tidy(() => this.fc2.forward(gelu(this.fc1.forward(x), { approximate: this.approximate })));
  }
}
