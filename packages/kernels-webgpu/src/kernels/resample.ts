/**
 * webgpu kernels for resampling ops: `interpolate` (torch 1.13 F.interpolate nearest / linear
 * 1–3 d / bicubic) and `gridSample` (torch F.grid_sample, 4-D), plus the WGSL helpers shared
 * with the detection kernels (float16 storage, exact float32 arithmetic).
 *
 * Numerics follow the cpu reference kernels (packages/core/src/cpu/kernels/resample.ts), which
 * follow ATen: every source coordinate is computed in-shader with the same float32 operations,
 * each rounded once, so the discontinuous decisions (floor, round-half-even, bounds, reflection
 * flips) are taken on the same values. Two things make that hold on any GPU, not just on
 * SwiftShader:
 *  - FMA contraction and reassociation: every rounded intermediate whose exact value matters
 *    passes through `opq()` (an integer XOR with a uniform zero), so no compiler can fuse it into
 *    an FMA or re-associate across it (SwiftShader's JIT does fold (x - 0.5) + 0.5 into x);
 *  - division: WGSL allows 2.5 ulp for `/`; where a quotient decides something, `div_rn()`
 *    refines the hardware quotient to the correctly rounded one with error-free transformations.
 * (The half-pixel linear / bicubic source coordinate is rounded twice, after the product and after
 * the -0.5, as torch's float opmath does; the cpu reference rounds once. Both feed continuous
 * weights only.) interpolate accumulates r + Σ w·(x - r) with compensated dot products (constant
 * maps and identity resizes come out exact; otherwise within an ulp or two of the float64 cpu
 * sums); gridSample sums its 4 taps in plain float32. float16 tensors (packed u16 pairs) are
 * unpacked to float32, computed in float32 and rounded once (round to nearest even) when stored.
 */
import { type DType, type KernelContext, OpError, type GridSampleAttrs, type InterpolateAttrs, registerKernel, sizeOf } from '@tubelet/core';
import { type GpuHandle, type WebGpuBackend, asHandle } from '../backend';
import { type ProgramDesc, type StorageBinding, type UniformField, type UniformValues, linearWorkgroups } from '../program';

// ---------------------------------------------------------------------------------------------
// shared WGSL: float16 storage, exact float32 arithmetic, float outputs

/** float16 bits (low 16 bits of a u32) → f32, exact (subnormals included, no flush). */
export const WGSL_F16 = /* wgsl */ `
fn f16_to_f32(h: u32) -> f32 {
  let s = (h & 0x8000u) << 16u;
  let e = (h >> 10u) & 0x1fu;
  let m = h & 0x3ffu;
  if (e == 0u) {
    let v = f32(m) * 5.9604644775390625e-8;
    return select(v, -v, s != 0u);
  }
  if (e == 31u) { return bitcast<f32>(s | 0x7f800000u | (m << 13u)); }
  return bitcast<f32>(s | ((e + 112u) << 23u) | (m << 13u));
}
// f32 -> float16 bits, round to nearest even (as core's f32ToF16Bits): overflow -> inf, NaN -> quiet NaN.
fn f32_to_f16(v: f32) -> u32 {
  let x = bitcast<u32>(v);
  let s = (x >> 16u) & 0x8000u;
  let ax = x & 0x7fffffffu;
  if (ax >= 0x7f800000u) { return s | select(0x7c00u, 0x7e00u, ax > 0x7f800000u); }
  if (ax >= 0x477ff000u) { return s | 0x7c00u; }
  if (ax >= 0x38800000u) {
    let r = ax - 0x38000000u;
    return s | ((r + 0xfffu + ((r >> 13u) & 1u)) >> 13u);
  }
  if (ax < 0x33000000u) { return s; }
  let e = ax >> 23u;
  let m = (ax & 0x7fffffu) | 0x800000u;
  let sh = 126u - e;
  var q = m >> sh;
  let rem = m & ((1u << sh) - 1u);
  let half = 1u << (sh - 1u);
  if (rem > half || (rem == half && (q & 1u) == 1u)) { q = q + 1u; }
  return s | q;
}
`;

