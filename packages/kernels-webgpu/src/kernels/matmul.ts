/**
 * webgpu kernels: matmul and linear, both on the tiled strided GEMM (gemm-core / gemm-strided).
 *
 *  - matmul: transA / transB are strides of the operand reads (vec4 loads along whichever dim is
 *    contiguous), batch dims broadcast through per-operand batch strides (0 on broadcast dims);
 *    when b has no batch and a is not transposed the batch folds into M (one tall GEMM).
 *  - linear: x [.., K] · weightᵀ with the weight read transposed in place and the bias fused in
 *    the epilogue.
 * float16 tensors are read as f16 (shader-f16) or unpacked u16 pairs and accumulated in f32.
 */
import { type KernelContext, broadcastStrides, registerKernel, sizeOf } from '@tubelet/core';
import type { MatmulAttrs } from '@tubelet/core';
import type { WebGpuBackend } from '../backend';
import { bufferOf, contiguousStrides, elemKind, outputTarget } from './gemm-common';
import { stridedGemm } from './gemm-strided';

type Ctx<A> = KernelContext<A, WebGpuBackend>;

function matmulKernel(ctx: Ctx<MatmulAttrs>): unknown[] {
  const be = ctx.backend;
  const a = ctx.inputs[0]!;
  const b = ctx.inputs[1]!;
  const os = ctx.outputs[0]!.shape;
  const dtype = ctx.outputs[0]!.dtype;
  const size = sizeOf(os);
  const out = outputTarget(be, dtype, size, 'matmul');
  const { transA, transB } = ctx.attrs;
  const M = os[os.length - 2]!;
  const N = os[os.length - 1]!;
  const K = transA ? a.shape[a.shape.length - 2]! : a.shape[a.shape.length - 1]!;
  if (size > 0) {
    let outBatch = os.slice(0, -2);
    const aBatch = a.shape.slice(0, -2);
    const bBatch = b.shape.slice(0, -2);
    let Mg = M;
    let aStrides = broadcastStrides(aBatch, outBatch).map((s) => s * M * K);
    let bStrides = broadcastStrides(bBatch, outBatch).map((s) => s * K * N);
    let cStrides = contiguousStrides(outBatch).map((s) => s * M * N);
    if (!transA && sizeOf(bBatch) === 1 && sizeOf(aBatch) === sizeOf(outBatch)) {
      // b shared by every batch entry and a's batches contiguous: one tall GEMM
      Mg = M * sizeOf(outBatch);
      outBatch = [];
      aStrides = bStrides = cStrides = [];
    }
    stridedGemm(be, {
      M: Mg,
      N,
      K,
      batchShape: outBatch,
      a: { buffer: bufferOf(a.handle), kind: elemKind(be, a.dtype, 'matmul'), rs: transA ? 1 : K, cs: transA ? M : 1, batchStrides: aStrides },
      b: { buffer: bufferOf(b.handle), kind: elemKind(be, b.dtype, 'matmul'), rs: transB ? 1 : N, cs: transB ? K : 1, batchStrides: bStrides },
      c: { buffer: out.buffer, kind: out.kind, ldc: N, batchStrides: cStrides },
    });
  }
  return [out.finish()];
}

function linearKernel(ctx: Ctx<Record<string, never>>): unknown[] {
  const be = ctx.backend;
  const x = ctx.inputs[0]!;
  const w = ctx.inputs[1]!;
  const bias = ctx.inputs[2];
  const dtype = ctx.outputs[0]!.dtype;
  const size = sizeOf(ctx.outputs[0]!.shape);
  const out = outputTarget(be, dtype, size, 'linear');
  const N = w.shape[0]!;
  const K = w.shape[1]!;
  if (size > 0) {
    const M = size / N;
    stridedGemm(be, {
      M,
      N,
      K,
      batchShape: [],
      a: { buffer: bufferOf(x.handle), kind: elemKind(be, x.dtype, 'linear'), rs: K, cs: 1, batchStrides: [] },
      // B[k, n] = weight[n, k]: the weight read transposed in place
      b: { buffer: bufferOf(w.handle), kind: elemKind(be, w.dtype, 'linear'), rs: 1, cs: K, batchStrides: [] },
      c: { buffer: out.buffer, kind: out.kind, ldc: N, batchStrides: [] },
      bias: bias ? { buffer: bufferOf(bias.handle), kind: elemKind(be, bias.dtype, 'linear'), axis: 'n', batchStrides: [] } : null,
    });
  }
  return [out.finish()];
}

let registered = false;
/** Registers the webgpu matmul / linear kernels (idempotent). */
export function registerMatmulKernels(): void {
  if (registered) return;
  registered = true;
  registerKernel('matmul', 'webgpu', matmulKernel);
  registerKernel('linear', 'webgpu', linearKernel);
}
