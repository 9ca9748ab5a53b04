/** webgpu kernels: detection (being written). */
export function registerDetectionKernels(): void {
  // kernels are registered here with registerKernel(op, 'webgpu', fn)
}
