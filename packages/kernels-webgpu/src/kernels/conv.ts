/** webgpu kernels: conv (being written). */
export function registerConvKernels(): void {
  // kernels are registered here with registerKernel(op, 'webgpu', fn)
}