/**
 * Exact float32 helpers. Needs a uniform `zero: u32` (always 0).
 * - opq(x): x, opaque to the optimiser: no FMA contraction and no reassociation across it
 *   (SwiftShader's JIT does reassociate: it folds (x - 0.5) + 0.5 into x). Every rounded
 *   intermediate whose exact float32 value matters goes through it.
 * - two_sum / two_prod: error-free transformations (Knuth; Dekker with a bit-mask split).
 * - sign4(a, b, c, d): the exact sign of a + b + c + d (Shewchuk's grow-expansion).
 * - div_rn(a, b): a / b correctly rounded (round to nearest even), as IEEE / JS Math.fround(a / b).
 */
export const WGSL_EXACT = /* wgsl */ `
fn opq(x: f32) -> f32 { return bitcast<f32>(bitcast<u32>(x) ^ u.zero); }
fn is_finite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }
fn two_sum(a: f32, b: f32) -> vec2<f32> {
  let s = opq(a + b);
  let bb = opq(s - a);
  let t = opq(s - bb);
  return vec2<f32>(s, opq(a - t) + opq(b - bb));
}
fn split_hi(a: f32) -> f32 { return bitcast<f32>(bitcast<u32>(a) & 0xfffff000u); }
fn two_prod(a: f32, b: f32) -> vec2<f32> {
  let p = opq(a * b);
  let ah = split_hi(a);
  let al = a - ah;
  let bh = split_hi(b);
  let bl = b - bh;
  return vec2<f32>(p, opq(opq(opq(ah * bh - p) + ah * bl) + al * bh) + al * bl);
}
fn sign4(x0: f32, x1: f32, x2: f32, x3: f32) -> i32 {
  let a = two_sum(x1, x0);
  let b = two_sum(x2, a.y);
  let c = two_sum(b.x, a.x);
  let d = two_sum(x3, b.y);
  let e = two_sum(d.x, c.y);
  let f = two_sum(e.x, c.x);
  let comps = array<f32, 4>(f.x, f.y, e.y, d.y);
  for (var i = 0; i < 4; i++) {
    let v = comps[i];
    if (v > 0.0) { return 1; }
    if (v < 0.0) { return -1; }
  }
  return 0;
}
fn next_up(q: f32) -> f32 { return bitcast<f32>(select(bitcast<u32>(q) - 1u, bitcast<u32>(q) + 1u, q > 0.0)); }
fn next_down(q: f32) -> f32 { return bitcast<f32>(select(bitcast<u32>(q) + 1u, bitcast<u32>(q) - 1u, q > 0.0)); }
// Refines q0 (within a few ulps of x / y, y > 0) to the correctly rounded x / y: moves one ulp
// while x / y lies beyond the midpoint to a neighbour (exact sign of x - (q ± half gap)·y), ties to even.
fn div_refine(x: f32, y: f32, q0: f32) -> f32 {
  var q = q0;
  for (var it = 0; it < 8; it++) {
    if (q == 0.0 || !is_finite(q)) { break; }
    let pe = two_prod(q, y);
    let up = next_up(q);
    let hu = opq(((up - q) * 0.5) * y);
    let s = sign4(x, -pe.x, -pe.y, -hu);
    if (s > 0 || (s == 0 && (bitcast<u32>(up) & 1u) == 0u)) { q = up; continue; }
    let dn = next_down(q);
    let hd = opq(((q - dn) * 0.5) * y);
    let s2 = sign4(x, -pe.x, -pe.y, hd);
    if (s2 < 0 || (s2 == 0 && (bitcast<u32>(dn) & 1u) == 0u)) { q = dn; continue; }
    break;
  }
  return q;
}
fn div_ok(a: f32, b: f32) -> bool {
  let aa = abs(a);
  let ab = abs(b);
  return aa != 0.0 && aa >= 8.6736174e-19 && aa <= 1.1529215e18 && ab >= 8.6736174e-19 && ab <= 1.1529215e18;
}
fn div_rn(a: f32, b: f32) -> f32 {
  // zero / non-finite / extreme operands: the hardware quotient (exact for the special values)
  if (!div_ok(a, b)) { return a / b; }
  let x = select(a, -a, b < 0.0);
  let y = abs(b);
  return div_refine(x, y, x / y);
}
`;

