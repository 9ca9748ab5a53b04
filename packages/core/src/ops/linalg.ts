import { OpError, defineOp, runOp } from '../op';
import { broadcastShapes, fmtShape, shapesEqual, sizeOf } from '../shape';
import type { Tensor } from '../tensor';
import { Attrs, FLOAT, out, req, sameDType } from './util';

export interface MatmulAttrs {
  /** Use a's last two dims transposed (a: [..., K, M]). */
  transA: boolean;
  /** Use b's last two dims transposed (b: [..., N, K]) — the Linear-weight layout. */
  transB: boolean;
}

function mmDims(op: string, a: readonly number[], b: readonly number[], attrs: MatmulAttrs) {
  if (a.length < 2 || b.length < 2) throw new OpError(op, `inputs must have rank >= 2, got a ${fmtShape(a)} and b ${fmtShape(b)}`);
  const M = attrs.transA ? a[a.length - 1]! : a[a.length - 2]!;
  const K = attrs.transA ? a[a.length - 2]! : a[a.length - 1]!;
  const Kb = attrs.transB ? b[b.length - 1]! : b[b.length - 2]!;
  const N = attrs.transB ? b[b.length - 2]! : b[b.length - 1]!;
  if (K !== Kb) {
    throw new OpError(op, `inner dimensions differ: a ${fmtShape(a)}${attrs.transA ? 'ᵀ' : ''} has K=${K}, b ${fmtShape(b)}${attrs.transB ? 'ᵀ' : ''} has K=${Kb}`);
  }
  const batch = broadcastShapes(a.slice(0, -2), b.slice(0, -2));
  if (!batch) throw new OpError(op, `batch dimensions of a ${fmtShape(a)} and b ${fmtShape(b)} do not broadcast`);
  return { M, N, K, batch };
}

export const matmulOp = defineOp<MatmulAttrs>({
  name: 'matmul',
  inputs: [
    { name: 'a', dtypes: FLOAT },
    { name: 'b', dtypes: FLOAT },
  ],
  doc: 'batched matrix product over the last two dims, batch dims broadcast (torch.matmul for rank >= 2), optional transposes without copies.',
  normalize: (attrs) => {
    const a = new Attrs('matmul', attrs);
    return a.done({ transA: a.bool('transA', false), transB: a.bool('transB', false) });
  },
  infer: (m, attrs) => {
    const a = req('matmul', m, 0);
    const b = req('matmul', m, 1);
    const { M, N, batch } = mmDims('matmul', a.shape, b.shape, attrs);
    return out([...batch, M, N], sameDType('matmul', m, ['a', 'b']));
  },
  flops: (m, attrs) => {
    const { M, N, K, batch } = mmDims('matmul', m[0]!.shape, m[1]!.shape, attrs);
    return 2 * sizeOf(batch) * M * N * K;
  },
});

export const linearOp = defineOp<Record<string, never>>({
  name: 'linear',
  inputs: [
    { name: 'x', dtypes: FLOAT },
    { name: 'weight', dtypes: FLOAT },
    { name: 'bias', dtypes: FLOAT, optional: true },
  ],
  doc: 'x @ weightᵀ + bias (torch.nn.functional.linear): x [..., in], weight [out, in], bias [out].',
  normalize: (attrs) => new Attrs('linear', attrs).done({}),
  infer: (m) => {
    const x = req('linear', m, 0);
    const w = req('linear', m, 1);
    const b = m[2];
    if (x.shape.length < 1) throw new OpError('linear', `x must have rank >= 1, got ${fmtShape(x.shape)}`);
    if (w.shape.length !== 2) throw new OpError('linear', `weight must be [out, in], got ${fmtShape(w.shape)}`);
    if (x.shape[x.shape.length - 1] !== w.shape[1]) {
      throw new OpError('linear', `x ${fmtShape(x.shape)} has ${x.shape[x.shape.length - 1]} features but weight ${fmtShape(w.shape)} expects ${w.shape[1]}`);
    }
    if (b && (b.shape.length !== 1 || b.shape[0] !== w.shape[0])) {
      throw new OpError('linear', `bias must be [${w.shape[0]}], got ${fmtShape(b.shape)}`);
    }
    return out([...x.shape.slice(0, -1), w.shape[0]!], sameDType('linear', m, ['x', 'weight', 'bias']));
  },
  flops: (m) => 2 * sizeOf(m[0]!.shape) * m[1]!.shape[0]!,
});

