/**
 * webgpu kernel: sdpa (scaled dot-product attention), fused.
 *
 * One workgroup (64 threads) per (batch·head, tile of BQ queries). The query tile is staged in
 * workgroup memory once; the keys are walked in tiles of BK: the K and V tiles are staged, the
 * BQ × BK scores computed (vec4 dot products, head dim zero padded to a multiple of 4), then an
 * online-softmax update per query row (running max m, running sum l, rescale factor
 * exp(m_old - m_new)) and the output accumulators (registers: BQ × Dv spread over the threads)
 * are rescaled and accumulate P · V. The score matrix never leaves the workgroup.
 * Tile sizes come from the head dim so everything fits 16 KiB: D = 64 → BQ = BK = 16.
 *
 * Semantics as the cpu reference (torch ≥ 2.5): scale default 1/√D; float masks add, bool masks
 * keep where true; `causal` keeps key j for query i when j <= i (top-left), and the key loop stops
 * at the tile's last allowed key; a row whose keys are all masked yields zeros. -inf is tested on
 * the bits (fast-math compilers may fold comparisons with infinities).
 *
 * Head dims too large for the tiles (D or Dv > ~240) use the fallback: S = scale · q·kᵀ (strided
 * GEMM, k read transposed in place), a masked softmax over each row, then P · v (strided GEMM).
 */
import { type KernelContext, type SdpaAttrs, broadcastStrides, registerKernel, sizeOf } from '@tubelet/core';
import type { WebGpuBackend } from '../backend';
import type { ProgramDesc, StorageBinding, UniformField, UniformValues } from '../program';
import {
  type ElemKind,
  FLOAT_BITS_HELPERS,
  batchOffsetFn,
  bufferOf,
  collapseBatch,
  contiguousStrides,
  elemKind,
  enables,
  inBinding,
  loaders,
  outBinding,
  outputTarget,
  storers,
} from './gemm-common';
import { gemmDispatchCap } from './gemm-core';
import { stridedGemm } from './gemm-strided';

type Ctx = KernelContext<SdpaAttrs, WebGpuBackend>;

const THREADS = 64;

type MaskKind = 'none' | 'bool' | ElemKind;

interface AttnTile {
  BQ: number;
  BK: number;
}

/** Query / key tile for head dims D, Dv, or null when none fits the workgroup memory budget. */
export function attentionTile(D: number, Dv: number, budgetFloats: number): AttnTile | null {
  const D4 = Math.ceil(D / 4);
  const Dv4 = Math.ceil(Dv / 4);
  for (const [BQ, BK] of [
    [32, 32],
    [16, 32],
    [16, 16],
    [8, 16],
    [8, 8],
    [4, 8],
    [4, 4],
  ] as const) {
    const floats = 4 * (BQ * D4 + BK * D4 + BK * Dv4) + BQ * BK + 3 * BQ;
    if (floats <= budgetFloats) return { BQ, BK };
  }
  return null;
}

/** @internal Forces the unfused fallback (tests); returns the previous setting. */
let forceFallback = false;
export function setSdpaFallback(on: boolean): boolean {
  const prev = forceFallback;
  forceFallback = on;
  return prev;
}

function maskLoader(mk: MaskKind): string {
  if (mk === 'none') return '';
  if (mk === 'bool') return 'fn mask_keep(i: u32) -> bool { return ((Mask[i >> 2u] >> ((i & 3u) * 8u)) & 0xffu) != 0u; }';
  return loaders('Mask', mk);
}

function maskBinding(mk: MaskKind): StorageBinding[] {
  if (mk === 'none') return [];
  if (mk === 'bool') return [{ name: 'Mask', type: 'u32', access: 'read' }];
  return [inBinding('Mask', mk)];
}

/** WGSL applying causal / mask to score `s` of (qi, kj); `moff` is the mask's batch offset. */
function maskApply(mk: MaskKind): string {
  const lines = ['  if (u.causal != 0u && kj > qi) { return neg_inf(); }'];
  if (mk === 'bool') lines.push('  if (!mask_keep(moff + qi * u.msq + kj * u.msk)) { return neg_inf(); }', '  return s;');
  else if (mk !== 'none') lines.push('  return s + ld_Mask(moff + qi * u.msq + kj * u.msk);');
  else lines.push('  return s;');
  return `fn masked(s: f32, qi: u32, kj: u32, moff: u32) -> f32 {
${lines.join('\n')}
}`;
}

