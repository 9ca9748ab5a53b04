/**
 * webgpu kernels for detection ops: `roiAlign` (torchvision / mmcv RoIAlign, average mode) and
 * `nms` (greedy non-maximum suppression, optionally class-wise).
 *
 * Semantics are those of the cpu reference kernels (packages/core/src/cpu/kernels/detection.ts),
 * which mirror torchvision 0.14: sample coordinates and IoUs are computed with float32 rounding
 * at every step. The discontinuous decisions are taken on exactly the reference's values on any
 * GPU: every rounded intermediate passes through `opq` (no FMA contraction, no reassociation), and divisions whose result
 * decides something (bin sizes → adaptive grid, a sample landing exactly on -1 or H, an IoU next
 * to the threshold) are correctly rounded with `div_rn` (see resample.ts).
 *
 * roiAlign: one thread per output element (k, c, ph, pw) walking its sampling grid; the adaptive
 * grid size of each RoI is computed in-shader from the RoI. A RoI whose batch index is outside
 * [0, N) gives NaN outputs (the cpu backend throws; a GPU kernel cannot without a readback).
 *
 * nms (async): (1) rank: each box counts the boxes visited before it (score descending, ties by
 * lower index, NaN first) — an O(K²) parallel stable sort; (2) mask: one thread per (row, 32-box
 * word) of the visiting order sets bit j when box j comes later, is of the same class (when
 * `classes` is given) and has IoU > threshold with the row's box; (3) scan: a single workgroup walks
 * the rows in order with the suppressed set in workgroup memory, writes the kept indices and their
 * count (stopping at maxOutput); (4) the count (4 bytes) is read back, the output shape set and the
 * indices copied into an exact-size buffer.
 */
import { type DType, type KernelContext, type NmsAttrs, OpError, type RoiAlignAttrs, registerKernel, sizeOf } from '@tubelet/core';
import { type GpuHandle, type WebGpuBackend, asHandle } from '../backend';
import { bucketSize } from '../pool';
import { type ProgramDesc, linearWorkgroups } from '../program';
import { WG, WGSL_EXACT, WGSL_F16, checkFloat, dispatchFloat, floatBinding, floatBytes, floatOutputMain, loader, zeros } from './resample';

/**
 * 'auto': correctly rounded division only where the hardware quotient is within a few ulps of a
 * decision boundary (the fast path elsewhere is provably the same decision); 'always': every
 * deciding division goes through div_rn (tests use it to exercise the exact path).
 */
let exactMode: 'auto' | 'always' = 'auto';
/** @internal test hook: which division path the detection kernels compile. */
export function setDetectionExactMode(mode: 'auto' | 'always'): void {
  exactMode = mode;
}

// ---------------------------------------------------------------------------------------------
// roiAlign

