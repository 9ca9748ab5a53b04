import { registerCpuBackend as registerBackendOnly } from './backend';
import { registerAttentionKernels } from './kernels/attention';
import { registerConvKernels } from './kernels/conv';
import { registerDetectionKernels } from './kernels/detection';
import { registerElementwiseKernels } from './kernels/elementwise';
import { registerLayoutKernels } from './kernels/layout';
import { registerMatmulKernels } from './kernels/matmul';
import { registerPoolKernels } from './kernels/pool';
import { registerReduceKernels } from './kernels/reduce';
import { registerResampleKernels } from './kernels/resample';
import { registerBoxKernels } from './kernels/boxes';
import { registerWarpKernels } from './kernels/warp';

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
  registerMatmulKernels();
  registerConvKernels();
  registerPoolKernels();
  registerAttentionKernels();
  registerResampleKernels();
  registerDetectionKernels();
  registerBoxKernels();
  registerWarpKernels();
}