function fusedProgram(key: string, t: AttnTile, D: number, Dv: number, qk: ElemKind, kk: ElemKind, vk: ElemKind, mk: MaskKind, ok: 'f32' | 'f16', R: number): ProgramDesc {
  const { BQ, BK } = t;
  const D4 = Math.ceil(D / 4);
  const DV4 = Math.ceil(Dv / 4);
  const TPR = THREADS / BQ;
  const OPT = Math.ceil(DV4 / TPR);
  const vecQK = D % 4 === 0;
  const vecV = Dv % 4 === 0;
  const bindings: StorageBinding[] = [inBinding('Q', qk, vecQK), inBinding('Kt', kk, vecQK), inBinding('V', vk, vecV), ...maskBinding(mk), outBinding('O', ok, vecV)];
  const load4 = (name: string, vec: boolean, dim: number) =>
    vec
      ? `fn ld4g_${name}(base: u32, c: u32) -> vec4<f32> { return ld4_${name}(base + c * 4u); }`
      : `fn ld4g_${name}(base: u32, c: u32) -> vec4<f32> {
  var r = vec4<f32>(0.0);
  for (var j = 0u; j < 4u; j++) { if (c * 4u + j < ${dim}u) { r[j] = ld_${name}(base + c * 4u + j); } }
  return r;
}`;
  const store = vecV
    ? 'st4_O(obase + c * 4u, val);'
    : `for (var j = 0u; j < 4u; j++) { if (c * 4u + j < ${Dv}u) { st_O(obase + c * 4u + j, val[j]); } }`;
  const header = [
    loaders('Q', qk, vecQK),
    loaders('Kt', kk, vecQK),
    loaders('V', vk, vecV),
    maskLoader(mk),
    storers('O', ok, vecV),
    FLOAT_BITS_HELPERS,
    load4('Q', vecQK, D),
    load4('Kt', vecQK, D),
    load4('V', vecV, Dv),
    batchOffsetFn('bt', R, ['Q', 'K', 'V', 'M', 'O']),
    maskApply(mk),
    `var<workgroup> Qs: array<vec4<f32>, ${BQ * D4}>;`,
    `var<workgroup> Ks: array<vec4<f32>, ${BK * D4}>;`,
    `var<workgroup> Vs: array<vec4<f32>, ${BK * DV4}>;`,
    `var<workgroup> Ss: array<f32, ${BQ * BK}>;`,
    `var<workgroup> rowM: array<f32, ${BQ}>;`,
    `var<workgroup> rowL: array<f32, ${BQ}>;`,
    `var<workgroup> rowA: array<f32, ${BQ}>;`,
  ].join('\n');
  const main = `  let lidx = lid.x;
  let bh = wid.y + u.batchBase;
  let q0 = (wid.x + u.qTileBase) * ${BQ}u;
  let offs = bt_offsets(bh);
  let qoff = offs[0];
  let koff = offs[1];
  let voff = offs[2];
  let moff = offs[3];
  let ooff = offs[4];
  for (var l = lidx; l < ${BQ * D4}u; l += ${THREADS}u) {
    let qi = q0 + l / ${D4}u;
    var v = vec4<f32>(0.0);
    if (qi < u.Lq) { v = ld4g_Q(qoff + qi * ${D}u, l % ${D4}u); }
    Qs[l] = v;
  }
  if (lidx < ${BQ}u) {
    rowM[lidx] = neg_inf();
    rowL[lidx] = 0.0;
  }
  let myRow = lidx / ${TPR}u;
  let myLane = lidx % ${TPR}u;
  var o: array<vec4<f32>, ${OPT}>;
  var kEnd = u.Lk;
  if (u.causal != 0u) { kEnd = min(u.Lk, q0 + ${BQ}u); }
  let nkt = (kEnd + ${BK - 1}u) / ${BK}u;
  for (var t = 0u; t < nkt; t++) {
    let k0 = t * ${BK}u;
    workgroupBarrier();
    for (var l = lidx; l < ${BK * D4}u; l += ${THREADS}u) {
      let kj = k0 + l / ${D4}u;
      var v = vec4<f32>(0.0);
      if (kj < u.Lk) { v = ld4g_Kt(koff + kj * ${D}u, l % ${D4}u); }
      Ks[l] = v;
    }
    for (var l = lidx; l < ${BK * DV4}u; l += ${THREADS}u) {
      let kj = k0 + l / ${DV4}u;
      var v = vec4<f32>(0.0);
      if (kj < u.Lk) { v = ld4g_V(voff + kj * ${Dv}u, l % ${DV4}u); }
      Vs[l] = v;
    }
    workgroupBarrier();
    for (var l = lidx; l < ${BQ * BK}u; l += ${THREADS}u) {
      let i = l / ${BK}u;
      let j = l % ${BK}u;
      let qi = q0 + i;
      let kj = k0 + j;
      var s = neg_inf();
      if (qi < u.Lq && kj < u.Lk) {
        var acc = 0.0;
        for (var c = 0u; c < ${D4}u; c++) { acc += dot(Qs[i * ${D4}u + c], Ks[j * ${D4}u + c]); }
        s = masked(acc * u.scale, qi, kj, moff);
      }
      Ss[l] = s;
    }
    workgroupBarrier();
    if (lidx < ${BQ}u) {
      let r = lidx * ${BK}u;
      let mOld = rowM[lidx];
      var mx = mOld;
      for (var j = 0u; j < ${BK}u; j++) {
        let s = Ss[r + j];
        if (!is_neg_inf(s) && (is_neg_inf(mx) || s > mx)) { mx = s; }
      }
      var alpha = 1.0;
      var lsum = 0.0;
      if (is_neg_inf(mx)) {
        for (var j = 0u; j < ${BK}u; j++) { Ss[r + j] = 0.0; }
      } else {
        alpha = select(exp(mOld - mx), 0.0, is_neg_inf(mOld));
        for (var j = 0u; j < ${BK}u; j++) {
          let s = Ss[r + j];
          let p = select(exp(s - mx), 0.0, is_neg_inf(s));
          Ss[r + j] = p;
          lsum += p;
        }
      }
      rowM[lidx] = mx;
      rowL[lidx] = rowL[lidx] * alpha + lsum;
      rowA[lidx] = alpha;
    }
    workgroupBarrier();
    let a = rowA[myRow];
    for (var cc = 0u; cc < ${OPT}u; cc++) {
      let c = myLane + cc * ${TPR}u;
      if (c < ${DV4}u) {
        var acc = o[cc] * a;
        for (var j = 0u; j < ${BK}u; j++) { acc = fma(vec4<f32>(Ss[myRow * ${BK}u + j]), Vs[j * ${DV4}u + c], acc); }
        o[cc] = acc;
      }
    }
  }
  workgroupBarrier();
  let qi = q0 + myRow;
  if (qi < u.Lq) {
    let lsum = rowL[myRow];
    let inv = select(0.0, 1.0 / lsum, lsum > 0.0);
    let obase = ooff + qi * ${Dv}u;
    for (var cc = 0u; cc < ${OPT}u; cc++) {
      let c = myLane + cc * ${TPR}u;
      if (c < ${DV4}u) {
        let val = o[cc] * inv;
        ${store}
      }
    }
  }`;
  return { key, workgroupSize: THREADS, bindings, uniforms: attnUniforms(R), header, main, enable: enables(qk, kk, vk, mk === 'bool' || mk === 'none' ? 'f32' : mk, ok) };
}