/** Compensated accumulation of products (Dot2); needs WGSL_EXACT. Non-finite sums pass through. */
export const WGSL_ACC = /* wgsl */ `
struct Acc { s: f32, c: f32 };
fn acc_add(a: ptr<function, Acc>, w: f32, x: f32) {
  let p = two_prod(w, x);
  let t = two_sum((*a).s, p.x);
  (*a).s = t.x;
  (*a).c += p.y + t.y;
}
fn acc_val(a: Acc) -> f32 { return select(a.s, a.s + a.c, is_finite(a.s)); }
`;

export const WG = 64;

/** WGSL element type of a float tensor's storage: f32, or u32 words of two float16. */
function storageOf(dtype: DType): 'f32' | 'u32' {
  return dtype === 'float16' ? 'u32' : 'f32';
}

/** A loader `fn ld_<name>(i: u32) -> f32` for a float binding of `dtype`. */
export function loader(name: string, dtype: DType): string {
  return dtype === 'float16'
    ? `fn ld_${name}(i: u32) -> f32 { return f16_to_f32((${name}[i >> 1u] >> ((i & 1u) * 16u)) & 0xffffu); }`
    : `fn ld_${name}(i: u32) -> f32 { return ${name}[i]; }`;
}

/** A storage binding for a float tensor of `dtype`. */
export function floatBinding(name: string, dtype: DType, access: StorageBinding['access']): StorageBinding {
  return { name, type: storageOf(dtype), access };
}

/**
 * `main` of a program producing one float output `Y` of `u.size` elements from a header function
 * `fn value(e: u32) -> f32`: one element per thread for float32, a pair (one word) for float16.
 */
export function floatOutputMain(dtype: DType): string {
  if (dtype !== 'float16') return '  if (idx >= u.size) { return; }\n  Y[idx] = value(idx);';
  return [
    '  let e0 = idx * 2u;',
    '  if (e0 >= u.size) { return; }',
    '  let lo = f32_to_f16(value(e0));',
    '  var hi = 0u;',
    '  if (e0 + 1u < u.size) { hi = f32_to_f16(value(e0 + 1u)); }',
    '  Y[idx] = lo | (hi << 16u);',
  ].join('\n');
}

/** Threads a float output of `size` elements needs (pairs for float16). */
export function floatThreads(size: number, dtype: DType): number {
  return dtype === 'float16' ? Math.ceil(size / 2) : size;
}

/** Bytes of a tensor of `size` elements of float `dtype`. */
export function floatBytes(size: number, dtype: DType): number {
  return size * (dtype === 'float16' ? 2 : 4);
}

/** The float dtypes the kernels here accept. */
export function checkFloat(op: string, dtype: DType): void {
  if (dtype !== 'float32' && dtype !== 'float16') throw new OpError(op, `the webgpu backend runs ${op} on float32 / float16, got ${dtype}`);
}

/** A zero-filled float output (empty inputs with a non-empty output). */
export function zeros(backend: WebGpuBackend, size: number, dtype: DType): GpuHandle {
  return backend.write(dtype === 'float16' ? new Uint16Array(size) : new Float32Array(size), dtype, [size]);
}

export function dispatchFloat(
  backend: WebGpuBackend,
  key: string,
  build: () => ProgramDesc,
  buffers: readonly GPUBuffer[],
  uniforms: UniformValues,
  size: number,
  dtype: DType,
): void {
  const p = backend.program(key, build);
  backend.dispatch(p, buffers, uniforms, linearWorkgroups(floatThreads(size, dtype), WG, backend.limits.maxComputeWorkgroupsPerDimension));
}

