/// <reference types="@webgpu/types" />
import { registerBackend } from '@tubelet/core';
import { WebGpuBackend, type WebGpuBackendOptions } from './backend';
import { type DeviceOptions, acquireDevice } from './device';
import { registerAllKernels } from './kernels/index';

export { WebGpuBackend, GpuHandle, asHandle, type WebGpuStats, type WebGpuBackendOptions } from './backend';
export { acquireDevice, describeAdapter, type AdapterInfo, type DeviceOptions, type DeviceSource, type AcquiredDevice } from './device';
export { BufferPool, bucketSize, MIN_BUCKET, type PoolStats, type BufferPoolOptions } from './pool';
export {
  ProgramCache,
  programSource,
  packUniforms,
  uniformLayout,
  linearWorkgroups,
  type ProgramDesc,
  type CompiledProgram,
  type StorageBinding,
  type UniformField,
  type UniformLayout,
  type UniformValues,
  type WgslElement,
} from './program';
export { binaryKernel, registerBinaryKernels, sameShapeProgram, broadcastProgram, type WebGpuBinaryOp } from './kernels/binary';

export interface WebGpuOptions extends DeviceOptions, WebGpuBackendOptions {
  /**
   * Registry priority (default 0, below cpu's 1): the backend is used only when chosen with
   * setBackend('webgpu') or per call, so nothing switches to the GPU silently.
   */
  priority?: number;
}

/** Registers every webgpu kernel available so far (idempotent). */
export function registerWebGpuKernels(): void {
  registerAllKernels();
}

/**
 * Creates a webgpu backend outside the registry (tests, several devices). Throws
 * BackendUnavailableError with a one-line reason when no device can be had.
 */
export async function createWebGpuBackend(opts: WebGpuOptions = {}): Promise<WebGpuBackend> {
  registerWebGpuKernels();
  return new WebGpuBackend(await acquireDevice(opts), opts);
}

/**
 * Registers the `webgpu` backend. Its factory is asynchronous: `await setBackend('webgpu')`
 * (or initBackend) gets the device — the caller's `opts.device`, else `navigator.gpu`, else
 * Dawn through the `webgpu` package in Node — or fails with the reason it is unavailable.
 */
export function registerWebGpuBackend(opts: WebGpuOptions = {}): void {
  registerWebGpuKernels();
  registerBackend('webgpu', () => createWebGpuBackend(opts), opts.priority ?? 0);
}
