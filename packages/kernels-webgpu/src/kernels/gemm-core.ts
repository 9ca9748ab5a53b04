/**
 * The tiled GEMM at the heart of matmul, linear, the convolutions (implicit GEMM) and the sdpa
 * fallback: C[b][m, n] = Σ_k A[b][m, k] · B[b][k, n], then an epilogue.
 *
 * Tiling (per workgroup of WGX × WGY threads): a TM × TN block of C (TM = 4·WGY, TN = 4·WGX),
 * each thread a 4 × 4 register block (rows 4·ty.., columns 4·tx..). The K loop stages a TM × TK
 * slab of A and a TK × TN slab of B in workgroup memory, both stored k-major as vec4s
 * (As[k][m/4], Bs[k][n/4]) so the inner product is 4 vec4 FMAs per k step with one vec4 read of
 * each tile. Operands are read through op-supplied functions (no transposes, no im2col buffers):
 *
 *   A modes: 'scalar' mm_readA(m, k) -> f32          (order 'k' or 'm': which index is fastest)
 *            'k4'     mm_readA4(m, k) -> A[m, k..k+3] (K % 4 == 0: a non-transposed operand)
 *            'm4'     mm_readA4(m, k) -> A[m..m+3, k] (M % 4 == 0: a transposed operand)
 *   B modes: 'scalar' mm_readB(k, n) -> f32          (order 'n' or 'k')
 *            'n4'     mm_readB4(k, n) -> B[k, n..n+3] (N % 4 == 0)
 *            'k4'     mm_readB4(k, n) -> B[k..k+3, n] (K % 4 == 0: a transposed operand)
 *   C modes: 'scalar' mm_write(m, n, v: f32);  'n4' mm_write4(m, n, v: vec4<f32>) (N % 4 == 0)
 *
 * The core only calls readers for in-range indices (zero fill otherwise) and writers for in-range
 * outputs. `mm_setup(batch, m0, n0, bCol)` runs once per thread before the K loop: it sets the
 * op's private per-batch state (operand offsets, and for scalar B loads in 'n' order the fixed
 * column bCol = n0 + lidx % TN this thread always loads — the implicit-GEMM conv decodes its
 * output position there once).
 */
import type { WebGpuBackend } from '../backend';
import type { ProgramDesc, StorageBinding, UniformField, UniformValues } from '../program';

export interface GemmTile {
  /** threads along n (columns) */
  wgX: number;
  /** threads along m (rows) */
  wgY: number;
  /** K step staged per iteration (multiple of 4) */
  tk: number;
}

/** 64 × 64 tiles, 256 threads, K step 16: 8 KiB of workgroup memory. */
export const TILE_LARGE: GemmTile = { wgX: 16, wgY: 16, tk: 16 };
/** 32 × 32 tiles, 64 threads: small or skinny problems (more workgroups in flight). */
export const TILE_SMALL: GemmTile = { wgX: 8, wgY: 8, tk: 16 };

export type AMode = 'scalar' | 'k4' | 'm4';
export type BMode = 'scalar' | 'n4' | 'k4';
export type CMode = 'scalar' | 'n4';

export interface GemmProgramSpec {
  /** Unique key of the op-specific part (the core appends its own choices). */
  key: string;
  tile: GemmTile;
  aMode: AMode;
  /** Fastest index of scalar A loads (coalescing): 'k' for row-major A, 'm' for transposed. */
  aOrder?: 'k' | 'm';
  bMode: BMode;
  /** Fastest index of scalar B loads: 'n' for row-major B, 'k' for transposed. */
  bOrder?: 'n' | 'k';
  cMode: CMode;
  /** Storage bindings of the op (inputs then outputs). */
  bindings: readonly StorageBinding[];
  /** Op uniforms; the core adds M, N, K, batchBase. */
  uniforms: readonly UniformField[];
  /** WGSL defining mm_setup and the readers / writers of the chosen modes (and loaders / storers). */
  header: string;
  enable?: readonly string[];
}

