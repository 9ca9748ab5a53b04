/**
 * webgpu elementwise kernels beyond the conformance suite: accuracy sweeps against the cpu
 * reference (double precision), every float16 bit pattern, int64 arithmetic and casts, broadcasts
 * with packed outputs, and a memory check over 100 iterations of an op chain.
 */
import {
  type DType,
  type Tensor,
  type TypedArray,
  abs,
  add,
  cast,
  concat,
  div,
  equal,
  erf,
  exp,
  f16BitsToF32,
  f32ToF16Bits,
  gelu,
  greater,
  layerNorm,
  less,
  lessEqual,
  log,
  maximum,
  memory,
  minimum,
  mul,
  neg,
  pow,
  reciprocal,
  removeBackend,
  rsqrt,
  sigmoid,
  slice,
  softmax,
  sqrt,
  sub,
  sum,
  tanh,
  tensor,
  topk,
  transpose,
  where,
} from '@tubelet/core';
import { afterAll, describe, expect, it } from 'vitest';
import type { WebGpuBackend } from '../src/index';
import { rng as lcg, setupWebGpu } from './helpers';

const { backend: gpu, reason } = await setupWebGpu();
const be = gpu as WebGpuBackend;
afterAll(() => removeBackend('webgpu'));

/** Runs `f` on webgpu and on cpu with the same host inputs; returns both outputs' host data. */
async function both(f: (xs: Tensor[]) => Tensor, inputs: { data: TypedArray; shape: number[]; dtype: DType }[]) {
  const run = async (backend: string) => {
    const xs = inputs.map((h) => tensor(h.data, h.shape, { dtype: h.dtype, backend }));
    const y = f(xs);
    const data = await y.data();
    const res = { data, shape: y.shape.slice(), dtype: y.dtype };
    for (const t of [...xs, y]) t.dispose();
    return res;
  };
  return { gpu: await run('webgpu'), cpu: await run('cpu') };
}


