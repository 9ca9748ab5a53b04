import { type Tensor, gelu, layerNorm, linear } from '@tubelet/core';
import { Module } from './module';

/** torch.nn.Linear: weight [out, in], bias [out]. */
export class Linear extends Module {
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    readonly bias = true,
  ) {
    super();
    this.param('weight', [outFeatures, inFeatures]);
    if (bias) this.param('bias', [outFeatures]);
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.p('weight'), this.optionalP('bias'));
  }
}

/** torch.nn.LayerNorm over the last dim. */
export class LayerNorm extends Module {
  constructor(
    readonly dim: number,
    readonly eps = 1e-5,
  ) {
    super();
    this.param('weight', [dim]);
    this.param('bias', [dim]);
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.p('weight'), this.p('bias'), { eps: this.eps });
  }
}

/** The transformer MLP: fc1 → GELU → fc2 (erf GELU as UniFormer; tanh as ViViT). */
export class Mlp extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;
  constructor(
    dim: number,
    hidden: number,
    readonly approximate: 'none' | 'tanh' = 'none',
  ) {
    super();
    this.fc1 = this.child('fc1', new Linear(dim, hidden));
    this.fc2 = this.child('fc2', new Linear(hidden, dim));
  }

  forward(x: Tensor): Tensor {
    const h = this.fc1.forward(x);
    const a = gelu(h, { approximate: this.approximate });
    h.dispose();
    const y = this.fc2.forward(a);
    a.dispose();
    return y;
  }
}
