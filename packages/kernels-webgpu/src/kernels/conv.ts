/**
 * webgpu kernels: conv (1d/2d/3d) and convTranspose. Every spatial rank is lifted to 3-d (unit
 * dummy dims), so one set of programs serves all three.
 *
 *  - depthwise (groups == C == O): a direct kernel. A workgroup owns a TD × TH × TW block of one
 *    channel's output; it stages the input block it needs (halo included, zero padded) and the
 *    channel's filter in workgroup memory. Each thread keeps TD (depth) × RW (width) outputs in
 *    registers: per kernel row kh it reads each staged input row segment once
 *    ((RW-1)·stride + (KW-1)·dilation + 1 values) and does every FMA that segment feeds — the tap
 *    loops are generated unrolled. UniFormer's 5×5×5 at stride 1 gets 4 × 8 × 32 tiles
 *    (64 threads, 16 outputs each, ~6 FMAs per workgroup-memory read); 3×3×3 on 14² gets
 *    4 × 16 × 16.
 *  - 1×1(×1), stride 1, unpadded: a plain strided GEMM (weights · x per batch and group).
 *  - everything else: implicit GEMM on the tiled GEMM core — M = out channels per group,
 *    N = output positions, K = in channels per group × kernel taps; the B tile loader decodes
 *    (channel, tap) from k and reads the input with padding/stride/dilation in place (no im2col
 *    buffer). Each thread's output position is decoded once per workgroup (mm_setup).
 *  - convTranspose: implicit GEMM split by output phase (o mod stride) where dilation is 1, so
 *    each dispatch only visits the taps that hit its phase (stride 2 / kernel 4 deconvs: 4 of 16
 *    taps per 2-d output instead of masking 12); dilated dims use one masked phase.
 * Bias is fused in every epilogue.
 */
import { type ConvAttrs, type ConvTransposeAttrs, type KernelContext, OpError, registerKernel, sizeOf } from '@tubelet/core';
import type { WebGpuBackend } from '../backend';
import type { ProgramDesc, StorageBinding, UniformField, UniformValues } from '../program';
import { type CMode, dispatchGemm, gemmKey, gemmProgram, pickTile } from './gemm-core';
import { type ElemKind, bufferOf, elemKind, enables, inBinding, loaders, outBinding, outputTarget, pow2ceil, storers } from './gemm-common';
import { stridedGemm } from './gemm-strided';

type Ctx<A> = KernelContext<A, WebGpuBackend>;

export interface Geo {
  N: number;
  C: number;
  O: number;
  G: number;
  inp: [number, number, number];
  k: [number, number, number];
  out: [number, number, number];
  stride: [number, number, number];
  dil: [number, number, number];
  /** begin pads */
  pad: [number, number, number];
}

function lift(v: readonly number[], fill: number): [number, number, number] {
  const r = v.slice();
  while (r.length < 3) r.unshift(fill);
  return r as [number, number, number];
}

function geometry(xs: readonly number[], ws: readonly number[], os: readonly number[], a: ConvAttrs): Geo {
  const d = xs.length - 2;
  return {
    N: xs[0]!,
    C: xs[1]!,
    O: os[1]!,
    G: a.groups,
    inp: lift(xs.slice(2), 1),
    k: lift(ws.slice(2), 1),
    out: lift(os.slice(2), 1),
    stride: lift(a.stride, 1),
    dil: lift(a.dilation, 1),
    pad: lift(a.pads.slice(0, d), 0),
  };
}

const prod3 = (v: readonly number[]) => v[0]! * v[1]! * v[2]!;

// ---------------------------------------------------------------------------------------------
// depthwise direct kernel

interface DwTile {
  /** outputs per workgroup along d, h, w */
  TD: number;
  TH: number;
  TW: number;
  /** outputs per thread along w (threads: TW/RW along w × TH along h; each does TD × RW) */
  RW: number;
  /** staged input block */
  ID: number;
  IH: number;
  IW: number;
}

