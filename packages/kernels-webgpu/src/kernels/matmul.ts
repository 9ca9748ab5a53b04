/** webgpu kernels: matmul (being written). */
export function registerMatmulKernels(): void {
  // kernels are registered here with registerKernel(op, 'webgpu', fn)
}
