import { type KernelContext, OpError, type Shape, type TensorInfo, fmtShape, registerKernel, sizeOf } from '@tubelet/core';
import type { CudaHandle } from './addon';
import type { CudaBackend } from './backend';

/**
 * True when `shape` broadcasts to `out` by repeating over leading dims only: with its leading 1s
 * dropped it is a suffix of `out` (same shape, a scalar, [C] over [N, C], [H, W] over [N, C, H, W]).
 * Then element i of the output reads element i % size of the operand.
 */
export function isSuffixBroadcast(shape: Shape, out: Shape): boolean {
  let k = 0;
  while (k < shape.length && shape[k] === 1) k++;
  const core = shape.slice(k);
  if (core.length > out.length) return false;
  const off = out.length - core.length;
  return core.every((d, i) => d === out[off + i]);
}

function operand(op: string, t: TensorInfo | null, name: string, out: Shape): TensorInfo {
  if (!t) throw new OpError(op, `cuda: input ${name} is missing`);
  if (t.dtype !== 'float32') throw new OpError(op, `cuda backend supports float32 only so far (${name} is ${t.dtype})`);
  if (!isSuffixBroadcast(t.shape, out)) {
    throw new OpError(
      op,
      `cuda backend cannot broadcast ${name} ${fmtShape(t.shape)} to ${fmtShape(out)} yet (only same shape, a scalar, or trailing dims repeated over leading ones)`,
    );
  }
  return t;
}

function addKernel(ctx: KernelContext<unknown, CudaBackend>): unknown[] {
  const o = ctx.outputs[0]!;
  const a = operand(ctx.op, ctx.inputs[0] ?? null, 'a', o.shape);
  const b = operand(ctx.op, ctx.inputs[1] ?? null, 'b', o.shape);
  const n = sizeOf(o.shape);
  const out = ctx.backend.alloc(n * 4);
  try {
    ctx.backend.addon.add(out, a.handle as CudaHandle, b.handle as CudaHandle, n, a.size, b.size);
  } catch (e) {
    ctx.backend.addon.free(out);
    throw e;
  }
  return [out];
}

let registered = false;
/** Registers the cuda kernels in core's op/backend table (idempotent). */
export function registerCudaKernels(): void {
  if (registered) return;
  registered = true;
  registerKernel('add', 'cuda', addKernel);
}