export interface SdpaAttrs {
  /** Softmax scale; default 1/sqrt(head dim). */
  scale: number | null;
  /** Mask out keys after the query position. */
  causal: boolean;
}

export const sdpaOp = defineOp<SdpaAttrs>({
  name: 'sdpa',
  inputs: [
    { name: 'q', dtypes: FLOAT },
    { name: 'k', dtypes: FLOAT },
    { name: 'v', dtypes: FLOAT },
    { name: 'mask', optional: true, dtypes: ['float32', 'float16', 'bool'] },
  ],
  doc: 'scaled dot-product attention softmax(q·kᵀ·scale + mask)·v over the last two dims: q [..., Lq, D], k [..., Lk, D], v [..., Lk, Dv]; batch dims broadcast; mask broadcastable to [..., Lq, Lk] is additive (float) or keep-where-true (bool).',
  normalize: (attrs) => {
    const a = new Attrs('sdpa', attrs);
    const scale = a.has('scale') ? a.num('scale') : (a.value('scale'), null);
    return a.done({ scale, causal: a.bool('causal', false) });
  },
  infer: (m) => {
    const [q, k, v] = [req('sdpa', m, 0), req('sdpa', m, 1), req('sdpa', m, 2)];
    const r = (x: readonly number[]) => x.length;
    if (r(q.shape) < 2 || r(k.shape) < 2 || r(v.shape) < 2) throw new OpError('sdpa', 'q, k, v must have rank >= 2');
    const D = q.shape[r(q.shape) - 1]!;
    const Lq = q.shape[r(q.shape) - 2]!;
    const Lk = k.shape[r(k.shape) - 2]!;
    if (k.shape[r(k.shape) - 1] !== D) throw new OpError('sdpa', `k ${fmtShape(k.shape)} head dim differs from q ${fmtShape(q.shape)}`);
    if (v.shape[r(v.shape) - 2] !== Lk) throw new OpError('sdpa', `v ${fmtShape(v.shape)} has a different sequence length than k ${fmtShape(k.shape)}`);
    const batch = broadcastShapes(q.shape.slice(0, -2), k.shape.slice(0, -2), v.shape.slice(0, -2));
    if (!batch) throw new OpError('sdpa', `batch dims of q ${fmtShape(q.shape)}, k ${fmtShape(k.shape)}, v ${fmtShape(v.shape)} do not broadcast`);
    const mask = m[3];
    const target = [...batch, Lq, Lk];
    const mb = mask ? broadcastShapes(mask.shape, target) : target;
    if (!mb || !shapesEqual(mb, target)) throw new OpError('sdpa', `mask ${fmtShape(mask!.shape)} does not broadcast to ${fmtShape(target)}`);
    sameDType('sdpa', [q, k, v], ['q', 'k', 'v']);
    return out([...batch, Lq, v.shape[r(v.shape) - 1]!], q.dtype);
  },
  flops: (m, _a, o) => {
    const q = m[0]!.shape;
    const k = m[1]!.shape;
    const os = o[0]!.shape;
    const batch = sizeOf(os.slice(0, -2));
    const Lq = q[q.length - 2]!;
    const D = q[q.length - 1]!;
    const Lk = k[k.length - 2]!;
    const Dv = os[os.length - 1]!;
    return batch * (2 * Lq * Lk * D + 2 * Lq * Lk * Dv + 5 * Lq * Lk);
  },
});

export const matmul = (a: Tensor, b: Tensor, attrs?: Partial<MatmulAttrs>) => runOp(matmulOp, [a, b], attrs)[0]!;
export const linear = (x: Tensor, weight: Tensor, bias?: Tensor | null) => runOp(linearOp, [x, weight, bias ?? null])[0]!;
export const sdpa = (q: Tensor, k: Tensor, v: Tensor, mask?: Tensor | null, attrs?: Partial<SdpaAttrs>) =>
  runOp(sdpaOp, [q, k, v, mask ?? null], attrs)[0]!;
