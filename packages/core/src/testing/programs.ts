/**
 * Programs: composites built only from core ops, for official vectors that cover a whole module.
 * A program is looked up by name from generated data (RawCase.p) and gets the case's attributes.
 */
import type { Tensor } from '../tensor';
import { conv } from '../ops/conv';
import { transpose } from '../ops/layout';
import { layerNorm } from '../ops/norm';

export interface ProgramDef {
  /** Ops the program uses (for the coverage report). */
  ops: string[];
  make(attrs: Record<string, unknown>): (inputs: Tensor[]) => Tensor[];
}

export const PROGRAMS: Record<string, ProgramDef> = {
  /**
   * UniFormer video (Speical)PatchEmbed: Conv3d(x, w, b, stride, padding), then LayerNorm over the
   * channels (the official code flattens to [B, THW, C], normalises, and reshapes back).
   * inputs: x [N, C, T, H, W], proj.weight, proj.bias, norm.weight, norm.bias.
   */
  patchEmbed3d: {
    ops: ['conv', 'transpose', 'layerNorm'],
    make: (attrs) => (inputs) => {
      const [x, w, b, lnW, lnB] = inputs as [Tensor, Tensor, Tensor, Tensor, Tensor];
      const y = conv(x, w, b, { stride: attrs.stride as number[], padding: attrs.padding as number[] });
      const cl = transpose(y, [0, 2, 3, 4, 1]);
      const n = layerNorm(cl, lnW, lnB, { eps: attrs.eps as number });
      return [transpose(n, [0, 4, 1, 2, 3])];
    },
  },
};
