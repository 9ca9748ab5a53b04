// Host-side entry points of the CUDA kernels in kernels.cu (compiled by nvcc, called from addon.cc).
#pragma once
#include <cstddef>
#include <cuda_runtime.h>

// out[i] = a[i % an] + b[i % bn] for i < n (float32). an == bn == n is the same-shape case;
// an or bn smaller than n (dividing it) broadcasts that operand over the leading dims.
// Launches on `stream` and returns the launch error (cudaSuccess when queued).
cudaError_t tubelet_add_f32(float* out, const float* a, const float* b, size_t n, size_t an, size_t bn,
                            cudaStream_t stream);

// cudaSuccess when this binary holds code the current device can run (checked once in init()).
cudaError_t tubelet_check_kernels();