/** Floats of workgroup memory the direct kernel may use (16 KiB is WebGPU's guaranteed minimum). */
function dwBudget(be: WebGpuBackend): number {
  return Math.floor(Math.min(be.limits.maxComputeWorkgroupStorageSize, 16384) / 4) - 16;
}

/**
 * Tile for the depthwise kernel, or null when even a 1×1×1 tile's input block is too large.
 * Threads: TX = TW/RW along w, TH along h (≤ 128); shrinks h first (to 4), then d, then w.
 */
export function depthwiseTile(g: Pick<Geo, 'k' | 'out' | 'stride' | 'dil'>, budget: number): DwTile | null {
  const [OD, OH, OW] = g.out;
  const span = (t: number, i: number) => (t - 1) * g.stride[i]! + (g.k[i]! - 1) * g.dil[i]! + 1;
  const RW = OW >= 16 ? 4 : OW >= 6 ? 2 : 1;
  let TX = Math.min(OH > 1 || OD > 1 ? 8 : 64, pow2ceil(Math.ceil(OW / RW)));
  let TH = Math.min(pow2ceil(OH), Math.max(1, Math.floor(128 / TX)));
  let TD = Math.min(4, OD);
  const kvol = prod3(g.k);
  const fits = () => span(TD, 0) * span(TH, 1) * span(TX * RW, 2) + kvol <= budget;
  while (!fits()) {
    if (TH > 4) TH >>= 1;
    else if (TD > 1) TD = Math.max(1, TD >> 1);
    else if (TH > 1) TH >>= 1;
    else if (TX > 1) TX >>= 1;
    else return null;
  }
  const TW = TX * RW;
  return { TD, TH, TW, RW, ID: span(TD, 0), IH: span(TH, 1), IW: span(TW, 2) };
}

