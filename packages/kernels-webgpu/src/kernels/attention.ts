/** webgpu kernels: attention (being written). */
export function registerAttentionKernels(): void {
  // kernels are registered here with registerKernel(op, 'webgpu', fn)
}