// ---------------------------------------------------------------------------------------------
// interpolate

/**
 * Per spatial axis (padded to 3: depth, height, width), the source taps of output coordinate
 * `o`, as torch's nearest_idx / compute_source_index_and_lambda / bicubic taps:
 * `u_ax(a)`: 0 = padding axis (one tap, index 0), 1 = out == in (copy), 2 = out == 2·in (nearest: o >> 1), 3 = general.
 */
function tapsWgsl(mode: InterpolateAttrs['mode'], alignCorners: boolean): string {
  const src = alignCorners ? 'let src = opq(f32(o) * s);' : 'let src0 = opq(opq(s * (f32(o) + 0.5)) - 0.5);';
  if (mode === 'nearest') {
    return `
struct Taps { n: u32, i: vec4<u32>, w: vec4<f32> };
fn taps(a: u32, o: u32) -> Taps {
  let kind = u_ax(a);
  var t = Taps(1u, vec4<u32>(0u), vec4<f32>(1.0, 0.0, 0.0, 0.0));
  if (kind == 1u) { t.i.x = o; }
  else if (kind == 2u) { t.i.x = o >> 1u; }
  else if (kind == 3u) { t.i.x = min(u32(floor(f32(o) * u_sc(a))), u_insz(a) - 1u); }
  return t;
}`;
  }
  if (mode === 'linear') {
    return `
struct Taps { n: u32, i: vec4<u32>, w: vec4<f32> };
fn taps(a: u32, o: u32) -> Taps {
  let kind = u_ax(a);
  var t = Taps(1u, vec4<u32>(0u), vec4<f32>(1.0, 0.0, 0.0, 0.0));
  if (kind == 0u) { return t; }
  t.n = 2u;
  if (kind == 1u) { t.i = vec4<u32>(o, o, 0u, 0u); return t; }
  let s = u_sc(a);
  let last = u_insz(a) - 1u;
  ${alignCorners ? src : `${src}\n  let src = max(src0, 0.0);`}
  let i0 = min(u32(src), last);
  let l1 = clamp(src - f32(i0), 0.0, 1.0);
  t.i = vec4<u32>(i0, select(i0, i0 + 1u, i0 < last), 0u, 0u);
  t.w = vec4<f32>(1.0 - l1, l1, 0.0, 0.0);
  return t;
}`;
  }
  // bicubic (2-d only: axis 0 is always padding)
  return `
struct Taps { n: u32, i: vec4<u32>, w: vec4<f32> };
fn taps(a: u32, o: u32) -> Taps {
  let kind = u_ax(a);
  var t = Taps(1u, vec4<u32>(0u), vec4<f32>(1.0, 0.0, 0.0, 0.0));
  if (kind == 0u) { return t; }
  t.n = 4u;
  let s = u_sc(a);
  let last = i32(u_insz(a)) - 1;
  ${alignCorners ? src : `${src}\n  let src = src0;`}
  let i = min(i32(floor(src)), last);
  let tt = clamp(src - f32(i), 0.0, 1.0);
  // Keys' kernel (A = -0.75) expanded in tt, so that no tap needs the inexact tt + 1 or 2 - tt:
  // cubic2(tt + 1) = -0.75·tt·(1-tt)², cubic1(tt) = (1.25·tt - 2.25)·tt² + 1,
  // cubic1(1 - tt) = tt·((1.5 - 1.25·tt)·tt + 0.75), cubic2(2 - tt) = 1 - the others (= -0.75·tt²·(1-tt)).
  let v = 1.0 - tt;
  let w0 = (-0.75 * tt) * (v * v);
  let w1 = ((1.25 * tt - 2.25) * tt) * tt + 1.0;
  let w2 = tt * ((1.5 - 1.25 * tt) * tt + 0.75);
  t.w = vec4<f32>(w0, w1, w2, (1.0 - (w0 + w1)) - w2);
  t.i = vec4<u32>(vec4<i32>(clamp(i - 1, 0, last), clamp(i, 0, last), clamp(i + 1, 0, last), clamp(i + 2, 0, last)));
  return t;
}`;
}

