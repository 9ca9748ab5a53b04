/** webgpu kernels: resample (being written). */
export function registerResampleKernels(): void {
  // kernels are registered here with registerKernel(op, 'webgpu', fn)
}
