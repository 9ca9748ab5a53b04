/** webgpu kernels: pool (being written). */
export function registerPoolKernels(): void {
  // kernels are registered here with registerKernel(op, 'webgpu', fn)
}
