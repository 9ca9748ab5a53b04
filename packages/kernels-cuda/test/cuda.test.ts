import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { add, backendReport, memory, setBackend, tensor } from '@tubelet/core';
import { afterAll, describe, expect, it } from 'vitest';
import {
  NOT_BUILT_REASON,
  addonPath,
  cudaStatus,
  defaultAddonPath,
  isSuffixBroadcast,
  loadAddon,
  registerCudaBackend,
} from '../src/index';

const built = existsSync(defaultAddonPath());
const hasNvcc = (process.env.PATH ?? '').split(':').some((d) => d && existsSync(`${d}/nvcc`)) || existsSync('/usr/local/cuda/bin/nvcc');
const load = loadAddon(defaultAddonPath());
const init = load.ok ? load.addon.init() : null;
const gpu = init?.ok === true;
const noGpuReason = !load.ok ? load.reason : init && !init.ok ? init.reason : '';
if (!gpu) console.warn(`cuda GPU tests skipped: ${noGpuReason}`);

registerCudaBackend();

describe('build and load (any machine)', () => {
  it('the addon was built when nvcc is present', () => {
    if (!hasNvcc) {
      console.warn('nvcc not found: the addon is not built here');
      if (!built) expect(load.ok ? '' : load.reason).toBe(NOT_BUILT_REASON);
      return;
    }
    expect(built, `${defaultAddonPath()} missing after \`pnpm build\``).toBe(true);
  });

  it.runIf(built)('loads without initialising CUDA', () => {
    expect(load.ok).toBe(true);
    if (!load.ok) return;
    expect(load.addon.runtimeVersion()).toBeGreaterThanOrEqual(11000);
    expect(loadAddon(defaultAddonPath())).toBe(load); // loaded once per path
    // In a fresh process: loading maps no driver library (cudart would dlopen libcuda.so.1 on its
    // first call), and device work before init() is refused with a clear error.
    const script = `const m = { exports: {} }; process.dlopen(m, ${JSON.stringify(defaultAddonPath())});
      const mapped = require('fs').readFileSync('/proc/self/maps', 'utf8').includes('libcuda.so');
      let err = ''; try { m.exports.alloc(16); } catch (e) { err = e.message; }
      console.log(JSON.stringify({ mapped, err }));`;
    if (process.platform !== 'linux') return;
    const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }));
    expect(out).toEqual({ mapped: false, err: 'tubelet_cuda: CUDA is not initialised (call init() first)' });
  });

  it.runIf(built && !gpu)('init() reports the CUDA error as a value, and device calls refuse', () => {
    if (!load.ok || !init || init.ok) return;
    expect(init.reason).toMatch(/CUDA|driver|device/);
    expect(init.reason).not.toMatch(/\n/);
    expect(load.addon.deviceCount()).toBe(0);
    expect(() => load.addon.alloc(16)).toThrow(/CUDA is not initialised/);
    expect(() => load.addon.sync()).toThrow(/CUDA is not initialised/);
  });

  it.runIf(built)('zero-byte buffers and handle checks work without a device', async () => {
    if (!load.ok) return;
    const a = load.addon;
    const h = a.alloc(0);
    a.upload(h, new Float32Array(0));
    expect(() => a.upload(h, new Float32Array(1))).toThrow(/exceeds the buffer's 0 bytes/);
    const buf = await a.download(h, 0);
    expect(buf).toBeInstanceOf(ArrayBuffer);
    expect(buf.byteLength).toBe(0);
    expect(() => a.download(h, 4)).toThrow(/exceeds|not initialised/);
    a.free(h);
    expect(() => a.free(h)).toThrow(/already freed/);
    expect(() => a.free({} as never)).toThrow(/must be a handle from alloc/);
    expect(() => a.alloc(-1)).toThrow(/non-negative integer/);
  });

  it.runIf(!gpu)("backendReport lists 'cuda' as unavailable with a one-line reason", async () => {
    const report = await backendReport();
    const cuda = report.find((r) => r.name === 'cuda');
    expect(cuda).toBeDefined();
    expect(cuda!.available).toBe(false);
    expect(cuda!.current).toBe(false);
    expect(cuda!.reason).toBeTruthy();
    expect(cuda!.reason).not.toMatch(/\n/);
    expect(cuda!.reason).toBe(noGpuReason);
    if (built) expect(cuda!.reason).toMatch(/CUDA|driver|device/);
    console.warn(`cuda backend unavailable here: ${cuda!.reason}`);
    // the cpu backend is unaffected and still the default
    expect(report.find((r) => r.name === 'cpu')?.available).toBe(true);
  });

  it.runIf(!gpu)("setBackend('cuda') rejects with 'cuda backend unavailable: …'", async () => {
    await expect(setBackend('cuda')).rejects.toThrow(`cuda backend unavailable: ${noGpuReason}`);
    const s = cudaStatus();
    expect(s).toEqual({ available: false, reason: noGpuReason });
  });

  it('TUBELET_CUDA_ADDON pointing at a missing file gives a "failed to load" reason', async () => {
    const missing = '/nonexistent/tubelet_cuda.node';
    const old = process.env.TUBELET_CUDA_ADDON;
    process.env.TUBELET_CUDA_ADDON = missing;
    try {
      expect(addonPath()).toBe(missing);
      const st = cudaStatus();
      expect(st.available).toBe(false);
      expect(st.reason).toMatch(/^failed to load the addon: .*nonexistent\/tubelet_cuda\.node/);
      expect(st.reason).not.toMatch(/\n/);
      registerCudaBackend(); // a fresh registration probes again, with the override
      await expect(setBackend('cuda')).rejects.toThrow(/^cuda backend unavailable: failed to load the addon: /);
      const cuda = (await backendReport()).find((r) => r.name === 'cuda');
      expect(cuda?.reason).toBe(st.reason);
    } finally {
      if (old === undefined) delete process.env.TUBELET_CUDA_ADDON;
      else process.env.TUBELET_CUDA_ADDON = old;
      registerCudaBackend();
    }
  });

  it('TUBELET_CUDA_ADDON pointing at a file that is not an addon gives a one-line reason', () => {
    const st = cudaStatus({ addonPath: new URL('../package.json', import.meta.url).pathname });
    expect(st.available).toBe(false);
    expect(st.reason).toMatch(/^failed to load the addon: /);
    expect(st.reason).not.toMatch(/\n/);
  });

  it('isSuffixBroadcast', () => {
    expect(isSuffixBroadcast([2, 3], [2, 3])).toBe(true);
    expect(isSuffixBroadcast([3], [2, 3])).toBe(true);
    expect(isSuffixBroadcast([1, 3], [2, 3])).toBe(true);
    expect(isSuffixBroadcast([], [2, 3])).toBe(true);
    expect(isSuffixBroadcast([1], [2, 3])).toBe(true);
    expect(isSuffixBroadcast([4, 5], [2, 3, 4, 5])).toBe(true);
    expect(isSuffixBroadcast([2, 1], [2, 3])).toBe(false);
    expect(isSuffixBroadcast([3, 1, 1], [2, 3, 4, 4])).toBe(false);
  });
});