export function roiAlignProgram(aligned: boolean, adaptive: boolean, dtype: DType, exact: 'auto' | 'always'): ProgramDesc {
  const key = `roiAlign/${aligned ? 'aligned' : 'legacy'}/${adaptive ? 'adaptive' : 'fixed'}/${dtype}/${exact}`;
  // A sample coordinate decides something discontinuous only at the drop bounds -1 and size:
  // near them the offset (i + .5)·bin / grid is recomputed correctly rounded.
  const near = exact === 'always' ? 'true' : 'abs(c + 1.0) <= 1e-5 * max(1.0, abs(c)) || abs(c - size) <= 1e-5 * max(1.0, abs(c))';
  return {
    key,
    workgroupSize: WG,
    bindings: [floatBinding('X', dtype, 'read'), floatBinding('R', dtype, 'read'), floatBinding('Y', dtype, 'read_write')],
    uniforms: [
      { name: 'size', type: 'u32' },
      { name: 'zero', type: 'u32' },
      { name: 'N', type: 'u32' },
      { name: 'C', type: 'u32' },
      { name: 'H', type: 'u32' },
      { name: 'W', type: 'u32' },
      { name: 'oh', type: 'u32' },
      { name: 'ow', type: 'u32' },
      { name: 'ratio', type: 'u32' },
      { name: 'scale', type: 'f32' },
    ],
    header: [
      WGSL_F16,
      WGSL_EXACT,
      loader('X', dtype),
      loader('R', dtype),
      `
struct Sample { ok: bool, lo: u32, hi: u32, w_lo: f32, w_hi: f32 };
// torchvision bilinear_interpolate along one axis (float32): dropped outside [-1, size];
// c <= 0 -> 0; low = (int)c; low >= size - 1 -> low = high = size - 1, all weight on it.
fn axis_sample(start: f32, bin: f32, i: u32, grid: f32, size: f32, n: u32) -> Sample {
  let t = opq((f32(i) + 0.5) * bin);
  var c = opq(start + t / grid);
  if (${near}) { c = opq(start + div_rn(t, grid)); }
  var s = Sample(false, 0u, 0u, 0.0, 0.0);
  if (!(c >= -1.0 && c <= size)) { return s; }
  s.ok = true;
  if (c <= 0.0) { c = 0.0; }
  var lo = u32(c);
  if (lo >= n - 1u) {
    s.lo = n - 1u;
    s.hi = n - 1u;
    s.w_lo = 1.0;
    return s;
  }
  let fr = opq(c - f32(lo));
  s.lo = lo;
  s.hi = lo + 1u;
  s.w_lo = 1.0 - fr;
  s.w_hi = fr;
  return s;
}
fn value(e: u32) -> f32 {
  let pw = e % u.ow;
  let r1 = e / u.ow;
  let ph = r1 % u.oh;
  let r2 = r1 / u.oh;
  let ch = r2 % u.C;
  let k = r2 / u.C;
  let bf = trunc(ld_R(5u * k));
  if (!(bf >= 0.0 && bf < f32(u.N))) { return bitcast<f32>(0x7fc00000u ^ u.zero); }
  let b = u32(bf);
  let off = ${aligned ? '0.5' : '0.0'};
  let sw = opq(opq(ld_R(5u * k + 1u) * u.scale) - off);
  let sh = opq(opq(ld_R(5u * k + 2u) * u.scale) - off);
  let ew = opq(opq(ld_R(5u * k + 3u) * u.scale) - off);
  let eh = opq(opq(ld_R(5u * k + 4u) * u.scale) - off);
  var rw = opq(ew - sw);
  var rh = opq(eh - sh);
  ${aligned ? '' : 'rw = max(rw, 1.0);\n  rh = max(rh, 1.0);'}
  let bin_h = div_rn(rh, f32(u.oh));
  let bin_w = div_rn(rw, f32(u.ow));
  ${
    adaptive
      ? `let gh = u32(max(ceil(bin_h), 0.0));
  let gw = u32(max(ceil(bin_w), 0.0));`
      : 'let gh = u.ratio;\n  let gw = u.ratio;'
  }
  let base_h = opq(sh + opq(f32(ph) * bin_h));
  let base_w = opq(sw + opq(f32(pw) * bin_w));
  let Hf = f32(u.H);
  let Wf = f32(u.W);
  let plane = (b * u.C + ch) * u.H * u.W;
  var acc = 0.0;
  for (var iy = 0u; iy < gh; iy++) {
    let sy = axis_sample(base_h, bin_h, iy, f32(gh), Hf, u.H);
    if (!sy.ok) { continue; }
    let row0 = plane + sy.lo * u.W;
    let row1 = plane + sy.hi * u.W;
    var row = 0.0;
    for (var ix = 0u; ix < gw; ix++) {
      let sx = axis_sample(base_w, bin_w, ix, f32(gw), Wf, u.W);
      if (!sx.ok) { continue; }
      row += sy.w_lo * (sx.w_lo * ld_X(row0 + sx.lo) + sx.w_hi * ld_X(row0 + sx.hi))
           + sy.w_hi * (sx.w_lo * ld_X(row1 + sx.lo) + sx.w_hi * ld_X(row1 + sx.hi));
    }
    acc += row;
  }
  // torchvision divides by max(gh·gw, 1) whether or not samples were dropped
  return acc / f32(max(gh * gw, 1u));
}`,
    ].join('\n'),
    main: floatOutputMain(dtype),
  };
}

