/** webgpu kernels: elementwise (being written). */
export function registerElementwiseKernels(): void {
  // kernels are registered here with registerKernel(op, 'webgpu', fn)
}
