/**
 * @tubelet/kernels-cuda: the `cuda` backend, a Node N-API addon with kernels in CUDA.
 *
 * Optional by design: the addon is built only where nvcc is found, loading it never initialises
 * CUDA, and where CUDA cannot run the backend reports why in one line
 * (`cuda backend unavailable: <reason>`) instead of throwing at import.
 *
 * TODO(gemm): matmul/conv GEMMs go through cuBLAS/cuBLASLt, loaded at run time with dlopen
 * (not linked: the build machine has cudart only). Not implemented yet.
 */
import { BackendUnavailableError, registerBackend } from '@tubelet/core';
import { type CudaDeviceInfo, loadAddon } from './addon';
import { CudaBackend } from './backend';
import { registerCudaKernels } from './kernels';

export { CudaBackend, viewAs } from './backend';
export { isSuffixBroadcast, registerCudaKernels } from './kernels';
export {
  NOT_BUILT_REASON,
  addonPath,
  defaultAddonPath,
  loadAddon,
  type AddonLoad,
  type CudaAddon,
  type CudaDeviceInfo,
  type CudaHandle,
  type CudaInitResult,
} from './addon';

export interface CudaOptions {
  /** CUDA device ordinal (default 0). */
  device?: number;
  /** The addon file (default: `$TUBELET_CUDA_ADDON`, else the package's native build). */
  addonPath?: string;
}

export interface CudaStatus {
  available: boolean;
  /** One line: why the backend cannot run here (absent when available). */
  reason?: string;
  device?: CudaDeviceInfo;
}

type Probe = { ok: true; backend: CudaBackend } | { ok: false; reason: string };
const probes = new Map<string, Probe>();

function probe(opts: CudaOptions): Probe {
  const load = loadAddon(opts.addonPath);
  const device = opts.device ?? 0;
  const key = `${load.path}\0${device}`;
  let p = probes.get(key);
  if (p) return p;
  if (!load.ok) {
    p = { ok: false, reason: load.reason };
  } else {
    const r = load.addon.init(device);
    if (r.ok) {
      const { ok: _ok, ...info } = r;
      p = { ok: true, backend: new CudaBackend(load.addon, info) };
    } else {
      p = { ok: false, reason: r.reason.split(/\r?\n/, 1)[0]!.trim() };
    }
  }
  // A successful init is kept; a failed one is kept too (CUDA does not recover in-process).
  probes.set(key, p);
  return p;
}

/** Whether the cuda backend can run here, and if not, why (one line). Loads the addon and initialises CUDA. */
export function cudaStatus(opts: CudaOptions = {}): CudaStatus {
  const p = probe(opts);
  return p.ok ? { available: true, device: p.backend.device } : { available: false, reason: p.reason };
}

/**
 * Registers the `cuda` backend (priority 0 by default, so it is never picked implicitly: choose
 * it with `await setBackend('cuda')`) and its kernels. Registering is cheap and safe everywhere;
 * the addon is loaded and CUDA initialised only when the backend is first used or reported.
 */
export function registerCudaBackend(opts: CudaOptions & { priority?: number } = {}): void {
  registerCudaKernels();
  const { priority = 0, ...rest } = opts;
  registerBackend(
    'cuda',
    () => {
      const p = probe(rest);
      if (!p.ok) throw new BackendUnavailableError('cuda', p.reason);
      return p.backend;
    },
    priority,
  );
}
