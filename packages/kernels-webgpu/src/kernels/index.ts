import { registerAttentionKernels } from './attention';
import { registerBinaryKernels } from './binary';
import { registerBoxKernels } from './boxes';
import { registerConvKernels } from './conv';
import { registerDetectionKernels } from './detection';
import { registerElementwiseKernels } from './elementwise';
import { registerLayoutKernels } from './layout';
import { registerMatmulKernels } from './matmul';
import { registerPoolKernels } from './pool';
import { registerReduceKernels } from './reduce';
import { registerResampleKernels } from './resample';
import { registerWarpKernels } from './warp';

let done = false;
/** Registers every webgpu kernel (idempotent). One file per op family. */
export function registerAllKernels(): void {
  if (done) return;
  done = true;
  registerBinaryKernels();
  registerElementwiseKernels();
  registerLayoutKernels();
  registerReduceKernels();
  registerMatmulKernels();
  registerConvKernels();
  registerPoolKernels();
  registerAttentionKernels();
  registerResampleKernels();
  registerDetectionKernels();
  registerBoxKernels();
  registerWarpKernels();
}