function depthwiseProgram(key: string, g: Geo, t: DwTile, xk: ElemKind, wk: ElemKind, bk: ElemKind | null, yk: 'f32' | 'f16'): ProgramDesc {
  const [KD, KH, KW] = g.k;
  const [sd, sh, sw] = g.stride;
  const [dd, dh, dw] = g.dil;
  const { TD, TH, TW, RW, ID, IH, IW } = t;
  const TX = TW / RW;
  const NT = TH * TX;
  const TILE = ID * IH * IW;
  const KVOL = KD * KH * KW;
  /** input values along w one thread reads per input row */
  const XL = (RW - 1) * sw + (KW - 1) * dw + 1;
  const bindings: StorageBinding[] = [inBinding('X', xk), inBinding('Wt', wk)];
  const hdr = [loaders('X', xk), loaders('Wt', wk)];
  if (bk) {
    bindings.push(inBinding('Bias', bk));
    hdr.push(loaders('Bias', bk));
  }
  bindings.push(outBinding('Y', yk));
  hdr.push(storers('Y', yk));
  hdr.push(`var<workgroup> tileX: array<f32, ${TILE}>;`, `var<workgroup> wS: array<f32, ${KVOL}>;`);

  // generated unrolled over input depth rows a, taps kd / kw and the thread's TD × RW outputs:
  // per kh, each input row segment (XL values) is read once from workgroup memory
  const body: string[] = [];
  for (let kd = 0; kd < KD; kd++) for (let kw = 0; kw < KW; kw++) body.push(`    let w${kd}_${kw} = wS[${kd * KH * KW + kw}u + kh * ${KW}u];`);
  for (let a = 0; a < ID; a++) {
    const uses: string[] = [];
    for (let td = 0; td < TD; td++) {
      for (let kd = 0; kd < KD; kd++) {
        if (td * sd + kd * dd !== a) continue;
        for (let rw = 0; rw < RW; rw++) {
          const terms: string[] = [];
          for (let kw = 0; kw < KW; kw++) terms.push(`w${kd}_${kw} * x${rw * sw + kw * dw}`);
          uses.push(`      a${td}_${rw} += ${terms.join(' + ')};`);
        }
      }
    }
    if (!uses.length) continue;
    body.push('    {');
    for (let j = 0; j < XL; j++) body.push(`      let x${j} = tileX[rowBase + ${a * IH * IW + j}u];`);
    body.push(...uses, '    }');
  }
  const accDecl: string[] = [];
  const stores: string[] = [];
  for (let td = 0; td < TD; td++) {
    for (let rw = 0; rw < RW; rw++) {
      accDecl.push(`  var a${td}_${rw} = 0.0;`);
      stores.push(`  if (oh < u.OH && od0 + ${td}u < u.OD && ow + ${rw}u < u.OW) { st_Y(yBase + (od0 + ${td}u) * u.OH * u.OW + oh * u.OW + ow + ${rw}u, a${td}_${rw} + bv); }`);
    }
  }

  const main = `  let tx = lid.x;
  let ty = lid.y;
  let lidx = ty * ${TX}u + tx;
  let plane = wid.z + u.planeBase;
  let c = plane % u.C;
  let tw = wid.x % u.tilesW;
  let th = wid.x / u.tilesW;
  let od0 = wid.y * ${TD}u;
  let oh0 = th * ${TH}u;
  let ow0 = tw * ${TW}u;
  let id0 = i32(od0 * ${sd}u) - u.pd;
  let ih0 = i32(oh0 * ${sh}u) - u.ph;
  let iw0 = i32(ow0 * ${sw}u) - u.pw;
  let xBase = plane * u.D * u.H * u.W;
  for (var l = lidx; l < ${TILE}u; l += ${NT}u) {
    let a = l / ${IH * IW}u;
    let r = l % ${IH * IW}u;
    let id = id0 + i32(a);
    let ih = ih0 + i32(r / ${IW}u);
    let iw = iw0 + i32(r % ${IW}u);
    var v = 0.0;
    if (id >= 0 && ih >= 0 && iw >= 0 && id < i32(u.D) && ih < i32(u.H) && iw < i32(u.W)) {
      v = ld_X(xBase + (u32(id) * u.H + u32(ih)) * u.W + u32(iw));
    }
    tileX[l] = v;
  }
  for (var l = lidx; l < ${KVOL}u; l += ${NT}u) { wS[l] = ld_Wt(c * ${KVOL}u + l); }
  workgroupBarrier();
${accDecl.join('\n')}
  for (var kh = 0u; kh < ${KH}u; kh++) {
    let rowBase = (ty * ${sh}u + kh * ${dh}u) * ${IW}u + tx * ${RW * sw}u;
${body.join('\n')}
  }
  let oh = oh0 + ty;
  let ow = ow0 + tx * ${RW}u;
  let bv = ${bk ? 'ld_Bias(c)' : '0.0'};
  let yBase = plane * u.OD * u.OH * u.OW;
${stores.join('\n')}`;
  const uniforms: UniformField[] = ['D', 'H', 'W', 'OD', 'OH', 'OW', 'C', 'tilesW', 'planeBase'].map((name) => ({ name, type: 'u32' as const }));
  uniforms.push({ name: 'pd', type: 'i32' }, { name: 'ph', type: 'i32' }, { name: 'pw', type: 'i32' });
  return { key, workgroupSize: [TX, TH, 1], bindings, uniforms, header: hdr.join('\n'), main, enable: enables(xk, wk, bk ?? 'f32', yk) };
}