export function interpolateProgram(mode: InterpolateAttrs['mode'], alignCorners: boolean, dtype: DType): ProgramDesc {
  const key = `interpolate/${mode}/${alignCorners ? 'ac' : 'hp'}/${dtype}`;
  const uniforms: UniformField[] = [
    { name: 'size', type: 'u32' },
    { name: 'zero', type: 'u32' },
    { name: 'insz', type: 'u32', length: 3 },
    { name: 'outsz', type: 'u32', length: 3 },
    { name: 'ax', type: 'u32', length: 3 },
    { name: 'sc', type: 'f32', length: 3 },
  ];
  return {
    key,
    workgroupSize: WG,
    bindings: [floatBinding('X', dtype, 'read'), floatBinding('Y', dtype, 'read_write')],
    uniforms,
    header: [
      WGSL_F16,
      WGSL_EXACT,
      WGSL_ACC,
      loader('X', dtype),
      tapsWgsl(mode, alignCorners),
      `
fn value(e: u32) -> f32 {
  let oW = u_outsz(2u);
  let oH = u_outsz(1u);
  let oD = u_outsz(0u);
  let ow = e % oW;
  let r1 = e / oW;
  let oh = r1 % oH;
  let r2 = r1 / oH;
  let od = r2 % oD;
  let plane = r2 / oD;
  let iW = u_insz(2u);
  let iH = u_insz(1u);
  let base = plane * u_insz(0u) * iH * iW;
  let tz = taps(0u, od);
  let ty = taps(1u, oh);
  let tx = taps(2u, ow);
  ${mode === 'nearest' ? `return ld_X(base + (tz.i.x * iH + ty.i.x) * iW + tx.i.x);` : `// r + Σ w·(x - r) with r one of the taps: a constant map stays exactly constant and an
  // identity resize copies exactly, whatever the rounding of the weights' sum; the dot products
  // are compensated (Ogita-Rump-Oishi Dot2), as if accumulated in twice the precision
  let r = ld_X(base + (tz.i[(tz.n - 1u) / 2u] * iH + ty.i[(ty.n - 1u) / 2u]) * iW + tx.i[(tx.n - 1u) / 2u]);
  var az = Acc(0.0, 0.0);
  for (var a = 0u; a < tz.n; a++) {
    var ay = Acc(0.0, 0.0);
    for (var b = 0u; b < ty.n; b++) {
      let row = base + (tz.i[a] * iH + ty.i[b]) * iW;
      var ax = Acc(0.0, 0.0);
      for (var c = 0u; c < tx.n; c++) { acc_add(&ax, tx.w[c], opq(ld_X(row + tx.i[c]) - r)); }
      acc_add(&ay, ty.w[b], acc_val(ax));
    }
    acc_add(&az, tz.w[a], acc_val(ay));
  }
  return r + acc_val(az);`}
}`,
    ].join('\n'),
    main: floatOutputMain(dtype),
  };
}

/** float32 pixel scale as torch's area_pixel_compute_scale (see the cpu kernel). */
function pixelScale(inSize: number, outSize: number, alignCorners: boolean, scale: number): number {
  if (alignCorners) return outSize > 1 ? Math.fround((inSize - 1) / (outSize - 1)) : 0;
  return Math.fround(scale);
}