function attnUniforms(R: number): UniformField[] {
  const u32s = ['Lq', 'Lk', 'causal', 'msq', 'msk', 'batchBase', 'qTileBase'];
  return [
    ...u32s.map((name) => ({ name, type: 'u32' as const })),
    { name: 'scale', type: 'f32' },
    ...['Shape', 'Q', 'K', 'V', 'M', 'O'].map((n) => ({ name: `bt${n}`, type: 'u32' as const, length: R })),
  ];
}

// ---------------------------------------------------------------------------------------------
// fallback: GEMM → masked row softmax → GEMM

const SOFTMAX_WG = 64;

function softmaxProgram(key: string, mk: MaskKind, R: number): ProgramDesc {
  return {
    key,
    workgroupSize: SOFTMAX_WG,
    bindings: [...maskBinding(mk), { name: 'S', type: 'f32', access: 'read_write' }],
    uniforms: attnUniforms(R),
    header: [
      maskLoader(mk),
      FLOAT_BITS_HELPERS,
      batchOffsetFn('bt', R, ['Q', 'K', 'V', 'M', 'O']),
      maskApply(mk),
      `var<workgroup> red: array<f32, ${SOFTMAX_WG}>;`,
    ].join('\n'),
    // one workgroup per row of S (rows of all batch entries, in the y dim chunked by batchBase)
    main: `  let lidx = lid.x;
  let row = wid.x + wid.y * nwg.x + u.batchBase;
  let valid = row < u.qTileBase;
  let rowc = min(row, u.qTileBase - 1u);
  let bh = rowc / u.Lq;
  let qi = rowc % u.Lq;
  let moff = bt_offsets(bh)[3];
  let base = rowc * u.Lk;
  var mx = neg_inf();
  for (var j = lidx; j < u.Lk; j += ${SOFTMAX_WG}u) {
    let s = masked(S[base + j] * u.scale, qi, j, moff);
    if (!is_neg_inf(s) && (is_neg_inf(mx) || s > mx)) { mx = s; }
  }
  red[lidx] = mx;
  workgroupBarrier();
  for (var w = ${SOFTMAX_WG / 2}u; w > 0u; w >>= 1u) {
    if (lidx < w) {
      let o = red[lidx + w];
      if (!is_neg_inf(o) && (is_neg_inf(red[lidx]) || o > red[lidx])) { red[lidx] = o; }
    }
    workgroupBarrier();
  }
  let m = red[0];
  workgroupBarrier();
  var sum = 0.0;
  for (var j = lidx; j < u.Lk; j += ${SOFTMAX_WG}u) {
    let s = masked(S[base + j] * u.scale, qi, j, moff);
    sum += select(exp(s - m), 0.0, is_neg_inf(s) || is_neg_inf(m));
  }
  red[lidx] = sum;
  workgroupBarrier();
  for (var w = ${SOFTMAX_WG / 2}u; w > 0u; w >>= 1u) {
    if (lidx < w) { red[lidx] += red[lidx + w]; }
    workgroupBarrier();
  }
  let total = red[0];
  let inv = select(0.0, 1.0 / total, total > 0.0);
  if (valid) {
    for (var j = lidx; j < u.Lk; j += ${SOFTMAX_WG}u) {
      let s = masked(S[base + j] * u.scale, qi, j, moff);
      S[base + j] = select(exp(s - m) * inv, 0.0, is_neg_inf(s) || is_neg_inf(m));
    }
  }`,
  };
}