function depthwise(be: WebGpuBackend, g: Geo, t: DwTile, x: GPUBuffer, xk: ElemKind, w: GPUBuffer, wk: ElemKind, b: { buffer: GPUBuffer; kind: ElemKind } | null, y: GPUBuffer, yk: 'f32' | 'f16'): void {
  const key = `conv/dw/k${g.k.join('x')}/s${g.stride.join('x')}/d${g.dil.join('x')}/t${t.TD}x${t.TH}x${t.TW}r${t.RW}/${xk}${wk}${b ? b.kind : '-'}${yk}`;
  const p = be.program(key, () => depthwiseProgram(key, g, t, xk, wk, b?.kind ?? null, yk));
  const [OD, OH, OW] = g.out;
  const tilesW = Math.ceil(OW / t.TW);
  const tilesH = Math.ceil(OH / t.TH);
  const tilesD = Math.ceil(OD / t.TD);
  const max = be.limits.maxComputeWorkgroupsPerDimension;
  if (tilesW * tilesH > max || tilesD > max) throw new OpError('conv', `output ${g.out.join('×')} is too large for one webgpu dispatch`);
  const planes = g.N * g.C;
  // keep each dispatch modest (SwiftShader has crashed on very long single dispatches)
  const perPlane = OD * OH * OW * prod3(g.k);
  const chunk = Math.max(1, Math.min(max, planes, Math.floor(2 ** 27 / Math.max(1, perPlane))));
  const bufs = b ? [x, w, b.buffer, y] : [x, w, y];
  for (let p0 = 0; p0 < planes; p0 += chunk) {
    const u: UniformValues = {
      D: g.inp[0],
      H: g.inp[1],
      W: g.inp[2],
      OD,
      OH,
      OW,
      C: g.C,
      tilesW,
      planeBase: p0,
      pd: g.pad[0],
      ph: g.pad[1],
      pw: g.pad[2],
    };
    be.dispatch(p, bufs, u, [tilesW * tilesH, tilesD, Math.min(chunk, planes - p0)]);
  }
}

// ---------------------------------------------------------------------------------------------
// implicit GEMM

function implicitConv(be: WebGpuBackend, g: Geo, x: GPUBuffer, xk: ElemKind, w: GPUBuffer, wk: ElemKind, b: { buffer: GPUBuffer; kind: ElemKind } | null, y: GPUBuffer, yk: 'f32' | 'f16'): void {
  const Cg = g.C / g.G;
  const Og = g.O / g.G;
  const [KD, KH, KW] = g.k;
  const kvol = KD * KH * KW;
  const K = Cg * kvol;
  const P = prod3(g.out);
  const batch = g.N * g.G;
  const tile = pickTile(Og, P, batch);
  const aVec = K % 4 === 0;
  const cMode: CMode = P % 4 === 0 ? 'n4' : 'scalar';
  const opKey = `conv/igemm/k${KD}x${KH}x${KW}/${xk}${wk}${b ? b.kind : '-'}${yk}`;
  const key = gemmKey({ key: opKey, tile, aMode: aVec ? 'k4' : 'scalar', aOrder: 'k', bMode: 'scalar', bOrder: 'n', cMode });
  const program = be.program(key, () => {
    const bindings: StorageBinding[] = [inBinding('X', xk), inBinding('Wt', wk, aVec)];
    const hdr = [loaders('X', xk), loaders('Wt', wk, aVec)];
    if (b) {
      bindings.push(inBinding('Bias', b.kind));
      hdr.push(loaders('Bias', b.kind));
    }
    bindings.push(outBinding('Y', yk, cMode === 'n4'));
    hdr.push(storers('Y', yk, cMode === 'n4'));
    const u32s = ['G', 'Cg', 'Og', 'Cin', 'O', 'S', 'P', 'D', 'H', 'W', 'OH', 'OW', 'sd', 'sh', 'sw', 'dd', 'dh', 'dw'];
    const uniforms: UniformField[] = u32s.map((name) => ({ name, type: 'u32' as const }));
    uniforms.push({ name: 'pd', type: 'i32' }, { name: 'ph', type: 'i32' }, { name: 'pw', type: 'i32' });
    hdr.push(`const KVOL: u32 = ${kvol}u;
const KHW: u32 = ${KH * KW}u;
const KW: u32 = ${KW}u;
var<private> offX: u32;
var<private> offW: u32;
var<private> offY: u32;
var<private> offBias: u32;
var<private> bd: i32;
var<private> bh: i32;
var<private> bw: i32;
fn mm_setup(batch: u32, m0: u32, n0: u32, bCol: u32) {
  let n = batch / u.G;
  let g = batch % u.G;
  offX = (n * u.Cin + g * u.Cg) * u.S;
  offW = g * u.Og * u.K;
  offY = (n * u.O + g * u.Og) * u.P;
  offBias = g * u.Og;
  // the output position this thread loads B for, decoded once
  let p = min(bCol, u.P - 1u);
  let ow = p % u.OW;
  let q = p / u.OW;
  let oh = q % u.OH;
  let od = q / u.OH;
  bd = i32(od * u.sd) - u.pd;
  bh = i32(oh * u.sh) - u.ph;
  bw = i32(ow * u.sw) - u.pw;
}
fn mm_readA(m: u32, k: u32) -> f32 { return ld_Wt(offW + m * u.K + k); }
fn mm_readB(k: u32, n: u32) -> f32 {
  let c = k / KVOL;
  let r = k - c * KVOL;
  let kd = r / KHW;
  let r2 = r - kd * KHW;
  let kh = r2 / KW;
  let kw = r2 - kh * KW;
  let id = bd + i32(kd * u.dd);
  let ih = bh + i32(kh * u.dh);
  let iw = bw + i32(kw * u.dw);
  if (id < 0 || ih < 0 || iw < 0 || id >= i32(u.D) || ih >= i32(u.H) || iw >= i32(u.W)) { return 0.0; }
  return ld_X(offX + c * u.S + (u32(id) * u.H + u32(ih)) * u.W + u32(iw));
}
fn bias(m: u32) -> f32 { return ${b ? 'ld_Bias(offBias + m)' : '0.0'}; }
fn mm_write(m: u32, n: u32, v: f32) { st_Y(offY + m * u.P + n, v + bias(m)); }`);
    if (aVec) hdr.push('fn mm_readA4(m: u32, k: u32) -> vec4<f32> { return ld4_Wt(offW + m * u.K + k); }');
    if (cMode === 'n4') hdr.push('fn mm_write4(m: u32, n: u32, v: vec4<f32>) { st4_Y(offY + m * u.P + n, v + vec4<f32>(bias(m))); }');
    return gemmProgram({
      key: opKey,
      tile,
      aMode: aVec ? 'k4' : 'scalar',
      aOrder: 'k',
      bMode: 'scalar',
      bOrder: 'n',
      cMode,
      bindings,
      uniforms,
      header: hdr.join('\n'),
      enable: enables(xk, wk, b?.kind ?? 'f32', yk),
    });
  });
  const bufs = b ? [x, w, b.buffer, y] : [x, w, y];
  const u: UniformValues = {
    ...geoUniforms(g, Cg, Og, P),
    pd: g.pad[0],
    ph: g.pad[1],
    pw: g.pad[2],
  };
  dispatchGemm(be, program, bufs, { M: Og, N: P, K, batch }, tile, u);
}

