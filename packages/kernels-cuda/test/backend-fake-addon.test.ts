// The TS half of the backend (write/read/release, kernel dispatch, broadcast checks, tensor
// accounting) against a host-memory stand-in for the addon with the same contract as
// native/src/addon.cc, so it is exercised on machines without a GPU too.
import { add, memory, registerBackend, setBackend, tensor } from '@tubelet/core';
import { describe, expect, it } from 'vitest';
import { CudaBackend, type CudaAddon, type CudaHandle, registerCudaKernels } from '../src/index';

interface FakeBuf {
  bytes: Uint8Array;
  freed: boolean;
}

function fakeAddon() {
  const live = new Set<FakeBuf>();
  const get = (h: CudaHandle): FakeBuf => {
    const b = h as unknown as FakeBuf;
    if (!live.has(b) && !b.freed) throw new TypeError('not a handle from alloc()');
    if (b.freed) throw new Error('already freed');
    return b;
  };
  const addon: CudaAddon = {
    runtimeVersion: () => 13000,
    deviceCount: () => 1,
    init: () => ({ ok: false, reason: 'fake', code: 0 }),
    memInfo: () => ({ free: 0, total: 0 }),
    alloc(bytes) {
      const b = { bytes: new Uint8Array(bytes), freed: false };
      live.add(b);
      return b as unknown as CudaHandle;
    },
    free(h) {
      const b = get(h);
      b.freed = true;
      live.delete(b);
    },
    upload(h, data, off = 0) {
      const b = get(h);
      const src = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      if (off + src.length > b.bytes.length) throw new RangeError('exceeds');
      b.bytes.set(src, off);
    },
    async download(h, bytes, off = 0) {
      const b = get(h);
      return b.bytes.slice(off, off + bytes).buffer;
    },
    async sync() {},
    add(out, a, b, n, an, bn) {
      const o = new Float32Array(get(out).bytes.buffer);
      const x = new Float32Array(get(a).bytes.buffer);
      const y = new Float32Array(get(b).bytes.buffer);
      if (n % an || n % bn) throw new RangeError('sizes');
      for (let i = 0; i < n; i++) o[i] = x[i % an]! + y[i % bn]!;
    },
  };
  return { addon, live };
}

const info = {
  device: 0,
  name: 'fake',
  computeCapability: '9.0',
  totalMemory: 1,
  multiProcessors: 1,
  driverVersion: 13000,
  runtimeVersion: 13000,
  pooledAllocator: true,
};

describe('CudaBackend with a stand-in addon', () => {
  const { addon, live } = fakeAddon();
  registerCudaKernels();
  registerBackend('cuda', () => new CudaBackend(addon, info));

  it('write / read / release for every dtype, no leaks', async () => {
    await setBackend('cuda');
    const before = memory('cuda');
    const f = tensor(new Float32Array([1.5, -2, 3]), [3]);
    const l = tensor(new BigInt64Array([1n, -2n, 1n << 40n]), [3], { dtype: 'int64' });
    const h = tensor(new Uint16Array([0x3c00, 0xc000]), [2], { dtype: 'float16' });
    const b = tensor(new Uint8Array([0, 1, 1]), [3], { dtype: 'bool' });
    const z = tensor(new Float32Array(0), [0, 4]);
    expect(f.backend).toBe('cuda');
    expect(await f.toArray()).toEqual([1.5, -2, 3]);
    expect(Array.from(await l.data())).toEqual([1n, -2n, 1n << 40n]);
    expect(await h.data()).toBeInstanceOf(Uint16Array);
    expect(await b.data()).toBeInstanceOf(Uint8Array);
    expect((await z.data()).length).toBe(0);
    expect(() => f.dataSync()).toThrow(/no synchronous readback/);
    expect(live.size).toBe(5);
    for (const t of [f, l, h, b, z]) t.dispose();
    expect(live.size).toBe(0);
    expect(memory('cuda')).toEqual(before);
    await setBackend('cpu');
  });

  it('write does not keep the caller\'s array', async () => {
    await setBackend('cuda');
    const src = new Float32Array([1, 2, 3]);
    const t = tensor(src, [3]);
    src[0] = 99;
    expect(await t.toArray()).toEqual([1, 2, 3]);
    t.dispose();
    await setBackend('cpu');
  });

  it('add dispatches to the addon: same shape, trailing broadcast, scalar', async () => {
    await setBackend('cuda');
    const a = tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
    const c = tensor(new Float32Array([100, 200, 300]), [1, 3]);
    expect(await add(a, a).toArray()).toEqual([2, 4, 6, 8, 10, 12]);
    expect(await add(c, a).toArray()).toEqual([101, 202, 303, 104, 205, 306]);
    expect(await add(a, 0.5).toArray()).toEqual([1.5, 2.5, 3.5, 4.5, 5.5, 6.5]);
    const col = tensor(new Float32Array(2), [2, 1]);
    const n0 = live.size;
    expect(() => add(a, col)).toThrow(/add: cuda backend cannot broadcast b \[2, 1\] to \[2, 3\] yet/);
    const i = tensor(new Int32Array(3), [3], { dtype: 'int32' });
    expect(() => add(i, i)).toThrow(/float32 only/);
    expect(live.size).toBe(n0 + 1); // only `i`: failed kernels allocate nothing that stays
    await setBackend('cpu');
  });
});
