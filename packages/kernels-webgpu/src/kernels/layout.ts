/** webgpu kernels: layout (being written). */
export function registerLayoutKernels(): void {
  // kernels are registered here with registerKernel(op, 'webgpu', fn)
}
