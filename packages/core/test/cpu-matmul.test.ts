import { describe, expect, it } from 'vitest';
import { registerCpuBackend } from '../src/cpu/backend';
import { registerMatmulKernels } from '../src/cpu/kernels/matmul';
import { f16ArrayToF32 } from '../src/dtype';
import { OpError } from '../src/op';
import { linear, matmul } from '../src/ops/index';
import { tensor } from '../src/tensor';
import { expectClose, prod, rand, rng, roundF16 } from './helpers';

registerCpuBackend();
registerMatmulKernels();

// ---- naive float64 reference: torch.matmul with batch broadcasting, from the definition ----
function matmulRef(a: Float32Array, as: number[], b: Float32Array, bs: number[], transA: boolean, transB: boolean) {
  const M = transA ? as.at(-1)! : as.at(-2)!;
  const K = transA ? as.at(-2)! : as.at(-1)!;
  const N = transB ? bs.at(-2)! : bs.at(-1)!;
  const ab = as.slice(0, -2);
  const bb = bs.slice(0, -2);
  const r = Math.max(ab.length, bb.length);
  const pa = [...new Array(r - ab.length).fill(1), ...ab];
  const pb = [...new Array(r - bb.length).fill(1), ...bb];
  const ob = pa.map((d, i) => Math.max(d, pb[i]!));
  const out = new Float64Array(prod(ob) * M * N);
  const idx = new Array(r).fill(0);
  for (let bi = 0; bi < prod(ob); bi++) {
    let t = bi;
    for (let d = r - 1; d >= 0; d--) {
      idx[d] = t % ob[d]!;
      t = Math.floor(t / ob[d]!);
    }
    let aOff = 0;
    let bOff = 0;
    for (let d = 0; d < r; d++) {
      aOff = aOff * pa[d]! + (pa[d] === 1 ? 0 : idx[d]);
      bOff = bOff * pb[d]! + (pb[d] === 1 ? 0 : idx[d]);
    }
    aOff *= M * K;
    bOff *= K * N;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = transA ? a[aOff + k * M + i]! : a[aOff + i * K + k]!;
          const bv = transB ? b[bOff + j * K + k]! : b[bOff + k * N + j]!;
          s += av * bv;
        }
        out[bi * M * N + i * N + j] = s;
      }
    }
  }
  return { out, shape: [...ob, M, N] };
}

function checkMatmul(as: number[], bs: number[], transA: boolean, transB: boolean, seed: number): void {
  const r = rng(seed);
  const a = rand(r, prod(as));
  const b = rand(r, prod(bs));
  const ref = matmulRef(a, as, b, bs, transA, transB);
  const y = matmul(tensor(a, as), tensor(b, bs), { transA, transB });
  expect(y.shape).toEqual(ref.shape);
  expect(y.dtype).toBe('float32');
  expectClose(y.dataSync() as Float32Array, ref.out);
}