/** Picks the tile for a problem: the small one when the large would leave too few workgroups. */
export function pickTile(M: number, N: number, batch: number): GemmTile {
  const large = Math.ceil(M / 64) * Math.ceil(N / 64) * batch;
  return large >= 64 || (M >= 64 && N >= 64) ? TILE_LARGE : TILE_SMALL;
}

export function gemmProgram(spec: GemmProgramSpec): ProgramDesc {
  const { wgX, wgY, tk } = spec.tile;
  const TM = 4 * wgY;
  const TN = 4 * wgX;
  const NT = wgX * wgY;
  if (NT % TN !== 0 || tk % 4 !== 0) throw new Error(`gemm: unsupported tile ${JSON.stringify(spec.tile)}`);
  const aOrder = spec.aOrder ?? 'k';
  const bOrder = spec.bOrder ?? 'n';
  const key = `${spec.key}|gemm:${wgX}x${wgY}k${tk}:A${spec.aMode}${aOrder}:B${spec.bMode}${bOrder}:C${spec.cMode}`;

  const loadA = {
    scalar:
      aOrder === 'k'
        ? `  for (var l = lidx; l < ${TM * tk}u; l += ${NT}u) {
    let mm = l / ${tk}u; let kk = l % ${tk}u;
    let m = m0 + mm; let k = k0 + kk;
    var v = 0.0;
    if (m < u.M && k < u.K) { v = mm_readA(m, k); }
    As[kk * ${TM / 4}u + mm / 4u][mm % 4u] = v;
  }`
        : `  for (var l = lidx; l < ${TM * tk}u; l += ${NT}u) {
    let mm = l % ${TM}u; let kk = l / ${TM}u;
    let m = m0 + mm; let k = k0 + kk;
    var v = 0.0;
    if (m < u.M && k < u.K) { v = mm_readA(m, k); }
    As[kk * ${TM / 4}u + mm / 4u][mm % 4u] = v;
  }`,
    k4: `  for (var l = lidx; l < ${(TM * tk) / 4}u; l += ${NT}u) {
    let mm = l / ${tk / 4}u; let kq = (l % ${tk / 4}u) * 4u;
    let m = m0 + mm; let k = k0 + kq;
    var v = vec4<f32>(0.0);
    if (m < u.M && k < u.K) { v = mm_readA4(m, k); }
    let base = kq * ${TM / 4}u + mm / 4u; let c = mm % 4u;
    As[base][c] = v.x; As[base + ${TM / 4}u][c] = v.y; As[base + ${TM / 2}u][c] = v.z; As[base + ${(3 * TM) / 4}u][c] = v.w;
  }`,
    m4: `  for (var l = lidx; l < ${(TM * tk) / 4}u; l += ${NT}u) {
    let mq = l % ${TM / 4}u; let kk = l / ${TM / 4}u;
    let m = m0 + mq * 4u; let k = k0 + kk;
    var v = vec4<f32>(0.0);
    if (m < u.M && k < u.K) { v = mm_readA4(m, k); }
    As[kk * ${TM / 4}u + mq] = v;
  }`,
  }[spec.aMode];

  const loadB = {
    scalar:
      bOrder === 'n'
        ? `  for (var l = lidx; l < ${TN * tk}u; l += ${NT}u) {
    let nn = l % ${TN}u; let kk = l / ${TN}u;
    let n = n0 + nn; let k = k0 + kk;
    var v = 0.0;
    if (n < u.N && k < u.K) { v = mm_readB(k, n); }
    Bs[kk * ${TN / 4}u + nn / 4u][nn % 4u] = v;
  }`
        : `  for (var l = lidx; l < ${TN * tk}u; l += ${NT}u) {
    let kk = l % ${tk}u; let nn = l / ${tk}u;
    let n = n0 + nn; let k = k0 + kk;
    var v = 0.0;
    if (n < u.N && k < u.K) { v = mm_readB(k, n); }
    Bs[kk * ${TN / 4}u + nn / 4u][nn % 4u] = v;
  }`,
    n4: `  for (var l = lidx; l < ${(TN * tk) / 4}u; l += ${NT}u) {
    let nq = l % ${TN / 4}u; let kk = l / ${TN / 4}u;
    let n = n0 + nq * 4u; let k = k0 + kk;
    var v = vec4<f32>(0.0);
    if (n < u.N && k < u.K) { v = mm_readB4(k, n); }
    Bs[kk * ${TN / 4}u + nq] = v;
  }`,
    k4: `  for (var l = lidx; l < ${(TN * tk) / 4}u; l += ${NT}u) {
    let kq = (l % ${tk / 4}u) * 4u; let nn = l / ${tk / 4}u;
    let n = n0 + nn; let k = k0 + kq;
    var v = vec4<f32>(0.0);
    if (n < u.N && k < u.K) { v = mm_readB4(k, n); }
    let base = kq * ${TN / 4}u + nn / 4u; let c = nn % 4u;
    Bs[base][c] = v.x; Bs[base + ${TN / 4}u][c] = v.y; Bs[base + ${TN / 2}u][c] = v.z; Bs[base + ${(3 * TN) / 4}u][c] = v.w;
  }`,
  }[spec.bMode];

  // the 4 × 4 register block is spelled out (acc0..acc3): no dynamically indexed private array
  const rows = [0, 1, 2, 3];
  const store =
    spec.cMode === 'n4'
      ? `  let n = n0 + tx * 4u;
  if (n < u.N) {
${rows.map((i) => `    if (m0 + ty * 4u + ${i}u < u.M) { mm_write4(m0 + ty * 4u + ${i}u, n, acc${i}); }`).join('\n')}
  }`
      : rows
          .map(
            (i) => `  if (m0 + ty * 4u + ${i}u < u.M) {
    let m = m0 + ty * 4u + ${i}u;
    let n = n0 + tx * 4u;
    if (n < u.N) { mm_write(m, n, acc${i}.x); }
    if (n + 1u < u.N) { mm_write(m, n + 1u, acc${i}.y); }
    if (n + 2u < u.N) { mm_write(m, n + 2u, acc${i}.z); }
    if (n + 3u < u.N) { mm_write(m, n + 3u, acc${i}.w); }
  }`,
          )
          .join('\n');

  const header = [
    `var<workgroup> As: array<vec4<f32>, ${(TM * tk) / 4}>;`,
    `var<workgroup> Bs: array<vec4<f32>, ${(TN * tk) / 4}>;`,
    spec.header,
  ].join('\n');

  const main = `  let tx = lid.x;
  let ty = lid.y;
  let lidx = ty * ${wgX}u + tx;
  let batch = wid.z + u.batchBase;
  let m0 = (wid.y + u.mTileBase) * ${TM}u;
  let n0 = wid.x * ${TN}u;
  mm_setup(batch, m0, n0, n0 + lidx % ${TN}u);
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  let nk = (u.K + ${tk - 1}u) / ${tk}u;
  for (var t = 0u; t < nk; t++) {
    let k0 = t * ${tk}u;
${loadA}
${loadB}
    workgroupBarrier();
    for (var kk = 0u; kk < ${tk}u; kk++) {
      let b4 = Bs[kk * ${TN / 4}u + tx];
      let a4 = As[kk * ${TM / 4}u + ty];
      acc0 = fma(vec4<f32>(a4.x), b4, acc0);
      acc1 = fma(vec4<f32>(a4.y), b4, acc1);
      acc2 = fma(vec4<f32>(a4.z), b4, acc2);
      acc3 = fma(vec4<f32>(a4.w), b4, acc3);
    }
    workgroupBarrier();
  }
${store}`;

  return {
    key,
    workgroupSize: [wgX, wgY, 1],
    bindings: spec.bindings,
    uniforms: [{ name: 'M', type: 'u32' }, { name: 'N', type: 'u32' }, { name: 'K', type: 'u32' }, { name: 'batchBase', type: 'u32' }, { name: 'mTileBase', type: 'u32' }, ...spec.uniforms],
    header,
    main,
    enable: spec.enable,
  };
}

