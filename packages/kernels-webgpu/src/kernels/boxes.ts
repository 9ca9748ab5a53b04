/**
 * webgpu kernels of the box / anchor / mask-paste ops (`boxDecode`, `boxEncode`, `gridAnchors`,
 * `pasteMasks`), mirroring the cpu reference (packages/core/src/cpu/kernels/boxes.ts) step by step:
 * every float32 operation the cpu rounds is one WGSL operation passed through `opq` (no FMA
 * contraction, no reassociation) and divisions are correctly rounded (`div_rn`), so everything but
 * exp / log (WGSL builtins, a few ulps from the cpu's float64 exp / log rounded once) is bit-exact.
 *
 * - boxDecode: one thread per (box, class) writes its 4 coordinates; boxEncode: one per box.
 * - gridAnchors: the shifts fround(x·sx), fround(y·sy) are computed on the host in double (the
 *   stride need not be a float32) and uploaded; each output element is one float32 add (exact match).
 * - pasteMasks: one thread per output pixel. mmdet: grid coordinate, torch's grid_sample bilinear
 *   tap and its summation order exactly as the cpu ('mmdet-cpu': the skip_empty region test
 *   x + 1 >= floor(x0), x − 1 < ceil(x1), exact in float32); torchvision: expand_boxes and the
 *   integer box (trunc of float32, exact), the padded mask resized with torch's linear source index
 *   fround(ratio·(d + 0.5) − 0.5) (evaluated from the exact product ratio·(d + 0.5)), weights and
 *   sums as the cpu. Integer box coordinates are handled in float32: exact for |coords| < 2^24 px.
 */
import { type BoxCoderAttrs, type GridAnchorsAttrs, type KernelContext, type PasteMasksAttrs, registerKernel, sizeOf } from '@tubelet/core';
import { type WebGpuBackend, asHandle } from '../backend';
import { type ProgramDesc, linearWorkgroups } from '../program';
import { WG, WGSL_EXACT } from './resample';

const f = Math.fround;

const WGSL_BITS = /* wgsl */ `
fn is_nan(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }
fn is_inf(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) == 0x7f800000u; }
fn qnan() -> f32 { return bitcast<f32>(0x7fc00000u ^ u.zero); }
`;

function dispatch1d(backend: WebGpuBackend, key: string, build: () => ProgramDesc, buffers: GPUBuffer[], uniforms: Record<string, number | number[]>, threads: number): void {
  const p = backend.program(key, build);
  backend.dispatch(p, buffers, uniforms, linearWorkgroups(threads, WG, backend.limits.maxComputeWorkgroupsPerDimension));
}

// ---------------------------------------------------------------------------------------------
// boxDecode / boxEncode

const CODER_UNIFORMS = [
  { name: 'n', type: 'u32' },
  { name: 'zero', type: 'u32' },
  { name: 'C', type: 'u32' },
  { name: 'r', type: 'f32' },
  { name: 'maxW', type: 'f32' },
  { name: 'maxH', type: 'f32' },
  { name: 's', type: 'f32', length: 4 },
  { name: 'm', type: 'f32', length: 4 },
  { name: 'w', type: 'f32', length: 4 },
] as const;

