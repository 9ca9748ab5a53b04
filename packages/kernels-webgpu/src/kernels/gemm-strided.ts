/**
 * Strided batched GEMM on top of gemm-core: every operand is addressed as
 * offset(batch) + row · rowStride + col · colStride, so transposed operands and broadcast batch
 * dims are read in place (no copies). Used by matmul, linear, 1×1 convolutions and the sdpa
 * fallback. Epilogue: out = act(alpha · acc + bias) + residual, with bias along m or n.
 */
import { OpError } from '@tubelet/core';
import type { WebGpuBackend } from '../backend';
import type { StorageBinding, UniformField, UniformValues } from '../program';
import { type AMode, type BMode, type CMode, type GemmTile, dispatchGemm, gemmKey, gemmProgram, pickTile } from './gemm-core';
import { type ElemKind, batchOffsetFn, collapseBatch, enables, inBinding, loaders, outBinding, storers } from './gemm-common';

export interface StridedOperand {
  buffer: GPUBuffer;
  kind: ElemKind;
  /** element stride between rows (m for A, k for B) */
  rs: number;
  /** element stride between columns (k for A, n for B) */
  cs: number;
  /** element stride per output batch dim (0 where broadcast) */
  batchStrides: readonly number[];
}

export type GemmActivation = 'none' | 'relu' | 'gelu';

export interface StridedGemm {
  M: number;
  N: number;
  K: number;
  /** output batch dims (any rank, may be empty) */
  batchShape: readonly number[];
  a: StridedOperand;
  b: StridedOperand;
  /** C[b][m, n] at batchOffset + m · ldc + n */
  c: { buffer: GPUBuffer; kind: 'f32' | 'f16'; ldc: number; batchStrides: readonly number[] };
  bias?: { buffer: GPUBuffer; kind: ElemKind; axis: 'm' | 'n'; batchStrides: readonly number[] } | null;
  /** multiplies the accumulator (default 1) */
  alpha?: number;
  act?: GemmActivation;
  /** added after the activation; addressed like C */
  residual?: { buffer: GPUBuffer; kind: ElemKind } | null;
  /** tile override (tests / benchmarks) */
  tile?: GemmTile;
}

const ACT: Record<GemmActivation, string> = {
  none: 'fn act(x: f32) -> f32 { return x; }',
  relu: 'fn act(x: f32) -> f32 { return max(x, 0.0); }',
  // erf-based gelu (torch's default); erf by Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7)
  gelu: `fn erf_approx(x: f32) -> f32 {
  let a = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-a * a);
  return select(-y, y, x >= 0.0);
}
fn act(x: f32) -> f32 { return 0.5 * x * (1.0 + erf_approx(x * 0.70710678118654752)); }`,
};

const allMul4 = (xs: readonly number[]) => xs.every((x) => x % 4 === 0);

function aModeOf(g: StridedGemm, bs: readonly number[]): { mode: AMode; order: 'k' | 'm' } {
  const { a, M, K } = g;
  if (a.cs === 1 && K % 4 === 0 && a.rs % 4 === 0 && allMul4(bs)) return { mode: 'k4', order: 'k' };
  if (a.rs === 1 && M % 4 === 0 && a.cs % 4 === 0 && allMul4(bs)) return { mode: 'm4', order: 'm' };
  return { mode: 'scalar', order: a.cs === 1 || a.rs !== 1 ? 'k' : 'm' };
}

function bModeOf(g: StridedGemm, bs: readonly number[]): { mode: BMode; order: 'n' | 'k' } {
  const { b, N, K } = g;
  if (b.cs === 1 && N % 4 === 0 && b.rs % 4 === 0 && allMul4(bs)) return { mode: 'n4', order: 'n' };
  if (b.rs === 1 && K % 4 === 0 && b.cs % 4 === 0 && allMul4(bs)) return { mode: 'k4', order: 'k' };
  return { mode: 'scalar', order: b.cs === 1 || b.rs !== 1 ? 'n' : 'k' };
}

