import { OpError, defineOp, runOp } from '../op';
import { fmtShape, normAxis, shapesEqual, sizeOf } from '../shape';
import type { Tensor } from '../tensor';
import { Attrs, FLOAT, out, req, sameDType } from './util';

export interface AxisAttrs {
  axis: number;
}

export const softmaxOp = defineOp<AxisAttrs>({
  name: 'softmax',
  inputs: [{ name: 'x', dtypes: FLOAT }],
  doc: 'softmax along `axis` (default -1), max-subtracted for stability.',
  normalize: (attrs, m) => {
    const a = new Attrs('softmax', attrs);
    return a.done({ axis: normAxis(a.int('axis', -1), req('softmax', m, 0).shape.length, 'softmax') });
  },
  infer: (m) => out(req('softmax', m, 0).shape, req('softmax', m, 0).dtype),
  flops: (_m, _a, o) => 5 * sizeOf(o[0]!.shape),
});

export interface LayerNormAttrs {
  /** First normalised axis: the statistics run over x.shape[axis:] (torch normalized_shape). */
  axis: number;
  eps: number;
}

export const layerNormOp = defineOp<LayerNormAttrs>({
  name: 'layerNorm',
  inputs: [
    { name: 'x', dtypes: FLOAT },
    { name: 'weight', dtypes: FLOAT, optional: true },
    { name: 'bias', dtypes: FLOAT, optional: true },
  ],
  doc: 'layer norm over x.shape[axis:] (default the last dim): (x - mean) / sqrt(biased var + eps) · weight + bias; weight/bias have shape x.shape[axis:]. eps default 1e-5 (torch).',
  normalize: (attrs, m) => {
    const a = new Attrs('layerNorm', attrs);
    const x = req('layerNorm', m, 0);
    return a.done({ axis: normAxis(a.int('axis', -1), x.shape.length, 'layerNorm'), eps: a.num('eps', 1e-5) });
  },
  infer: (m, a) => {
    const x = req('layerNorm', m, 0);
    const ns = x.shape.slice(a.axis);
    for (const [i, n] of [[1, 'weight'], [2, 'bias']] as const) {
      const p = m[i];
      if (p && !shapesEqual(p.shape, ns)) throw new OpError('layerNorm', `${n} ${fmtShape(p.shape)} must have the normalised shape ${fmtShape(ns)}`);
    }
    return out(x.shape, sameDType('layerNorm', m, ['x', 'weight', 'bias']));
  },
  flops: (_m, _a, o) => 8 * sizeOf(o[0]!.shape),
});

export interface BatchNormAttrs {
  eps: number;
}

export const batchNormOp = defineOp<BatchNormAttrs>({
  name: 'batchNorm',
  inputs: [
    { name: 'x', dtypes: FLOAT },
    { name: 'mean', dtypes: FLOAT },
    { name: 'var', dtypes: FLOAT },
    { name: 'weight', dtypes: FLOAT, optional: true },
    { name: 'bias', dtypes: FLOAT, optional: true },
  ],
  doc: 'inference batch norm over channel axis 1 with running statistics: (x - mean) / sqrt(var + eps) · weight + bias; eps default 1e-5.',
  normalize: (attrs) => {
    const a = new Attrs('batchNorm', attrs);
    return a.done({ eps: a.num('eps', 1e-5) });
  },
  infer: (m) => {
    const x = req('batchNorm', m, 0);
    if (x.shape.length < 2) throw new OpError('batchNorm', `x must be [N, C, ...], got ${fmtShape(x.shape)}`);
    const C = x.shape[1]!;
    (['x', 'mean', 'var', 'weight', 'bias'] as const).forEach((n, i) => {
      const p = m[i];
      if (i > 0 && p && (p.shape.length !== 1 || p.shape[0] !== C)) throw new OpError('batchNorm', `${n} must be [${C}], got ${fmtShape(p.shape)}`);
    });
    return out(x.shape, sameDType('batchNorm', m, ['x', 'mean', 'var', 'weight', 'bias']));
  },
  flops: (_m, _a, o) => 2 * sizeOf(o[0]!.shape),
});

export const softmax = (x: Tensor, axis = -1) => runOp(softmaxOp, [x], { axis })[0]!;
export const layerNorm = (x: Tensor, weight?: Tensor | null, bias?: Tensor | null, attrs?: Partial<LayerNormAttrs>) =>
  runOp(layerNormOp, [x, weight ?? null, bias ?? null], attrs)[0]!;
export const batchNorm = (x: Tensor, mean: Tensor, variance: Tensor, weight?: Tensor | null, bias?: Tensor | null, attrs?: Partial<BatchNormAttrs>) =>
  runOp(batchNormOp, [x, mean, variance, weight ?? null, bias ?? null], attrs)[0]!;
