import { afterEach, describe, expect, it } from 'vitest';
import { registerCpuBackend } from '../src/cpu/backend';
import { registerConvKernels, setColTileLimit } from '../src/cpu/kernels/conv';
import { registerMatmulKernels } from '../src/cpu/kernels/matmul';
import { f16ArrayToF32 } from '../src/dtype';
import { OpError } from '../src/op';
import { conv, convTranspose } from '../src/ops/index';
import { tensor } from '../src/tensor';
import { expectClose, flat, forEachIndex, prod, rand, rng, roundF16, sym } from './helpers';

registerCpuBackend();
registerMatmulKernels();
registerConvKernels();

interface P {
  stride: number[];
  /** [begins..., ends...] */
  pads: number[];
  dilation: number[];
  groups: number;
  outputPadding?: number[];
}

// ---- naive float64 references, straight from the definitions ----

/** torch conv_nd (cross-correlation): out[n,o,p] = b[o] + Σ_{c,k} x[n, g·Cg + c, p·s - pb + k·dil] · w[o, c, k]. */
function convRef(x: Float32Array, xs: number[], w: Float32Array, ws: number[], b: Float32Array | null, p: P) {
  const d = xs.length - 2;
  const [N, C] = xs as [number, number];
  const O = ws[0]!;
  const Cg = ws[1]!;
  const Og = O / p.groups;
  expect(Cg * p.groups).toBe(C);
  const sp = xs.slice(2).map((s, i) => Math.floor((s + p.pads[i]! + p.pads[d + i]! - p.dilation[i]! * (ws[2 + i]! - 1) - 1) / p.stride[i]!) + 1);
  const os = [N, O, ...sp];
  const out = new Float64Array(prod(os));
  forEachIndex(os, (oi) => {
    const [n, o] = oi as [number, number];
    const g = Math.floor(o / Og);
    let s = b ? b[o]! : 0;
    for (let c = 0; c < Cg; c++) {
      forEachIndex(ws.slice(2), (k) => {
        const ip = k.map((kk, i) => oi[2 + i]! * p.stride[i]! - p.pads[i]! + kk * p.dilation[i]!);
        if (ip.some((v, i) => v < 0 || v >= xs[2 + i]!)) return;
        s += x[flat(xs, [n, g * Cg + c, ...ip])]! * w[flat(ws, [o, c, ...k])]!;
      });
    }
    out[flat(os, oi)] = s;
  });
  return { out, shape: os };
}

/** torch conv_transpose_nd as a scatter: out[n, g·Og+o, i·s - pb + k·dil] += x[n, g·Cg+c, i] · w[g·Cg+c, o, k]. */
function convTransposeRef(x: Float32Array, xs: number[], w: Float32Array, ws: number[], b: Float32Array | null, p: P) {
  const d = xs.length - 2;
  const [N, C] = xs as [number, number];
  const Og = ws[1]!;
  const O = Og * p.groups;
  const Cg = C / p.groups;
  const op = p.outputPadding ?? new Array(d).fill(0);
  const sp = xs.slice(2).map((s, i) => (s - 1) * p.stride[i]! - p.pads[i]! - p.pads[d + i]! + p.dilation[i]! * (ws[2 + i]! - 1) + op[i]! + 1);
  const os = [N, O, ...sp];
  const out = new Float64Array(prod(os));
  if (b) forEachIndex(os, (oi) => (out[flat(os, oi)] = b[oi[1]!]!));
  forEachIndex(xs, (xi) => {
    const [n, ci] = xi as [number, number];
    const g = Math.floor(ci / Cg);
    const xv = x[flat(xs, xi)]!;
    for (let o = 0; o < Og; o++) {
      forEachIndex(ws.slice(2), (k) => {
        const opos = k.map((kk, i) => xi[2 + i]! * p.stride[i]! - p.pads[i]! + kk * p.dilation[i]!);
        if (opos.some((v, i) => v < 0 || v >= sp[i]!)) return;
        out[flat(os, [n, g * Og + o, ...opos])] += xv * w[flat(ws, [ci, o, ...k])]!;
      });
    }
  });
  return { out, shape: os };
}

const ones = (d: number) => new Array<number>(d).fill(1);

/** `p` with the torch defaults for `d` spatial dims filled in (outputPadding left as given). */
function withDefaults(p: Partial<P>, d: number): P {
  return { stride: p.stride ?? ones(d), pads: p.pads ?? new Array(2 * d).fill(0), dilation: p.dilation ?? ones(d), groups: p.groups ?? 1 };
}

/** The conv / convTranspose op arguments for `p` (outputPadding aside). */
const convArgs = (p: P) => ({ stride: p.stride, padding: p.pads, dilation: p.dilation, groups: p.groups });