export function boxDecodeProgram(style: BoxCoderAttrs['style'], clip: boolean): ProgramDesc {
  const mm = style === 'mmdet';
  const body = mm
    ? /* wgsl */ `
  let px = opq(opq(x1 + x2) * 0.5);
  let py = opq(opq(y1 + y2) * 0.5);
  let dx = opq(opq(D[i] * u_s(0u)) + u_m(0u));
  let dy = opq(opq(D[i + 1u] * u_s(1u)) + u_m(1u));
  var dw = opq(opq(D[i + 2u] * u_s(2u)) + u_m(2u));
  var dh = opq(opq(D[i + 3u] * u_s(3u)) + u_m(3u));
  let r = u.r;
  dw = select(select(dw, r, dw > r), -r, dw < -r);
  dh = select(select(dh, r, dh > r), -r, dh < -r);
  let gw = opq(pw * exp(dw));
  let gh = opq(ph * exp(dh));
  let gx = opq(px + opq(pw * dx));
  let gy = opq(py + opq(ph * dy));
  let hw = opq(gw * 0.5);
  let hh = opq(gh * 0.5);
  O[i] = cx(opq(gx - hw));
  O[i + 1u] = cy(opq(gy - hh));
  O[i + 2u] = cx(opq(gx + hw));
  O[i + 3u] = cy(opq(gy + hh));`
    : /* wgsl */ `
  let px = opq(x1 + opq(0.5 * pw));
  let py = opq(y1 + opq(0.5 * ph));
  let dx = div_rn(D[i], u_w(0u));
  let dy = div_rn(D[i + 1u], u_w(1u));
  var dw = div_rn(D[i + 2u], u_w(2u));
  var dh = div_rn(D[i + 3u], u_w(3u));
  let r = u.r;
  dw = select(dw, r, dw > r);
  dh = select(dh, r, dh > r);
  let ccx = opq(opq(dx * pw) + px);
  let ccy = opq(opq(dy * ph) + py);
  let hw = opq(0.5 * opq(opq(exp(dw)) * pw));
  let hh = opq(0.5 * opq(opq(exp(dh)) * ph));
  O[i] = cx(opq(ccx - hw));
  O[i + 1u] = cy(opq(ccy - hh));
  O[i + 2u] = cx(opq(ccx + hw));
  O[i + 3u] = cy(opq(ccy + hh));`;
  return {
    key: `boxDecode/${style}/${clip ? 'clip' : 'noclip'}`,
    workgroupSize: WG,
    bindings: [
      { name: 'B', type: 'f32', access: 'read' },
      { name: 'D', type: 'f32', access: 'read' },
      { name: 'O', type: 'f32', access: 'read_write' },
    ],
    uniforms: CODER_UNIFORMS,
    header: [
      WGSL_EXACT,
      clip
        ? /* wgsl */ `
fn cx(v: f32) -> f32 { return select(select(v, u.maxW, v > u.maxW), 0.0, v < 0.0); }
fn cy(v: f32) -> f32 { return select(select(v, u.maxH, v > u.maxH), 0.0, v < 0.0); }`
        : 'fn cx(v: f32) -> f32 { return v; }\nfn cy(v: f32) -> f32 { return v; }',
    ].join('\n'),
    main: /* wgsl */ `
  if (idx >= u.n) { return; }
  let k = idx / u.C;
  let i = idx * 4u;
  let x1 = B[4u * k];
  let y1 = B[4u * k + 1u];
  let x2 = B[4u * k + 2u];
  let y2 = B[4u * k + 3u];
  let pw = opq(x2 - x1);
  let ph = opq(y2 - y1);${body}`,
  };
}

export function boxEncodeProgram(style: BoxCoderAttrs['style']): ProgramDesc {
  const body =
    style === 'mmdet'
      ? /* wgsl */ `
  let px = opq(opq(p0 + p2) * 0.5);
  let py = opq(opq(p1 + p3) * 0.5);
  let gx = opq(opq(g0 + g2) * 0.5);
  let gy = opq(opq(g1 + g3) * 0.5);
  let d = vec4<f32>(div_rn(opq(gx - px), pw), div_rn(opq(gy - py), ph), opq(log(div_rn(gw, pw))), opq(log(div_rn(gh, ph))));
  for (var c = 0u; c < 4u; c++) { O[j + c] = div_rn(opq(d[c] - u_m(c)), u_s(c)); }`
      : /* wgsl */ `
  let px = opq(p0 + opq(0.5 * pw));
  let py = opq(p1 + opq(0.5 * ph));
  let gx = opq(g0 + opq(0.5 * gw));
  let gy = opq(g1 + opq(0.5 * gh));
  O[j] = div_rn(opq(u_w(0u) * opq(gx - px)), pw);
  O[j + 1u] = div_rn(opq(u_w(1u) * opq(gy - py)), ph);
  O[j + 2u] = opq(u_w(2u) * opq(log(div_rn(gw, pw))));
  O[j + 3u] = opq(u_w(3u) * opq(log(div_rn(gh, ph))));`;
  return {
    key: `boxEncode/${style}`,
    workgroupSize: WG,
    bindings: [
      { name: 'B', type: 'f32', access: 'read' },
      { name: 'G', type: 'f32', access: 'read' },
      { name: 'O', type: 'f32', access: 'read_write' },
    ],
    uniforms: CODER_UNIFORMS,
    header: WGSL_EXACT,
    main: /* wgsl */ `
  if (idx >= u.n) { return; }
  let j = idx * 4u;
  let p0 = B[j];
  let p1 = B[j + 1u];
  let p2 = B[j + 2u];
  let p3 = B[j + 3u];
  let g0 = G[j];
  let g1 = G[j + 1u];
  let g2 = G[j + 2u];
  let g3 = G[j + 3u];
  let pw = opq(p2 - p0);
  let ph = opq(p3 - p1);
  let gw = opq(g2 - g0);
  let gh = opq(g3 - g1);${body}`,
  };
}

