import type { MatmulAttrs } from '../../ops/linalg';
import { type Shape, broadcastStrides, sizeOf } from '../../shape';
import { alloc, cpuKernel } from '../backend';

/*
 * Cache-blocked single-precision GEMM for the cpu backend (GotoBLAS loop order):
 *
 *   for jc (NC columns of B/C)            B panel [kc × nc] packed into NR-wide column strips
 *     for pc (KC of the inner dim)
 *       for ic (MC rows of A/C)           A block [mc × kc] packed into MR-high row strips
 *         for jr, ir                      MR×NR register-blocked micro-kernel (32 local doubles)
 *
 * Operands are addressed by (offset, row stride, column stride), so transposed inputs are read
 * through the packing step and never copied as a whole. Within one KC block the micro-kernel
 * accumulates in doubles; C (float32) is updated once per block.
 */

const MR = 4;
const NR = 8;
const MC = 64;
const KC = 256;
const NC = 1024; // multiple of NR

let packA: Float32Array | null = null;
let packB: Float32Array | null = null;
const edge = new Float64Array(MR * NR);

/**
 * C[i, j] (+)= Σ_k A[i, k] · B[k, j] for i < M, j < N, with
 * A[i, k] = a[aOff + i·rsA + k·csA], B[k, j] = b[bOff + k·rsB + j·csB], C[i, j] = c[cOff + i·ldc + j].
 * With `accumulate` false the M×N block of C is overwritten.
 */
export function gemm(
  M: number,
  N: number,
  K: number,
  a: Float32Array,
  aOff: number,
  rsA: number,
  csA: number,
  b: Float32Array,
  bOff: number,
  rsB: number,
  csB: number,
  c: Float32Array,
  cOff: number,
  ldc: number,
  accumulate: boolean,
): void {
  if (M <= 0 || N <= 0) return;
  if (!accumulate) {
    if (ldc === N) c.fill(0, cOff, cOff + M * N);
    else for (let i = 0; i < M; i++) c.fill(0, cOff + i * ldc, cOff + i * ldc + N);
  }
  if (K <= 0) return;
  const Ap = (packA ??= new Float32Array(MC * KC));
  const Bp = (packB ??= new Float32Array(KC * NC));
  for (let jc = 0; jc < N; jc += NC) {
    const nc = Math.min(NC, N - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = Math.min(KC, K - pc);
      packPanelB(b, bOff + pc * rsB + jc * csB, rsB, csB, kc, nc, Bp);
      for (let ic = 0; ic < M; ic += MC) {
        const mc = Math.min(MC, M - ic);
        packPanelA(a, aOff + ic * rsA + pc * csA, rsA, csA, mc, kc, Ap);
        const cBlock = cOff + ic * ldc + jc;
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = Math.min(NR, nc - jr);
          const bi = jr * kc;
          for (let ir = 0; ir < mc; ir += MR) {
            micro(kc, Ap, ir * kc, Bp, bi, c, cBlock + ir * ldc + jr, ldc, Math.min(MR, mc - ir), nr);
          }
        }
      }
    }
  }
}

/** Packs A[0..mc, 0..kc] (origin `off`) into MR-row strips, k-major within a strip, zero padded. */
function packPanelA(a: Float32Array, off: number, rs: number, cs: number, mc: number, kc: number, Ap: Float32Array): void {
  let q = 0;
  for (let ir = 0; ir < mc; ir += MR) {
    const mr = Math.min(MR, mc - ir);
    const base = off + ir * rs;
    if (mr === MR) {
      if (cs === 1) {
        const r0 = base;
        const r1 = base + rs;
        const r2 = base + 2 * rs;
        const r3 = base + 3 * rs;
        for (let p = 0; p < kc; p++, q += MR) {
          Ap[q] = a[r0 + p]!;
          Ap[q + 1] = a[r1 + p]!;
          Ap[q + 2] = a[r2 + p]!;
          Ap[q + 3] = a[r3 + p]!;
        }
      } else {
        for (let p = 0, s = base; p < kc; p++, q += MR, s += cs) {
          Ap[q] = a[s]!;
          Ap[q + 1] = a[s + rs]!;
          Ap[q + 2] = a[s + 2 * rs]!;
          Ap[q + 3] = a[s + 3 * rs]!;
        }
      }
    } else {
      for (let p = 0, s = base; p < kc; p++, q += MR, s += cs) {
        let i = 0;
        for (; i < mr; i++) Ap[q + i] = a[s + i * rs]!;
        for (; i < MR; i++) Ap[q + i] = 0;
      }
    }
  }
}

