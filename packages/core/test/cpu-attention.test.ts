import { describe, expect, it } from 'vitest';
import { registerCpuBackend } from '../src/cpu/backend';
import { registerAttentionKernels } from '../src/cpu/kernels/attention';
import { f16ArrayToF32 } from '../src/dtype';
import { OpError } from '../src/op';
import { sdpa } from '../src/ops/index';
import { tensor } from '../src/tensor';
import { expectClose, prod, rand, rng, roundF16 } from './helpers';

registerCpuBackend();
registerAttentionKernels();

/** Row-major index of `idx` (right-aligned to `full`) into `shape` broadcast to `full`. */
function bindex(shape: readonly number[], full: readonly number[], idx: readonly number[]): number {
  const off = full.length - shape.length;
  let f = 0;
  for (let d = 0; d < shape.length; d++) f = f * shape[d]! + (shape[d] === 1 ? 0 : idx[off + d]!);
  return f;
}

interface Mask {
  data: Float32Array | Uint8Array;
  shape: number[];
  bool: boolean;
}

/**
 * Naive float64 reference (torch math SDPA): s_ij = scale·q_i·k_j + mask (or -inf where the
 * bool mask is false, or where j > i when causal); softmax over j; rows that are entirely -inf
 * give zeros (torch >= 2.5 _safe_softmax); out_i = Σ_j p_ij v_j.
 */
function sdpaRef(q: Float32Array, qs: number[], k: Float32Array, ks: number[], v: Float32Array, vs: number[], mask: Mask | null, scale: number | null, causal: boolean) {
  const D = qs.at(-1)!;
  const Lq = qs.at(-2)!;
  const Lk = ks.at(-2)!;
  const Dv = vs.at(-1)!;
  const sc = scale ?? 1 / Math.sqrt(D);
  const bq = qs.slice(0, -2);
  const bk = ks.slice(0, -2);
  const bv = vs.slice(0, -2);
  const r = Math.max(bq.length, bk.length, bv.length, mask ? mask.shape.length - 2 : 0);
  const batch = new Array(r).fill(1);
  for (const s of [bq, bk, bv, mask ? mask.shape.slice(0, -2) : []]) s.forEach((d, i) => (batch[r - s.length + i] = Math.max(batch[r - s.length + i], d)));
  const nb = prod(batch);
  const out = new Float64Array(nb * Lq * Dv);
  const idx = new Array(r).fill(0);
  for (let b = 0; b < nb; b++) {
    let t = b;
    for (let d = r - 1; d >= 0; d--) {
      idx[d] = t % batch[d]!;
      t = Math.floor(t / batch[d]!);
    }
    const qo = bindex(bq, batch, idx) * Lq * D;
    const ko = bindex(bk, batch, idx) * Lk * D;
    const vo = bindex(bv, batch, idx) * Lk * Dv;
    for (let i = 0; i < Lq; i++) {
      const s = new Float64Array(Lk);
      for (let j = 0; j < Lk; j++) {
        let dot = 0;
        for (let d = 0; d < D; d++) dot += q[qo + i * D + d]! * k[ko + j * D + d]!;
        let val = dot * sc;
        if (mask) {
          const m = mask.data[bindex(mask.shape, [...batch, Lq, Lk], [...idx, i, j])]!;
          if (mask.bool) val = m ? val : -Infinity;
          else val += m;
        }
        if (causal && j > i) val = -Infinity;
        s[j] = val;
      }
      const mx = Math.max(...s);
      if (mx === -Infinity) continue; // fully masked row: zeros
      let sum = 0;
      for (let j = 0; j < Lk; j++) sum += Math.exp(s[j]! - mx);
      for (let d = 0; d < Dv; d++) {
        let acc = 0;
        for (let j = 0; j < Lk; j++) acc += (Math.exp(s[j]! - mx) / sum) * v[vo + j * Dv + d]!;
        out[(b * Lq + i) * Dv + d] = acc;
      }
    }
  }
  return { out, shape: [...batch, Lq, Dv] };
}