/** Random x, w and, when `biasLen` is given, a bias, drawn in that order from rng(seed). */
function operands(xs: number[], ws: number[], biasLen: number | null, seed: number) {
  const r = rng(seed);
  const x = rand(r, prod(xs));
  const w = rand(r, prod(ws));
  return { x, w, b: biasLen === null ? null : rand(r, biasLen) };
}

function checkConv(xs: number[], ws: number[], p: Partial<P>, bias: boolean, seed: number): void {
  const full = withDefaults(p, xs.length - 2);
  const { x, w, b } = operands(xs, ws, bias ? ws[0]! : null, seed);
  const ref = convRef(x, xs, w, ws, b, full);
  const y = conv(tensor(x, xs), tensor(w, ws), b ? tensor(b, [ws[0]!]) : null, convArgs(full));
  expect(y.shape).toEqual(ref.shape);
  expectClose(y.dataSync() as Float32Array, ref.out);
}

function checkConvT(xs: number[], ws: number[], p: Partial<P>, bias: boolean, seed: number): void {
  const d = xs.length - 2;
  const full: P = { ...withDefaults(p, d), outputPadding: p.outputPadding ?? new Array(d).fill(0) };
  const O = ws[1]! * full.groups;
  const { x, w, b } = operands(xs, ws, bias ? O : null, seed);
  const ref = convTransposeRef(x, xs, w, ws, b, full);
  const y = convTranspose(tensor(x, xs), tensor(w, ws), b ? tensor(b, [O]) : null, { ...convArgs(full), outputPadding: full.outputPadding });
  expect(y.shape).toEqual(ref.shape);
  expectClose(y.dataSync() as Float32Array, ref.out);
}

let savedLimit: number | null = null;
afterEach(() => {
  if (savedLimit !== null) setColTileLimit(savedLimit);
  savedLimit = null;
});

describe('cpu conv (im2col + GEMM)', () => {
  it('1d: stride, dilation, asymmetric pads, groups 2', () => {
    checkConv([2, 4, 11], [6, 2, 3], { stride: [2], pads: [1, 2], dilation: [2], groups: 2 }, true, 1);
    checkConv([1, 3, 17], [5, 3, 4], { stride: [3], pads: [0, 3] }, false, 2);
  });

  it('2d: asymmetric pads, mixed strides and dilation', () => {
    checkConv([1, 3, 9, 8], [5, 3, 3, 3], { stride: [2, 1], pads: [1, 0, 2, 1], dilation: [1, 2] }, true, 3);
    checkConv([2, 4, 7, 6], [6, 2, 2, 3], { stride: [1, 2], pads: [0, 1, 1, 0], groups: 2 }, false, 4);
    checkConv([1, 6, 8, 8], [9, 2, 3, 3], { pads: sym([1, 1]), groups: 3 }, true, 5);
    checkConv([1, 70, 5, 4], [67, 70, 3, 2], { pads: sym([1, 0]) }, true, 6); // GEMM with M, K beyond one block
  });

  it('3d: groups, stride, padding', () => {
    checkConv([1, 4, 5, 6, 7], [4, 2, 3, 2, 3], { pads: sym([1, 1, 1]), groups: 2 }, true, 7);
    checkConv([2, 3, 6, 5, 7], [4, 3, 3, 3, 3], { stride: [2, 1, 2], pads: [1, 0, 2, 0, 1, 1], dilation: [1, 2, 1] }, false, 8);
  });

  it('1×1 convolutions: pure GEMM path (groups too) and the strided / padded general path', () => {
    checkConv([2, 8, 4, 5], [6, 8, 1, 1], {}, true, 9);
    checkConv([1, 6, 3, 4, 5], [4, 3, 1, 1, 1], { groups: 2 }, true, 10);
    checkConv([2, 5, 9], [3, 5, 1], {}, false, 11);
    checkConv([1, 4, 7, 6], [3, 4, 1, 1], { stride: [2, 2] }, true, 12);
    checkConv([1, 4, 5, 6], [3, 4, 1, 1], { pads: [0, 1, 2, 0] }, true, 13); // end padding: bias-only border
  });

  it('im2col tiling over output rows gives the same result (rows not dividing the tile)', () => {
    savedLimit = setColTileLimit(1000); // 3 and 7 rows per tile
    checkConv([1, 3, 5, 7, 6], [4, 3, 3, 3, 2], { pads: sym([1, 1, 0]), stride: [1, 2, 1] }, true, 14);
    checkConv([2, 4, 9, 7], [6, 2, 3, 3], { pads: sym([1, 1]), groups: 2 }, true, 15);
  });
});

