/**
 * webgpu kernel of `warpAffine` (cv2.warpAffine INTER_LINEAR, BORDER_CONSTANT on HWC images), the
 * mirror of the cpu reference (packages/core/src/cpu/kernels/warp.ts):
 *
 * - mode 'opencv': the separable part of OpenCV's fixed-point map is computed on the host in double
 *   exactly as the cpu (and WarpAffineInvoker) does — adelta[x] = rint(A11·x·1024),
 *   bdelta[x] = rint(A21·x·1024), X0[y] = rint((A12·y + b1)·1024) + 16, Y0[y] likewise (cvRound,
 *   half to even, out of range → INT_MIN) — and uploaded as an i32 table (2·outW + 2·outH per
 *   matrix). The shader does the rest in integers: X = (X0 + adelta) >> 5 (wrapping add, arithmetic
 *   shift), source pixel (X >> 5) saturated to int16, fraction X & 31. uint8: weights
 *   (32−fx)(32−fy)·32 …, out = (Σ w·v + 16384) >> 15 (bit-exact); uint8 outputs are written a word
 *   (4 elements) per thread. float32 / float16: OpenCV's float32 weight table (exact) summed in its
 *   order, every product and sum rounded once (`opq`: no FMA contraction or reassociation).
 * - mode 'exact' (float images): the continuous map A·(x, y, 1) is evaluated on the host in double
 *   per column (A11·x, A21·x) and per row (A12·y + b1, A22·y + b2), each split into a float32
 *   (hi, lo) pair; the shader adds them as double-float, so floor() and the fraction are those of
 *   the double coordinate (to ~2^-48 relative); the bilinear weights and sum are float32 (the cpu
 *   rounds a float64 sum once: results agree to a few float32 ulps).
 */
import { type DType, type KernelContext, OpError, type WarpAffineAttrs, registerKernel, sizeOf } from '@tubelet/core';
import { type WebGpuBackend, asHandle } from '../backend';
import { type ProgramDesc, linearWorkgroups } from '../program';
import { WG, WGSL_EXACT, WGSL_F16, floatBinding, floatBytes, floatOutputMain, floatThreads, loader } from './resample';

/** cvRound(double) on x86 (round half to even); out of int32 range → INT_MIN, as the cpu kernel. */
function cvRound(v: number): number {
  let r = Math.round(v);
  if (r - v === 0.5 && r % 2 !== 0) r -= 1;
  if (!(r >= -2147483648 && r <= 2147483647)) return -2147483648;
  return r;
}

/** cv::warpAffine's inversion of the forward matrix (double, OpenCV's operation order; as the cpu kernel). */
function invertAffineLikeOpenCV(m: readonly number[]): number[] {
  let D = m[0]! * m[4]! - m[1]! * m[3]!;
  D = D !== 0 ? 1 / D : 0;
  const A11 = m[4]! * D;
  const A22 = m[0]! * D;
  const A12 = m[1]! * -D;
  const A21 = m[3]! * -D;
  const b1 = -A11 * m[2]! - A12 * m[5]!;
  const b2 = -A21 * m[2]! - A22 * m[5]!;
  return [A11, A12, b1, A21, A22, b2];
}

/** Per matrix: adelta[outW], bdelta[outW], X0[outH], Y0[outH] (OpenCV's fixed-point map, int32). */
function fixedPointTable(invs: readonly number[][], outW: number, outH: number): Int32Array {
  const S = 2 * outW + 2 * outH;
  const t = new Int32Array(invs.length * S);
  invs.forEach(([A11, A12, b1, A21, A22, b2], k) => {
    const o = k * S;
    for (let x = 0; x < outW; x++) {
      t[o + x] = cvRound(A11! * x * 1024);
      t[o + outW + x] = cvRound(A21! * x * 1024);
    }
    for (let y = 0; y < outH; y++) {
      t[o + 2 * outW + y] = (cvRound((A12! * y + b1!) * 1024) + 16) | 0;
      t[o + 2 * outW + outH + y] = (cvRound((A22! * y + b2!) * 1024) + 16) | 0;
    }
  });
  return t;
}

/**
 * Per matrix, float32 bits of (hi, lo) splits of the double map terms: A11·x, A21·x (outW each,
 * hi then lo), A12·y + b1, A22·y + b2 (outH each, hi then lo).
 */
function exactTable(invs: readonly number[][], outW: number, outH: number): Int32Array {
  const S = 4 * outW + 4 * outH;
  const f = new Float32Array(invs.length * S);
  const split = (o: number, n: number, v: number) => {
    const hi = Math.fround(v);
    f[o] = hi;
    f[o + n] = Number.isFinite(hi) ? Math.fround(v - hi) : 0;
  };
  invs.forEach(([A11, A12, b1, A21, A22, b2], k) => {
    const o = k * S;
    for (let x = 0; x < outW; x++) {
      split(o + x, outW, A11! * x);
      split(o + 2 * outW + x, outW, A21! * x);
    }
    for (let y = 0; y < outH; y++) {
      split(o + 4 * outW + y, outH, A12! * y + b1!);
      split(o + 4 * outW + 2 * outH + y, outH, A22! * y + b2!);
    }
  });
  return new Int32Array(f.buffer);
}

