/**
 * webgpu layout kernels beyond the conformance suite: zero-copy reshape, random permutations /
 * slices / pads / expands of every dtype against the cpu reference (bit for bit), concat of more
 * inputs than one program binds, and gather's out-of-range rule.
 */
import {
  type DType,
  type Tensor,
  type TypedArray,
  concat,
  expand,
  f32ToF16Bits,
  gather,
  memory,
  pad,
  removeBackend,
  reshape,
  slice,
  tensor,
  transpose,
} from '@tubelet/core';
import { afterAll, describe, expect, it } from 'vitest';
import type { WebGpuBackend } from '../src/index';
import { rng as lcg, setupWebGpu } from './helpers';

const { backend: gpu, reason } = await setupWebGpu();
const be = gpu as WebGpuBackend;
afterAll(() => removeBackend('webgpu'));


/** Host values of `dtype` (distinct bit patterns, NaN payloads for floats). */
function values(dtype: DType, n: number, seed: number): TypedArray {
  const r = lcg(seed);
  switch (dtype) {
    case 'float32': {
      const a = Float32Array.from({ length: n }, () => r() * 200 - 100);
      if (n > 3) new Uint32Array(a.buffer)[3] = 0x7fc01234; // a NaN with a payload survives a bit copy
      return a;
    }
    case 'float16':
      return Uint16Array.from({ length: n }, (_, i) => (i === 3 ? 0x7e01 : f32ToF16Bits(r() * 200 - 100)));
    case 'int32':
      return Int32Array.from({ length: n }, () => Math.floor(r() * 2 ** 32) - 2 ** 31);
    case 'int64':
      return BigInt64Array.from({ length: n }, () => BigInt(Math.floor(r() * 2 ** 32)) * 4294967296n + BigInt(Math.floor(r() * 2 ** 32)) - 2n ** 63n);
    case 'uint8':
      return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
    case 'bool':
      return Uint8Array.from({ length: n }, () => (r() < 0.5 ? 1 : 0));
  }
}

async function both(f: (xs: Tensor[]) => Tensor, inputs: { data: TypedArray; shape: number[]; dtype: DType }[]) {
  const run = async (backend: string) => {
    const xs = inputs.map((h) => tensor(h.data, h.shape, { dtype: h.dtype, backend }));
    const y = f(xs);
    const res = { data: await y.data(), shape: y.shape.slice() };
    for (const t of [...xs, y]) t.dispose();
    return res;
  };
  return { gpu: await run('webgpu'), cpu: await run('cpu') };
}

const bytes = (a: TypedArray) => Array.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
const DTYPES: DType[] = ['float32', 'float16', 'int32', 'int64', 'uint8', 'bool'];

describe.skipIf(!gpu)(`webgpu layout${reason ? ` (skipped: ${reason})` : ''}`, () => {
  it('reshape is zero-copy: the output shares the input buffer; memory counts one storage', async () => {
    const x = tensor(values('float32', 24, 1), [2, 3, 4], { backend: 'webgpu' });
    const m0 = memory('webgpu');
    const allocs = be.stats().allocations;
    const y = reshape(x, [6, -1]);
    expect(y.storage).toBe(x.storage);
    expect(memory('webgpu').numStorages).toBe(m0.numStorages);
    expect(be.stats().allocations).toBe(allocs);
    x.dispose();
    expect(bytes(await y.data())).toEqual(bytes(values('float32', 24, 1)));
    y.dispose();
  });

  for (const dtype of DTYPES) {
    it(`${dtype}: transpose, slice (negative steps), expand and pad match the cpu bit for bit`, async () => {
      const shape = [3, 5, 7];
      const host = [{ data: values(dtype, 105, 7), shape, dtype }];
      const ops: [string, (x: Tensor) => Tensor][] = [
        ['transpose 2,0,1', (x) => transpose(x, [2, 0, 1])],
        ['transpose 1,0,2', (x) => transpose(x, [1, 0, 2])],
        ['slice', (x) => slice(x, { starts: [-1, 1, 6], ends: [-100, 5, -100], steps: [-2, 3, -3] })],
        ['slice odd', (x) => slice(x, { starts: [1], ends: [6], axes: [2] })],
        ['expand', (x) => expand(slice(x, { starts: [0], ends: [1], axes: [1] }), [2, 3, 3, 7])],
        ['pad reflect', (x) => pad(x, { pads: [0, 0, 2, 1, 3, 4], mode: 'reflect' })],
        ['pad replicate', (x) => pad(x, { pads: [1, 2, 0, 0, 5, 1], mode: 'replicate' })],
        ['pad constant', (x) => pad(x, { pads: [1, 0, 0, 3, 2, 1], value: 3 })],
      ];
      for (const [name, f] of ops) {
        const { gpu: g, cpu: c } = await both(([x]) => f(x!), host);
        expect(g.shape, name).toEqual(c.shape);
        expect(bytes(g.data), name).toEqual(bytes(c.data));
      }
    });
  }

  it('concat of 11 inputs (more than one program binds) along a middle axis, packed and wide dtypes', async () => {
    for (const dtype of ['bool', 'float16', 'int64', 'float32'] as const) {
      const host = Array.from({ length: 11 }, (_, k) => ({ data: values(dtype, 2 * (k % 3) * 3, 30 + k), shape: [2, k % 3, 3], dtype }));
      const { gpu: g, cpu: c } = await both((xs) => concat(xs, 1), host);
      expect(g.shape).toEqual([2, 10, 3]);
      expect(bytes(g.data), dtype).toEqual(bytes(c.data));
    }
  });

  it('gather: negative int32 / int64 indices count from the end; out-of-range ones give zero slices (no throw, no out-of-bounds read)', async () => {
    const x = tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [3, 2], { backend: 'webgpu' });
    const i32 = tensor(new Int32Array([-1, 0, 3, -4, 2]), [5], { dtype: 'int32', backend: 'webgpu' });
    const i64 = tensor(new BigInt64Array([-3n, 2n ** 32n, -(2n ** 32n) + 1n, 1n]), [2, 2], { dtype: 'int64', backend: 'webgpu' });
    const a = gather(x, i32);
    const b = gather(x, i64, 0);
    const cols = tensor(new Int32Array([1, -2, 2]), [3], { dtype: 'int32', backend: 'webgpu' });
    const c = gather(x, cols, 1);
    expect(a.shape).toEqual([5, 2]);
    expect(await a.toArray()).toEqual([5, 6, 1, 2, 0, 0, 0, 0, 5, 6]);
    expect(b.shape).toEqual([2, 2, 2]);
    expect(await b.toArray()).toEqual([1, 2, 0, 0, 0, 0, 3, 4]);
    expect(c.shape).toEqual([3, 3]);
    expect(await c.toArray()).toEqual([2, 1, 0, 4, 3, 0, 6, 5, 0]);
    for (const t of [x, i32, i64, cols, a, b, c]) t.dispose();
    expect(be.stats().gpuErrors).toBe(0);
  });

  it('an embedding lookup (gather rows of a float16 table by int64 ids) matches the cpu', async () => {
    const r = lcg(5);
    const ids = BigInt64Array.from({ length: 37 }, () => BigInt(Math.floor(r() * 50)));
    const { gpu: g, cpu: c } = await both(([t, i]) => gather(t!, i!), [
      { data: values('float16', 50 * 9, 3), shape: [50, 9], dtype: 'float16' },
      { data: ids, shape: [37], dtype: 'int64' },
    ]);
    expect(bytes(g.data)).toEqual(bytes(c.data));
  });
});