function roiAlignKernel(ctx: KernelContext<RoiAlignAttrs, WebGpuBackend>): unknown[] {
  const backend = ctx.backend;
  const a = ctx.attrs;
  const x = ctx.inputs[0]!;
  const rois = ctx.inputs[1]!;
  const o = ctx.outputs[0]!;
  checkFloat('roiAlign', x.dtype);
  const size = sizeOf(o.shape);
  if (size === 0) return [backend.allocate(0)];
  const [N, C, H, W] = x.shape as [number, number, number, number];
  // no input pixels: every sample is dropped or reads nothing (as the cpu kernel: zeros)
  if (x.size === 0) return [zeros(backend, size, o.dtype)];
  const adaptive = a.samplingRatio <= 0;
  const exact = exactMode;
  const key = `roiAlign/${a.aligned ? 'aligned' : 'legacy'}/${adaptive ? 'adaptive' : 'fixed'}/${o.dtype}/${exact}`;
  const out = backend.allocate(floatBytes(size, o.dtype));
  dispatchFloat(
    backend,
    key,
    () => roiAlignProgram(a.aligned, adaptive, o.dtype, exact),
    [asHandle(x.handle).buffer, asHandle(rois.handle).buffer, out.buffer],
    { size, zero: 0, N, C, H, W, oh: a.outputSize[0]!, ow: a.outputSize[1]!, ratio: Math.max(a.samplingRatio, 0), scale: Math.fround(a.spatialScale) },
    size,
    o.dtype,
  );
  return [out];
}

// ---------------------------------------------------------------------------------------------
// nms

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);

/**
 * The largest float32 <= t. The reference compares a float32 IoU with the float64 threshold:
 * for a float32 q, q > t exactly when q > (largest float32 <= t).
 */
export function f32Below(t: number): number {
  if (Number.isNaN(t)) return t;
  const r = Math.fround(t);
  if (r <= t) return r;
  f32buf[0] = r;
  if (r > 0) u32buf[0]! -= 1;
  else if (r === 0) u32buf[0] = 0x80000001; // below +0: the largest negative subnormal
  else u32buf[0]! += 1;
  return f32buf[0]!;
}

/** Boxes visited before box i: score descending, ties by lower index, NaN scores first. */
export function nmsRankProgram(): ProgramDesc {
  return {
    key: 'nms/rank',
    workgroupSize: WG,
    bindings: [
      { name: 'S', type: 'f32', access: 'read' },
      { name: 'ORDER', type: 'u32', access: 'read_write' },
    ],
    uniforms: [{ name: 'K', type: 'u32' }],
    header: `
fn is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
var<workgroup> tile: array<f32, ${WG}>;`,
    main: `
  let i = idx;
  let live = i < u.K;
  var si = 0.0;
  if (live) { si = S[i]; }
  let ni = is_nan(si);
  var rank = 0u;
  let K = u.K;
  for (var t0 = 0u; t0 < K; t0 += ${WG}u) {
    let j0 = t0 + lid.x;
    tile[lid.x] = select(0.0, S[min(j0, K - 1u)], j0 < K);
    workgroupBarrier();
    let n = min(${WG}u, K - t0);
    for (var q = 0u; q < n; q++) {
      let j = t0 + q;
      let sj = tile[q];
      let nj = is_nan(sj);
      let before = select(sj > si || (sj == si && j < i), nj && (!ni || j < i), nj || ni);
      rank += select(0u, 1u, before);
    }
    workgroupBarrier();
  }
  if (live) { ORDER[rank] = i; }`,
  };
}

/**
 * The suppression bitmask over the visiting order: word (r, w) has bit b set when box
 * order[32w + b] is visited after order[r], is of the same class (class-wise only) and its IoU
 * with order[r] is > the threshold (float32 as the reference; see suppress()).
 */
