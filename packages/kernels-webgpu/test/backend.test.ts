import { setupWebGpu } from './helpers';
import {
  type DType,
  type Tensor,
  type TypedArray,
  add,
  backendReport,
  getBackend,
  defineOp,
  registerKernel,
  runOp,
  memory,
  removeBackend,
  tensor,
} from '@tubelet/core';
import { afterAll, describe, expect, it } from 'vitest';
import { GpuHandle, type WebGpuBackend, createWebGpuBackend } from '../src/index';

const { backend: gpu, reason } = await setupWebGpu();
const be = gpu as WebGpuBackend;

afterAll(() => {
  // disposes the backend: destroys its buffers and device (the process must exit on its own)
  removeBackend('webgpu');
});

/** Deterministic pseudo-random floats with a spread of magnitudes. */
function randoms(n: number, seed = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out[i] = ((s / 2 ** 32) * 2 - 1) * 10 ** ((s % 7) - 3);
  }
  return out;
}

function bytesOf(a: TypedArray): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

async function roundTrip(values: TypedArray, dtype: DType): Promise<TypedArray> {
  const t = tensor(values, [values.length], { dtype, backend: 'webgpu' });
  try {
    expect(t.backend).toBe('webgpu');
    return (await t.data()) as TypedArray;
  } finally {
    t.dispose();
  }
}

