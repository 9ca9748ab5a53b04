import { registerCpuBackend as registerBackendOnly } from './backend';
import { registerElementwiseKernels } from './kernels/elementwise';
import { registerLayoutKernels } from './kernels/layout';
import { registerReduceKernels } from './kernels/reduce';

export { CpuBackend, cpuKernel, alloc, type CpuKernelBody, type CpuKernelOptions } from './backend';

let done = false;
/** Registers the `cpu` backend and all its kernels (idempotent; @tubelet/core calls it on import). */
export function registerCpuBackend(): void {
  if (done) return;
  done = true;
  registerBackendOnly();
  registerElementwiseKernels();
  registerLayoutKernels();
  registerReduceKernels();
}