function coderUniforms(a: BoxCoderAttrs, n: number, C: number): Record<string, number | number[]> {
  return {
    n,
    zero: 0,
    C,
    r: f(a.maxRatio),
    maxW: a.maxShape ? f(a.maxShape[1]) : 0,
    maxH: a.maxShape ? f(a.maxShape[0]) : 0,
    s: a.stds.map(f),
    m: a.means.map(f),
    w: a.weights.map(f),
  };
}

function boxDecodeKernel(ctx: KernelContext<BoxCoderAttrs, WebGpuBackend>): unknown[] {
  const backend = ctx.backend;
  const a = ctx.attrs;
  const [K, C4] = ctx.inputs[1]!.shape as [number, number];
  const size = sizeOf(ctx.outputs[0]!.shape);
  const out = backend.allocate(size * 4);
  if (size === 0) return [out];
  const n = K * (C4 / 4);
  const clip = a.maxShape !== null;
  dispatch1d(
    backend,
    `boxDecode/${a.style}/${clip ? 'clip' : 'noclip'}`,
    () => boxDecodeProgram(a.style, clip),
    [asHandle(ctx.inputs[0]!.handle).buffer, asHandle(ctx.inputs[1]!.handle).buffer, out.buffer],
    coderUniforms(a, n, C4 / 4),
    n,
  );
  return [out];
}

function boxEncodeKernel(ctx: KernelContext<BoxCoderAttrs, WebGpuBackend>): unknown[] {
  const backend = ctx.backend;
  const a = ctx.attrs;
  const K = ctx.inputs[0]!.shape[0]!;
  const out = backend.allocate(K * 16);
  if (K === 0) return [out];
  dispatch1d(
    backend,
    `boxEncode/${a.style}`,
    () => boxEncodeProgram(a.style),
    [asHandle(ctx.inputs[0]!.handle).buffer, asHandle(ctx.inputs[1]!.handle).buffer, out.buffer],
    coderUniforms(a, K, 1),
    K,
  );
  return [out];
}

// ---------------------------------------------------------------------------------------------
// gridAnchors

export function gridAnchorsProgram(): ProgramDesc {
  return {
    key: 'gridAnchors',
    workgroupSize: WG,
    bindings: [
      { name: 'B', type: 'f32', access: 'read' },
      { name: 'T', type: 'f32', access: 'read' },
      { name: 'O', type: 'f32', access: 'read_write' },
    ],
    uniforms: [
      { name: 'size', type: 'u32' },
      { name: 'zero', type: 'u32' },
      { name: 'A', type: 'u32' },
      { name: 'W', type: 'u32' },
    ],
    header: WGSL_EXACT,
    main: /* wgsl */ `
  if (idx >= u.size) { return; }
  let comp = idx % 4u;
  let r = idx / 4u;
  let a = r % u.A;
  let pos = r / u.A;
  let x = pos % u.W;
  let y = pos / u.W;
  let shift = select(T[u.W + y], T[x], (comp & 1u) == 0u);
  O[idx] = opq(B[4u * a + comp] + shift);`,
  };
}

function gridAnchorsKernel(ctx: KernelContext<GridAnchorsAttrs, WebGpuBackend>): unknown[] {
  const backend = ctx.backend;
  const a = ctx.attrs;
  const A = ctx.inputs[0]!.shape[0]!;
  const size = sizeOf(ctx.outputs[0]!.shape);
  const out = backend.allocate(size * 4);
  if (size === 0) return [out];
  const [H, W] = a.size;
  const [sy, sx] = a.stride;
  // fround(x·sx), fround(y·sy) in double as the cpu (the stride need not be a float32)
  const t = new Float32Array(W + H);
  for (let x = 0; x < W; x++) t[x] = x * sx;
  for (let y = 0; y < H; y++) t[W + y] = y * sy;
  const table = backend.write(t, 'float32', [W + H]);
  try {
    dispatch1d(backend, 'gridAnchors', gridAnchorsProgram, [asHandle(ctx.inputs[0]!.handle).buffer, table.buffer, out.buffer], { size, zero: 0, A, W }, size);
  } finally {
    backend.release(table);
  }
  return [out];
}