/** The geometry uniforms the conv and conv-transpose gemm programs share (built once per dispatch). */
function geoUniforms(g: Geo, Cg: number, Og: number, P: number): UniformValues {
  return {
    G: g.G,
    Cg,
    Og,
    Cin: g.C,
    O: g.O,
    S: prod3(g.inp),
    P,
    D: g.inp[0],
    H: g.inp[1],
    W: g.inp[2],
    OH: g.out[1],
    OW: g.out[2],
    sd: g.stride[0],
    sh: g.stride[1],
    sw: g.stride[2],
    dd: g.dil[0],
    dh: g.dil[1],
    dw: g.dil[2],
  };
}

function pointwiseConv(be: WebGpuBackend, g: Geo, x: GPUBuffer, xk: ElemKind, w: GPUBuffer, wk: ElemKind, b: { buffer: GPUBuffer; kind: ElemKind } | null, y: GPUBuffer, yk: 'f32' | 'f16'): void {
  const Cg = g.C / g.G;
  const Og = g.O / g.G;
  const S = prod3(g.inp);
  // out[n, g] [Og, S] = w_g [Og, Cg] · x[n, g] [Cg, S]
  stridedGemm(be, {
    M: Og,
    N: S,
    K: Cg,
    batchShape: [g.N, g.G],
    a: { buffer: w, kind: wk, rs: Cg, cs: 1, batchStrides: [0, Og * Cg] },
    b: { buffer: x, kind: xk, rs: S, cs: 1, batchStrides: [g.C * S, Cg * S] },
    c: { buffer: y, kind: yk, ldc: S, batchStrides: [g.O * S, Og * S] },
    bias: b ? { buffer: b.buffer, kind: b.kind, axis: 'm', batchStrides: [0, Og] } : null,
  });
}