describe.skipIf(!gpu)(`webgpu backend${reason ? ` (skipped: ${reason})` : ''}`, () => {
  it('is listed as available in the backend report, below cpu, with its adapter', async () => {
    const report = await backendReport();
    const w = report.find((s) => s.name === 'webgpu')!;
    const c = report.find((s) => s.name === 'cpu')!;
    expect(w.available).toBe(true);
    expect(w.reason).toBeUndefined();
    expect(w.priority).toBeLessThan(c.priority);
    expect(getBackend().name).toBe('cpu'); // nothing switches to the GPU silently
    expect(be.name).toBe('webgpu');
    expect(be.source).toBe('dawn');
    expect(Object.keys(be.adapterInfo).sort()).toEqual(['architecture', 'description', 'device', 'vendor']);
    expect(typeof be.hasF16).toBe('boolean');
    expect(be.features.has('shader-f16')).toBe(be.hasF16);
    console.info(`[kernels-webgpu] adapter: ${JSON.stringify(be.adapterInfo)}; features: ${[...be.features].join(', ') || 'none'}`);
  });

  describe('write → read round trips are exact', () => {
    it('float32 (incl. -0, NaN payloads, infinities, subnormals)', async () => {
      for (const v of [
        new Float32Array([1.5, -0, Number.NaN]),
        new Float32Array([Infinity, -Infinity, 1e-45, 3.4028235e38, -1.1754942e-38]),
        randoms(7),
      ]) {
        const back = await roundTrip(v, 'float32');
        expect(back).toBeInstanceOf(Float32Array);
        expect(bytesOf(back)).toEqual(bytesOf(v));
      }
    });

    it('int32', async () => {
      for (const v of [new Int32Array([-2147483648, 0, 2147483647]), new Int32Array([1, -1, 7, 123456789, -5])]) {
        const back = await roundTrip(v, 'int32');
        expect(back).toBeInstanceOf(Int32Array);
        expect(Array.from(back as Int32Array)).toEqual(Array.from(v));
      }
    });

    it('int64 (raw 8-byte pairs)', async () => {
      for (const v of [
        new BigInt64Array([-9223372036854775808n, 0n, 9223372036854775807n]),
        new BigInt64Array([1n, -1n, 2n ** 40n + 3n, -(2n ** 33n), 4294967296n]),
      ]) {
        const back = await roundTrip(v, 'int64');
        expect(back).toBeInstanceOf(BigInt64Array);
        expect(Array.from(back as BigInt64Array)).toEqual(Array.from(v));
      }
    });

    it('uint8 (packed bytes, odd lengths padded)', async () => {
      for (const v of [new Uint8Array([0, 255, 7]), new Uint8Array([1, 2, 3, 254, 128])]) {
        const back = await roundTrip(v, 'uint8');
        expect(back).toBeInstanceOf(Uint8Array);
        expect(Array.from(back as Uint8Array)).toEqual(Array.from(v));
      }
    });

    it('bool (packed bytes, odd lengths padded)', async () => {
      for (const v of [new Uint8Array([1, 0, 1]), new Uint8Array([0, 0, 1, 1, 0])]) {
        const back = await roundTrip(v, 'bool');
        expect(Array.from(back as Uint8Array)).toEqual(Array.from(v));
      }
    });

    it('float16 (raw u16 pairs, odd lengths padded)', async () => {
      // 1.0, -2.0, NaN payload / 65504, smallest subnormal, -0, +inf, 0.333
      for (const v of [new Uint16Array([0x3c00, 0xc000, 0x7e01]), new Uint16Array([0x7bff, 0x0001, 0x8000, 0x7c00, 0x3555])]) {
        const back = await roundTrip(v, 'float16');
        expect(back).toBeInstanceOf(Uint16Array);
        expect(Array.from(back as Uint16Array)).toEqual(Array.from(v));
      }
    });

    it('empty tensors', async () => {
      const t = tensor(new Float32Array(0), [0, 3], { backend: 'webgpu' });
      expect(await t.toArray()).toEqual([]);
      t.dispose();
    });

    it('does not keep or mutate the caller’s array', async () => {
      const v = new Float32Array([1, 2, 3]);
      const t = tensor(v, [3], { backend: 'webgpu' });
      v[0] = 99;
      expect(await t.toArray()).toEqual([1, 2, 3]);
      t.dispose();
    });
  });

  describe('add', () => {
    it('same shape: equals the exact float32 sum', async () => {
      const av = randoms(24, 3);
      const bv = randoms(24, 4);
      const a = tensor(av, [2, 3, 4], { backend: 'webgpu' });
      const b = tensor(bv, [2, 3, 4], { backend: 'webgpu' });
      const y = await be.withErrorScope(() => add(a, b));
      expect(y.backend).toBe('webgpu');
      expect(y.shape).toEqual([2, 3, 4]);
      const got = await y.toArray();
      expect(got).toEqual(Array.from(av, (x, i) => Math.fround(x + bv[i]!)));
      for (const t of [a, b, y]) t.dispose();
    });

    it('same shape over several workgroups (1000 elements)', async () => {
      const av = randoms(1000, 5);
      const bv = randoms(1000, 6);
      const a = tensor(av, [10, 100], { backend: 'webgpu' });
      const b = tensor(bv, [10, 100], { backend: 'webgpu' });
      const y = add(a, b);
      expect(await y.toArray()).toEqual(Array.from(av, (x, i) => Math.fround(x + bv[i]!)));
      for (const t of [a, b, y]) t.dispose();
    });

    it('broadcast [2,3,4] + [3,1] (and the other way round) equals the exact sum', async () => {
      const av = randoms(24, 7);
      const bv = randoms(3, 8);
      const expected = Array.from(av, (x, i) => Math.fround(x + bv[Math.floor(i / 4) % 3]!));
      const a = tensor(av, [2, 3, 4], { backend: 'webgpu' });
      const b = tensor(bv, [3, 1], { backend: 'webgpu' });
      const y1 = await be.withErrorScope(() => add(a, b));
      const y2 = add(b, a);
      expect(y1.shape).toEqual([2, 3, 4]);
      expect(y2.shape).toEqual([2, 3, 4]);
      expect(await y1.toArray()).toEqual(expected);
      expect(await y2.toArray()).toEqual(expected);
      for (const t of [a, b, y1, y2]) t.dispose();
    });

    it('broadcast both ways ([4,1] + [1,5]) and with a number; matches the cpu backend bit for bit', async () => {
      const av = randoms(4, 9);
      const bv = randoms(5, 10);
      const ca = tensor(av, [4, 1], { backend: 'cpu' });
      const cb = tensor(bv, [1, 5], { backend: 'cpu' });
      const ga = tensor(av, [4, 1], { backend: 'webgpu' });
      const gb = tensor(bv, [1, 5], { backend: 'webgpu' });
      const cy = add(ca, cb);
      const gy = add(ga, gb);
      expect(gy.shape).toEqual([4, 5]);
      expect(bytesOf(await gy.data())).toEqual(bytesOf(await cy.data()));
      const gs = add(ga, 0.25);
      expect(await gs.toArray()).toEqual(Array.from(av, (x) => Math.fround(x + 0.25)));
      for (const t of [ca, cb, ga, gb, cy, gy, gs]) t.dispose();
    });

    it('int32, same shape and broadcast', async () => {
      const a = tensor(new Int32Array([1, -2, 3, 2147483647, 5, 6]), [2, 3], { backend: 'webgpu' });
      const b = tensor(new Int32Array([10, 20, 30, 1, 2, 3]), [2, 3], { backend: 'webgpu' });
      const c = tensor(new Int32Array([100, 200, 300]), [3], { backend: 'webgpu' });
      const y = add(a, b);
      const z = add(a, c);
      expect(await y.toArray()).toEqual([11, 18, 33, -2147483648, 7, 9]); // wraps like torch
      expect(await z.toArray()).toEqual([101, 198, 303, -2147483549, 205, 306]);
      for (const t of [a, b, c, y, z]) t.dispose();
    });

    it('runs packed dtypes (uint8: four values per 32-bit word)', async () => {
      const a = tensor(new Uint8Array([1, 2, 3, 4, 5]), [5], { backend: 'webgpu' });
      const y = add(a, a);
      expect(Array.from((await y.data()) as Uint8Array)).toEqual([2, 4, 6, 8, 10]);
      a.dispose();
      y.dispose();
    });

    it('compiles each program once (pipeline cache)', async () => {
      const a = tensor(randoms(6), [2, 3], { backend: 'webgpu' });
      const y0 = add(a, a);
      const before = be.programs.compiles;
      const ys = [add(a, a), add(y0, a), add(a, y0)];
      expect(be.programs.compiles).toBe(before);
      expect(be.programs.has('binary/add/f32/same')).toBe(true);
      for (const t of [a, y0, ...ys]) t.dispose();
    });

    it('chains more dispatches than one batch holds', async () => {
      let x: Tensor = tensor(new Float32Array([1, 2, 3]), [3], { backend: 'webgpu' });
      const one = tensor(new Float32Array([1]), [1], { backend: 'webgpu' });
      const submits = be.stats().submits;
      for (let i = 0; i < 40; i++) {
        const next = add(x, one);
        x.dispose();
        x = next;
      }
      expect(await x.toArray()).toEqual([41, 42, 43]);
      expect(be.stats().submits - submits).toBeGreaterThanOrEqual(3); // 16 per batch + the read
      x.dispose();
      one.dispose();
    });
  });

  it('moves tensors between cpu and webgpu with t.to()', async () => {
    const c = tensor([[1, 2, 3], [4, 5, 6]], undefined, { backend: 'cpu' });
    const g = await c.to('webgpu');
    expect(g.backend).toBe('webgpu');
    expect(g.shape).toEqual([2, 3]);
    const g2 = add(g, g);
    const back = await g2.to('cpu');
    expect(back.backend).toBe('cpu');
    expect(Array.from(back.dataSync() as Float32Array)).toEqual([2, 4, 6, 8, 10, 12]);
    const i64 = tensor(new BigInt64Array([5n, -(2n ** 50n)]), [2], { dtype: 'int64', backend: 'cpu' });
    const i64g = await i64.to('webgpu');
    expect(Array.from(await i64g.data())).toEqual([5n, -(2n ** 50n)]);
    for (const t of [c, g, g2, back, i64, i64g]) t.dispose();
  });

  it('throws core’s clear error when one op mixes backends', () => {
    const c = tensor([1, 2, 3], undefined, { backend: 'cpu' });
    const g = tensor([1, 2, 3], undefined, { backend: 'webgpu' });
    expect(() => add(c, g)).toThrow(/input 'b' is on backend 'webgpu' but tensor #\d+ float32\[3\] is on 'cpu'; move one explicitly/);
    expect(() => add(g, c)).toThrow(/input 'b' is on backend 'cpu' but .* is on 'webgpu'/);
    c.dispose();
    g.dispose();
  });

  it('throws, never falls back, for an op with no webgpu kernel', () => {
    // an op with a cpu kernel only
    const op = defineOp<Record<string, never>>({
      name: 'testOnlyCpuIdentity',
      inputs: [{ name: 'x' }],
      doc: 'identity, registered for cpu only (test)',
      normalize: () => ({}),
      infer: (m) => [{ shape: m[0]!.shape.slice(), dtype: m[0]!.dtype }],
    });
    registerKernel('testOnlyCpuIdentity', 'cpu', (ctx) => [ctx.inputs[0]!.handle]);
    const a = tensor(randoms(8), [2, 4], { backend: 'webgpu' });
    expect(() => runOp(op, [a])).toThrow("testOnlyCpuIdentity: backend 'webgpu' has no kernel for this op");
    a.dispose();
  });

  it('returns disposed buffers to the pool; memory counters come back to their start', async () => {
    await be.sync();
    const mem0 = memory('webgpu');
    const st0 = be.stats();
    const run = async () => {
      const ts: Tensor[] = [];
      const a = tensor(randoms(24), [2, 3, 4], { backend: 'webgpu' });
      const b = tensor(randoms(3), [3, 1], { backend: 'webgpu' });
      const y = add(a, b);
      ts.push(a, b, y, add(y, a));
      expect(memory('webgpu').numTensors).toBe(mem0.numTensors + 4);
      expect(be.stats().inUseBytes).toBeGreaterThan(st0.inUseBytes);
      await y.data();
      for (const t of ts) t.dispose();
    };
    await run();
    expect(memory('webgpu')).toEqual(mem0);
    const st1 = be.stats();
    expect(st1.inUseBytes).toBe(st0.inUseBytes);
    expect(st1.pooledBytes).toBeGreaterThanOrEqual(st0.pooledBytes);
    expect(st1.allocatedBytes).toBe(st1.inUseBytes + st1.pooledBytes);
    // the same work again is served from the pool: no new GPU buffers
    await run();
    const st2 = be.stats();
    expect(memory('webgpu')).toEqual(mem0);
    expect(st2.allocations).toBe(st1.allocations);
    expect(st2.reuses).toBeGreaterThan(st1.reuses);
    expect(st2.inUseBytes).toBe(st0.inUseBytes);
  });

  it('rejects foreign and released handles', async () => {
    const h = be.write(new Float32Array([1]), 'float32', [1]);
    expect(h).toBeInstanceOf(GpuHandle);
    be.release(h);
    expect(() => be.release(h)).toThrow(/released twice/);
    expect(() => be.release(new Float32Array(1))).toThrow(/not a webgpu buffer handle/);
    await expect(be.read(h, 'float32', 1)).rejects.toThrow(/used after release/);
  });

  it('a second backend on a caller-supplied device; dispose() destroys all its buffers but not that device', async () => {
    const other = await createWebGpuBackend({ device: be.device });
    expect(other.source).toBe('caller');
    const h = other.write(new Float32Array([4, 5, 6]), 'float32', [3]);
    expect(Array.from((await other.read(h, 'float32', 3)) as Float32Array)).toEqual([4, 5, 6]);
    other.release(h);
    other.write(new Int32Array(100), 'int32', [100]); // still in use at dispose time
    expect(other.stats().numBuffers).toBeGreaterThan(0);
    other.dispose();
    expect(other.stats()).toMatchObject({ allocatedBytes: 0, pooledBytes: 0, inUseBytes: 0, numBuffers: 0 });
    expect(() => other.write(new Float32Array(1), 'float32', [1])).toThrow(/disposed/);
    // the registered backend (same device) is unaffected
    const t = tensor([1, 2], undefined, { backend: 'webgpu' });
    expect(await add(t, t).toArray()).toEqual([2, 4]);
  });

  it('an owned device: dispose() destroys buffers and the device', async () => {
    const own = await createWebGpuBackend();
    expect(own.source).toBe('dawn');
    const h = own.write(new Float32Array([1, 2, 3]), 'float32', [3]);
    expect(Array.from((await own.read(h, 'float32', 3)) as Float32Array)).toEqual([1, 2, 3]);
    own.dispose();
    expect(own.stats().allocatedBytes).toBe(0);
    await expect(own.read(h, 'float32', 3)).rejects.toThrow(/disposed/);
  });

  it('raised no GPU errors outside error scopes in this file', async () => {
    await be.sync();
    expect(be.lastGpuError).toBeNull();
    expect(be.stats().gpuErrors).toBe(0);
  });

  it('withErrorScope turns a GPU validation error into a thrown error', async () => {
    await expect(
      be.withErrorScope(() => {
        be.device.createBuffer({ size: 4, usage: 0x0001 | 0x0002 }); // MAP_READ | MAP_WRITE is invalid
      }),
    ).rejects.toThrow(/^webgpu: /);
    expect(be.stats().gpuErrors).toBe(0);
  });
});