const COMMON_UNIFORMS = [
  { name: 'size', type: 'u32' },
  { name: 'zero', type: 'u32' },
  { name: 'H', type: 'u32' },
  { name: 'W', type: 'u32' },
  { name: 'C', type: 'u32' },
  { name: 'ow', type: 'u32' },
  { name: 'oh', type: 'u32' },
  { name: 'S', type: 'u32' },
] as const;

/** WGSL: output element e → (k, y, x, c) and the fixed-point source position. */
const WGSL_FIXED_MAP = /* wgsl */ `
struct Pos { k: u32, c: u32, x0: i32, y0: i32, fx: u32, fy: u32 };
fn wadd(a: i32, b: i32) -> i32 { return bitcast<i32>(bitcast<u32>(a) + bitcast<u32>(b)); }
fn fixed_pos(e: u32) -> Pos {
  let c = e % u.C;
  let p = e / u.C;
  let x = p % u.ow;
  let r = p / u.ow;
  let y = r % u.oh;
  let k = r / u.oh;
  let base = k * u.S;
  let X = wadd(T[base + 2u * u.ow + y], T[base + x]) >> 5u;
  let Y = wadd(T[base + 2u * u.ow + u.oh + y], T[base + u.ow + x]) >> 5u;
  return Pos(k, c, clamp(X >> 5u, -32768, 32767), clamp(Y >> 5u, -32768, 32767), u32(X & 31), u32(Y & 31));
}
fn outside(q: Pos) -> bool {
  let W = i32(u.W);
  let H = i32(u.H);
  return q.x0 >= W || q.x0 + 1 < 0 || q.y0 >= H || q.y0 + 1 < 0;
}
`;

export function warpU8Program(): ProgramDesc {
  return {
    key: 'warpAffine/u8',
    workgroupSize: WG,
    bindings: [
      { name: 'X', type: 'u32', access: 'read' },
      { name: 'T', type: 'i32', access: 'read' },
      { name: 'Y', type: 'u32', access: 'read_write' },
    ],
    uniforms: [...COMMON_UNIFORMS, { name: 'border', type: 'u32' }],
    header: [
      WGSL_FIXED_MAP,
      /* wgsl */ `
fn px(xx: i32, yy: i32, c: u32) -> u32 {
  if (xx < 0 || xx >= i32(u.W) || yy < 0 || yy >= i32(u.H)) { return u.border; }
  let i = (u32(yy) * u.W + u32(xx)) * u.C + c;
  return (X[i >> 2u] >> ((i & 3u) << 3u)) & 0xffu;
}
fn value(e: u32) -> u32 {
  let q = fixed_pos(e);
  if (outside(q)) { return u.border; }
  let w0 = (32u - q.fx) * (32u - q.fy) * 32u;
  let w1 = q.fx * (32u - q.fy) * 32u;
  let w2 = (32u - q.fx) * q.fy * 32u;
  let w3 = q.fx * q.fy * 32u;
  let s = (px(q.x0, q.y0, q.c) * w0 + px(q.x0 + 1, q.y0, q.c) * w1 + px(q.x0, q.y0 + 1, q.c) * w2 + px(q.x0 + 1, q.y0 + 1, q.c) * w3 + 16384u) >> 15u;
  return min(s, 255u);
}`,
    ].join('\n'),
    main: [
      '  let e0 = idx * 4u;',
      '  if (e0 >= u.size) { return; }',
      '  var w = 0u;',
      '  for (var j = 0u; j < 4u; j++) {',
      '    if (e0 + j < u.size) { w = w | (value(e0 + j) << (j * 8u)); }',
      '  }',
      '  Y[idx] = w;',
    ].join('\n'),
  };
}