/** @internal Which conv path runs for a geometry (tests). */
export type ConvPath = 'depthwise' | 'pointwise' | 'igemm';

let forcedPath: ConvPath | null = null;
/** @internal Forces a conv path where it is applicable (null: automatic); returns the previous one. */
export function setConvPath(p: ConvPath | null): ConvPath | null {
  const prev = forcedPath;
  forcedPath = p;
  return prev;
}

export function convPath(be: WebGpuBackend, g: Geo): { path: ConvPath; tile?: DwTile } {
  const depthwiseOk = g.G === g.C && g.O === g.C;
  const tile = depthwiseOk ? depthwiseTile(g, dwBudget(be)) : null;
  const pointOk = prod3(g.k) === 1 && g.stride.every((s) => s === 1) && g.pad.every((p) => p === 0) && prod3(g.out) === prod3(g.inp);
  if (forcedPath === 'igemm') return { path: 'igemm' };
  if (forcedPath === 'pointwise' && pointOk) return { path: 'pointwise' };
  if (tile) return { path: 'depthwise', tile };
  if (pointOk) return { path: 'pointwise' };
  return { path: 'igemm' };
}

function convKernel(ctx: Ctx<ConvAttrs>): unknown[] {
  const be = ctx.backend;
  const [x, w, bias] = [ctx.inputs[0]!, ctx.inputs[1]!, ctx.inputs[2]];
  const os = ctx.outputs[0]!.shape;
  const size = sizeOf(os);
  const out = outputTarget(be, ctx.outputs[0]!.dtype, size, 'conv');
  if (size > 0) {
    const g = geometry(x.shape, w.shape, os, ctx.attrs);
    const xk = elemKind(be, x.dtype, 'conv');
    const wk = elemKind(be, w.dtype, 'conv');
    const b = bias ? { buffer: bufferOf(bias.handle), kind: elemKind(be, bias.dtype, 'conv') } : null;
    const xb = bufferOf(x.handle);
    const wb = bufferOf(w.handle);
    const { path, tile } = convPath(be, g);
    if (path === 'depthwise') depthwise(be, g, tile!, xb, xk, wb, wk, b, out.buffer, out.kind);
    else if (path === 'pointwise') pointwiseConv(be, g, xb, xk, wb, wk, b, out.buffer, out.kind);
    else implicitConv(be, g, xb, xk, wb, wk, b, out.buffer, out.kind);
  }
  return [out.finish()];
}

// ---------------------------------------------------------------------------------------------
// transposed convolution

interface Phase {
  /** first output index and step of the outputs in this phase; J of them */
  o0: number;
  os: number;
  J: number;
  /** first kernel tap and step of the taps that can hit this phase; T of them */
  k0: number;
  ks: number;
  T: number;
}

/**
 * Output phases of one dim: out o receives x[i]·w[t] where i·s - pad + t·dil = o. With dil 1,
 * o ≡ r (mod s) is hit only by taps t ≡ (r + pad) (mod s). Dilated (or stride-1) dims keep one
 * phase over all taps; the kernel's divisibility test masks the misses there.
 */
function phases(s: number, dil: number, K: number, pad: number, OL: number): Phase[] {
  if (s === 1 || dil !== 1) return [{ o0: 0, os: 1, J: OL, k0: 0, ks: 1, T: K }];
  const out: Phase[] = [];
  for (let r = 0; r < s && r < OL; r++) {
    const k0 = (r + pad) % s;
    out.push({ o0: r, os: s, J: Math.ceil((OL - r) / s), k0, ks: s, T: k0 < K ? Math.ceil((K - k0) / s) : 0 });
  }
  return out;
}