export function nmsMaskProgram(classWords: 0 | 1 | 2, exact: 'auto' | 'always'): ProgramDesc {
  const key = `nms/mask/c${classWords}/${exact}`;
  const bindings: ProgramDesc['bindings'] = [
    { name: 'B', type: 'f32', access: 'read' },
    { name: 'ORDER', type: 'u32', access: 'read' },
    { name: 'CLS', type: 'u32', access: 'read' },
    { name: 'MASK', type: 'u32', access: 'read_write' },
  ];
  const sameClass =
    classWords === 0 ? 'true' : classWords === 1 ? 'CLS[i] == CLS[j]' : 'CLS[2u * i] == CLS[2u * j] && CLS[2u * i + 1u] == CLS[2u * j + 1u]';
  const fast = exact === 'always' ? '' : '  let q = inter / uni;\n  if (abs(q - u.thr) > 1e-5 * abs(u.thr) + 1e-30) { return q > u.thr; }\n';
  return {
    key,
    workgroupSize: WG,
    bindings,
    uniforms: [
      { name: 'K', type: 'u32' },
      { name: 'words', type: 'u32' },
      { name: 'zero', type: 'u32' },
      { name: 'thr', type: 'f32' },
    ],
    header: [
      WGSL_EXACT,
      `
fn area(i: u32) -> f32 { return opq(opq(B[4u * i + 2u] - B[4u * i]) * opq(B[4u * i + 3u] - B[4u * i + 1u])); }
// torchvision: ovr = inter / (area_i + area_j - inter) in float32; suppressed when ovr > thr
// (thr: the largest float32 <= the float64 threshold, so the float32 comparison is the same)
fn suppress(inter: f32, uni: f32) -> bool {
  if (uni == 0.0) { return inter > 0.0 && (bitcast<u32>(uni) & 0x80000000u) == 0u && (is_finite(u.thr) || u.thr < 0.0); }
${fast}  return div_rn(inter, uni) > u.thr;
}`,
    ].join('\n'),
    main: `
  let W = u.words;
  let K = u.K;
  if (idx >= K * W) { return; }
  let r = idx / W;
  let w = idx % W;
  if (w < r / 32u) { return; }
  let i = ORDER[r];
  let ix1 = B[4u * i];
  let iy1 = B[4u * i + 1u];
  let ix2 = B[4u * i + 2u];
  let iy2 = B[4u * i + 3u];
  let ai = area(i);
  var bits = 0u;
  for (var b = 0u; b < 32u; b++) {
    let c = 32u * w + b;
    if (c <= r || c >= K) { continue; }
    let j = ORDER[c];
    if (!(${sameClass})) { continue; }
    let ww = max(0.0, opq(min(ix2, B[4u * j + 2u]) - max(ix1, B[4u * j])));
    let hh = max(0.0, opq(min(iy2, B[4u * j + 3u]) - max(iy1, B[4u * j + 1u])));
    let inter = opq(ww * hh);
    let uni = opq(opq(ai + area(j)) - inter);
    if (suppress(inter, uni)) { bits |= 1u << b; }
  }
  MASK[idx] = bits;`,
  };
}

const SCAN_WG = 64;

/** Greedy scan over the mask rows in visiting order (one workgroup); KEEP[0..n) and COUNT[0] = n. */
export function nmsScanProgram(maxWords: number): ProgramDesc {
  return {
    key: `nms/scan/${maxWords}`,
    workgroupSize: SCAN_WG,
    bindings: [
      { name: 'ORDER', type: 'u32', access: 'read' },
      { name: 'MASK', type: 'u32', access: 'read' },
      { name: 'KEEP', type: 'i32', access: 'read_write' },
      { name: 'COUNT', type: 'u32', access: 'read_write' },
    ],
    uniforms: [
      { name: 'K', type: 'u32' },
      { name: 'words', type: 'u32' },
      { name: 'limit', type: 'u32' },
    ],
    header: `var<workgroup> removed: array<u32, ${maxWords}>;`,
    main: `
  let W = u.words;
  for (var j = lid.x; j < W; j += ${SCAN_WG}u) { removed[j] = 0u; }
  var n = 0u;
  for (var r = 0u; r < u.K; r++) {
    if (n >= u.limit) { break; }
    let w0 = r / 32u;
    // a barrier, then one value for the whole workgroup (the previous row's ORs are visible)
    let word = workgroupUniformLoad(&removed[w0]);
    if ((word & (1u << (r % 32u))) != 0u) { continue; }
    if (lid.x == 0u) { KEEP[n] = i32(ORDER[r]); }
    n += 1u;
    let row = r * W;
    for (var j = w0 + lid.x; j < W; j += ${SCAN_WG}u) { removed[j] |= MASK[row + j]; }
  }
  if (lid.x == 0u) { COUNT[0] = n; }`,
  };
}

