/** webgpu kernels: reduce (being written). */
export function registerReduceKernels(): void {
  // kernels are registered here with registerKernel(op, 'webgpu', fn)
}
