import type { SdpaAttrs } from '../../ops/linalg';
import { broadcastStrides } from '../../shape';
import { alloc, cpuKernel } from '../backend';
import { batchOffsets, gemm, stridedOffsets } from './matmul';

/*
 * Scaled dot-product attention, per broadcast batch entry (batch × heads):
 *   S = q · kᵀ (blocked GEMM, k read transposed through packing), then per row
 *   S = S·scale (+ float mask | -inf where the bool mask is false | -inf above the diagonal when
 *   causal), max-subtracted softmax in place, and out = S · v (GEMM).
 *
 * Semantics (PyTorch >= 2.5, math backend's _safe_softmax): a row whose scores are all -inf
 * (fully masked by a bool mask, by -inf float masks and/or causality) produces zeros, not NaN.
 * `causal` keeps key j for query i when j <= i (top-left aligned, torch's tril(ones(Lq, Lk)));
 * a mask given together with `causal` is applied as well (torch rejects that combination).
 */

export function registerAttentionKernels(): void {
  cpuKernel<SdpaAttrs>('sdpa', (ins, attrs, outs, ctx) => {
    const q = ins[0] as Float32Array;
    const k = ins[1] as Float32Array;
    const v = ins[2] as Float32Array;
    const mask = ins[3];
    const qs = ctx.inputs[0]!.shape;
    const ks = ctx.inputs[1]!.shape;
    const vs = ctx.inputs[2]!.shape;
    const os = outs[0]!.shape;
    const o = alloc(outs[0]!) as Float32Array;
    const D = qs[qs.length - 1]!;
    const Lq = qs[qs.length - 2]!;
    const Lk = ks[ks.length - 2]!;
    const Dv = vs[vs.length - 1]!;
    const batch = os.slice(0, -2);
    const nb = o.length === 0 ? 0 : o.length / (Lq * Dv);
    if (nb === 0 || Lk === 0) return [o];
    const scale = attrs.scale ?? 1 / Math.sqrt(D);
    const causal = attrs.causal;
    const qOffs = batchOffsets(qs.slice(0, -2), batch, Lq * D);
    const kOffs = batchOffsets(ks.slice(0, -2), batch, Lk * D);
    const vOffs = batchOffsets(vs.slice(0, -2), batch, Lk * Dv);

    // mask addressing: batch offsets plus (row, column) strides, 0 where broadcast
    const fmask = mask instanceof Float32Array ? mask : null;
    const bmask = mask && !(mask instanceof Float32Array) ? (mask as Uint8Array) : null;
    let mOffs: Float64Array | null = null;
    let msq = 0;
    let msk = 0;
    if (mask) {
      const st = broadcastStrides(ctx.inputs[3]!.shape, [...batch, Lq, Lk]);
      msq = st[st.length - 2]!;
      msk = st[st.length - 1]!;
      mOffs = stridedOffsets(st.slice(0, -2), batch);
    }

    const S = new Float32Array(Lq * Lk);
    for (let bi = 0; bi < nb; bi++) {
      // S [Lq, Lk] = q [Lq, D] · kᵀ, k [Lk, D] read as B[d, j] = k[j·D + d]
      gemm(Lq, Lk, D, q, qOffs[bi]!, D, 1, k, kOffs[bi]!, 1, D, S, 0, Lk, false);
      const mBase = mOffs ? mOffs[bi]! : 0;
      for (let i = 0; i < Lq; i++) {
        const row = i * Lk;
        const jEnd = causal ? Math.min(Lk, i + 1) : Lk;
        const mr = mBase + i * msq;
        let mx = -Infinity;
        if (fmask) {
          for (let j = row, e = row + jEnd, m = mr; j < e; j++, m += msk) {
            const s = S[j]! * scale + fmask[m]!;
            S[j] = s;
            if (s > mx || s !== s) mx = s;
          }
        } else if (bmask) {
          for (let j = row, e = row + jEnd, m = mr; j < e; j++, m += msk) {
            const s = bmask[m] === 0 ? -Infinity : S[j]! * scale;
            S[j] = s;
            if (s > mx || s !== s) mx = s;
          }
        } else {
          for (let j = row, e = row + jEnd; j < e; j++) {
            const s = S[j]! * scale;
            S[j] = s;
            if (s > mx || s !== s) mx = s;
          }
        }
        if (mx === -Infinity) {
          // every key masked: zeros (torch's safe softmax)
          S.fill(0, row, row + Lk);
          continue;
        }
        let sum = 0;
        for (let j = row, e = row + jEnd; j < e; j++) {
          const ex = Math.exp(S[j]! - mx);
          S[j] = ex;
          sum += ex;
        }
        const inv = 1 / sum;
        for (let j = row, e = row + jEnd; j < e; j++) S[j] *= inv;
        if (jEnd < Lk) S.fill(0, row + jEnd, row + Lk);
      }
      // out [Lq, Dv] = S · v
      gemm(Lq, Dv, Lk, S, 0, Lk, 1, v, vOffs[bi]!, Dv, 1, o, bi * Lq * Dv, Dv, false);
    }
    return [o];
  });
}