function check(qs: number[], ks: number[], vs: number[], opts: { mask?: { shape: number[]; bool: boolean }; scale?: number; causal?: boolean }, seed: number): void {
  const r = rng(seed);
  const q = rand(r, prod(qs));
  const k = rand(r, prod(ks));
  const v = rand(r, prod(vs));
  let mask: Mask | null = null;
  if (opts.mask) {
    const n = prod(opts.mask.shape);
    if (opts.mask.bool) {
      const m = new Uint8Array(n);
      for (let i = 0; i < n; i++) m[i] = r() < 0.7 ? 1 : 0;
      mask = { data: m, shape: opts.mask.shape, bool: true };
    } else {
      mask = { data: rand(r, n).map((x) => x * 3), shape: opts.mask.shape, bool: false };
    }
  }
  const ref = sdpaRef(q, qs, k, ks, v, vs, mask, opts.scale ?? null, opts.causal ?? false);
  const mt = mask ? tensor(mask.data, mask.shape, { dtype: mask.bool ? 'bool' : 'float32' }) : null;
  const attrs: { scale?: number; causal?: boolean } = {};
  if (opts.scale !== undefined) attrs.scale = opts.scale;
  if (opts.causal !== undefined) attrs.causal = opts.causal;
  const y = sdpa(tensor(q, qs), tensor(k, ks), tensor(v, vs), mt, attrs);
  expect(y.shape).toEqual(ref.shape);
  expectClose(y.dataSync() as Float32Array, ref.out);
}