// ---------------------------------------------------------------------------------------------

function sdpaKernel(ctx: Ctx): unknown[] {
  const be = ctx.backend;
  const [q, k, v, mask] = [ctx.inputs[0]!, ctx.inputs[1]!, ctx.inputs[2]!, ctx.inputs[3]];
  const os = ctx.outputs[0]!.shape;
  const size = sizeOf(os);
  const out = outputTarget(be, ctx.outputs[0]!.dtype, size, 'sdpa');
  if (size === 0) return [out.finish()];
  const D = q.shape[q.shape.length - 1]!;
  const Lq = q.shape[q.shape.length - 2]!;
  const Lk = k.shape[k.shape.length - 2]!;
  const Dv = v.shape[v.shape.length - 1]!;
  const batch = os.slice(0, -2);
  const scale = ctx.attrs.scale ?? 1 / Math.sqrt(D);
  const qk = elemKind(be, q.dtype, 'sdpa');
  const kk = elemKind(be, k.dtype, 'sdpa');
  const vk = elemKind(be, v.dtype, 'sdpa');
  const mk: MaskKind = !mask ? 'none' : mask.dtype === 'bool' ? 'bool' : elemKind(be, mask.dtype, 'sdpa');
  let msq = 0;
  let msk = 0;
  let mStr = batch.map(() => 0);
  if (mask) {
    const st = broadcastStrides(mask.shape, [...batch, Lq, Lk]);
    msq = st[st.length - 2]!;
    msk = st[st.length - 1]!;
    mStr = st.slice(0, -2);
  }
  const bs = (shape: readonly number[], mat: number) => broadcastStrides(shape.slice(0, -2), batch).map((s) => s * mat);
  const qStr = bs(q.shape, Lq * D);
  const kStr = bs(k.shape, Lk * D);
  const vStr = bs(v.shape, Lk * Dv);
  const oStr = contiguousStrides(batch).map((s) => s * Lq * Dv);
  const col = collapseBatch(batch, [qStr, kStr, vStr, mStr, oStr]);
  const R = col.shape.length;
  const nb = col.shape.reduce((p, x) => p * x, 1);
  const [cq, ck, cv, cm, co] = col.strides;
  const bufs = [bufferOf(q.handle), bufferOf(k.handle), bufferOf(v.handle)];
  if (mask) bufs.push(bufferOf(mask.handle));
  const baseU = { Lq, Lk, causal: ctx.attrs.causal ? 1 : 0, msq, msk, scale, btShape: col.shape, btQ: cq!, btK: ck!, btV: cv!, btM: cm!, btO: co! };
  const max = be.limits.maxComputeWorkgroupsPerDimension;
  const budget = Math.floor(Math.min(be.limits.maxComputeWorkgroupStorageSize, 16384) / 4) - 64;
  const tile = forceFallback ? null : attentionTile(D, Dv, budget);

  if (tile) {
    const key = `sdpa/fused/D${D}/Dv${Dv}/t${tile.BQ}x${tile.BK}/${qk}${kk}${vk}/${mk}/${out.kind}/r${R}`;
    const p = be.program(key, () => fusedProgram(key, tile, D, Dv, qk, kk, vk, mk, out.kind, R));
    const qTiles = Math.ceil(Lq / tile.BQ);
    // split into dispatches of bounded work (SwiftShader / watchdogs), whole query tiles each
    const perTile = tile.BQ * Lk * (D + Dv);
    const tilesPer = Math.max(1, Math.min(max, Math.floor(gemmDispatchCap() / perTile)));
    if (tilesPer >= qTiles) {
      const bPer = Math.max(1, Math.min(max, Math.floor(tilesPer / qTiles)));
      for (let b0 = 0; b0 < nb; b0 += bPer) be.dispatch(p, [...bufs, out.buffer], { ...baseU, batchBase: b0, qTileBase: 0 }, [qTiles, Math.min(bPer, nb - b0), 1]);
    } else {
      for (let b0 = 0; b0 < nb; b0++) {
        for (let t0 = 0; t0 < qTiles; t0 += tilesPer) {
          be.dispatch(p, [...bufs, out.buffer], { ...baseU, batchBase: b0, qTileBase: t0 }, [Math.min(tilesPer, qTiles - t0), 1, 1]);
        }
      }
    }
    return [out.finish()];
  }

  // fallback: S [nb, Lq, Lk] = q · kᵀ; softmax rows in place (scale, mask, causal); out = S · v
  const S = be.allocate(nb * Lq * Lk * 4);
  try {
    const sStr = contiguousStrides(col.shape).map((s) => s * Lq * Lk);
    stridedGemm(be, {
      M: Lq,
      N: Lk,
      K: D,
      batchShape: col.shape,
      a: { buffer: bufs[0]!, kind: qk, rs: D, cs: 1, batchStrides: cq! },
      b: { buffer: bufs[1]!, kind: kk, rs: 1, cs: D, batchStrides: ck! },
      c: { buffer: S.buffer, kind: 'f32', ldc: Lk, batchStrides: sStr },
    });
    const rows = nb * Lq;
    if (Lk > 0) {
      const key = `sdpa/softmax/${mk}/r${R}`;
      const p = be.program(key, () => softmaxProgram(key, mk, R));
      const mbuf = mask ? [bufs[3]!] : [];
      const perDispatch = max * Math.min(max, 64);
      for (let r0 = 0; r0 < rows; r0 += perDispatch) {
        const n = Math.min(perDispatch, rows - r0);
        const gx = Math.min(n, max);
        // qTileBase carries the row count here (rows past it only take part in the barriers)
        be.dispatch(p, [...mbuf, S.buffer], { ...baseU, batchBase: r0, qTileBase: rows }, [gx, Math.ceil(n / gx), 1]);
      }
    }
    stridedGemm(be, {
      M: Lq,
      N: Dv,
      K: Lk,
      batchShape: col.shape,
      a: { buffer: S.buffer, kind: 'f32', rs: Lk, cs: 1, batchStrides: sStr },
      b: { buffer: bufs[2]!, kind: vk, rs: Dv, cs: 1, batchStrides: cv! },
      c: { buffer: out.buffer, kind: out.kind, ldc: Dv, batchStrides: co! },
    });
  } finally {
    be.release(S);
  }
  return [out.finish()];
}

let registered = false;
/** Registers the webgpu sdpa kernel (idempotent). */
export function registerAttentionKernels(): void {
  if (registered) return;
  registered = true;
  registerKernel('sdpa', 'webgpu', sdpaKernel);
}