// Only on a machine with a GPU (and a driver); skipped with the reason printed above elsewhere.
describe.runIf(gpu)('on a GPU', () => {
  afterAll(async () => {
    await setBackend('cpu');
  });

  it('reports the device', () => {
    const s = cudaStatus();
    expect(s.available).toBe(true);
    expect(s.device?.name).toBeTruthy();
    expect(s.device?.computeCapability).toMatch(/^\d+\.\d$/);
    expect(s.device?.totalMemory).toBeGreaterThan(0);
  });

  it('addon round-trip: upload, download (async), offsets, free', async () => {
    if (!load.ok) return;
    const a = load.addon;
    const src = Float32Array.from({ length: 1000 }, (_, i) => i * 0.5 - 7);
    const h = a.alloc(src.byteLength);
    a.upload(h, src);
    const back = new Float32Array(await a.download(h, src.byteLength));
    expect(back).toEqual(src);
    a.upload(h, new Float32Array([42, 43]), 8); // elements 2 and 3
    const part = new Float32Array(await a.download(h, 16));
    expect(Array.from(part)).toEqual([src[0], src[1], 42, 43]);
    const tail = new Float32Array(await a.download(h, 8, src.byteLength - 8));
    expect(Array.from(tail)).toEqual([src[998], src[999]]);
    // a subarray view uploads only its own bytes
    const sub = src.subarray(10, 20);
    const h2 = a.alloc(sub.byteLength);
    a.upload(h2, sub);
    expect(new Float32Array(await a.download(h2, sub.byteLength))).toEqual(sub);
    // free while a download is in flight: the copy still completes
    const pending = a.download(h2, sub.byteLength);
    a.free(h2);
    expect(new Float32Array(await pending)).toEqual(sub);
    a.free(h);
    await a.sync();
  });

  it('tensors round-trip through the backend for every dtype', async () => {
    await setBackend('cuda');
    const before = memory('cuda');
    const f = tensor(new Float32Array([1.5, -2, 3]), [3]);
    const i = tensor(new Int32Array([1, -2, 3]), [3], { dtype: 'int32' });
    const l = tensor(new BigInt64Array([1n, -2n, 1n << 40n]), [3], { dtype: 'int64' });
    const u = tensor(new Uint8Array([0, 255, 7]), [3], { dtype: 'uint8' });
    const h = tensor(new Uint16Array([0x3c00, 0xc000]), [2], { dtype: 'float16' });
    const z = tensor(new Float32Array(0), [0, 4]);
    expect(f.backend).toBe('cuda');
    expect(await f.toArray()).toEqual([1.5, -2, 3]);
    expect(await i.toArray()).toEqual([1, -2, 3]);
    expect(Array.from(await l.data())).toEqual([1n, -2n, 1n << 40n]);
    expect(await u.toArray()).toEqual([0, 255, 7]);
    expect(await h.toArray()).toEqual([0x3c00, 0xc000]);
    expect((await z.data()).length).toBe(0);
    for (const t of [f, i, l, u, h, z]) t.dispose();
    expect(memory('cuda')).toEqual(before);
  });

  it('add: same shape, trailing-dim broadcast, scalar, large', async () => {
    await setBackend('cuda');
    const a = tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
    const b = tensor(new Float32Array([10, 20, 30, 40, 50, 60]), [2, 3]);
    const c = tensor(new Float32Array([100, 200, 300]), [3]);
    const s = tensor(new Float32Array([0.5]), [1]);
    const ab = add(a, b);
    expect(ab.backend).toBe('cuda');
    expect(ab.shape).toEqual([2, 3]);
    expect(await ab.toArray()).toEqual([11, 22, 33, 44, 55, 66]);
    expect(await add(a, c).toArray()).toEqual([101, 202, 303, 104, 205, 306]);
    expect(await add(c, a).toArray()).toEqual([101, 202, 303, 104, 205, 306]);
    expect(await add(a, s).toArray()).toEqual([1.5, 2.5, 3.5, 4.5, 5.5, 6.5]);

    const n = (1 << 20) + 3;
    const x = Float32Array.from({ length: n }, (_, k) => (k % 97) - 48);
    const y = Float32Array.from({ length: n }, (_, k) => (k % 13) * 0.25);
    const got = (await add(tensor(x, [n]), tensor(y, [n])).data()) as Float32Array;
    for (let k = 0; k < n; k += 4099) expect(got[k]).toBe(x[k]! + y[k]!);
    expect(got[n - 1]).toBe(x[n - 1]! + y[n - 1]!);
    await setBackend('cpu');
  });

  it('add: unsupported broadcast and dtype give clear errors', async () => {
    await setBackend('cuda');
    const a = tensor(new Float32Array(6), [2, 3]);
    const col = tensor(new Float32Array(2), [2, 1]);
    expect(() => add(a, col)).toThrow(/cannot broadcast b \[2, 1\] to \[2, 3\]/);
    const i = tensor(new Int32Array(3), [3], { dtype: 'int32' });
    expect(() => add(i, i)).toThrow(/float32 only/);
    await setBackend('cpu');
  });
});