function interpolateKernel(ctx: KernelContext<InterpolateAttrs, WebGpuBackend>): unknown[] {
  const backend = ctx.backend;
  const a = ctx.attrs;
  const x = ctx.inputs[0]!;
  const o = ctx.outputs[0]!;
  checkFloat('interpolate', x.dtype);
  const size = sizeOf(o.shape);
  if (size === 0) return [backend.allocate(0)];
  if (x.size === 0) return [zeros(backend, size, o.dtype)];
  const d = x.shape.length - 2;
  const pad = 3 - d;
  const inSp = x.shape.slice(2);
  const insz = [1, 1, 1];
  const outsz = [1, 1, 1];
  const ax = [0, 0, 0];
  const sc = [0, 0, 0];
  for (let i = 0; i < d; i++) {
    const j = pad + i;
    const n = inSp[i]!;
    const m = a.size[i]!;
    insz[j] = n;
    outsz[j] = m;
    if (a.mode === 'nearest') {
      ax[j] = m === n ? 1 : m === 2 * n ? 2 : 3;
      sc[j] = Math.fround(a.scales[i]!);
    } else {
      ax[j] = a.mode === 'linear' && m === n ? 1 : 3;
      sc[j] = pixelScale(n, m, a.alignCorners, a.scales[i]!);
    }
  }
  const out = backend.allocate(floatBytes(size, o.dtype));
  const ac = a.mode !== 'nearest' && a.alignCorners;
  const key = `interpolate/${a.mode}/${ac ? 'ac' : 'hp'}/${o.dtype}`;
  dispatchFloat(
    backend,
    key,
    () => interpolateProgram(a.mode, ac, o.dtype),
    [asHandle(x.handle).buffer, out.buffer],
    { size, zero: 0, insz, outsz, ax, sc },
    size,
    o.dtype,
  );
  return [out];
}

// ---------------------------------------------------------------------------------------------
// gridSample

export function gridSampleProgram(a: GridSampleAttrs, dtype: DType): ProgramDesc {
  const key = `gridSample/${a.mode}/${a.paddingMode}/${a.alignCorners ? 'ac' : 'hp'}/${dtype}`;
  // torch grid_sampler_compute_source_index (float32), as the cpu kernel: unnormalise, then pad
  const unnorm = a.alignCorners ? 'opq(opq(g + 1.0) * hs)' : 'opq(opq(opq(g + 1.0) * hs) - 0.5)';
  let pad = '';
  if (a.paddingMode === 'border') pad = '  c = min(size - 1.0, max(c, 0.0));';
  else if (a.paddingMode === 'reflection') {
    pad = a.alignCorners
      ? '  c = reflect_coord(c, 0.0, size - 1.0);\n  c = min(size - 1.0, max(c, 0.0));'
      : '  c = reflect_coord(c, -0.5, size);\n  c = min(size - 1.0, max(c, 0.0));';
    // reflect_coord(v, low, span): torch's reflect_coordinates(v, 2·low, 2·(low + span))
  }
  const sample =
    a.mode === 'bilinear'
      ? `
  let x0 = floor(ix);
  let y0 = floor(iy);
  let fx = ix - x0;
  let fy = iy - y0;
  let W = i32(u.W);
  let H = i32(u.H);
  let xi = i32(x0);
  let yi = i32(y0);
  let inX0 = x0 >= 0.0 && xi < W;
  let inX1 = x0 + 1.0 >= 0.0 && xi + 1 < W;
  let inY0 = y0 >= 0.0 && yi < H;
  let inY1 = y0 + 1.0 >= 0.0 && yi + 1 < H;
  var s = 0.0;
  if (inY0 && inX0) { s += (1.0 - fx) * (1.0 - fy) * ld_X(base + u32(yi * W + xi)); }
  if (inY0 && inX1) { s += fx * (1.0 - fy) * ld_X(base + u32(yi * W + xi + 1)); }
  if (inY1 && inX0) { s += (1.0 - fx) * fy * ld_X(base + u32((yi + 1) * W + xi)); }
  if (inY1 && inX1) { s += fx * fy * ld_X(base + u32((yi + 1) * W + xi + 1)); }
  return s;`
      : `
  // nearbyint: WGSL round() rounds half to even; NaN fails the bounds test
  let rx = round(ix);
  let ry = round(iy);
  if (!(rx >= 0.0 && rx < f32(u.W) && ry >= 0.0 && ry < f32(u.H))) { return 0.0; }
  return ld_X(base + u32(ry) * u.W + u32(rx));`;
  return {
    key,
    workgroupSize: WG,
    bindings: [floatBinding('X', dtype, 'read'), floatBinding('G', dtype, 'read'), floatBinding('Y', dtype, 'read_write')],
    uniforms: [
      { name: 'size', type: 'u32' },
      { name: 'zero', type: 'u32' },
      { name: 'C', type: 'u32' },
      { name: 'H', type: 'u32' },
      { name: 'W', type: 'u32' },
      { name: 'P', type: 'u32' },
    ],
    header: [
      WGSL_F16,
      WGSL_EXACT,
      loader('X', dtype),
      loader('G', dtype),
      `
// exact float32 fmod(a, span) for a >= 0, span > 0 (JS %, C fmodf)
fn fmod_exact(a: f32, span: f32) -> f32 {
  let q = div_rn(a, span);
  var k = floor(q);
  if (k <= 0.0) { return a; }
  let pe = two_prod(k, span);
  var r = opq(opq(a - pe.x) - pe.y);
  if (r < 0.0) { r = opq(r + span); }
  return r;
}
// torch reflect_coordinates (float32): twice_low = 2·lo, twice_high = 2·(lo + span)
fn reflect_coord(v: f32, lo: f32, span: f32) -> f32 {
  if (span == 0.0) { return 0.0; }
  let a = abs(opq(v - lo));
  let extra = fmod_exact(a, span);
  let flips = floor(div_rn(a, span));
  if (fract(flips * 0.5) == 0.0) { return opq(extra + lo); }
  return opq(opq(span - extra) + lo);
}
fn source_index(g: f32, size: f32, hs: f32) -> f32 {
  var c = ${unnorm};
${pad}
  return c;
}
fn value(e: u32) -> f32 {
  let p = e % u.P;
  let nc = e / u.P;
  let n = nc / u.C;
  let gi = 2u * (n * u.P + p);
  let Wf = f32(u.W);
  let Hf = f32(u.H);
  let ix = source_index(ld_G(gi), Wf, ${a.alignCorners ? '(Wf - 1.0) * 0.5' : 'Wf * 0.5'});
  let iy = source_index(ld_G(gi + 1u), Hf, ${a.alignCorners ? '(Hf - 1.0) * 0.5' : 'Hf * 0.5'});
  let base = nc * u.H * u.W;
${sample}
}`,
    ].join('\n'),
    main: floatOutputMain(dtype),
  };
}