/** Records a strided batched GEMM (see StridedGemm). */
export function stridedGemm(backend: WebGpuBackend, g: StridedGemm): void {
  const { M, N, K } = g;
  const operands = [g.a.batchStrides, g.b.batchStrides, g.c.batchStrides, g.bias?.batchStrides ?? g.batchShape.map(() => 0)];
  const col = collapseBatch(g.batchShape, operands);
  const batch = col.shape.reduce((p, x) => p * x, 1);
  if (M === 0 || N === 0 || batch === 0) return;
  const R = col.shape.length;
  const [sa, sb, sc, sbias] = col.strides as [number[], number[], number[], number[]];
  const am = aModeOf(g, sa);
  const bm = bModeOf(g, sb);
  const cVec = N % 4 === 0 && g.c.ldc % 4 === 0 && allMul4(sc);
  const cMode: CMode = cVec ? 'n4' : 'scalar';
  const tile = g.tile ?? pickTile(M, N, batch);
  const act = g.act ?? 'none';
  const bias = g.bias ?? null;
  const res = g.residual ?? null;
  const aVec = am.mode !== 'scalar';
  const bVec = bm.mode !== 'scalar';
  const opKey = `sgemm/r${R}/A${g.a.kind}/B${g.b.kind}/C${g.c.kind}/bias${bias ? `${bias.kind}${bias.axis}` : '-'}/res${res ? res.kind : '-'}/${act}`;
  const key = gemmKey({ key: opKey, tile, aMode: am.mode, aOrder: am.order, bMode: bm.mode, bOrder: bm.order, cMode });

  const program = backend.program(key, () => {
    const bindings: StorageBinding[] = [inBinding('A', g.a.kind, aVec), inBinding('B', g.b.kind, bVec)];
    const hdr: string[] = [loaders('A', g.a.kind, aVec), loaders('B', g.b.kind, bVec)];
    if (bias) {
      bindings.push(inBinding('Bias', bias.kind));
      hdr.push(loaders('Bias', bias.kind));
    }
    if (res) {
      bindings.push(inBinding('Res', res.kind, cVec));
      hdr.push(loaders('Res', res.kind, cVec));
    }
    bindings.push(outBinding('C', g.c.kind, cVec));
    hdr.push(storers('C', g.c.kind, cVec));
    const uniforms: UniformField[] = [
      { name: 'aRs', type: 'u32' },
      { name: 'aCs', type: 'u32' },
      { name: 'bRs', type: 'u32' },
      { name: 'bCs', type: 'u32' },
      { name: 'ldc', type: 'u32' },
      { name: 'alpha', type: 'f32' },
      { name: 'btShape', type: 'u32', length: R },
      { name: 'btA', type: 'u32', length: R },
      { name: 'btB', type: 'u32', length: R },
      { name: 'btC', type: 'u32', length: R },
      { name: 'btBias', type: 'u32', length: R },
    ];
    hdr.push(batchOffsetFn('bt', R, ['A', 'B', 'C', 'Bias']));
    hdr.push(ACT[act]);
    hdr.push(`var<private> offA: u32;
var<private> offB: u32;
var<private> offC: u32;
var<private> offBias: u32;
fn mm_setup(batch: u32, m0: u32, n0: u32, bCol: u32) {
  let o = bt_offsets(batch);
  offA = o[0]; offB = o[1]; offC = o[2]; offBias = o[3];
}
fn mm_readA(m: u32, k: u32) -> f32 { return ld_A(offA + m * u.aRs + k * u.aCs); }
fn mm_readB(k: u32, n: u32) -> f32 { return ld_B(offB + k * u.bRs + n * u.bCs); }`);
    if (aVec) hdr.push('fn mm_readA4(m: u32, k: u32) -> vec4<f32> { return ld4_A(offA + m * u.aRs + k * u.aCs); }');
    if (bVec) hdr.push('fn mm_readB4(k: u32, n: u32) -> vec4<f32> { return ld4_B(offB + k * u.bRs + n * u.bCs); }');
    const biasAt = (n: string) => (!bias ? '0.0' : bias.axis === 'm' ? 'ld_Bias(offBias + m)' : `ld_Bias(offBias + ${n})`);
    hdr.push(`fn epi(m: u32, n: u32, v: f32) -> f32 { return act(v * u.alpha + ${biasAt('n')}); }`);
    hdr.push(`fn mm_write(m: u32, n: u32, v: f32) {
  let i = offC + m * u.ldc + n;
  st_C(i, epi(m, n, v)${res ? ' + ld_Res(i)' : ''});
}`);
    if (cVec) {
      hdr.push(`fn mm_write4(m: u32, n: u32, v: vec4<f32>) {
  let i = offC + m * u.ldc + n;
  let r = vec4<f32>(epi(m, n, v.x), epi(m, n + 1u, v.y), epi(m, n + 2u, v.z), epi(m, n + 3u, v.w));
  st4_C(i, r${res ? ' + ld4_Res(i)' : ''});
}`);
    }
    return gemmProgram({
      key: opKey,
      tile,
      aMode: am.mode,
      aOrder: am.order,
      bMode: bm.mode,
      bOrder: bm.order,
      cMode,
      bindings,
      uniforms,
      header: hdr.join('\n'),
      enable: enables(g.a.kind, g.b.kind, g.c.kind, bias?.kind ?? 'f32', res?.kind ?? 'f32'),
    });
  });

  const buffers = [g.a.buffer, g.b.buffer];
  if (bias) buffers.push(bias.buffer);
  if (res) buffers.push(res.buffer);
  buffers.push(g.c.buffer);
  for (const s of [g.a.rs, g.a.cs, g.b.rs, g.b.cs, g.c.ldc]) {
    if (s > 0xffffffff) throw new OpError('matmul', `stride ${s} is too large for the webgpu backend`);
  }
  const uniforms: UniformValues = {
    aRs: g.a.rs,
    aCs: g.a.cs,
    bRs: g.b.rs,
    bCs: g.b.cs,
    ldc: g.c.ldc,
    alpha: g.alpha ?? 1,
    btShape: col.shape,
    btA: sa,
    btB: sb,
    btC: sc,
    btBias: sbias,
  };
  dispatchGemm(backend, program, buffers, { M, N, K, batch }, tile, uniforms);
}