export function warpFloatProgram(mode: 'opencv' | 'exact', dtype: DType): ProgramDesc {
  const body =
    mode === 'opencv'
      ? /* wgsl */ `
${WGSL_FIXED_MAP}
fn value(e: u32) -> f32 {
  let q = fixed_pos(e);
  if (outside(q)) { return u.border; }
  // OpenCV's float table: products of multiples of 1/32, exact in float32
  let w0 = f32((32u - q.fx) * (32u - q.fy)) * 0.0009765625;
  let w1 = f32(q.fx * (32u - q.fy)) * 0.0009765625;
  let w2 = f32((32u - q.fx) * q.fy) * 0.0009765625;
  let w3 = f32(q.fx * q.fy) * 0.0009765625;
  let v0 = px(q.x0, q.y0, q.c);
  let v1 = px(q.x0 + 1, q.y0, q.c);
  let v2 = px(q.x0, q.y0 + 1, q.c);
  let v3 = px(q.x0 + 1, q.y0 + 1, q.c);
  return opq(opq(opq(opq(v0 * w0) + opq(v1 * w1)) + opq(v2 * w2)) + opq(v3 * w3));
}`
      : /* wgsl */ `
struct Coord { fl: f32, fr: f32 };
// floor and fraction of the double-float sum (ahi + alo) + (bhi + blo)
fn coord(ahi: f32, alo: f32, bhi: f32, blo: f32) -> Coord {
  let s = two_sum(ahi, bhi);
  let t = two_sum(s.x, opq(opq(alo + blo) + s.y));
  var fl = floor(t.x);
  if (t.x == fl && t.y < 0.0) { fl = fl - 1.0; }
  return Coord(fl, opq(opq(t.x - fl) + t.y));
}
fn tf(i: u32) -> f32 { return bitcast<f32>(T[i]); }
fn value(e: u32) -> f32 {
  let c = e % u.C;
  let p = e / u.C;
  let x = p % u.ow;
  let r = p / u.ow;
  let y = r % u.oh;
  let k = r / u.oh;
  let base = k * u.S;
  let ow = u.ow;
  let rb = base + 4u * ow;
  let cx = coord(tf(base + x), tf(base + ow + x), tf(rb + y), tf(rb + u.oh + y));
  let cy = coord(tf(base + 2u * ow + x), tf(base + 3u * ow + x), tf(rb + 2u * u.oh + y), tf(rb + 3u * u.oh + y));
  let Wf = f32(u.W);
  let Hf = f32(u.H);
  if (!(cx.fl < Wf && cx.fl + 1.0 >= 0.0 && cy.fl < Hf && cy.fl + 1.0 >= 0.0)) { return u.border; }
  let x0 = i32(cx.fl);
  let y0 = i32(cy.fl);
  let fx = cx.fr;
  let fy = cy.fr;
  let w0 = opq(1.0 - fx) * opq(1.0 - fy);
  let w1 = fx * opq(1.0 - fy);
  let w2 = opq(1.0 - fx) * fy;
  let w3 = fx * fy;
  return px(x0, y0, c) * w0 + px(x0 + 1, y0, c) * w1 + px(x0, y0 + 1, c) * w2 + px(x0 + 1, y0 + 1, c) * w3;
}`;
  return {
    key: `warpAffine/${mode}/${dtype}`,
    workgroupSize: WG,
    bindings: [floatBinding('X', dtype, 'read'), { name: 'T', type: 'i32', access: 'read' }, floatBinding('Y', dtype, 'read_write')],
    uniforms: [...COMMON_UNIFORMS, { name: 'border', type: 'f32' }],
    header: [
      WGSL_F16,
      WGSL_EXACT,
      loader('X', dtype),
      /* wgsl */ `
fn px(xx: i32, yy: i32, c: u32) -> f32 {
  if (xx < 0 || xx >= i32(u.W) || yy < 0 || yy >= i32(u.H)) { return u.border; }
  return ld_X((u32(yy) * u.W + u32(xx)) * u.C + c);
}`,
      body,
    ].join('\n'),
    main: floatOutputMain(dtype),
  };
}

function warpAffineKernel(ctx: KernelContext<WarpAffineAttrs, WebGpuBackend>): unknown[] {
  const backend = ctx.backend;
  const a = ctx.attrs;
  const x = ctx.inputs[0]!;
  const o = ctx.outputs[0]!;
  const dtype = x.dtype;
  if (dtype !== 'uint8' && dtype !== 'float32' && dtype !== 'float16') throw new OpError('warpAffine', `the webgpu backend runs warpAffine on uint8 / float32 / float16, got ${dtype}`);
  const size = sizeOf(o.shape);
  if (size === 0) return [backend.allocate(0)];
  const [H, W, C] = x.shape as [number, number, number];
  const [ow, oh] = a.size;
  const invs = a.matrices.map((m) => (a.inverse ? m.slice() : invertAffineLikeOpenCV(m)));
  const exact = dtype !== 'uint8' && a.mode === 'exact';
  const table = backend.write(exact ? exactTable(invs, ow, oh) : fixedPointTable(invs, ow, oh), 'int32', [invs.length * (exact ? 4 : 2) * (ow + oh)]);
  const S = (exact ? 4 : 2) * (ow + oh);
  const maxDim = backend.limits.maxComputeWorkgroupsPerDimension;
  const uniforms = { size, zero: 0, H, W, C, ow, oh, S };
  try {
    if (dtype === 'uint8') {
      const out = backend.allocate(size);
      const p = backend.program('warpAffine/u8', warpU8Program);
      backend.dispatch(p, [asHandle(x.handle).buffer, table.buffer, out.buffer], { ...uniforms, border: a.borderValue }, linearWorkgroups(Math.ceil(size / 4), WG, maxDim));
      return [out];
    }
    const mode = exact ? 'exact' : 'opencv';
    const out = backend.allocate(floatBytes(size, dtype));
    const p = backend.program(`warpAffine/${mode}/${dtype}`, () => warpFloatProgram(mode, dtype));
    backend.dispatch(p, [asHandle(x.handle).buffer, table.buffer, out.buffer], { ...uniforms, border: Math.fround(a.borderValue) }, linearWorkgroups(floatThreads(size, dtype), WG, maxDim));
    return [out];
  } finally {
    backend.release(table);
  }
}

/** Registers the webgpu warpAffine kernel. */
export function registerWarpKernels(): void {
  registerKernel('warpAffine', 'webgpu', warpAffineKernel);
}
