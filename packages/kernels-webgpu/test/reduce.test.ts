/**
 * webgpu reductions beyond the conformance suite (whose shapes are small enough for the
 * one-thread-per-row path): workgroup tree reductions on long rows, the two-pass chunked path for
 * few very long rows, reduced axes walked in place (middle / non-adjacent axes), arg/topk orders
 * with ties and NaN on long rows, and softmax / layerNorm rows of model size.
 */
import {
  type DType,
  type Tensor,
  type TypedArray,
  argmax,
  argmin,
  f32ToF16Bits,
  layerNorm,
  max,
  mean,
  min,
  removeBackend,
  softmax,
  sum,
  tensor,
  topk,
} from '@tubelet/core';
import { type HostTensor, type Tolerance, compareTensor } from '@tubelet/core/testing';
import { afterAll, describe, expect, it } from 'vitest';
import type { WebGpuBackend } from '../src/index';
import { rng as lcg, setupWebGpu } from './helpers';

const { backend: gpu, reason } = await setupWebGpu();
const be = gpu as WebGpuBackend;
afterAll(() => removeBackend('webgpu'));


function host(dtype: DType, shape: number[], seed: number, lo = -1, hi = 1): HostTensor {
  const r = lcg(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const v = () => lo + (hi - lo) * r();
  let data: TypedArray;
  switch (dtype) {
    case 'float32':
      data = Float32Array.from({ length: n }, v);
      break;
    case 'float16':
      data = Uint16Array.from({ length: n }, () => f32ToF16Bits(v()));
      break;
    case 'int32':
      data = Int32Array.from({ length: n }, () => Math.floor(v()));
      break;
    case 'int64':
      data = BigInt64Array.from({ length: n }, () => BigInt(Math.floor(v())) * 2n ** 20n);
      break;
    default:
      data = Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
  }
  return { dtype, shape, data } as HostTensor;
}

/** Runs `f` on webgpu and cpu; compares every output (exact for integers, `tol` for floats). */
async function check(f: (xs: Tensor[]) => Tensor | Tensor[], inputs: HostTensor[], tol: Tolerance = { abs: 0, rel: 0 }) {
  const run = async (backend: string) => {
    const xs = inputs.map((h) => tensor(h.data as TypedArray, h.shape, { dtype: h.dtype, backend }));
    const ys = [f(xs)].flat();
    const out: HostTensor[] = [];
    for (const y of ys) out.push({ dtype: y.dtype, shape: y.shape.slice(), data: (await y.data()) as never });
    for (const t of [...xs, ...ys]) t.dispose();
    return out;
  };
  const [g, c] = [await run('webgpu'), await run('cpu')];
  expect(g.length).toBe(c.length);
  g.forEach((x, i) => {
    const r = compareTensor(x, c[i]!, tol);
    expect(r.ok, r.message).toBe(true);
  });
}

const SUM_TOL = { abs: 2e-4, rel: 1e-5 };

describe.skipIf(!gpu)(`webgpu reductions${reason ? ` (skipped: ${reason})` : ''}`, () => {
  describe('sum / mean / max / min', () => {
    const shapes: [string, number[], number[] | undefined][] = [
      ['rows of 3000 (workgroup of 256)', [4, 3000], [1]],
      ['rows of 100 along a middle axis (strided, workgroup of 64)', [3, 100, 5], [1]],
      ['non-adjacent axes 0 and 2 (two reduced groups)', [30, 4, 50], [0, 2]],
      ['2 rows of 40000 (chunked: partials, then a second pass)', [2, 40000], [1]],
      ['everything, 50000 elements (chunked)', [50, 1000], undefined],
      ['many short rows (one thread per row)', [500, 7], [1]],
    ];
    for (const [name, shape, axes] of shapes) {
      it(`float32 ${name}`, async () => {
        const x = host('float32', shape, shape.length * 7 + shape[0]!);
        for (const f of [sum, mean] as const) await check(([t]) => f(t!, { axes }), [x], SUM_TOL);
        for (const f of [max, min] as const) await check(([t]) => f(t!, { axes, keepDims: true }), [x]);
      });
    }

    it('int32 (wrapping), int64 (exact 64-bit) and uint8 sums and extrema on long and chunked rows', async () => {
      for (const shape of [
        [3, 5000],
        [2, 20000],
      ]) {
        await check(([t]) => sum(t!, { axes: [1] }), [host('int32', shape, 3, -(2 ** 28), 2 ** 28)]);
        await check(([t]) => max(t!, { axes: [1] }), [host('int32', shape, 4, -(2 ** 31), 2 ** 31)]);
        await check(([t]) => sum(t!, { axes: [1] }), [host('int64', shape, 5, -(2 ** 30), 2 ** 30)]);
        await check(([t]) => min(t!, { axes: [1] }), [host('int64', shape, 6, -(2 ** 30), 2 ** 30)]);
        await check(([t]) => max(t!, { axes: [1] }), [host('uint8', shape, 7)]);
        await check(([t]) => sum(t!, { axes: [1] }), [host('uint8', shape, 8)]);
      }
    });

    it('float16 in, float16 out (computed in f32, one rounding)', async () => {
      const x = host('float16', [6, 999], 9);
      await check(([t]) => mean(t!, { axes: [1] }), [x], { abs: 1e-3, rel: 2e-3 });
      await check(([t]) => max(t!, { axes: [1] }), [x]);
    });

    it('a NaN anywhere in a long row propagates through max / min and sum', async () => {
      const x = host('float32', [3, 5000], 10);
      (x.data as Float32Array)[4999] = NaN;
      (x.data as Float32Array)[5000 + 1234] = NaN;
      for (const f of [max, min, sum] as const) await check(([t]) => f(t!, { axes: [1] }), [x], SUM_TOL);
    });
  });

  describe('argmax / argmin / topk', () => {
    /** Values from a small set, so long rows have many ties. */
    const tied = (shape: number[], seed: number, nan = false): HostTensor => {
      const r = lcg(seed);
      const n = shape.reduce((a, b) => a * b, 1);
      const d = Float32Array.from({ length: n }, () => Math.floor(r() * 9) - 4);
      if (nan) for (let i = 17; i < n; i += 997) d[i] = NaN;
      return { dtype: 'float32', shape, data: d };
    };

    it('long rows with ties (first index wins) and NaN (NaN wins), last and middle axes', async () => {
      for (const x of [tied([5, 1000], 1), tied([5, 1000], 2, true), tied([4, 300, 3], 3), tied([2, 5000], 4, true)]) {
        const axis = x.shape.length === 3 ? 1 : -1;
        await check(([t]) => argmax(t!, { axis }), [x]);
        await check(([t]) => argmin(t!, { axis, keepDims: true }), [x]);
      }
      await check(([t]) => argmax(t!, { axis: 1 }), [host('int64', [3, 777], 5, -1e6, 1e6)]);
      await check(([t]) => argmin(t!, { axis: 0 }), [host('uint8', [300, 4], 6)]);
    });

    it('topk on rows of 1000: sorted, stable on ties, largest and smallest, along a middle axis', async () => {
      for (const k of [1, 5, 12]) {
        await check(([t]) => Object.values(topk(t!, { k })), [tied([6, 1000], 7)]);
        await check(([t]) => Object.values(topk(t!, { k, largest: false })), [tied([6, 1000], 8)]);
      }
      await check(([t]) => Object.values(topk(t!, { k: 4, axis: 1 })), [host('float32', [3, 500, 2], 9)]);
      await check(([t]) => Object.values(topk(t!, { k: 3 })), [host('int32', [4, 333], 10, -50, 50)]);
      await check(([t]) => Object.values(topk(t!, { k: 3, largest: false })), [host('float16', [4, 333], 11)]);
    });

    it('topk puts NaN above +inf (torch), first NaN first', async () => {
      const x = tensor(new Float32Array([1, Infinity, NaN, 3, NaN, -Infinity]), [6], { backend: 'webgpu' });
      const { values, indices } = topk(x, { k: 4 });
      expect(Array.from((await values.data()) as Float32Array)).toEqual([NaN, NaN, Infinity, 3]);
      expect(Array.from((await indices.data()) as Int32Array)).toEqual([2, 4, 1, 3]);
      const s = topk(x, { k: 3, largest: false });
      expect(Array.from((await s.values.data()) as Float32Array)).toEqual([-Infinity, 1, 3]);
      for (const t of [x, values, indices, s.values, s.indices]) t.dispose();
    });
  });

  describe('softmax / layerNorm rows of model size', () => {
    // rows up to 8 elements per thread are held in registers (one global read); longer rows stream
    it('softmax over rows of 1568 (attention), a middle axis, float16, and rows too long to cache (3000)', async () => {
      await check(([t]) => softmax(t!, -1), [host('float32', [2, 3000], 21, -8, 8)], { abs: 1e-7, rel: 2e-6 });
      await check(([t]) => softmax(t!, -1), [host('float32', [3, 1568], 12, -8, 8)], { abs: 1e-7, rel: 2e-6 });
      await check(([t]) => softmax(t!, 1), [host('float32', [2, 300, 4], 13, -20, 20)], { abs: 1e-7, rel: 2e-6 });
      await check(([t]) => softmax(t!, -1), [host('float16', [4, 777], 14, -4, 4)], { abs: 1e-6, rel: 1e-3 });
    });

    it('layerNorm over 768 (with weight and bias), over two trailing dims, float16, and rows too long to cache (2500)', async () => {
      await check(([x, ww, bb]) => layerNorm(x!, ww, bb), [host('float32', [3, 2500], 22, -3, 5), host('float32', [2500], 23), host('float32', [2500], 24)], { abs: 1e-5, rel: 1e-5 });
      const w = host('float32', [768], 15, 0.5, 1.5);
      const b = host('float32', [768], 16);
      await check(([x, ww, bb]) => layerNorm(x!, ww, bb), [host('float32', [6, 768], 17, -3, 5), w, b], { abs: 1e-5, rel: 1e-5 });
      await check(([x]) => layerNorm(x!, null, null, { axis: 1 }), [host('float32', [2, 3, 100], 18, 10, 12)], { abs: 1e-4, rel: 1e-5 });
      await check(([x, ww]) => layerNorm(x!, ww, null), [host('float16', [5, 257], 19), host('float16', [257], 20)], { abs: 2e-3, rel: 2e-3 });
    });
  });

  it('raised no uncaptured GPU errors', async () => {
    await be.sync();
    expect(be.stats().gpuErrors).toBe(0);
  });
});