/** The full key gemmProgram gives `spec` (for the program cache lookup). */
export function gemmKey(spec: Omit<GemmProgramSpec, 'header' | 'bindings' | 'uniforms' | 'enable'>): string {
  const { wgX, wgY, tk } = spec.tile;
  return `${spec.key}|gemm:${wgX}x${wgY}k${tk}:A${spec.aMode}${spec.aOrder ?? 'k'}:B${spec.bMode}${spec.bOrder ?? 'n'}:C${spec.cMode}`;
}

/**
 * Largest number of output elements (M·N per batch entry times batch entries, weighted by K)
 * one dispatch may cover. Dawn on SwiftShader has crashed on single long-running dispatches, so
 * big problems are split along M (and batch) into several dispatches; a real GPU never needs this
 * but the split costs nothing there (few, large dispatches).
 */
let MAX_DISPATCH_MACS = 2 ** 27;

/** @internal Sets the per-dispatch work cap (multiply-adds); returns the previous one. */
export function setGemmDispatchCap(macs: number): number {
  const prev = MAX_DISPATCH_MACS;
  MAX_DISPATCH_MACS = Math.max(1, macs);
  return prev;
}

export function gemmDispatchCap(): number {
  return MAX_DISPATCH_MACS;
}

/**
 * Records the dispatches of a compiled gemm program over M × N × batch outputs. Work is split
 * into chunks of batch entries, and of whole M tiles when one batch entry is over the cap, so each
 * dispatch stays under it (uniforms batchBase / mTileBase say where a chunk starts).
 */
