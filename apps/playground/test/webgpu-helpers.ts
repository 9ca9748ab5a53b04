/**
 * Shared setup of the Node-side webgpu model tests (test/webgpu-models*.test.ts): the `webgpu`
 * backend through Dawn (the `webgpu` package) — SwiftShader, Chromium's CPU Vulkan driver, where
 * there is no GPU — and asynchronous comparisons against the reference vectors.
 */
// Dawn finds SwiftShader through this when there is no GPU (read when Dawn creates its instance).
process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json';

import { type MemoryInfo, type RawTensor, type Tensor, backendReport, memory, setBackend } from '@tubelet/core';
import { type WebGpuBackend, type WebGpuStats, registerWebGpuBackend } from '@tubelet/kernels-webgpu';

export const REQUIRE_WEBGPU = process.env.TUBELET_REQUIRE_WEBGPU === '1';

export interface WebGpuSetup {
  backend: WebGpuBackend | null;
  /** Why webgpu is unavailable (null when it is available). */
  reason: string | null;
}

/**
 * Registers the webgpu backend and makes it the current one (so every tensor the tests and the
 * models create lives on it). When no adapter can be found the reason is printed and the tests
 * skip; TUBELET_REQUIRE_WEBGPU=1 (CI) turns that into a failure.
 */
export async function setupWebGpu(tag: string): Promise<WebGpuSetup> {
  registerWebGpuBackend();
  const status = (await backendReport()).find((s) => s.name === 'webgpu');
  if (!status?.available) {
    const reason = status?.reason ?? 'webgpu backend not registered';
    if (REQUIRE_WEBGPU) throw new Error(`TUBELET_REQUIRE_WEBGPU=1 but webgpu is unavailable: ${reason}`);
    console.warn(`[${tag}] SKIPPING webgpu model tests: webgpu backend unavailable: ${reason} (VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES})`);
    return { backend: null, reason };
  }
  const backend = (await setBackend('webgpu')) as WebGpuBackend;
  const a = backend.adapterInfo;
  console.log(`[${tag}] webgpu via ${backend.source}: ${[a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' / ') || 'unknown adapter'}`);
  return { backend, reason: null };
}

/** The README criterion of the UniFormer vectors (and the browser check): max|ours − ref| ≤ 1e-4·max(1, max|ref|). */
export interface Comparison {
  name: string;
  /** Backend the compared tensor lives on. */
  backend: string;
  maxErr: number;
  maxRef: number;
  /** 1e-4 · max(1, max|ref|). */
  bound: number;
  /** maxErr / max(1, max|ref|). */
  rel: number;
  /** ViViT only: max over elements of |ours − ref| / (atol + rtol·|ref|) (≤ 1 passes). */
  worst?: number;
  ok: boolean;
}

/** Reads `ours` back (asynchronously: webgpu has no synchronous readback) and compares it with `ref`. */
export async function compareAsync(name: string, ours: Tensor, ref: RawTensor, tol?: { atol: number; rtol: number }): Promise<Comparison> {
  if (ours.shape.join() !== ref.shape.join()) throw new Error(`${name}: shape [${ours.shape}] vs reference [${ref.shape}]`);
  const a = (await ours.data()) as Float32Array;
  const b = ref.data as Float32Array;
  let maxErr = 0;
  let maxRef = 0;
  let worst = 0;
  for (let i = 0; i < b.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= maxErr)) maxErr = d; // NaN propagates
    const r = Math.abs(b[i]!);
    if (r > maxRef) maxRef = r;
    if (tol) {
      const w = d / (tol.atol + tol.rtol * r);
      if (!(w <= worst)) worst = w;
    }
  }
  const scale = Math.max(1, maxRef);
  const bound = 1e-4 * scale;
  const ok = tol ? worst <= 1 : maxErr <= bound;
  return { name, backend: ours.backend, maxErr, maxRef, bound, rel: maxErr / scale, ...(tol ? { worst } : {}), ok };
}

/** max|a − b| of two tensors (read back asynchronously; any backends). */
export async function maxAbsDiff(a: Tensor, b: Tensor): Promise<number> {
  if (a.shape.join() !== b.shape.join()) throw new Error(`shape [${a.shape}] vs [${b.shape}]`);
  const [x, y] = (await Promise.all([a.data(), b.data()])) as [Float32Array, Float32Array];
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs(x[i]! - y[i]!);
    if (!(d <= m)) m = d;
  }
  return m;
}

/** The counters the leak checks watch: core's live tensors / storages / bytes and the pool's in-use bytes. */
export interface Counters {
  memory: MemoryInfo;
  inUseBytes: number;
  inUseBuffers: number;
}

export function counters(backend: WebGpuBackend): Counters {
  const s: WebGpuStats = backend.stats();
  return { memory: memory('webgpu'), inUseBytes: s.inUseBytes, inUseBuffers: s.numBuffers - s.numPooled };
}

export const fmtBytes = (n: number) => (Math.abs(n) >= 1 << 20 ? `${(n / (1 << 20)).toFixed(2)} MiB` : Math.abs(n) >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);