function convTransposeProgram(key: string, opKey: string, tile: ReturnType<typeof pickTile>, xk: ElemKind, wk: ElemKind, bk: ElemKind | null, yk: 'f32' | 'f16'): ProgramDesc {
  const bindings: StorageBinding[] = [inBinding('X', xk), inBinding('Wt', wk)];
  const hdr = [loaders('X', xk), loaders('Wt', wk)];
  if (bk) {
    bindings.push(inBinding('Bias', bk));
    hdr.push(loaders('Bias', bk));
  }
  bindings.push(outBinding('Y', yk));
  hdr.push(storers('Y', yk));
  const u32s = ['G', 'Cg', 'Og', 'Cin', 'O', 'S', 'P', 'D', 'H', 'W', 'OH', 'OW', 'KH', 'KW', 'kvol', 'sd', 'sh', 'sw', 'dd', 'dh', 'dw'];
  const phase = ['o0d', 'o0h', 'o0w', 'osd', 'osh', 'osw', 'Jh', 'Jw', 'k0d', 'k0h', 'k0w', 'ksd', 'ksh', 'ksw', 'Th', 'Tw', 'TT'];
  const uniforms: UniformField[] = [...u32s, ...phase].map((name) => ({ name, type: 'u32' as const }));
  uniforms.push({ name: 'pd', type: 'i32' }, { name: 'ph', type: 'i32' }, { name: 'pw', type: 'i32' });
  hdr.push(`var<private> offX: u32;
var<private> offW: u32;
var<private> offY: u32;
var<private> offBias: u32;
var<private> nd: i32;
var<private> nh: i32;
var<private> nw: i32;
fn out_pos(n: u32) -> u32 {
  let jw = n % u.Jw;
  let q = n / u.Jw;
  let jh = q % u.Jh;
  let jd = q / u.Jh;
  return ((u.o0d + jd * u.osd) * u.OH + u.o0h + jh * u.osh) * u.OW + u.o0w + jw * u.osw;
}
fn tap(k: u32) -> vec4<u32> {
  // (channel, kd, kh, kw) of k = c · TT + phase tap
  let c = k / u.TT;
  let t = k - c * u.TT;
  let tw = t % u.Tw;
  let q = t / u.Tw;
  let th = q % u.Th;
  let td = q / u.Th;
  return vec4<u32>(c, u.k0d + td * u.ksd, u.k0h + th * u.ksh, u.k0w + tw * u.ksw);
}
fn mm_setup(batch: u32, m0: u32, n0: u32, bCol: u32) {
  let n = batch / u.G;
  let g = batch % u.G;
  offX = (n * u.Cin + g * u.Cg) * u.S;
  offW = g * u.Cg * u.Og * u.kvol;
  offY = (n * u.O + g * u.Og) * u.P;
  offBias = g * u.Og;
  let p = min(bCol, u.N - 1u);
  let jw = p % u.Jw;
  let q = p / u.Jw;
  let jh = q % u.Jh;
  let jd = q / u.Jh;
  nd = i32(u.o0d + jd * u.osd) + u.pd;
  nh = i32(u.o0h + jh * u.osh) + u.ph;
  nw = i32(u.o0w + jw * u.osw) + u.pw;
}
fn mm_readA(m: u32, k: u32) -> f32 {
  let t = tap(k);
  return ld_Wt(offW + (t.x * u.Og + m) * u.kvol + (t.y * u.KH + t.z) * u.KW + t.w);
}
fn in_index(num: i32, s: u32, len: u32) -> i32 {
  if (num < 0) { return -1; }
  let un = u32(num);
  let i = un / s;
  if (i * s != un || i >= len) { return -1; }
  return i32(i);
}
fn mm_readB(k: u32, n: u32) -> f32 {
  let t = tap(k);
  let id = in_index(nd - i32(t.y * u.dd), u.sd, u.D);
  let ih = in_index(nh - i32(t.z * u.dh), u.sh, u.H);
  let iw = in_index(nw - i32(t.w * u.dw), u.sw, u.W);
  if (id < 0 || ih < 0 || iw < 0) { return 0.0; }
  return ld_X(offX + t.x * u.S + (u32(id) * u.H + u32(ih)) * u.W + u32(iw));
}
fn mm_write(m: u32, n: u32, v: f32) { st_Y(offY + m * u.P + out_pos(n), v + ${bk ? 'ld_Bias(offBias + m)' : '0.0'}); }`);
  const desc = gemmProgram({ key: opKey, tile, aMode: 'scalar', aOrder: 'k', bMode: 'scalar', bOrder: 'n', cMode: 'scalar', bindings, uniforms, header: hdr.join('\n'), enable: enables(xk, wk, bk ?? 'f32', yk) });
  if (desc.key !== key) throw new Error(`convTranspose: key mismatch ${desc.key} vs ${key}`);
  return desc;
}

