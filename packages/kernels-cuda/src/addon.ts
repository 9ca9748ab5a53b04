import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** An opaque device-buffer handle made by the addon's `alloc()` (a tagged N-API External). */
export type CudaHandle = { readonly __tubeletCudaHandle: unique symbol };

export interface CudaDeviceInfo {
  device: number;
  name: string;
  /** e.g. "9.0" */
  computeCapability: string;
  /** bytes */
  totalMemory: number;
  multiProcessors: number;
  /** e.g. 13000 for CUDA 13.0 (cudaDriverGetVersion) */
  driverVersion: number;
  /** the CUDA runtime this addon was built with (statically linked), e.g. 13000 */
  runtimeVersion: number;
  /** true when buffers come from the stream-ordered pool (cudaMallocAsync / cudaFreeAsync) */
  pooledAllocator: boolean;
}

export type CudaInitResult = ({ ok: true } & CudaDeviceInfo) | { ok: false; reason: string; code: number };

/** The functions exported by `tubelet_cuda.node` (native/src/addon.cc). */
export interface CudaAddon {
  /** CUDA runtime version compiled in (needs no driver). */
  runtimeVersion(): number;
  /** cudaGetDeviceCount, 0 on any error. */
  deviceCount(): number;
  /** Initialises CUDA on `device` (default 0); never throws for CUDA errors. */
  init(device?: number): CudaInitResult;
  memInfo(): { free: number; total: number };
  alloc(bytes: number): CudaHandle;
  free(handle: CudaHandle): void;
  /** Synchronous host → device copy; `data` may be reused when it returns. */
  upload(handle: CudaHandle, data: ArrayBuffer | ArrayBufferView, offsetBytes?: number): void;
  /** Device → host copy on the thread pool, ordered after all queued work. */
  download(handle: CudaHandle, bytes: number, offsetBytes?: number): Promise<ArrayBuffer>;
  /** Resolves when all queued device work has finished. */
  sync(): Promise<void>;
  /** out[i] = a[i % an] + b[i % bn] (float32), i < n; queued, not waited for. */
  add(out: CudaHandle, a: CudaHandle, b: CudaHandle, n: number, an: number, bn: number): void;
}

/** Reason used when the default addon file does not exist. */
export const NOT_BUILT_REASON = 'addon not built: nvcc was not found at install/build time';

/**
 * Where the addon is loaded from: `$TUBELET_CUDA_ADDON` when set, else
 * `<package>/native/build/Release/tubelet_cuda.node` (src/ and dist/ both sit one level below
 * the package root, so this holds for the ESM build, the CJS build and the sources).
 */
export function addonPath(): string {
  return process.env.TUBELET_CUDA_ADDON || defaultAddonPath();
}

/** `<package>/native/build/Release/tubelet_cuda.node`, where `pnpm build` puts the addon. */
export function defaultAddonPath(): string {
  return fileURLToPath(new URL('../native/build/Release/tubelet_cuda.node', import.meta.url));
}

export type AddonLoad = { ok: true; addon: CudaAddon; path: string } | { ok: false; reason: string; path: string };

const loaded = new Map<string, AddonLoad>();
const REQUIRED: readonly (keyof CudaAddon)[] = ['init', 'alloc', 'free', 'upload', 'download', 'sync', 'add'];

export function firstLine(s: string): string {
  return s.split(/\r?\n/, 1)[0]!.trim();
}

/**
 * Loads the addon (once per path). Loading never initialises CUDA, so it succeeds on machines
 * without a GPU or driver; a failure is returned as a one-line reason, never thrown.
 */
export function loadAddon(path: string = addonPath()): AddonLoad {
  const hit = loaded.get(path);
  if (hit) return hit;
  let r: AddonLoad;
  if (path === defaultAddonPath() && !existsSync(path)) {
    r = { ok: false, reason: NOT_BUILT_REASON, path };
  } else {
    try {
      const mod = { exports: {} as Record<string, unknown> };
      process.dlopen(mod, path);
      const missing = REQUIRED.filter((k) => typeof mod.exports[k] !== 'function');
      r = missing.length
        ? { ok: false, reason: `failed to load the addon: ${path} is not a tubelet_cuda build (no ${missing.join(', ')})`, path }
        : { ok: true, addon: mod.exports as unknown as CudaAddon, path };
    } catch (e) {
      r = { ok: false, reason: `failed to load the addon: ${firstLine(e instanceof Error ? e.message : String(e))}`, path };
    }
  }
  loaded.set(path, r);
  return r;
}
