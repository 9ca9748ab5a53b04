import { type Tensor, tidy } from '@tubelet/core';
import { Module } from '../module';

/** A layer with weights that maps one tensor to one tensor. */
export interface Layer extends Module {
  forward(x: Tensor): Tensor;
}

/** A step of a Sequential: a Layer (gets the next index as its name) or a weightless function (takes an index too, as torch's nn.GELU() does). */
export type SequentialItem = Layer | ((x: Tensor) => Tensor);

/**
 * torch.nn.Sequential: children named by position ("0", "1", …). Weightless steps (activations,
 * passed as functions) still take up an index, so `[conv, bn, gelu, conv, bn]` names its weights
 * `0.*`, `1.*`, `3.*`, `4.*` exactly as PyTorch does.
 */
export class Sequential extends Module {
  readonly items: readonly SequentialItem[];
  constructor(items: readonly SequentialItem[]) {
    super();
    this.items = items;
    items.forEach((it, i) => {
      if (it instanceof Module) this.child(String(i), it);
    });
  }

  forward(x: Tensor): Tensor {
    return tidy(() => {
      let y = x;
      for (const it of this.items) y = it instanceof Module ? it.forward(y) : it(y);
      return y;
    });
  }
}