function convTransposeKernel(ctx: Ctx<ConvTransposeAttrs>): unknown[] {
  const be = ctx.backend;
  const [x, w, bias] = [ctx.inputs[0]!, ctx.inputs[1]!, ctx.inputs[2]];
  const os = ctx.outputs[0]!.shape;
  const size = sizeOf(os);
  const out = outputTarget(be, ctx.outputs[0]!.dtype, size, 'convTranspose');
  if (size > 0) {
    const g = geometry(x.shape, w.shape, os, ctx.attrs);
    const xk = elemKind(be, x.dtype, 'convTranspose');
    const wk = elemKind(be, w.dtype, 'convTranspose');
    const bk = bias ? elemKind(be, bias.dtype, 'convTranspose') : null;
    const Cg = g.C / g.G;
    const Og = g.O / g.G;
    const batch = g.N * g.G;
    const [KD, KH, KW] = g.k;
    const pd = phases(g.stride[0], g.dil[0], KD, g.pad[0], g.out[0]);
    const ph = phases(g.stride[1], g.dil[1], KH, g.pad[1], g.out[1]);
    const pw = phases(g.stride[2], g.dil[2], KW, g.pad[2], g.out[2]);
    const bufs = [bufferOf(x.handle), bufferOf(w.handle)];
    if (bias) bufs.push(bufferOf(bias.handle));
    bufs.push(out.buffer);
    for (const a of pd) {
      for (const b of ph) {
        for (const c of pw) {
          const N = a.J * b.J * c.J;
          const TT = a.T * b.T * c.T;
          const tile = pickTile(Og, N, batch);
          const opKey = `convT/${xk}${wk}${bk ?? '-'}${out.kind}`;
          const key = gemmKey({ key: opKey, tile, aMode: 'scalar', aOrder: 'k', bMode: 'scalar', bOrder: 'n', cMode: 'scalar' });
          const program = be.program(key, () => convTransposeProgram(key, opKey, tile, xk, wk, bk, out.kind));
          const u: UniformValues = {
            ...geoUniforms(g, Cg, Og, prod3(g.out)),
            KH,
            KW,
            kvol: KD * KH * KW,
            o0d: a.o0,
            o0h: b.o0,
            o0w: c.o0,
            osd: a.os,
            osh: b.os,
            osw: c.os,
            Jh: b.J,
            Jw: c.J,
            k0d: a.k0,
            k0h: b.k0,
            k0w: c.k0,
            ksd: a.ks,
            ksh: b.ks,
            ksw: c.ks,
            Th: Math.max(b.T, 1),
            Tw: Math.max(c.T, 1),
            TT: Math.max(TT, 1),
            pd: g.pad[0],
            ph: g.pad[1],
            pw: g.pad[2],
          };
          dispatchGemm(be, program, bufs, { M: Og, N, K: Cg * TT, batch }, tile, u);
        }
      }
    }
  }
  return [out.finish()];
}

let registered = false;
/** Registers the webgpu conv / convTranspose kernels (idempotent). */
export function registerConvKernels(): void {
  if (registered) return;
  registered = true;
  registerKernel('conv', 'webgpu', convKernel);
  registerKernel('convTranspose', 'webgpu', convTransposeKernel);
}