export function copyI32Program(): ProgramDesc {
  return {
    key: 'nms/copy',
    workgroupSize: WG,
    bindings: [
      { name: 'A', type: 'i32', access: 'read' },
      { name: 'Y', type: 'i32', access: 'read_write' },
    ],
    uniforms: [{ name: 'size', type: 'u32' }],
    main: '  if (idx >= u.size) { return; }\n  Y[idx] = A[idx];',
  };
}

async function nmsKernel(ctx: KernelContext<NmsAttrs, WebGpuBackend>): Promise<unknown[]> {
  const backend = ctx.backend;
  const a = ctx.attrs;
  const boxes = ctx.inputs[0]!;
  const scores = ctx.inputs[1]!;
  const classes = ctx.inputs[2] ?? null;
  const K = scores.size;
  const limit = a.maxOutput < 0 ? K : Math.min(a.maxOutput, K);
  if (K === 0 || limit === 0) {
    ctx.outputs[0]!.shape = [0];
    return [backend.allocate(0)];
  }
  const words = Math.ceil(K / 32);
  const maskBytes = K * words * 4;
  const maxBinding = backend.limits.maxStorageBufferBindingSize;
  // the whole pooled buffer (its bucket) is bound
  if (bucketSize(maskBytes) > maxBinding) {
    throw new OpError('nms', `${K} boxes need a ${maskBytes}-byte suppression mask, over this device's ${maxBinding}-byte storage binding limit`);
  }
  const maxWords = Math.max(64, 2 ** Math.ceil(Math.log2(words)));
  if (maxWords * 4 + 16 > backend.limits.maxComputeWorkgroupStorageSize) {
    throw new OpError('nms', `${K} boxes exceed this device's workgroup memory for the greedy scan`);
  }
  const classWords = classes === null ? 0 : classes.dtype === 'int64' ? 2 : 1;
  if (classes !== null && classes.dtype !== 'int32' && classes.dtype !== 'int64') {
    throw new OpError('nms', `the webgpu backend takes int32 / int64 classes, got ${classes.dtype}`);
  }
  const exact = exactMode;
  const maxDim = backend.limits.maxComputeWorkgroupsPerDimension;
  const temps: GpuHandle[] = [];
  const temp = (bytes: number) => {
    const h = backend.allocate(bytes);
    temps.push(h);
    return h;
  };
  try {
    const order = temp(K * 4);
    const mask = temp(maskBytes);
    const keep = temp(K * 4);
    const count = temp(4);
    const boxBuf = asHandle(boxes.handle).buffer;
    const clsBuf = classes ? asHandle(classes.handle).buffer : order.buffer; // unused binding when no classes
    const rank = backend.program('nms/rank', nmsRankProgram);
    backend.dispatch(rank, [asHandle(scores.handle).buffer, order.buffer], { K }, linearWorkgroups(K, WG, maxDim));
    const maskP = backend.program(`nms/mask/c${classWords}/${exact}`, () => nmsMaskProgram(classWords as 0 | 1 | 2, exact));
    backend.dispatch(maskP, [boxBuf, order.buffer, clsBuf, mask.buffer], { K, words, zero: 0, thr: f32Below(a.iouThreshold) }, linearWorkgroups(K * words, WG, maxDim));
    const scan = backend.program(`nms/scan/${maxWords}`, () => nmsScanProgram(maxWords));
    backend.dispatch(scan, [order.buffer, mask.buffer, keep.buffer, count.buffer], { K, words, limit }, [1, 1, 1]);
    const n = (await backend.read(count, 'int32', 1))[0] as number;
    if (!(n >= 0 && n <= limit)) throw new OpError('nms', `the GPU scan returned an invalid count ${n}`);
    ctx.outputs[0]!.shape = [n];
    const out = backend.allocate(n * 4);
    if (n > 0) {
      const copy = backend.program('nms/copy', copyI32Program);
      backend.dispatch(copy, [keep.buffer, out.buffer], { size: n }, linearWorkgroups(n, WG, maxDim));
    }
    return [out];
  } finally {
    for (const h of temps) backend.release(h);
  }
}

let registered = false;
/** Registers the webgpu detection kernels: roiAlign, nms (idempotent). */
export function registerDetectionKernels(): void {
  if (registered) return;
  registered = true;
  registerKernel('roiAlign', 'webgpu', roiAlignKernel);
  registerKernel('nms', 'webgpu', nmsKernel);
}
