/**
 * Closed-form cases: expected values derived by hand (or from a closed-form expression evaluated
 * in double precision here), for semantics onnxruntime cannot pin down or pins down differently
 * from PyTorch: NaN/Inf propagation, integer wrap/truncation, tie rules, the PyTorch ceil-mode
 * pooling rule, interpolate with one output pixel, float16 rounding, NMS ties and thresholds.
 */
import { host, tol } from './codec';
import { opCase } from './cases';
import type { HostTensor, OpCase, Tolerance } from './types';

const { f32, i32, i64, u8, bool } = host;
const inf = Infinity;
const nan = NaN;

/** float16 from raw bit patterns (so expected values never go through our own rounding code). */
function f16bits(shape: number[], bits: number[]): HostTensor<'float16'> {
  return { dtype: 'float16', shape, data: Uint16Array.from(bits) };
}

const EXACT = tol(0, 0);
const ULP = tol(0, 2.5e-7); // ~2 float32 ulps
const TRANSC = tol(1e-7, 2e-6);

function cf(
  name: string,
  op: string,
  inputs: (HostTensor | null)[],
  attrs: Record<string, unknown>,
  expected: HostTensor[],
  t: Tolerance = ULP,
  note?: string,
): OpCase {
  return opCase({ name: `${op}/cf-${name}`, op, inputs, attrs, expected, tol: t, source: 'closed-form', ...(note ? { note } : {}) });
}

/** Φ(x) at a few points (standard normal CDF, from tables to 16 digits). */
const PHI: Record<number, number> = {
  [-3]: 0.0013498980316300946,
  [-2]: 0.022750131948179195,
  [-1]: 0.15865525393145707,
  0: 0.5,
  0.5: 0.6914624612740131,
  1: 0.8413447460685429,
  2: 0.9772498680518208,
  3: 0.9986501019683699,
};
const geluTanh = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));

let cache: OpCase[] | null = null;