function f32s(n: number, lo: number, hi: number, seed = 1): Float32Array {
  const r = lcg(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
}

/** Largest |g - e| / (abs + rel·|e|) over finite expected values; NaN/inf must match exactly. */
function worst(got: ArrayLike<number>, exp: ArrayLike<number>, absTol: number, relTol: number): { ratio: number; at: number } {
  let ratio = 0;
  let at = -1;
  for (let i = 0; i < exp.length; i++) {
    const g = got[i]!;
    const e = exp[i]!;
    if (!Number.isFinite(e) || !Number.isFinite(g)) {
      if (!(Object.is(g, e) || (Number.isNaN(g) && Number.isNaN(e)) || g === e)) return { ratio: Infinity, at: i };
      continue;
    }
    const r = Math.abs(g - e) / (absTol + relTol * Math.abs(e));
    if (r > ratio) [ratio, at] = [r, i];
  }
  return { ratio, at };
}

describe.skipIf(!gpu)(`webgpu elementwise${reason ? ` (skipped: ${reason})` : ''}`, () => {
  describe('accuracy against the cpu reference (double precision, rounded to float32)', () => {
    const grid = (() => {
      const a: number[] = [];
      for (let x = -9; x <= 9; x += 1 / 64) a.push(x);
      for (let e = -30; e <= 0; e += 0.5) a.push(10 ** e, -(10 ** e));
      a.push(0, -0, 0.84375, 1.25, 2.857142857, 6, -6, 27.9, 28, 1e4, -1e4, Infinity, -Infinity, NaN);
      return Float32Array.from(a);
    })();
    const cases: [string, (t: Tensor) => Tensor, Float32Array, number, number][] = [
      // name, op, inputs, abs, rel: the brief's bound for erf is ~1e-6 relative
      ['erf', erf, grid, 1e-30, 1e-6],
      ['tanh', tanh, grid, 1e-30, 1e-6],
      ['sigmoid', sigmoid, grid, 1e-30, 1e-6],
      // the cpu's double-precision 1 + erf(x) (1 + tanh(u)) cancels to 0 below x ≈ -8 (-7) where the
      // GPU's erfc (sigmoid) form still resolves ~1e-16: hence the absolute term
      ['gelu (erf)', (t) => gelu(t), grid, 1e-12, 2e-6],
      ['gelu (tanh)', (t) => gelu(t, { approximate: 'tanh' }), grid, 1e-12, 2e-6],
      // down to the smallest normal result: WGSL lets subnormal results flush to zero (SwiftShader does)
      ['exp', exp, f32s(4096, -87.3, 88.7, 2), 0, 5e-7],
      ['log', log, f32s(4096, 1e-6, 1e6, 3), 2e-7, 5e-7],
      ['sqrt', sqrt, f32s(4096, 0, 1e4, 4), 0, 2.5e-7],
      ['rsqrt', rsqrt, f32s(4096, 1e-4, 1e4, 5), 0, 5e-7],
      ['reciprocal', reciprocal, f32s(4096, -1e3, 1e3, 6), 0, 2.5e-7],
    ];
    for (const [name, f, xs, absTol, relTol] of cases) {
      it(`${name}: within abs ${absTol} + rel ${relTol} over ${xs.length} points`, async () => {
        const { gpu: g, cpu: c } = await both(([x]) => f(x!), [{ data: xs, shape: [xs.length], dtype: 'float32' }]);
        const w = worst(g.data as Float32Array, c.data as Float32Array, absTol, relTol);
        expect(w.ratio, `worst at x=${xs[w.at]}: got ${(g.data as Float32Array)[w.at]}, cpu ${(c.data as Float32Array)[w.at]}`).toBeLessThanOrEqual(1);
      });
    }

    it('pow: special cases and a grid of (x, y)', async () => {
      const xs: number[] = [];
      const ys: number[] = [];
      for (const x of [-3, -2, -1, -0.5, -0, 0, 0.5, 1, 2, 3, 10, Infinity, -Infinity, NaN]) {
        for (const y of [-3, -2, -1.5, -1, -0.5, 0, 0.5, 1, 2, 3, 2.5, Infinity, -Infinity, NaN]) {
          // JS ** differs from C's pow for (-1) ** ±inf (NaN vs 1); torch follows C
          if (x === -1 && !Number.isFinite(y) && !Number.isNaN(y)) continue;
          xs.push(x);
          ys.push(y);
        }
      }
      const { gpu: g, cpu: c } = await both(([a, b]) => pow(a!, b!), [
        { data: Float32Array.from(xs), shape: [xs.length], dtype: 'float32' },
        { data: Float32Array.from(ys), shape: [ys.length], dtype: 'float32' },
      ]);
      const w = worst(g.data as Float32Array, c.data as Float32Array, 1e-30, 2e-6);
      expect(w.ratio, `pow(${xs[w.at]}, ${ys[w.at]}): got ${(g.data as Float32Array)[w.at]}, cpu ${(c.data as Float32Array)[w.at]}`).toBeLessThanOrEqual(1);
      const signs = await both(([a, b]) => pow(a!, b!), [
        { data: new Float32Array([-0, -0, -0, -1, -1]), shape: [5], dtype: 'float32' },
        { data: new Float32Array([3, -3, 2, Infinity, -Infinity]), shape: [5], dtype: 'float32' },
      ]);
      expect(Array.from(signs.gpu.data as Float32Array)).toEqual([-0, -Infinity, 0, 1, 1]); // C pow
    });
  });

  describe('float16 (raw halves, computed in f32 without shader-f16)', () => {
    it('every one of the 65536 bit patterns converts to float32 exactly', async () => {
      const bits = Uint16Array.from({ length: 65536 }, (_, i) => i);
      const t = tensor(bits, [65536], { dtype: 'float16', backend: 'webgpu' });
      const y = cast(t, 'float32');
      const got = (await y.data()) as Float32Array;
      for (let i = 0; i < 65536; i++) {
        const e = f16BitsToF32(i);
        if (Number.isNaN(e)) expect(Number.isNaN(got[i]!), `0x${i.toString(16)}`).toBe(true);
        else if (!Object.is(got[i], Math.fround(e))) expect(got[i], `0x${i.toString(16)}`).toBe(e);
      }
      // and back: bit-identical (NaNs become the canonical quiet NaN with their sign)
      const back = cast(y, 'float16');
      const rb = (await back.data()) as Uint16Array;
      for (let i = 0; i < 65536; i++) {
        const nan = (i & 0x7c00) === 0x7c00 && (i & 0x3ff) !== 0;
        const e = nan ? (i & 0x8000) | 0x7e00 : i;
        if (rb[i] !== e) expect(rb[i], `0x${i.toString(16)}`).toBe(e);
      }
      for (const x of [t, y, back]) x.dispose();
    });

    it('float32 → float16 rounds to nearest even like dtype.ts (ties, subnormals, overflow, NaN)', async () => {
      const vals: number[] = [];
      for (let h = 0; h < 0x7c00; h += 7) {
        const a = f16BitsToF32(h);
        const b = f16BitsToF32(h + 1);
        const mid = (a + b) / 2;
        const ulp = Math.abs(mid) * 2 ** -23 || 2 ** -149;
        for (const v of [a, mid, mid - ulp, mid + ulp]) vals.push(v, -v);
      }
      vals.push(65504, 65519, 65520, 1e5, 3e38, Infinity, -Infinity, NaN, 2 ** -25, 2 ** -26, 1e-30, -1e-30);
      const xs = Float32Array.from(vals);
      const t = tensor(xs, [xs.length], { backend: 'webgpu' });
      const y = cast(t, 'float16');
      const got = (await y.data()) as Uint16Array;
      let bad = 0;
      for (let i = 0; i < xs.length; i++) if (got[i] !== f32ToF16Bits(xs[i]!)) bad++;
      expect(bad).toBe(0);
      t.dispose();
      y.dispose();
    });

    it('odd-length float16 outputs with broadcasting (packed words straddling rows)', async () => {
      const a = Uint16Array.from(f32s(3 * 5, -4, 4, 7), f32ToF16Bits);
      const b = Uint16Array.from(f32s(5, -4, 4, 8), f32ToF16Bits);
      for (const f of [add, mul, div, maximum] as const) {
        const { gpu: g, cpu: c } = await both(([x, y]) => f(x!, y!), [
          { data: a, shape: [3, 5], dtype: 'float16' },
          { data: b, shape: [5], dtype: 'float16' },
        ]);
        expect(Array.from(g.data as Uint16Array)).toEqual(Array.from(c.data as Uint16Array));
      }
    });
  });

  describe('int64 (exact 64-bit arithmetic on (lo, hi) pairs)', () => {
    const r = lcg(11);
    const big = (): bigint => {
      const mag = BigInt(Math.floor(r() * 2 ** 31)) * BigInt(Math.floor(r() * 2 ** 32)) >> BigInt(Math.floor(r() * 60));
      return r() < 0.5 ? -mag : mag;
    };
    const edge = [0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 32n, -(2n ** 32n), 2n ** 31n, 4294967295n];
    const A = BigInt64Array.from([...edge, ...Array.from({ length: 300 }, big)]);
    const B = BigInt64Array.from([...edge.map((v) => (v === 0n ? 7n : v)).reverse(), ...Array.from({ length: 300 }, () => big() || 3n)]);
    const ops = { add, sub, mul, div, minimum, maximum, less, lessEqual, equal, greater } as const;
    for (const [name, f] of Object.entries(ops)) {
      it(`${name} matches the cpu (BigInt) bit for bit`, async () => {
        const { gpu: g, cpu: c } = await both(([x, y]) => f(x!, y!), [
          { data: A, shape: [A.length], dtype: 'int64' },
          { data: B, shape: [B.length], dtype: 'int64' },
        ]);
        expect(Array.from(g.data as ArrayLike<unknown>)).toEqual(Array.from(c.data as ArrayLike<unknown>));
      });
    }

    it('neg / abs wrap at INT64_MIN; division by zero gives 0 (the cpu throws; a shader cannot)', async () => {
      const x = tensor(new BigInt64Array([-(2n ** 63n), 5n, -7n]), [3], { dtype: 'int64', backend: 'webgpu' });
      const z = tensor(new BigInt64Array([0n, 0n, 2n]), [3], { dtype: 'int64', backend: 'webgpu' });
      const ys = [neg(x), abs(x), div(x, z)];
      expect(Array.from((await ys[0]!.data()) as BigInt64Array)).toEqual([-(2n ** 63n), -5n, 7n]);
      expect(Array.from((await ys[1]!.data()) as BigInt64Array)).toEqual([-(2n ** 63n), 5n, 7n]);
      expect(Array.from((await ys[2]!.data()) as BigInt64Array)).toEqual([0n, 0n, -3n]);
      for (const t of [x, z, ...ys]) t.dispose();
    });

    it('int64 → float32 rounds like Math.fround(Number(x)) (double rounding included)', async () => {
      const v = BigInt64Array.from([
        ...A,
        2n ** 60n + 2n ** 36n + 1n, // direct rounding goes up, double rounding ties to even (down)
        2n ** 53n + 1n,
        -(2n ** 62n) - 2n ** 38n - 1n,
        16777217n,
        -16777219n,
      ]);
      const { gpu: g, cpu: c } = await both(([x]) => cast(x!, 'float32'), [{ data: v, shape: [v.length], dtype: 'int64' }]);
      expect(Array.from(g.data as Float32Array)).toEqual(Array.from(c.data as Float32Array));
    });
  });

  it('float32 → int32 / uint8 / int64 / bool wrap and truncate like the cpu reference', async () => {
    const xs = Float32Array.from([0, -0, 0.5, -0.5, 2.7, -2.7, 255.9, 256, -1, 1e9, 3e9, -3e9, 1e10, 1e15, -1e15, 1e19, 1e20, 3e38, -3e38, 2 ** 63, -(2 ** 63), NaN, Infinity, -Infinity, ...f32s(200, -1e12, 1e12, 9)]);
    for (const to of ['int32', 'uint8', 'int64', 'bool'] as const) {
      const { gpu: g, cpu: c } = await both(([x]) => cast(x!, to), [{ data: xs, shape: [xs.length], dtype: 'float32' }]);
      expect(Array.from(g.data as ArrayLike<unknown>), to).toEqual(Array.from(c.data as ArrayLike<unknown>));
    }
    const ints = Int32Array.from([0, 1, -1, 2147483647, -2147483648, 16777217, -16777219, 300, -300]);
    for (const to of ['float32', 'float16', 'uint8', 'int64', 'bool'] as const) {
      const { gpu: g, cpu: c } = await both(([x]) => cast(x!, to), [{ data: ints, shape: [ints.length], dtype: 'int32' }]);
      expect(Array.from(g.data as ArrayLike<unknown>), `int32 → ${to}`).toEqual(Array.from(c.data as ArrayLike<unknown>));
    }
  });

  it('cast: all 36 dtype pairs match the cpu reference bit for bit', async () => {
    const sources: Record<DType, TypedArray> = {
      float32: Float32Array.from([0, -0, 1.5, -2.5, 255.5, 256, 65504, 65520, 1e-8, -3e9, 1e20, NaN, Infinity, -Infinity, 0.1]),
      float16: Uint16Array.from([0x0000, 0x8000, 0x3c00, 0xc100, 0x7bff, 0x0001, 0x3555, 0x7c00, 0xfc00, 0x7e00, 0x5bf8, 0xd3ff, 0x4170, 0x2e66, 0x8123]),
      int32: Int32Array.from([0, 1, -1, 255, 256, -256, 2147483647, -2147483648, 16777217, 65519, 65520, 70000, -70000, 3, 1000]),
      int64: BigInt64Array.from([0n, 1n, -1n, 255n, 256n, 2n ** 31n, -(2n ** 31n) - 1n, 2n ** 53n + 1n, 2n ** 60n + 2n ** 36n + 1n, -(2n ** 63n), 2n ** 63n - 1n, 65520n, 70000n, 4294967296n + 7n, -5n]),
      uint8: Uint8Array.from([0, 1, 2, 127, 128, 200, 255, 3, 4, 5, 6, 7, 8, 9, 10]),
      bool: Uint8Array.from([0, 1, 1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 1, 0, 1]),
    };
    const dtypes = Object.keys(sources) as DType[];
    for (const from of dtypes) {
      for (const to of dtypes) {
        const { gpu: g, cpu: c } = await both(([x]) => cast(x!, to), [{ data: sources[from], shape: [15], dtype: from }]);
        expect(g.dtype).toBe(to);
        const bits = (a: TypedArray) => Array.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
        // NaN bit patterns may differ (float16 NaNs become the canonical quiet NaN); compare NaNs as NaN
        const canon = (a: TypedArray, d: DType) =>
          d === 'float32' ? Array.from(a as Float32Array, (v) => (Number.isNaN(v) ? 'NaN' : v)) : d === 'float16' ? Array.from(a as Uint16Array, (h) => ((h & 0x7c00) === 0x7c00 && h & 0x3ff ? 'NaN' : h)) : bits(a);
        expect(canon(g.data, to), `${from} → ${to}`).toEqual(canon(c.data, to));
      }
    }
  });

  it('comparisons and where with broadcasting over packed bool / uint8 outputs of odd sizes', async () => {
    const a = f32s(7 * 9, -1, 1, 12);
    const b = f32s(3, -1, 1, 13);
    a[3] = NaN;
    b[2] = a[2 * 9 + 4]!; // an exact tie
    const host = [
      { data: a, shape: [7, 1, 9], dtype: 'float32' as const },
      { data: b, shape: [3, 1], dtype: 'float32' as const },
    ];
    for (const f of [less, equal, greater] as const) {
      const { gpu: g, cpu: c } = await both(([x, y]) => f(x!, y!), host);
      expect(g.shape).toEqual([7, 3, 9]);
      expect(Array.from(g.data as Uint8Array)).toEqual(Array.from(c.data as Uint8Array));
    }
    const u = Uint8Array.from({ length: 7 }, (_, i) => i * 40);
    const { gpu: g, cpu: c } = await both(([x, y, z]) => where(greater(x!, y!), z!, y!), [
      { data: u, shape: [7, 1], dtype: 'uint8' },
      { data: Uint8Array.from([100, 3, 250]), shape: [3], dtype: 'uint8' },
      { data: Uint8Array.from([9]), shape: [], dtype: 'uint8' },
    ]);
    expect(Array.from(g.data as Uint8Array)).toEqual(Array.from(c.data as Uint8Array));
  });

  it('100 iterations of an op chain leave memory("webgpu") and the buffer pool where they started', async () => {
    const x = tensor(f32s(2 * 3 * 8, -2, 2, 21), [2, 3, 8], { backend: 'webgpu' });
    const w = tensor(f32s(8, 0.5, 1.5, 22), [8], { backend: 'webgpu' });
    const chain = async () => {
      const ts: Tensor[] = [];
      const k = <T extends Tensor>(t: T) => (ts.push(t), t);
      const y = k(gelu(k(layerNorm(x, w, null))));
      const m = k(less(y, k(sigmoid(x))));
      const z = k(where(m, y, k(neg(y))));
      const h = k(cast(k(softmax(k(transpose(z, [0, 2, 1])), 1)), 'float16'));
      const s = k(sum(k(cast(h, 'float32')), { axes: [1, 2] }));
      const tk = topk(k(slice(k(concat([z, y], 2)), { starts: [1], ends: [16], axes: [2], steps: [2] })), { k: 3 });
      k(tk.values);
      k(tk.indices);
      k(cast(k(cast(s, 'int64')), 'float32'));
      await ts[ts.length - 1]!.data();
      for (const t of ts) t.dispose();
    };
    await chain(); // warm up: pipelines compiled, pool filled
    await be.sync();
    const mem0 = memory('webgpu');
    const st0 = be.stats();
    for (let i = 0; i < 100; i++) await chain();
    await be.sync();
    const st1 = be.stats();
    expect(memory('webgpu')).toEqual(mem0);
    expect({ inUse: st1.inUseBytes, allocated: st1.allocatedBytes, buffers: st1.numBuffers, pooled: st1.pooledBytes }).toEqual({
      inUse: st0.inUseBytes,
      allocated: st0.allocatedBytes,
      buffers: st0.numBuffers,
      pooled: st0.pooledBytes,
    });
    expect(st1.allocations).toBe(st0.allocations); // every buffer came from the pool
    expect(st1.pipelines).toBe(st0.pipelines); // and every pipeline from the cache
    expect(st1.gpuErrors).toBe(0);
    x.dispose();
    w.dispose();
  });
});