// ---------------------------------------------------------------------------------------------
// pasteMasks

const PASTE_UNIFORMS = [
  { name: 'size', type: 'u32' },
  { name: 'zero', type: 'u32' },
  { name: 'H', type: 'u32' },
  { name: 'W', type: 'u32' },
  { name: 'Mh', type: 'u32' },
  { name: 'Mw', type: 'u32' },
  { name: 'sxw', type: 'f32' },
  { name: 'syh', type: 'f32' },
  { name: 'scale', type: 'f32' },
] as const;

const WGSL_PASTE_MMDET = /* wgsl */ `
// mmdet's normalised grid coordinate: ((c + 0.5 - lo) / (hi - lo))·2 - 1, ±inf -> 0
fn grid_coord(c: f32, lo: f32, hi: f32) -> f32 {
  let num = opq(opq(c + 0.5) - lo);
  let den = opq(hi - lo);
  var q: f32;
  if (den == 0.0) {
    if (num == 0.0 || is_nan(num)) { return qnan(); }
    return 0.0;
  }
  q = div_rn(num, den);
  let g = opq(opq(q * 2.0) - 1.0);
  if (is_inf(g)) { return 0.0; }
  return g;
}
fn mval(off: u32, xx: f32, yy: f32) -> f32 {
  if (!(xx >= 0.0 && xx < f32(u.Mw) && yy >= 0.0 && yy < f32(u.Mh))) { return 0.0; }
  return M[off + u32(yy) * u.Mw + u32(xx)];
}
// torch's CPU grid_sample (bilinear, zeros, align_corners=False) at one point, in its order
fn sample(off: u32, gx: f32, gy: f32) -> f32 {
  let ix = opq(opq(opq(gx + 1.0) * u.sxw) - 0.5);
  let iy = opq(opq(opq(gy + 1.0) * u.syh) - 0.5);
  if (is_nan(ix) || is_nan(iy)) { return 0.0; }
  let xw = floor(ix);
  let yn = floor(iy);
  let w = opq(ix - xw);
  let e = opq(1.0 - w);
  let n = opq(iy - yn);
  let s = opq(1.0 - n);
  let nw = mval(off, xw, yn);
  let ne = mval(off, xw + 1.0, yn);
  let sw = mval(off, xw, yn + 1.0);
  let se = mval(off, xw + 1.0, yn + 1.0);
  return opq(opq(opq(opq(nw * opq(s * e)) + opq(ne * opq(s * w))) + opq(sw * opq(n * e))) + opq(se * opq(n * w)));
}
`;

const WGSL_PASTE_TV = /* wgsl */ `
struct Axis { i0: u32, i1: u32, l0: f32, l1: f32 };
// torch upsample linear (align_corners=False, no scale) source taps of output d (as f32) for inSize -> outSize
fn axis(inSize: u32, outSize: f32, d: f32) -> Axis {
  let di = u32(d);
  if (f32(inSize) == outSize) { return Axis(di, di, 1.0, 0.0); }
  let ratio = div_rn(f32(inSize), outSize);
  // fround(ratio·(d + 0.5) − 0.5) from the exact product
  let p = two_prod(ratio, opq(d + 0.5));
  let t = two_sum(p.x, -0.5);
  var src = opq(t.x + opq(t.y + p.y));
  if (src < 0.0) { src = 0.0; }
  let a = u32(src);
  let lam = min(max(opq(src - f32(a)), 0.0), 1.0);
  return Axis(a, a + select(0u, 1u, a < inSize - 1u), opq(1.0 - lam), lam);
}
// the mask padded by one zero pixel on every side
fn pv(off: u32, r: u32, c: u32) -> f32 {
  if (r == 0u || r > u.Mh || c == 0u || c > u.Mw) { return 0.0; }
  return M[off + (r - 1u) * u.Mw + (c - 1u)];
}
`;