/** Packs B[0..kc, 0..nc] (origin `off`) into NR-column strips, k-major within a strip, zero padded. */
function packPanelB(b: Float32Array, off: number, rs: number, cs: number, kc: number, nc: number, Bp: Float32Array): void {
  let q = 0;
  for (let jr = 0; jr < nc; jr += NR) {
    const nr = Math.min(NR, nc - jr);
    const base = off + jr * cs;
    if (nr === NR && cs === 1) {
      for (let p = 0, s = base; p < kc; p++, q += NR, s += rs) {
        Bp[q] = b[s]!;
        Bp[q + 1] = b[s + 1]!;
        Bp[q + 2] = b[s + 2]!;
        Bp[q + 3] = b[s + 3]!;
        Bp[q + 4] = b[s + 4]!;
        Bp[q + 5] = b[s + 5]!;
        Bp[q + 6] = b[s + 6]!;
        Bp[q + 7] = b[s + 7]!;
      }
    } else if (rs === 1) {
      // transposed B: each output column is contiguous along k
      for (let j = 0; j < NR; j++) {
        if (j < nr) {
          const s = base + j * cs;
          for (let p = 0, t = q + j; p < kc; p++, t += NR) Bp[t] = b[s + p]!;
        } else {
          for (let p = 0, t = q + j; p < kc; p++, t += NR) Bp[t] = 0;
        }
      }
      q += kc * NR;
    } else {
      for (let p = 0, s = base; p < kc; p++, q += NR, s += rs) {
        let j = 0;
        for (; j < nr; j++) Bp[q + j] = b[s + j * cs]!;
        for (; j < NR; j++) Bp[q + j] = 0;
      }
    }
  }
}

/** MR×NR register-blocked micro-kernel: C tile += Ap strip · Bp strip over kc. */
function micro(kc: number, Ap: Float32Array, ai: number, Bp: Float32Array, bi: number, c: Float32Array, ci: number, ldc: number, mr: number, nr: number): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c04 = 0, c05 = 0, c06 = 0, c07 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0, c14 = 0, c15 = 0, c16 = 0, c17 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c24 = 0, c25 = 0, c26 = 0, c27 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0, c34 = 0, c35 = 0, c36 = 0, c37 = 0;
  for (let p = 0; p < kc; p++, ai += MR, bi += NR) {
    const a0 = Ap[ai]!, a1 = Ap[ai + 1]!, a2 = Ap[ai + 2]!, a3 = Ap[ai + 3]!;
    let v = Bp[bi]!;
    c00 += a0 * v; c10 += a1 * v; c20 += a2 * v; c30 += a3 * v;
    v = Bp[bi + 1]!;
    c01 += a0 * v; c11 += a1 * v; c21 += a2 * v; c31 += a3 * v;
    v = Bp[bi + 2]!;
    c02 += a0 * v; c12 += a1 * v; c22 += a2 * v; c32 += a3 * v;
    v = Bp[bi + 3]!;
    c03 += a0 * v; c13 += a1 * v; c23 += a2 * v; c33 += a3 * v;
    v = Bp[bi + 4]!;
    c04 += a0 * v; c14 += a1 * v; c24 += a2 * v; c34 += a3 * v;
    v = Bp[bi + 5]!;
    c05 += a0 * v; c15 += a1 * v; c25 += a2 * v; c35 += a3 * v;
    v = Bp[bi + 6]!;
    c06 += a0 * v; c16 += a1 * v; c26 += a2 * v; c36 += a3 * v;
    v = Bp[bi + 7]!;
    c07 += a0 * v; c17 += a1 * v; c27 += a2 * v; c37 += a3 * v;
  }
  if (mr === MR && nr === NR) {
    let r = ci;
    c[r] += c00; c[r + 1] += c01; c[r + 2] += c02; c[r + 3] += c03; c[r + 4] += c04; c[r + 5] += c05; c[r + 6] += c06; c[r + 7] += c07;
    r += ldc;
    c[r] += c10; c[r + 1] += c11; c[r + 2] += c12; c[r + 3] += c13; c[r + 4] += c14; c[r + 5] += c15; c[r + 6] += c16; c[r + 7] += c17;
    r += ldc;
    c[r] += c20; c[r + 1] += c21; c[r + 2] += c22; c[r + 3] += c23; c[r + 4] += c24; c[r + 5] += c25; c[r + 6] += c26; c[r + 7] += c27;
    r += ldc;
    c[r] += c30; c[r + 1] += c31; c[r + 2] += c32; c[r + 3] += c33; c[r + 4] += c34; c[r + 5] += c35; c[r + 6] += c36; c[r + 7] += c37;
    return;
  }
  // edge tile: spill to a scratch tile and add only the valid mr×nr part
  const e = edge;
  e[0] = c00; e[1] = c01; e[2] = c02; e[3] = c03; e[4] = c04; e[5] = c05; e[6] = c06; e[7] = c07;
  e[8] = c10; e[9] = c11; e[10] = c12; e[11] = c13; e[12] = c14; e[13] = c15; e[14] = c16; e[15] = c17;
  e[16] = c20; e[17] = c21; e[18] = c22; e[19] = c23; e[20] = c24; e[21] = c25; e[22] = c26; e[23] = c27;
  e[24] = c30; e[25] = c31; e[26] = c32; e[27] = c33; e[28] = c34; e[29] = c35; e[30] = c36; e[31] = c37;
  for (let i = 0; i < mr; i++) {
    const r = ci + i * ldc;
    const s = i * NR;
    for (let j = 0; j < nr; j++) c[r + j] += e[s + j]!;
  }
}

