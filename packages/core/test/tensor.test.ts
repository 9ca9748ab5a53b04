import { describe, expect, it } from 'vitest';
import {
  BackendUnavailableError,
  OpError,
  Scope,
  add,
  backendReport,
  dispose,
  getBackend,
  keep,
  matmul,
  memory,
  mul,
  registerBackend,
  removeBackend,
  reshape,
  scalar,
  setBackend,
  tensor,
  tidy,
  tidyAsync,
  zeros,
} from '../src/index';

describe('Tensor', () => {
  it('creates tensors from typed arrays, flat arrays and nested arrays without keeping the caller array', async () => {
    const src = new Float32Array([1, 2, 3, 4, 5, 6]);
    const a = tensor(src, [2, 3]);
    src[0] = 99;
    expect(a.shape).toEqual([2, 3]);
    expect(a.dtype).toBe('float32');
    expect(Array.from(await a.data())).toEqual([1, 2, 3, 4, 5, 6]);
    const b = tensor([[1, 2], [3, 4]]);
    expect(b.shape).toEqual([2, 2]);
    const c = tensor([1, 2, 3], [3], { dtype: 'int64' });
    expect(c.dataSync()).toEqual(new BigInt64Array([1n, 2n, 3n]));
    const h = tensor([1.5, -2], [2], { dtype: 'float16' });
    expect(Array.from(h.dataSync())).toEqual([0x3e00, 0xc000]);
    const z = scalar(true, { dtype: 'bool' });
    expect(z.shape).toEqual([]);
    expect(Array.from(z.dataSync())).toEqual([1]);
    dispose([a, b, c, h, z]);
  });

  it('rejects values that do not fill the shape', () => {
    expect(() => tensor(new Float32Array(5), [2, 3])).toThrow(/5 values do not match shape \[2, 3\]/);
    expect(() => tensor([1, 2], [-1] as number[])).toThrow(/invalid dimension/);
  });

  it('refuses to use a disposed tensor, naming it', () => {
    const a = tensor([1, 2]);
    a.dispose();
    expect(() => a.dataSync()).toThrow(/tensor #\d+ float32\[2\] was disposed/);
    expect(() => add(a, a)).toThrow(/add: input 'a' \(tensor #\d+\) was disposed/);
  });

  it('counts live tensors and bytes, and shares storage between reshape views', () => {
    const before = memory('cpu');
    const a = zeros([4, 4]);
    const v = reshape(a, [16]);
    const m = memory('cpu');
    expect(m.numTensors - before.numTensors).toBe(2);
    expect(m.numStorages - before.numStorages).toBe(1);
    expect(m.numBytes - before.numBytes).toBe(64);
    a.dispose();
    expect(memory('cpu').numBytes - before.numBytes).toBe(64); // v still holds the buffer
    v.dispose();
    expect(memory('cpu')).toEqual(before);
  });
});

describe('scopes', () => {
  it('tidy disposes intermediates and keeps the result', () => {
    const before = memory('cpu');
    const x = tensor([1, 2, 3]);
    const y = tidy(() => {
      const t = mul(x, 2);
      return add(t, 1);
    });
    expect(Array.from(y.dataSync() as Float32Array)).toEqual([3, 5, 7]);
    expect(memory('cpu').numTensors - before.numTensors).toBe(2);
    dispose([x, y]);
    expect(memory('cpu')).toEqual(before);
  });

  it('tidyAsync, nested scopes, keep() and Symbol.dispose', async () => {
    const before = memory('cpu');
    let kept!: ReturnType<typeof tensor>;
    const out = await tidyAsync(async () => {
      const a = tensor([1, 2]);
      await a.data();
      const inner = tidy(() => ({ s: add(a, a), junk: mul(a, a) }));
      kept = keep(mul(a, 3));
      inner.junk.dispose();
      return inner.s;
    });
    expect(Array.from((await out.data()) as Float32Array)).toEqual([2, 4]);
    expect(Array.from(kept.dataSync() as Float32Array)).toEqual([3, 6]);
    dispose([out, kept]);
    {
      using s = new Scope();
      tensor([1, 2, 3]);
      zeros([10]);
      expect(memory('cpu').numTensors - before.numTensors).toBe(2);
      void s;
    }
    expect(memory('cpu')).toEqual(before);
  });

  it('frees everything when the scoped function throws', () => {
    const before = memory('cpu');
    expect(() =>
      tidy(() => {
        zeros([3]);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(memory('cpu')).toEqual(before);
  });
});

describe('backends', () => {
  it('cpu is the default and listed in the report', async () => {
    expect(getBackend().name).toBe('cpu');
    const report = await backendReport();
    expect(report.find((r) => r.name === 'cpu')).toMatchObject({ available: true });
  });

  it('reports unavailable backends with their reason and refuses to switch to them', async () => {
    registerBackend('nope', () => {
      throw new BackendUnavailableError('nope', 'no device here');
    });
    const report = await backendReport();
    expect(report.find((r) => r.name === 'nope')).toMatchObject({ available: false, reason: 'no device here' });
    await expect(setBackend('nope')).rejects.toThrow('nope backend unavailable: no device here');
    await expect(setBackend('missing')).rejects.toThrow(/unknown backend 'missing'/);
    removeBackend('nope');
  });

  it('never falls back silently: mixing backends or a missing kernel is an error', async () => {
    const cpu = getBackend('cpu');
    registerBackend('other', () => ({
      name: 'other',
      write: (v) => v.slice(),
      read: async (h) => h as Float32Array,
      release: () => undefined,
    }));
    await setBackend('other');
    const a = tensor([1, 2], [1, 2]);
    await setBackend('cpu');
    const b = tensor([1, 2], [2, 1]);
    expect(() => matmul(a, b)).toThrow(OpError);
    expect(() => matmul(a, b)).toThrow(/input 'b' is on backend 'cpu' but tensor #\d+ float32\[1, 2\] is on 'other'/);
    expect(() => add(a, a)).toThrow(/add: backend 'other' has no kernel for this op/);
    const moved = await a.to('cpu');
    expect(moved.backend).toBe('cpu');
    expect(Array.from(add(moved, moved).dataSync() as Float32Array)).toEqual([2, 4]);
    dispose([a, b, moved]);
    removeBackend('other');
    expect(getBackend()).toBe(cpu);
  });
});