export function pasteMasksProgram(mode: PasteMasksAttrs['mode']): ProgramDesc {
  const common = /* wgsl */ `
  if (idx >= u.size) { return; }
  let x = idx % u.W;
  let r1 = idx / u.W;
  let y = r1 % u.H;
  let k = r1 / u.H;
  let off = k * u.Mh * u.Mw;
  let bx0 = Bx[4u * k];
  let by0 = Bx[4u * k + 1u];
  let bx1 = Bx[4u * k + 2u];
  let by1 = Bx[4u * k + 3u];
  let xf = f32(x);
  let yf = f32(y);`;
  let body: string;
  if (mode === 'torchvision') {
    body = /* wgsl */ `
  let wh = opq(opq(opq(bx1 - bx0) * 0.5) * u.scale);
  let hh = opq(opq(opq(by1 - by0) * 0.5) * u.scale);
  let xc = opq(opq(bx1 + bx0) * 0.5);
  let yc = opq(opq(by1 + by0) * 0.5);
  let X0 = trunc(opq(xc - wh));
  let X1 = trunc(opq(xc + wh));
  let Y0 = trunc(opq(yc - hh));
  let Y1 = trunc(opq(yc + hh));
  // outside the (clipped) integer box, or a non-finite box: 0
  if (!(xf >= X0 && xf <= X1 && yf >= Y0 && yf <= Y1) || is_inf(X0) || is_inf(X1) || is_inf(Y0) || is_inf(Y1)) { O[idx] = 0.0; return; }
  let bw = max(opq(opq(X1 - X0) + 1.0), 1.0);
  let bh = max(opq(opq(Y1 - Y0) + 1.0), 1.0);
  let ax = axis(u.Mw + 2u, bw, opq(xf - X0));
  let ay = axis(u.Mh + 2u, bh, opq(yf - Y0));
  let t0 = opq(opq(pv(off, ay.i0, ax.i0) * ax.l0) + opq(pv(off, ay.i0, ax.i1) * ax.l1));
  let t1 = opq(opq(pv(off, ay.i1, ax.i0) * ax.l0) + opq(pv(off, ay.i1, ax.i1) * ax.l1));
  O[idx] = opq(opq(t0 * ay.l0) + opq(t1 * ay.l1));`;
  } else {
    const region =
      mode === 'mmdet-cpu'
        ? `
  // skip_empty: [max(floor(x0) - 1, 0), min(ceil(x1) + 1, W)) × (y likewise); NaN boxes paste nothing
  if (!(opq(xf + 1.0) >= floor(bx0) && opq(xf - 1.0) < ceil(bx1) && opq(yf + 1.0) >= floor(by0) && opq(yf - 1.0) < ceil(by1))) { O[idx] = 0.0; return; }`
        : '';
    body = /* wgsl */ `${region}
  O[idx] = sample(off, grid_coord(xf, bx0, bx1), grid_coord(yf, by0, by1));`;
  }
  return {
    key: `pasteMasks/${mode}`,
    workgroupSize: WG,
    bindings: [
      { name: 'M', type: 'f32', access: 'read' },
      { name: 'Bx', type: 'f32', access: 'read' },
      { name: 'O', type: 'f32', access: 'read_write' },
    ],
    uniforms: PASTE_UNIFORMS,
    header: [WGSL_EXACT, WGSL_BITS, mode === 'torchvision' ? WGSL_PASTE_TV : WGSL_PASTE_MMDET].join('\n'),
    main: common + body,
  };
}

function pasteMasksKernel(ctx: KernelContext<PasteMasksAttrs, WebGpuBackend>): unknown[] {
  const backend = ctx.backend;
  const a = ctx.attrs;
  const [N, Mh, Mw] = ctx.inputs[0]!.shape as [number, number, number];
  const [H, W] = a.size;
  const size = sizeOf(ctx.outputs[0]!.shape);
  const out = backend.allocate(size * 4);
  if (size === 0 || N === 0) return [out];
  dispatch1d(
    backend,
    `pasteMasks/${a.mode}`,
    () => pasteMasksProgram(a.mode),
    [asHandle(ctx.inputs[0]!.handle).buffer, asHandle(ctx.inputs[1]!.handle).buffer, out.buffer],
    { size, zero: 0, H, W, Mh, Mw, sxw: f(Mw / 2), syh: f(Mh / 2), scale: f((Mw + 2) / Mw) },
    size,
  );
  return [out];
}

/** Registers the webgpu kernels of boxDecode, boxEncode, gridAnchors and pasteMasks. */
export function registerBoxKernels(): void {
  registerKernel('boxDecode', 'webgpu', boxDecodeKernel);
  registerKernel('boxEncode', 'webgpu', boxEncodeKernel);
  registerKernel('gridAnchors', 'webgpu', gridAnchorsKernel);
  registerKernel('pasteMasks', 'webgpu', pasteMasksKernel);
}