/** Offsets Σ idx[d]·strides[d] of every index of `dims`, in row-major order. */
export function stridedOffsets(strides: readonly number[], dims: Shape): Float64Array {
  const n = sizeOf(dims);
  const offs = new Float64Array(n);
  const r = dims.length;
  if (r === 0) return offs;
  const idx = new Array<number>(r).fill(0);
  let off = 0;
  for (let i = 0; i < n; i++) {
    offs[i] = off;
    for (let d = r - 1; d >= 0; d--) {
      idx[d]!++;
      off += strides[d]!;
      if (idx[d]! < dims[d]!) break;
      off -= strides[d]! * dims[d]!;
      idx[d] = 0;
    }
  }
  return offs;
}

/**
 * Element offsets of each broadcast batch entry: operand batch dims `shape` read as `outBatch`,
 * each batch entry `matSize` elements long.
 */
export function batchOffsets(shape: Shape, outBatch: Shape, matSize: number): Float64Array {
  return stridedOffsets(
    broadcastStrides(shape, outBatch).map((s) => s * matSize),
    outBatch,
  );
}

export function registerMatmulKernels(): void {
  cpuKernel<MatmulAttrs>('matmul', (ins, attrs, outs, ctx) => {
    const a = ins[0] as Float32Array;
    const b = ins[1] as Float32Array;
    const as = ctx.inputs[0]!.shape;
    const bs = ctx.inputs[1]!.shape;
    const os = outs[0]!.shape;
    const o = alloc(outs[0]!) as Float32Array;
    const { transA, transB } = attrs;
    const M = os[os.length - 2]!;
    const N = os[os.length - 1]!;
    const K = transA ? as[as.length - 2]! : as[as.length - 1]!;
    // A[i, k]: row stride, column stride within one batch matrix
    const rsA = transA ? 1 : K;
    const csA = transA ? M : 1;
    const rsB = transB ? 1 : N;
    const csB = transB ? K : 1;
    const outBatch = os.slice(0, -2);
    const aBatch = as.slice(0, -2);
    const bBatch = bs.slice(0, -2);
    const nb = sizeOf(outBatch);
    if (nb === 0 || M === 0 || N === 0) return [o];
    // b shared by every batch entry and a's batches contiguous: one tall GEMM
    if (!transA && sizeOf(bBatch) === 1 && sizeOf(aBatch) === nb) {
      gemm(nb * M, N, K, a, 0, rsA, csA, b, 0, rsB, csB, o, 0, N, false);
      return [o];
    }
    const aOffs = batchOffsets(aBatch, outBatch, M * K);
    const bOffs = batchOffsets(bBatch, outBatch, K * N);
    for (let i = 0; i < nb; i++) gemm(M, N, K, a, aOffs[i]!, rsA, csA, b, bOffs[i]!, rsB, csB, o, i * M * N, N, false);
    return [o];
  });

  cpuKernel<Record<string, never>>('linear', (ins, _attrs, outs, ctx) => {
    const x = ins[0] as Float32Array;
    const w = ins[1] as Float32Array;
    const bias = ins[2] as Float32Array | null;
    const K = ctx.inputs[1]!.shape[1]!;
    const N = ctx.inputs[1]!.shape[0]!;
    const o = alloc(outs[0]!) as Float32Array;
    const M = N === 0 ? 0 : o.length / N;
    if (M === 0) return [o];
    if (bias) for (let i = 0; i < M; i++) o.set(bias, i * N);
    // out [M, N] = x [M, K] · wᵀ, w [N, K] read as B[k, j] = w[j·K + k]
    gemm(M, N, K, x, 0, K, 1, w, 0, 1, K, o, 0, N, true);
    return [o];
  });
}