describe('cpu sdpa', () => {
  it('matches the naive reference without a mask (multi-head, Lq != Lk, Dv != D)', () => {
    check([2, 3, 5, 8], [2, 3, 7, 8], [2, 3, 7, 6], {}, 1);
    check([1, 70, 40], [1, 67, 40], [1, 67, 9], {}, 2); // beyond one GEMM block
    check([4, 1], [3, 1], [3, 2], { scale: 0.7 }, 3);
  });

  it('broadcasts batch dims of q, k, v', () => {
    check([2, 1, 4, 8], [1, 3, 6, 8], [3, 6, 5], {}, 4);
    check([5, 8], [2, 2, 6, 8], [6, 3], { scale: 2 }, 5);
  });

  it('additive float masks and boolean keep-masks, broadcast over batch, rows or columns', () => {
    check([2, 3, 4, 8], [2, 3, 6, 8], [2, 3, 6, 5], { mask: { shape: [4, 6], bool: false } }, 6);
    check([2, 3, 4, 8], [2, 3, 6, 8], [2, 3, 6, 5], { mask: { shape: [2, 1, 1, 6], bool: false } }, 7);
    check([2, 3, 4, 8], [2, 3, 6, 8], [2, 3, 6, 5], { mask: { shape: [3, 4, 1], bool: false } }, 8);
    check([2, 3, 4, 8], [2, 3, 6, 8], [2, 3, 6, 5], { mask: { shape: [2, 1, 4, 6], bool: true } }, 9);
    check([3, 4, 8], [3, 6, 8], [6, 5], { mask: { shape: [1, 1, 6], bool: true } }, 10);
  });

  it('causal (top-left aligned, also with Lq != Lk) and causal combined with a mask', () => {
    check([2, 5, 8], [2, 5, 8], [2, 5, 4], { causal: true }, 11);
    check([1, 7, 8], [1, 4, 8], [1, 4, 3], { causal: true }, 12);
    check([1, 3, 8], [1, 6, 8], [1, 6, 3], { causal: true }, 13);
    check([2, 5, 8], [2, 5, 8], [2, 5, 4], { causal: true, mask: { shape: [5, 5], bool: false } }, 14);
  });

  it('closed form: uniform scores average v', () => {
    const v = Float32Array.of(1, 2, 3, 10, 20, 30, -4, 5, 6, 0, 0, 1);
    const y = sdpa(tensor(new Float32Array(2 * 3), [2, 3]), tensor(rand(rng(15), 4 * 3), [4, 3]), tensor(v, [4, 3]));
    expectClose(y.dataSync() as Float32Array, [7 / 4, 27 / 4, 40 / 4, 7 / 4, 27 / 4, 40 / 4]);
    // a causal row i averages v over keys 0..i
    const yc = sdpa(tensor(new Float32Array(3 * 3), [3, 3]), tensor(new Float32Array(3 * 3), [3, 3]), tensor(v.slice(0, 9), [3, 3]), null, { causal: true });
    expectClose(yc.dataSync() as Float32Array, [1, 2, 3, 11 / 2, 11, 33 / 2, 7 / 3, 9, 13]);
  });

  it('fully masked rows give zeros (torch >= 2.5 safe softmax), other rows are unaffected', () => {
    const r = rng(16);
    const q = rand(r, 3 * 4);
    const k = rand(r, 5 * 4);
    const v = rand(r, 5 * 2);
    const keep = Uint8Array.of(1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1);
    const y = sdpa(tensor(q, [3, 4]), tensor(k, [5, 4]), tensor(v, [5, 2]), tensor(keep, [3, 5], { dtype: 'bool' })).dataSync() as Float32Array;
    expect(Array.from(y.slice(2, 4))).toEqual([0, 0]);
    const ref = sdpaRef(q, [3, 4], k, [5, 4], v, [5, 2], { data: keep, shape: [3, 5], bool: true }, null, false);
    expectClose(y, ref.out);
    const neg = new Float32Array(5).fill(-Infinity);
    const y2 = sdpa(tensor(q.slice(0, 4), [1, 4]), tensor(k, [5, 4]), tensor(v, [5, 2]), tensor(neg, [5])).dataSync() as Float32Array;
    expect(Array.from(y2)).toEqual([0, 0]);
  });

  it('NaN in the inputs propagates', () => {
    const q = Float32Array.of(NaN, 1);
    const y = sdpa(tensor(q, [1, 2]), tensor(Float32Array.of(1, 0, 0, 1), [2, 2]), tensor(Float32Array.of(1, 2), [2, 1])).dataSync() as Float32Array;
    expect(Number.isNaN(y[0])).toBe(true);
  });

  it('float16 (with a float16 mask)', () => {
    const r = rng(17);
    const q = roundF16(rand(r, 2 * 5 * 8));
    const k = roundF16(rand(r, 2 * 6 * 8));
    const v = roundF16(rand(r, 2 * 6 * 4));
    const m = roundF16(rand(r, 5 * 6));
    const h = { dtype: 'float16' as const };
    const y = sdpa(tensor(q, [2, 5, 8], h), tensor(k, [2, 6, 8], h), tensor(v, [2, 6, 4], h), tensor(m, [5, 6], h));
    expect(y.dtype).toBe('float16');
    const ref = sdpaRef(q, [2, 5, 8], k, [2, 6, 8], v, [2, 6, 4], { data: m, shape: [5, 6], bool: false }, null, false);
    expectClose(f16ArrayToF32(y.dataSync() as Uint16Array), ref.out, 1e-2);
  });

  it('validation errors come from the descriptor and name the shapes', () => {
    const q = tensor(new Float32Array(2 * 8), [2, 8]);
    expect(() => sdpa(q, tensor(new Float32Array(3 * 4), [3, 4]), tensor(new Float32Array(3 * 2), [3, 2]))).toThrow(OpError);
    expect(() => sdpa(q, tensor(new Float32Array(3 * 4), [3, 4]), tensor(new Float32Array(3 * 2), [3, 2]))).toThrow(/\[3, 4\].*\[2, 8\]/);
    expect(() => sdpa(q, tensor(new Float32Array(3 * 8), [3, 8]), tensor(new Float32Array(3 * 2), [3, 2]), tensor(new Float32Array(4), [4]))).toThrow(
      /mask \[4\] does not broadcast to \[2, 3\]/,
    );
  });
});