export function dispatchGemm(
  backend: WebGpuBackend,
  program: ReturnType<WebGpuBackend['program']>,
  buffers: readonly GPUBuffer[],
  dims: { M: number; N: number; K: number; batch: number },
  tile: GemmTile,
  uniforms: UniformValues,
): void {
  const { M, N, K, batch } = dims;
  if (M === 0 || N === 0 || batch === 0) return;
  const TM = 4 * tile.wgY;
  const TN = 4 * tile.wgX;
  const max = backend.limits.maxComputeWorkgroupsPerDimension;
  const gx = Math.ceil(N / TN);
  const gy = Math.ceil(M / TM);
  if (gx > max) throw new RangeError(`webgpu gemm: N = ${N} needs ${gx} workgroups (limit ${max} per dimension)`);
  const perTileRow = gx * TN * TM * Math.max(K, 1);
  const perBatch = perTileRow * gy;
  if (perBatch <= MAX_DISPATCH_MACS && gy <= max) {
    const batchChunk = Math.max(1, Math.min(max, batch, Math.floor(MAX_DISPATCH_MACS / perBatch)));
    for (let b0 = 0; b0 < batch; b0 += batchChunk) {
      const nb = Math.min(batchChunk, batch - b0);
      backend.dispatch(program, buffers, { ...uniforms, M, N, K, batchBase: b0, mTileBase: 0 }, [gx, gy, nb]);
    }
    return;
  }
  const rowChunk = Math.max(1, Math.min(max, gy, Math.floor(MAX_DISPATCH_MACS / perTileRow)));
  for (let b0 = 0; b0 < batch; b0++) {
    for (let t0 = 0; t0 < gy; t0 += rowChunk) {
      backend.dispatch(program, buffers, { ...uniforms, M, N, K, batchBase: b0, mTileBase: t0 }, [gx, Math.min(rowChunk, gy - t0), 1]);
    }
  }
}