describe('cpu conv (direct depthwise)', () => {
  it('UniFormer DWConv: 3d 5×5×5 padding 2 and 3×3×3 padding 1 with bias', () => {
    checkConv([2, 6, 5, 6, 7], [6, 1, 5, 5, 5], { pads: sym([2, 2, 2]), groups: 6 }, true, 20);
    checkConv([1, 5, 4, 7, 6], [5, 1, 3, 3, 3], { pads: sym([1, 1, 1]), groups: 5 }, true, 21);
  });

  it('depthwise with stride, dilation, asymmetric pads in 1d/2d/3d, and a channel multiplier', () => {
    checkConv([2, 3, 13], [3, 1, 3], { stride: [2], pads: [2, 0], dilation: [3], groups: 3 }, true, 22);
    checkConv([1, 4, 9, 10], [4, 1, 3, 5], { stride: [2, 3], pads: [1, 2, 0, 2], dilation: [2, 1], groups: 4 }, false, 23);
    checkConv([1, 3, 5, 6, 7], [3, 1, 3, 3, 3], { stride: [2, 2, 1], pads: [1, 0, 1, 0, 1, 2], groups: 3 }, true, 24);
    checkConv([1, 3, 6, 6], [6, 1, 3, 3], { pads: sym([1, 1]), groups: 3 }, true, 25); // 2 outputs per input channel
    checkConv([1, 2, 3, 3], [2, 1, 5, 5], { pads: sym([2, 2]), groups: 2 }, true, 26); // kernel wider than the input
    checkConv([1, 3, 8, 13], [3, 1, 3, 5], { pads: [1, 3, 2, 4], dilation: [1, 2], groups: 3 }, true, 28); // fused dilated row taps
    checkConv([2, 2, 12], [2, 1, 3], { pads: [2, 0], dilation: [2], groups: 2 }, false, 29);
    checkConv([1, 2, 9], [2, 1, 5], { pads: [1, 3], groups: 2 }, true, 30);
  });

  it('closed form: 3×3 conv of ones with zero padding counts the valid taps', () => {
    const y = conv(tensor(new Float32Array(16).fill(1), [1, 1, 4, 4]), tensor(new Float32Array(9).fill(1), [1, 1, 3, 3]), null, { padding: 1 });
    expect(Array.from(y.dataSync() as Float32Array)).toEqual([4, 6, 6, 4, 6, 9, 9, 6, 6, 9, 9, 6, 4, 6, 6, 4]);
    const y2 = conv(tensor(new Float32Array(2 * 16).fill(1), [1, 2, 4, 4]), tensor(new Float32Array(18).fill(1), [1, 2, 3, 3]), tensor([0.5], [1]));
    expect(Array.from(y2.dataSync() as Float32Array)).toEqual([18.5, 18.5, 18.5, 18.5]);
  });

  it('float16 (direct and GEMM paths)', () => {
    const r = rng(27);
    const x = roundF16(rand(r, 2 * 4 * 5 * 6));
    const w = roundF16(rand(r, 4 * 9));
    const w2 = roundF16(rand(r, 3 * 4 * 9));
    const b = roundF16(rand(r, 4));
    const p: P = { stride: [1, 1], pads: [1, 1, 1, 1], dilation: [1, 1], groups: 4 };
    const y = conv(tensor(x, [2, 4, 5, 6], { dtype: 'float16' }), tensor(w, [4, 1, 3, 3], { dtype: 'float16' }), tensor(b, [4], { dtype: 'float16' }), {
      padding: 1,
      groups: 4,
    });
    expect(y.dtype).toBe('float16');
    expectClose(f16ArrayToF32(y.dataSync() as Uint16Array), convRef(x, [2, 4, 5, 6], w, [4, 1, 3, 3], b, p).out, 1e-2);
    const y2 = conv(tensor(x, [2, 4, 5, 6], { dtype: 'float16' }), tensor(w2, [3, 4, 3, 3], { dtype: 'float16' }), null, { stride: 2 });
    expectClose(f16ArrayToF32(y2.dataSync() as Uint16Array), convRef(x, [2, 4, 5, 6], w2, [3, 4, 3, 3], null, { ...p, pads: [0, 0, 0, 0], stride: [2, 2], groups: 1 }).out, 1e-2);
  });

  it('validation errors come from the descriptor and name the shapes', () => {
    const x = tensor(new Float32Array(2 * 3 * 5 * 5), [2, 3, 5, 5]);
    const w = tensor(new Float32Array(4 * 2 * 3 * 3), [4, 2, 3, 3]);
    expect(() => conv(x, w)).toThrow(OpError);
    expect(() => conv(x, w)).toThrow(/\[4, 2, 3, 3\].*\[2, 3, 5, 5\]/);
    expect(() => conv(x, tensor(new Float32Array(4 * 3 * 7 * 7), [4, 3, 7, 7]))).toThrow(/smaller than the kernel/);
    expect(() => convTranspose(x, w)).toThrow(/\[4, 2, 3, 3\].*\[2, 3, 5, 5\]/);
  });
});