function gridSampleKernel(ctx: KernelContext<GridSampleAttrs, WebGpuBackend>): unknown[] {
  const backend = ctx.backend;
  const a = ctx.attrs;
  const x = ctx.inputs[0]!;
  const g = ctx.inputs[1]!;
  const o = ctx.outputs[0]!;
  checkFloat('gridSample', x.dtype);
  const size = sizeOf(o.shape);
  if (size === 0) return [backend.allocate(0)];
  if (x.size === 0) return [zeros(backend, size, o.dtype)];
  const [, C, H, W] = x.shape as [number, number, number, number];
  const P = g.shape[1]! * g.shape[2]!;
  const out = backend.allocate(floatBytes(size, o.dtype));
  const key = `gridSample/${a.mode}/${a.paddingMode}/${a.alignCorners ? 'ac' : 'hp'}/${o.dtype}`;
  dispatchFloat(
    backend,
    key,
    () => gridSampleProgram(a, o.dtype),
    [asHandle(x.handle).buffer, asHandle(g.handle).buffer, out.buffer],
    { size, zero: 0, C, H, W, P },
    size,
    o.dtype,
  );
  return [out];
}

let registered = false;
/** Registers the webgpu resample kernels: interpolate, gridSample (idempotent). */
export function registerResampleKernels(): void {
  if (registered) return;
  registered = true;
  registerKernel('interpolate', 'webgpu', interpolateKernel);
  registerKernel('gridSample', 'webgpu', gridSampleKernel);
}