describe('cpu matmul (blocked GEMM)', () => {
  it('matches the naive reference on odd sizes that do not divide the block sizes, all transposes', () => {
    const sizes: [number, number, number][] = [
      [1, 1, 1],
      [5, 7, 3],
      [4, 8, 8],
      [13, 300, 17], // K spans two KC blocks
      [67, 9, 21], // M spans two MC blocks with a ragged MR tail
      [3, 5, 1030], // N spans two NC blocks
      [1, 33, 9],
      [9, 1, 5],
    ];
    let seed = 1;
    for (const [M, K, N] of sizes) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          const as = transA ? [K, M] : [M, K];
          const bs = transB ? [N, K] : [K, N];
          checkMatmul(as, bs, transA, transB, seed++);
        }
      }
    }
  });

  it('broadcasts batch dims (either side, size-1 dims, different ranks)', () => {
    checkMatmul([2, 1, 5, 7], [3, 7, 4], false, false, 11);
    checkMatmul([5, 7], [2, 7, 3], false, false, 12);
    checkMatmul([4, 5, 7], [7, 3], false, false, 13); // tall-GEMM fast path
    checkMatmul([2, 3, 5, 7], [6, 7], false, true, 14); // fast path with transB
    checkMatmul([4, 7, 5], [7, 3], true, false, 15); // transA: no fast path
    checkMatmul([3, 1, 6, 9], [1, 2, 5, 9], false, true, 16);
    checkMatmul([1, 9, 6], [2, 3, 5, 9], true, true, 17);
  });

  it('handles a 256×256×256 product', () => {
    checkMatmul([256, 256], [256, 256], false, false, 21);
  });

  it('identity matrix closed form and K = 0', () => {
    const r = rng(3);
    const a = rand(r, 6 * 6);
    const eye = new Float32Array(36);
    for (let i = 0; i < 6; i++) eye[i * 7] = 1;
    expect(Array.from(matmul(tensor(a, [6, 6]), tensor(eye, [6, 6])).dataSync() as Float32Array)).toEqual(Array.from(a));
    expect(Array.from(matmul(tensor(eye, [6, 6]), tensor(a, [6, 6]), { transB: true }).dataSync() as Float32Array)).toEqual(
      Array.from({ length: 36 }, (_, i) => a[(i % 6) * 6 + Math.floor(i / 6)]!),
    );
    const z = matmul(tensor(new Float32Array(0), [3, 0]), tensor(new Float32Array(0), [0, 4]));
    expect(z.shape).toEqual([3, 4]);
    expect(Array.from(z.dataSync() as Float32Array)).toEqual(new Array(12).fill(0));
  });

  it('float16 inputs compute through float32 and round once', () => {
    const r = rng(5);
    const a = roundF16(rand(r, 2 * 9 * 13));
    const b = roundF16(rand(r, 11 * 13));
    const ref = matmulRef(a, [2, 9, 13], b, [11, 13], false, true);
    const y = matmul(tensor(a, [2, 9, 13], { dtype: 'float16' }), tensor(b, [11, 13], { dtype: 'float16' }), { transB: true });
    expect(y.dtype).toBe('float16');
    expect(y.shape).toEqual([2, 9, 11]);
    expectClose(f16ArrayToF32(y.dataSync() as Uint16Array), ref.out, 1e-2);
  });

  it('validation errors come from the descriptor and name the shapes', () => {
    const a = tensor(new Float32Array(6), [2, 3]);
    const b = tensor(new Float32Array(8), [4, 2]);
    expect(() => matmul(a, b)).toThrow(OpError);
    expect(() => matmul(a, b)).toThrow(/\[2, 3\].*\[4, 2\]/);
    expect(() => matmul(tensor(new Float32Array(12), [2, 2, 3]), tensor(new Float32Array(27), [3, 3, 3]))).toThrow(/do not broadcast/);
  });
});

// ---- linear ----
function linearRef(x: Float32Array, xs: number[], w: Float32Array, ws: number[], b: Float32Array | null) {
  const [O, I] = ws as [number, number];
  const rows = prod(xs) / I;
  const out = new Float64Array(rows * O);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < O; o++) {
      let s = b ? b[o]! : 0;
      for (let i = 0; i < I; i++) s += x[r * I + i]! * w[o * I + i]!;
      out[r * O + o] = s;
    }
  }
  return out;
}

describe('cpu linear', () => {
  it('matches x·wᵀ + b for several shapes, with and without bias', () => {
    const cases: [number[], number, boolean][] = [
      [[2, 3, 5], 7, true],
      [[5], 4, true],
      [[70, 33], 19, false],
      [[2, 2, 2, 9], 1, true],
    ];
    let seed = 30;
    for (const [xs, O, hasBias] of cases) {
      const r = rng(seed++);
      const I = xs.at(-1)!;
      const x = rand(r, prod(xs));
      const w = rand(r, O * I);
      const b = hasBias ? rand(r, O) : null;
      const y = linear(tensor(x, xs), tensor(w, [O, I]), b ? tensor(b, [O]) : null);
      expect(y.shape).toEqual([...xs.slice(0, -1), O]);
      expectClose(y.dataSync() as Float32Array, linearRef(x, xs, w, [O, I], b));
    }
  });

  it('float16', () => {
    const r = rng(40);
    const x = roundF16(rand(r, 6 * 10));
    const w = roundF16(rand(r, 5 * 10));
    const b = roundF16(rand(r, 5));
    const y = linear(tensor(x, [6, 10], { dtype: 'float16' }), tensor(w, [5, 10], { dtype: 'float16' }), tensor(b, [5], { dtype: 'float16' }));
    expect(y.dtype).toBe('float16');
    expectClose(f16ArrayToF32(y.dataSync() as Uint16Array), linearRef(x, [6, 10], w, [5, 10], b), 1e-2);
  });

  it('rejects a feature mismatch with an OpError naming the shapes', () => {
    expect(() => linear(tensor(new Float32Array(6), [2, 3]), tensor(new Float32Array(8), [2, 4]))).toThrow(OpError);
    expect(() => linear(tensor(new Float32Array(6), [2, 3]), tensor(new Float32Array(8), [2, 4]))).toThrow(/\[2, 3\].*\[2, 4\]/);
  });
});