describe('cpu convTranspose (GEMM + col2im)', () => {
  it('pose-head deconv: 2d stride 2, kernel 4, padding 1, with bias', () => {
    checkConvT([2, 5, 4, 3], [5, 3, 4, 4], { stride: [2, 2], pads: sym([1, 1]) }, true, 40);
  });

  it('1d/2d/3d with groups, dilation, asymmetric pads and output padding', () => {
    checkConvT([1, 4, 7], [4, 3, 3], { stride: [3], pads: [1, 2], dilation: [2], groups: 2, outputPadding: [1] }, true, 41);
    checkConvT([2, 6, 3, 4], [6, 2, 3, 2], { stride: [2, 1], pads: [0, 1, 1, 0], groups: 3, outputPadding: [1, 0] }, false, 42);
    checkConvT([1, 4, 3, 4, 3], [4, 2, 3, 2, 3], { stride: [1, 2, 2], pads: sym([1, 0, 1]), groups: 2 }, true, 43);
    checkConvT([1, 3, 5, 5], [3, 1, 3, 3], { stride: [2, 2], pads: sym([1, 1]), groups: 3, outputPadding: [1, 1] }, true, 44); // depthwise
    checkConvT([1, 70, 3, 2], [70, 9, 2, 2], { stride: [2, 2] }, true, 45);
  });

  it('1×1 (plain GEMM) and 1×1 strided', () => {
    checkConvT([2, 6, 3, 4], [6, 2, 1, 1], { groups: 3 }, true, 46);
    checkConvT([1, 4, 3, 3], [4, 3, 1, 1], { stride: [2, 2] }, true, 47);
  });

  it('col2im tiling over input rows gives the same result', () => {
    savedLimit = setColTileLimit(300); // 2 and 1 input rows per tile
    checkConvT([1, 4, 5, 3], [4, 3, 4, 4], { stride: [2, 2], pads: sym([1, 1]) }, true, 48);
    checkConvT([1, 2, 3, 4, 3], [2, 2, 3, 3, 3], { stride: [2, 1, 2], pads: sym([1, 1, 1]) }, false, 49);
  });

  it('closed form: stride-2 kernel-2 deconv of ones tiles the weight', () => {
    const w = Float32Array.of(1, 2, 3, 4);
    const y = convTranspose(tensor(new Float32Array(4).fill(1), [1, 1, 2, 2]), tensor(w, [1, 1, 2, 2]), null, { stride: 2 });
    expect(y.shape).toEqual([1, 1, 4, 4]);
    expect(Array.from(y.dataSync() as Float32Array)).toEqual([1, 2, 1, 2, 3, 4, 3, 4, 1, 2, 1, 2, 3, 4, 3, 4]);
  });

  it('float16', () => {
    const r = rng(50);
    const x = roundF16(rand(r, 1 * 4 * 3 * 3));
    const w = roundF16(rand(r, 4 * 2 * 4 * 4));
    const y = convTranspose(tensor(x, [1, 4, 3, 3], { dtype: 'float16' }), tensor(w, [4, 2, 4, 4], { dtype: 'float16' }), null, { stride: 2, padding: 1 });
    expect(y.dtype).toBe('float16');
    const ref = convTransposeRef(x, [1, 4, 3, 3], w, [4, 2, 4, 4], null, { stride: [2, 2], pads: [1, 1, 1, 1], dilation: [1, 1], groups: 1 });
    expect(y.shape).toEqual(ref.shape);
    expectClose(f16ArrayToF32(y.dataSync() as Uint16Array), ref.out, 1e-2);
  });
});

describe('convTranspose regressions', () => {
  it('a 1×1 kernel with padding/dilation/outputPadding that keeps the element count is not treated as pointwise', async () => {
    const { convTranspose: ct, tensor: mk } = await import('../src/index');
    const x = mk(Float32Array.from({ length: 16 }, (_, i) => i + 1), [1, 1, 4, 4]);
    const w = mk(new Float32Array([1]), [1, 1, 1, 1]);
    const y = ct(x, w, null, { padding: [0, 0, 2, 0], dilation: [1, 5], outputPadding: [0, 4] });
    expect(y.shape).toEqual([1, 1, 2, 8]);
    // stride 1 and a single tap (dilation moves no tap): out[oh, ow] = x[oh, ow]; the end padding of 2 crops
    // rows 2-3 and the output padding adds 4 zero columns; the old pointwise shortcut copied x flat
    const want = new Float32Array(16);
    for (let ih = 0; ih < 2; ih++) for (let iw = 0; iw < 4; iw++) want[ih * 8 + iw] = ih * 4 + iw + 1;
    expect(Array.from(y.dataSync() as Float32Array)).toEqual(Array.from(want));
  });
});