export function closedFormCases(): OpCase[] {
  if (cache) return cache;
  const c: OpCase[] = [];

  // ---- arithmetic -------------------------------------------------------------------------
  c.push(
    cf('int32-trunc', 'div', [i32([7], [-7, 7, -7, 7, 0, -1, 6]), i32([7], [2, 2, -2, -2, 3, 2, -4])], {}, [i32([7], [-3, 3, 3, -3, 0, 0, -1])], EXACT, 'integer division truncates toward zero (torch div rounding_mode="trunc"; C semantics)'),
    cf('int64-trunc', 'div', [i64([5], [-7n, 7n, -(2n ** 40n) - 1n, 9n, -1n]), i64([5], [2n, -2n, 2n, 10n, 3n])], {}, [i64([5], [-3n, -3n, -(2n ** 39n), 0n, 0n])], EXACT),
    cf('uint8-trunc', 'div', [u8([3], [7, 200, 1]), u8([3], [2, 3, 2])], {}, [u8([3], [3, 66, 0])], EXACT),
    cf('float-by-zero', 'div', [f32([4], [1, -1, 0, 6]), f32([4], [0, 0, 0, -3])], {}, [f32([4], [inf, -inf, nan, -2])]),
    cf('uint8-wrap', 'add', [u8([3], [200, 255, 1]), u8([3], [100, 1, 2])], {}, [u8([3], [44, 0, 3])], EXACT, 'uint8 arithmetic wraps modulo 256 (torch)'),
    cf('int32-wrap', 'add', [i32([2], [2147483647, -2147483648]), i32([2], [1, -1])], {}, [i32([2], [-2147483648, 2147483647])], EXACT, 'int32 overflow wraps (two\'s complement, as torch on CPU/GPU)'),
    cf('int64-big', 'add', [i64([2], [2n ** 53n, -(2n ** 62n)]), i64([2], [1n, -(2n ** 62n) + 1n])], {}, [i64([2], [2n ** 53n + 1n, -(2n ** 63n) + 1n])], EXACT, 'int64 beyond 2^53 must not go through float64'),
    cf('uint8-wrap', 'sub', [u8([3], [1, 0, 9]), u8([3], [2, 1, 3])], {}, [u8([3], [255, 255, 6])], EXACT),
    cf('inf-nan', 'sub', [f32([3], [inf, inf, 1]), f32([3], [inf, -inf, nan])], {}, [f32([3], [nan, inf, nan])]),
    cf('int64-big', 'mul', [i64([2], [3037000499n, -(2n ** 31n)]), i64([2], [3037000499n, 2n ** 31n])], {}, [i64([2], [9223372030926249001n, -(2n ** 62n)])], EXACT),
    cf('inf-times-zero', 'mul', [f32([3], [inf, -inf, 0]), f32([3], [0, 2, -1])], {}, [f32([3], [nan, -inf, -0])]),
    cf(
      'special',
      'pow',
      [f32([9], [-2, -2, 0, 2, 4, 9, -8, 0, 2]), f32([9], [3, 0.5, 0, -1, 0.5, -0.5, 1 / 3, -1, inf])],
      {},
      [f32([9], [-8, nan, 1, 0.5, 2, 1 / 3, nan, inf, inf])],
      TRANSC,
      'C pow: negative base with a non-integer exponent is NaN, 0^0 = 1, 0^-1 = inf',
    ),
    cf('one-to-nan', 'pow', [f32([2], [1, nan]), f32([2], [nan, 0])], {}, [f32([2], [1, 1])], TRANSC, 'C/torch pow: 1^y = 1 and x^0 = 1 even for NaN'),
    cf('nan', 'minimum', [f32([4], [nan, 1, 2, -inf]), f32([4], [1, nan, 3, 5])], {}, [f32([4], [nan, nan, 2, -inf])], EXACT, 'torch.minimum propagates NaN'),
    cf('nan', 'maximum', [f32([4], [nan, 1, 2, -inf]), f32([4], [1, nan, 3, 5])], {}, [f32([4], [nan, nan, 3, 5])], EXACT, 'torch.maximum propagates NaN'),
    cf('int64', 'maximum', [i64([2], [2n ** 60n, -5n]), i64([2], [2n ** 60n + 1n, -6n])], {}, [i64([2], [2n ** 60n + 1n, -5n])], EXACT),
  );

  // ---- comparisons ------------------------------------------------------------------------
  c.push(
    cf('nan-zero', 'equal', [f32([4], [nan, 0, -0, inf]), f32([4], [nan, -0, 0, inf])], {}, [bool([4], [0, 1, 1, 1])], EXACT, 'NaN != NaN; -0 == 0'),
    cf('nan-inf', 'greater', [f32([4], [nan, inf, 1, 3.4e38]), f32([4], [1, 3.4e38, nan, -inf])], {}, [bool([4], [0, 1, 0, 1])], EXACT),
    cf('nan', 'greaterEqual', [f32([3], [nan, 2, 2]), f32([3], [nan, 2, 3])], {}, [bool([3], [0, 1, 0])], EXACT),
    cf('nan', 'less', [f32([3], [nan, -inf, 2]), f32([3], [1, -3.4e38, 2])], {}, [bool([3], [0, 1, 0])], EXACT),
    cf('int64-big', 'lessEqual', [i64([3], [2n ** 53n, 2n ** 53n + 1n, -1n]), i64([3], [2n ** 53n + 1n, 2n ** 53n, -1n])], {}, [bool([3], [1, 0, 1])], EXACT, 'int64 compare beyond 2^53'),
  );

  // ---- unary ------------------------------------------------------------------------------
  c.push(
    cf('half-even', 'round', [f32([12], [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999997, 3.5, 4.5, -2.6, 2.4, 8388607.5])], {}, [f32([12], [0, 2, 2, -0, -2, -2, 0, 4, 4, -3, 2, 8388608])], EXACT, 'torch.round: half to even'),
    cf('special', 'floor', [f32([7], [-1.5, -0.5, 0.5, 1.5, -0, inf, nan])], {}, [f32([7], [-2, -1, 0, 1, -0, inf, nan])], EXACT),
    cf('special', 'ceil', [f32([7], [-1.5, -0.5, 0.5, 1.5, 0, -inf, nan])], {}, [f32([7], [-1, -0, 1, 2, 0, -inf, nan])], EXACT),
    cf('special', 'sqrt', [f32([5], [4, 0, -1, inf, 2])], {}, [f32([5], [2, 0, nan, inf, Math.SQRT2])]),
    cf('special', 'rsqrt', [f32([7], [4, 0.25, 1, 0, inf, -1, 2])], {}, [f32([7], [0.5, 2, 1, inf, 0, nan, Math.SQRT1_2])], TRANSC),
    cf('special', 'log', [f32([5], [1, 0, -1, Math.E, inf])], {}, [f32([5], [0, -inf, nan, 1, inf])], TRANSC),
    cf('special', 'exp', [f32([6], [0, 1, -inf, inf, 89, -110])], {}, [f32([6], [1, Math.E, 0, inf, inf, 0])], TRANSC, 'exp overflows to inf above ~88.72 and underflows to 0'),
    cf('special', 'reciprocal', [f32([5], [2, -4, 0, -0, inf])], {}, [f32([5], [0.5, -0.25, inf, -inf, 0])], EXACT),
    cf('special', 'sigmoid', [f32([6], [0, 100, -100, -inf, inf, nan])], {}, [f32([6], [0.5, 1, 0, 0, 1, nan])], TRANSC),
    cf('special', 'tanh', [f32([5], [0, inf, -inf, 20, nan])], {}, [f32([5], [0, 1, -1, 1, nan])], TRANSC),
    cf('special', 'relu', [f32([5], [nan, -0, -inf, inf, -1])], {}, [f32([5], [nan, 0, 0, inf, 0])], EXACT, 'relu(NaN) = NaN (torch)'),
    cf('special', 'neg', [f32([4], [0, -inf, nan, 1.5])], {}, [f32([4], [-0, inf, nan, -1.5])], EXACT),
    cf('int64-big', 'neg', [i64([3], [2n ** 53n + 1n, -(2n ** 62n), 0n])], {}, [i64([3], [-(2n ** 53n) - 1n, 2n ** 62n, 0n])], EXACT),
    cf('int32', 'abs', [i32([4], [-2147483647, 5, 0, -1])], {}, [i32([4], [2147483647, 5, 0, 1])], EXACT),
    cf('int64-big', 'abs', [i64([2], [-(2n ** 53n) - 1n, 7n])], {}, [i64([2], [2n ** 53n + 1n, 7n])], EXACT),
    cf(
      'known',
      'erf',
      [f32([9], [0, 0.5, 1, 2, -1, 3, -inf, inf, nan])],
      {},
      [f32([9], [0, 0.5204998778130465, 0.8427007929497149, 0.9953222650189527, -0.8427007929497149, 0.9999779095030014, -1, 1, nan])],
      TRANSC,
      'erf from tables',
    ),
  );
  const gx = [0, 1, -1, 2, -2, 0.5, -3, 3];
  c.push(
    cf('exact-known', 'gelu', [f32([8], gx)], { approximate: 'none' }, [f32([8], gx.map((x) => x * PHI[x]!))], TRANSC, 'x·Φ(x) from normal-CDF tables'),
    cf('default-is-exact', 'gelu', [f32([3], [1, -1, 2])], {}, [f32([3], [PHI[1]!, -PHI[-1]!, 2 * PHI[2]!])], TRANSC),
    cf('tanh-known', 'gelu', [f32([8], gx)], { approximate: 'tanh' }, [f32([8], gx.map(geluTanh))], TRANSC, '0.5x(1+tanh(√(2/π)(x+0.044715x³))) in double'),
  );

  // ---- clamp / where / cast ---------------------------------------------------------------
  c.push(
    cf('inf-bounds', 'clamp', [f32([6], [-inf, -5, 0, 5, inf, nan])], { min: -1 }, [f32([6], [-1, -1, 0, 5, inf, nan])], EXACT, 'only a lower bound; NaN passes through (torch.clamp)'),
    cf('max-only', 'clamp', [f32([4], [-inf, -5, 3, inf])], { max: 2 }, [f32([4], [-inf, -5, 2, 2])], EXACT),
    cf('explicit-inf', 'clamp', [f32([3], [-inf, 0, inf])], { min: -inf, max: inf }, [f32([3], [-inf, 0, inf])], EXACT),
    cf('int32', 'clamp', [i32([4], [-5, 0, 7, 3])], { min: -2, max: 3 }, [i32([4], [-2, 0, 3, 3])], EXACT),
    cf('int64', 'clamp', [i64([3], [-(2n ** 40n), 5n, 2n ** 40n])], { min: -3, max: 1000 }, [i64([3], [-3n, 5n, 1000n])], EXACT),
    cf('broadcast-3way', 'where', [bool([2, 1], [1, 0]), f32([3], [1, 2, 3]), f32([], [9])], {}, [f32([2, 3], [1, 2, 3, 9, 9, 9])], EXACT),
    cf('nan-values', 'where', [bool([3], [1, 0, 1]), f32([3], [nan, 1, inf]), f32([3], [0, nan, 0])], {}, [f32([3], [nan, nan, inf])], EXACT),
    cf('int64', 'where', [bool([2], [0, 1]), i64([2], [2n ** 60n, 1n]), i64([2], [3n, -(2n ** 60n)])], {}, [i64([2], [3n, 1n])], EXACT),
    cf('float-to-int32-trunc', 'cast', [f32([6], [2.7, -2.7, 0.5, -0.5, 1e9, -0])], { dtype: 'int32' }, [i32([6], [2, -2, 0, 0, 1000000000, 0])], EXACT, 'float → int truncates toward zero'),
    cf('float-to-bool', 'cast', [f32([6], [0, -0, 0.1, nan, inf, -3])], { dtype: 'bool' }, [bool([6], [0, 0, 1, 1, 1, 1])], EXACT, 'x != 0, so NaN → true'),
    cf('float-to-int64', 'cast', [f32([3], [2.9, -2.9, 1e15])], { dtype: 'int64' }, [i64([3], [2n, -2n, 999999986991104n])], EXACT, '1e15 in float32 is 999999986991104'),
    cf('float-to-uint8', 'cast', [f32([4], [0, 1.9, 255, 254.5])], { dtype: 'uint8' }, [u8([4], [0, 1, 255, 254])], EXACT),
    cf('int32-to-float-rounds', 'cast', [i32([3], [16777217, -16777219, 7])], { dtype: 'float32' }, [f32([3], [16777216, -16777220, 7])], EXACT, 'int → float32 rounds to nearest even'),
    cf('int64-to-int32-wrap', 'cast', [i64([3], [5n, -7n, 2n ** 32n + 5n])], { dtype: 'int32' }, [i32([3], [5, -7, 5])], EXACT, 'narrowing wraps (two\'s complement)'),
    cf('int64-to-float', 'cast', [i64([2], [2n ** 53n + 1n, -3n])], { dtype: 'float32' }, [f32([2], [2 ** 53, -3])], EXACT),
    cf('bool-to-float', 'cast', [bool([3], [1, 0, 1])], { dtype: 'float32' }, [f32([3], [1, 0, 1])], EXACT),
    cf('bool-to-int32', 'cast', [bool([2], [1, 0])], { dtype: 'int32' }, [i32([2], [1, 0])], EXACT),
    cf('uint8-to-int32', 'cast', [u8([2], [255, 0])], { dtype: 'int32' }, [i32([2], [255, 0])], EXACT),
    cf(
      'float16-rounding',
      'cast',
      [f32([11], [1 + 2 ** -11, 1 + 3 * 2 ** -11, 65504, 65519.99, 65520, 2 ** -25, 3 * 2 ** -26, 2 ** -24, -0, 1 / 3, -70000])],
      { dtype: 'float16' },
      [f16bits([11], [0x3c00, 0x3c02, 0x7bff, 0x7bff, 0x7c00, 0x0000, 0x0001, 0x0001, 0x8000, 0x3555, 0xfc00])],
      EXACT,
      'float32 → float16 rounds to nearest even: ties to even, 65520 overflows to inf, 2^-25 ties down to 0, subnormals kept',
    ),
    cf('float16-nan', 'cast', [f32([2], [nan, -inf])], { dtype: 'float16' }, [f16bits([2], [0x7e00, 0xfc00])], EXACT),
    cf(
      'float16-to-float32',
      'cast',
      [f16bits([6], [0x3c00, 0x0001, 0x7bff, 0xfc00, 0x3555, 0x8000])],
      { dtype: 'float32' },
      [f32([6], [1, 2 ** -24, 65504, -inf, 0.333251953125, -0])],
      EXACT,
    ),
  );

  // ---- reductions -------------------------------------------------------------------------
  c.push(
    cf('nan-propagates', 'max', [f32([2, 3], [1, nan, 3, 4, 5, 6])], { axes: [1] }, [f32([2], [nan, 6])], EXACT, 'torch.amax propagates NaN (onnxruntime ReduceMax ignores it)'),
    cf('nan-propagates', 'min', [f32([2, 3], [1, nan, 3, 4, 5, 6])], { axes: 1 }, [f32([2], [nan, 4])], EXACT),
    cf('int32-all', 'sum', [i32([2, 3], [1, 2, 3, 4, 5, -6])], {}, [i32([], [9])], EXACT),
    cf('empty-axis', 'sum', [f32([2, 0], [])], { axes: [1] }, [f32([2], [0, 0])], EXACT, 'sum over an empty axis is 0'),
    cf('keepdims', 'mean', [f32([2, 2], [1, 2, 3, 5])], { axes: [-1], keepDims: true }, [f32([2, 1], [1.5, 4])], EXACT),
    cf('inf', 'sum', [f32([3], [inf, 1, -inf])], {}, [f32([], [nan])], EXACT),
    cf('nan-is-largest', 'argmax', [f32([2, 3], [1, nan, 3, 7, 7, 2])], { axis: 1 }, [i32([2], [1, 0])], EXACT, 'torch: NaN counts as the maximum; ties give the first index'),
    cf('nan-is-smallest', 'argmin', [f32([2, 3], [1, nan, -3, 2, -1, -1])], { axis: -1, keepDims: true }, [i32([2, 1], [1, 1])], EXACT),
    cf(
      'ties-stable',
      'topk',
      [f32([6], [1, 3, 3, 2, 3, 1])],
      { k: 4 },
      [f32([4], [3, 3, 3, 2]), i32([4], [1, 2, 4, 3])],
      EXACT,
      'equal values keep the lower index first',
    ),
    cf('ties-smallest', 'topk', [f32([6], [1, 3, 3, 2, 3, 1])], { k: 3, largest: false }, [f32([3], [1, 1, 2]), i32([3], [0, 5, 3])], EXACT),
    cf('nan-largest', 'topk', [f32([4], [1, nan, 3, inf])], { k: 3 }, [f32([3], [nan, inf, 3]), i32([3], [1, 3, 2])], EXACT, 'torch.topk sorts NaN above +inf'),
  );

  // ---- normalisation ----------------------------------------------------------------------
  c.push(
    cf('equal-logits', 'softmax', [f32([2, 4], [2, 2, 2, 2, -7, -7, -7, -7])], {}, [f32([2, 4], [0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25])]),
    cf('neg-inf-and-large', 'softmax', [f32([2, 3], [0, -inf, 0, 1000, 1000, -inf])], { axis: 1 }, [f32([2, 3], [0.5, 0, 0.5, 0.5, 0.5, 0])], ULP, 'max-subtracted: large logits do not overflow'),
    cf('axis0', 'softmax', [f32([2, 2], [0, 5, 0, 5])], { axis: 0 }, [f32([2, 2], [0.5, 0.5, 0.5, 0.5])]),
    cf(
      'constant-row-is-bias',
      'layerNorm',
      [f32([2, 4], [3, 3, 3, 3, -1, -1, -1, -1]), f32([4], [1, 2, 3, 4]), f32([4], [0.5, -1, 2, 0])],
      {},
      [f32([2, 4], [0.5, -1, 2, 0, 0.5, -1, 2, 0])],
      tol(1e-6, 0),
    ),
    cf('two-values-eps', 'layerNorm', [f32([1, 2], [1, -1]), null, null], {}, [f32([1, 2], [1 / Math.sqrt(1 + 1e-5), -1 / Math.sqrt(1 + 1e-5)])], tol(1e-7, 1e-6), 'biased variance 1, eps 1e-5'),
    cf('eps-dominates', 'layerNorm', [f32([1, 2], [1e-3, -1e-3]), null, null], { eps: 1e-6 }, [f32([1, 2], [1e-3 / Math.sqrt(1e-6 + 1e-6), -1e-3 / Math.sqrt(2e-6)])], tol(1e-6, 1e-5), 'eps comparable to the variance is observable'),
    cf(
      'var-zero',
      'batchNorm',
      [f32([1, 2, 2], [1, 2, 3, 4]), f32([2], [1, 0]), f32([2], [0, 0]), f32([2], [1, 2]), f32([2], [0, 1])],
      {},
      [f32([1, 2, 2], [0, 1 / Math.sqrt(1e-5), (3 * 2) / Math.sqrt(1e-5) + 1, (4 * 2) / Math.sqrt(1e-5) + 1])],
      tol(1e-6, 2e-6),
      'running var 0: the eps alone scales',
    ),
  );

  // ---- layout -----------------------------------------------------------------------------
  c.push(
    cf('reflect-123', 'pad', [f32([3], [1, 2, 3])], { pads: [2, 2], mode: 'reflect' }, [f32([7], [3, 2, 1, 2, 3, 2, 1])], EXACT, 'reflect does not repeat the edge'),
    cf('replicate-123', 'pad', [f32([3], [1, 2, 3])], { pads: [2, 2], mode: 'replicate' }, [f32([7], [1, 1, 1, 2, 3, 3, 3])], EXACT, 'replicate repeats the edge'),
    cf('constant-value', 'pad', [f32([3], [1, 2, 3])], { pads: [2, 1], value: 9 }, [f32([6], [9, 9, 1, 2, 3, 9])], EXACT),
    cf('torch-order', 'pad', [f32([2, 2], [1, 2, 3, 4])], { pads: [1, 0, 0, 1], torchOrder: true }, [f32([3, 3], [0, 1, 2, 0, 3, 4, 0, 0, 0])], EXACT, 'torch F.pad order: (last-dim left, right, then dim -2 top, bottom)'),
    cf('flip', 'slice', [f32([5], [0, 1, 2, 3, 4])], { starts: [-1], ends: [-(2 ** 31)], steps: [-1] }, [f32([5], [4, 3, 2, 1, 0])], EXACT),
    cf('clamped-bounds', 'slice', [f32([2, 3], [0, 1, 2, 3, 4, 5])], { starts: [-10, 1], ends: [100, 100] }, [f32([2, 2], [1, 2, 4, 5])], EXACT),
    cf('empty', 'slice', [f32([4], [0, 1, 2, 3])], { starts: [3], ends: [1] }, [f32([0], [])], EXACT),
    cf('scalar-negative-index', 'gather', [f32([3, 2], [1, 2, 3, 4, 5, 6]), i32([], [-1])], {}, [f32([2], [5, 6])], EXACT, 'a 0-d index drops the axis'),
    cf('int64-values', 'gather', [i64([3], [2n ** 60n, 1n, -1n]), i64([2], [2n, 0n])], {}, [i64([2], [-1n, 2n ** 60n])], EXACT),
    cf('keep-dim', 'expand', [f32([2, 1], [1, 2])], { shape: [3, -1, 2] }, [f32([3, 2, 2], [1, 1, 2, 2, 1, 1, 2, 2, 1, 1, 2, 2])], EXACT, '-1 keeps the dim; new leading dims'),
    cf('infer-dim', 'reshape', [f32([2, 3], [0, 1, 2, 3, 4, 5])], { shape: [3, -1] }, [f32([3, 2], [0, 1, 2, 3, 4, 5])], EXACT),
    cf('bool', 'transpose', [bool([2, 3], [1, 0, 0, 1, 1, 0])], {}, [bool([3, 2], [1, 1, 0, 1, 0, 0])], EXACT, 'default perm reverses the dims'),
    cf('uint8', 'concat', [u8([1, 2], [1, 2]), u8([2, 2], [3, 4, 5, 6])], {}, [u8([3, 2], [1, 2, 3, 4, 5, 6])], EXACT),
  );

  // ---- linear algebra ---------------------------------------------------------------------
  c.push(
    cf('2x2', 'matmul', [f32([2, 2], [1, 2, 3, 4]), f32([2, 2], [5, 6, 7, 8])], {}, [f32([2, 2], [19, 22, 43, 50])], EXACT),
    cf('2x2-transB', 'matmul', [f32([2, 2], [1, 2, 3, 4]), f32([2, 2], [5, 7, 6, 8])], { transB: true }, [f32([2, 2], [19, 22, 43, 50])], EXACT),
    cf('2x2-transA', 'matmul', [f32([2, 2], [1, 3, 2, 4]), f32([2, 2], [5, 6, 7, 8])], { transA: true }, [f32([2, 2], [19, 22, 43, 50])], EXACT),
    cf('small', 'linear', [f32([1, 2], [1, 2]), f32([3, 2], [1, 0, 0, 1, 1, 1]), f32([3], [0.5, 0, -1])], {}, [f32([1, 3], [1.5, 2, 2])], EXACT),
    cf('1d-input', 'linear', [f32([2], [1, 2]), f32([1, 2], [3, 4]), null], {}, [f32([1], [11])], EXACT, 'x of rank 1'),
  );
  const v = f32([1, 3, 2], [1, 2, 3, 4, 5, 9]);
  const sameKeys = f32([1, 3, 2], [1, 1, 1, 1, 1, 1]);
  c.push(
    cf('uniform-keys', 'sdpa', [f32([1, 2, 2], [0.3, -2, 5, 1]), sameKeys, v, null], {}, [f32([1, 2, 2], [3, 5, 3, 5])], tol(1e-6, 1e-6), 'equal keys: every query averages v'),
    cf('bool-mask', 'sdpa', [f32([1, 2, 2], [0.3, -2, 5, 1]), sameKeys, v, bool([2, 3], [1, 1, 0, 0, 1, 1])], {}, [f32([1, 2, 2], [2, 3, 4, 6.5])], tol(1e-6, 1e-6), 'bool mask keeps where true'),
    cf('causal', 'sdpa', [f32([1, 3, 2], [0.3, -2, 5, 1, 2, 2]), sameKeys, v, null], { causal: true }, [f32([1, 3, 2], [1, 2, 2, 3, 3, 5])], tol(1e-6, 1e-6), 'query i attends to keys 0..i'),
    cf(
      'additive-neg-inf',
      'sdpa',
      [f32([1, 1, 2], [1, 1]), sameKeys, v, f32([1, 3], [-inf, 0, -inf])],
      { scale: 0.5 },
      [f32([1, 1, 2], [3, 4])],
      tol(1e-6, 1e-6),
    ),
  );

  // ---- convolution / pooling --------------------------------------------------------------
  c.push(
    cf('box-filter', 'conv', [f32([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]), f32([1, 1, 2, 2], [1, 1, 1, 1]), null], {}, [f32([1, 1, 2, 2], [12, 16, 24, 28])], EXACT),
    cf('same-even-kernel', 'conv', [f32([1, 1, 4], [1, 2, 3, 4]), f32([1, 1, 2], [1, 10]), f32([1], [0.5])], { padding: 'same' }, [f32([1, 1, 4], [21.5, 32.5, 43.5, 4.5])], EXACT, "torch 'same' with an even kernel pads the extra zero at the end"),
    cf('stride2', 'convTranspose', [f32([1, 1, 2], [1, 2]), f32([1, 1, 3], [1, 1, 1]), null], { stride: 2 }, [f32([1, 1, 5], [1, 1, 3, 2, 2])], EXACT),
    cf('output-padding', 'convTranspose', [f32([1, 1, 2], [1, 2]), f32([1, 1, 1], [3]), f32([1], [1])], { stride: 2, outputPadding: 1 }, [f32([1, 1, 4], [4, 1, 7, 1])], EXACT, 'the extra output column only gets the bias'),
    cf('ceil-torch-rule', 'avgPool', [f32([1, 1, 5], [1, 2, 3, 4, 5])], { kernel: 2, stride: 2, padding: 1, ceilMode: true }, [f32([1, 1, 3], [0.5, 2.5, 4.5])], EXACT, 'torch drops a last window that would start in the right padding (ONNX/onnxruntime do not)'),
    cf('ceil-overhang-include-pad', 'avgPool', [f32([1, 1, 6], [1, 2, 3, 4, 5, 6])], { kernel: 3, stride: 2, padding: 1, ceilMode: true }, [f32([1, 1, 4], [1, 3, 5, 3])], EXACT, 'torch divisor counts the padding but not the part of the window beyond it: last window = x5 / 2'),
    cf('ceil-overhang-exclude-pad', 'avgPool', [f32([1, 1, 6], [1, 2, 3, 4, 5, 6])], { kernel: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false }, [f32([1, 1, 4], [1.5, 3, 5, 6])], EXACT),
    cf('ceil', 'maxPool', [f32([1, 1, 5], [1, 5, 2, 4, 3])], { kernel: 2, stride: 2, ceilMode: true }, [f32([1, 1, 3], [5, 4, 3])], EXACT),
    cf('ceil-torch-rule', 'maxPool', [f32([1, 1, 5], [1, 5, 2, 4, 3])], { kernel: 2, stride: 2, padding: 1, ceilMode: true }, [f32([1, 1, 3], [1, 5, 4])], EXACT, 'last window would start in the padding: dropped (torch)'),
    cf('neg-inf-padding', 'maxPool', [f32([1, 1, 3], [-5, -6, -7])], { kernel: 2, stride: 2, padding: 1 }, [f32([1, 1, 2], [-5, -6])], EXACT, 'max-pool padding is -inf, not 0'),
    cf('nan', 'maxPool', [f32([1, 1, 4], [1, nan, 3, 2])], { kernel: 2 }, [f32([1, 1, 2], [nan, 3])], EXACT, 'torch max_pool propagates NaN'),
  );

  // ---- resampling -------------------------------------------------------------------------
  c.push(
    cf('nearest-2x', 'interpolate', [f32([1, 1, 2], [1, 2])], { size: 4 }, [f32([1, 1, 4], [1, 1, 2, 2])], EXACT),
    cf('nearest-scale-1.5', 'interpolate', [f32([1, 1, 4], [1, 2, 3, 4])], { scaleFactor: 1.5 }, [f32([1, 1, 6], [1, 1, 2, 3, 3, 4])], EXACT, 'src = floor(dst / 1.5)'),
    cf('nearest-down', 'interpolate', [f32([1, 1, 5], [1, 2, 3, 4, 5])], { size: 2 }, [f32([1, 1, 2], [1, 3])], EXACT, 'src = floor(dst · 5/2)'),
    cf('linear-half-pixel', 'interpolate', [f32([1, 1, 2], [1, 2])], { mode: 'linear', size: 4 }, [f32([1, 1, 4], [1, 1.25, 1.75, 2])], ULP, 'src = (dst + 0.5)/2 - 0.5, clamped at 0'),
    cf('linear-align-corners', 'interpolate', [f32([1, 1, 2], [1, 2])], { mode: 'linear', size: 4, alignCorners: true }, [f32([1, 1, 4], [1, 4 / 3, 5 / 3, 2])], ULP),
    cf('linear-one-output', 'interpolate', [f32([1, 1, 4], [1, 2, 3, 4])], { mode: 'linear', size: 1 }, [f32([1, 1, 1], [2.5])], ULP, 'torch maps the single output pixel to the centre (src 1.5); ONNX pytorch_half_pixel maps it to 0'),
    cf('bilinear-align-corners', 'interpolate', [f32([1, 1, 2, 2], [1, 2, 3, 4])], { mode: 'bilinear', size: [3, 3], alignCorners: true }, [f32([1, 1, 3, 3], [1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4])], ULP),
    cf('bicubic-constant', 'interpolate', [f32([1, 1, 3, 3], new Array(9).fill(7))], { mode: 'bicubic', size: [5, 4] }, [f32([1, 1, 5, 4], new Array(20).fill(7))], tol(1e-6, 0), 'cubic weights sum to 1 and borders replicate'),
    cf('bicubic-identity', 'interpolate', [f32([1, 1, 2, 3], [1, 2, 3, 4, 5, 6])], { mode: 'bicubic', size: [2, 3], alignCorners: true }, [f32([1, 1, 2, 3], [1, 2, 3, 4, 5, 6])], tol(1e-6, 0)),
  );
  const gridAC = [-1, -1, 0, -1, 1, -1, -1, 1, 0, 1, 1, 1]; // pixel centres of a 2x3 map, alignCorners true
  const gridHP = [-2 / 3, -0.5, 0, -0.5, 2 / 3, -0.5, -2 / 3, 0.5, 0, 0.5, 2 / 3, 0.5]; // alignCorners false
  const x23 = f32([1, 1, 2, 3], [1, 2, 3, 4, 5, 6]);
  c.push(
    cf('identity-align-corners', 'gridSample', [x23, f32([1, 2, 3, 2], gridAC)], { alignCorners: true }, [x23], tol(1e-6, 0)),
    cf('identity-half-pixel', 'gridSample', [x23, f32([1, 2, 3, 2], gridHP)], {}, [x23], tol(1e-6, 1e-6)),
    cf('identity-nearest', 'gridSample', [x23, f32([1, 2, 3, 2], gridHP)], { mode: 'nearest' }, [x23], EXACT),
    cf(
      'nearest-ties-half-even',
      'gridSample',
      [f32([1, 1, 1, 4], [10, 20, 30, 40]), f32([1, 1, 3, 2], [0, 0, -0.5, 0, 0.5, 0])],
      { mode: 'nearest' },
      [f32([1, 1, 1, 3], [30, 10, 30])],
      EXACT,
      'source x = 1.5, 0.5, 2.5: nearest rounds half to even (torch nearbyint)',
    ),
    cf('outside', 'gridSample', [x23, f32([1, 1, 2, 2], [-5, -5, 5, 5])], { alignCorners: true }, [f32([1, 1, 1, 2], [0, 0])], EXACT, 'zeros padding outside the map'),
    cf('outside-border', 'gridSample', [x23, f32([1, 1, 2, 2], [-5, -5, 5, 5])], { alignCorners: true, paddingMode: 'border' }, [f32([1, 1, 1, 2], [1, 6])], EXACT),
  );

  // ---- detection --------------------------------------------------------------------------
  const const5 = f32([1, 2, 8, 8], new Array(128).fill(5));
  c.push(
    cf('constant-map-aligned', 'roiAlign', [const5, f32([2, 5], [0, 1, 1, 6, 7, 0, 2.5, 0.5, 4, 3])], { outputSize: [2, 3] }, [f32([2, 2, 2, 3], new Array(24).fill(5))], tol(1e-6, 0), 'a constant map pools to the constant inside the map'),
    cf('constant-map-legacy', 'roiAlign', [const5, f32([1, 5], [0, 1, 1, 6, 7])], { outputSize: 2, aligned: false, samplingRatio: 2, spatialScale: 0.5 }, [f32([1, 2, 2, 2], new Array(8).fill(5))], tol(1e-6, 0)),
  );
  const box10 = [0, 0, 10, 10];
  c.push(
    cf('tied-scores', 'nms', [f32([3, 4], [...box10, ...box10, ...box10]), f32([3], [0.5, 0.9, 0.9])], { iouThreshold: 0.5 }, [i32([1], [1])], EXACT, 'equal scores: the lower index is visited first'),
    cf('iou-equals-threshold', 'nms', [f32([2, 4], [0, 0, 4, 1, 0, 0, 2, 1]), f32([2], [0.9, 0.8])], { iouThreshold: 0.5 }, [i32([2], [0, 1])], EXACT, 'IoU exactly 0.5 is not > 0.5: kept'),
    cf('iou-above-threshold', 'nms', [f32([2, 4], [0, 0, 4, 1, 0, 0, 2, 1]), f32([2], [0.9, 0.8])], { iouThreshold: 0.49 }, [i32([1], [0])], EXACT),
    cf('zero-area', 'nms', [f32([2, 4], [1, 1, 1, 1, 1, 1, 1, 1]), f32([2], [0.9, 0.8])], { iouThreshold: 0.5 }, [i32([2], [0, 1])], EXACT, 'IoU of two zero-area boxes is 0/0: never suppresses'),
    cf('visit-order', 'nms', [f32([3, 4], [0, 0, 1, 1, 5, 5, 6, 6, 10, 10, 11, 11]), f32([3], [0.1, 0.7, 0.3])], { iouThreshold: 0.5 }, [i32([3], [1, 2, 0])], EXACT, 'kept indices come in score order'),
    cf('classes', 'nms', [f32([2, 4], [0, 0, 10, 10, 1, 1, 10, 10]), f32([2], [0.9, 0.8]), i32([2], [0, 1])], { iouThreshold: 0.5 }, [i32([2], [0, 1])], EXACT, 'different classes never suppress each other'),
    cf('same-class', 'nms', [f32([2, 4], [0, 0, 10, 10, 1, 1, 10, 10]), f32([2], [0.9, 0.8]), i64([2], [3n, 3n])], { iouThreshold: 0.5 }, [i32([1], [0])], EXACT, 'IoU 0.81'),
    cf('max-output', 'nms', [f32([4, 4], [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7]), f32([4], [0.1, 0.4, 0.3, 0.2])], { iouThreshold: 0.5, maxOutput: 2 }, [i32([2], [1, 2])], EXACT),
    cf('empty', 'nms', [f32([0, 4], []), f32([0], [])], { iouThreshold: 0.5 }, [i32([0], [])], EXACT),
  );

  cache = c;
  return c;
}
