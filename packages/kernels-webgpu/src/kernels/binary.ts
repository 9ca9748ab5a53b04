import { type DType, type KernelContext, OpError, broadcastStrides, registerKernel, shapesEqual, sizeOf } from '@tubelet/core';
import { type WebGpuBackend, asHandle } from '../backend';
import { type ProgramDesc, type WgslElement, linearWorkgroups } from '../program';

/** WGSL expression of each binary op over `a` and `b` (values of the element type). */
const BINARY_EXPR = {
  add: 'a + b',
} as const;

export type WebGpuBinaryOp = keyof typeof BINARY_EXPR;

/** dtypes whose binary kernels run on webgpu now, with their WGSL element types. */
const ELEMENT: Partial<Record<DType, WgslElement>> = { float32: 'f32', int32: 'i32' };

const WG_SAME = 256;
const WG_BROADCAST = 64;

/** out[i] = op(a[i], b[i]) when both inputs have the output's shape. */
export function sameShapeProgram(op: WebGpuBinaryOp, t: WgslElement): ProgramDesc {
  return {
    key: `binary/${op}/${t}/same`,
    workgroupSize: WG_SAME,
    bindings: [
      { name: 'A', type: t, access: 'read' },
      { name: 'B', type: t, access: 'read' },
      { name: 'Y', type: t, access: 'read_write' },
    ],
    uniforms: [{ name: 'size', type: 'u32' }],
    main: `  if (idx >= u.size) { return; }\n  let a = A[idx];\n  let b = B[idx];\n  Y[idx] = ${BINARY_EXPR[op]};`,
  };
}

/**
 * Numpy broadcasting of rank `rank`: each output index is unravelled over `shape`, and the
 * inputs are read through their broadcast strides (0 on broadcast dims), passed as uniforms.
 */
export function broadcastProgram(op: WebGpuBinaryOp, t: WgslElement, rank: number): ProgramDesc {
  return {
    key: `binary/${op}/${t}/bcast${rank}`,
    workgroupSize: WG_BROADCAST,
    bindings: [
      { name: 'A', type: t, access: 'read' },
      { name: 'B', type: t, access: 'read' },
      { name: 'Y', type: t, access: 'read_write' },
    ],
    uniforms: [
      { name: 'size', type: 'u32' },
      { name: 'shape', type: 'u32', length: rank },
      { name: 'aStrides', type: 'u32', length: rank },
      { name: 'bStrides', type: 'u32', length: rank },
    ],
    main: [
      '  if (idx >= u.size) { return; }',
      '  var rem = idx;',
      '  var ia = 0u;',
      '  var ib = 0u;',
      `  for (var d = ${rank - 1}; d >= 0; d--) {`,
      '    let k = u32(d);',
      '    let c = rem % u_shape(k);',
      '    rem = rem / u_shape(k);',
      '    ia += c * u_aStrides(k);',
      '    ib += c * u_bStrides(k);',
      '  }',
      '  let a = A[ia];',
      '  let b = B[ib];',
      `  Y[idx] = ${BINARY_EXPR[op]};`,
    ].join('\n'),
  };
}

/** The webgpu kernel of binary op `op` (same-shape fast path, general broadcast otherwise). */
export function binaryKernel(op: WebGpuBinaryOp) {
  return (ctx: KernelContext<unknown, WebGpuBackend>): unknown[] => {
    const backend = ctx.backend;
    const a = ctx.inputs[0]!;
    const b = ctx.inputs[1]!;
    const o = ctx.outputs[0]!;
    const t = ELEMENT[o.dtype];
    if (!t) {
      const ok = Object.keys(ELEMENT).join(', ');
      throw new OpError(op, `the webgpu backend runs ${op} on ${ok} only for now, got ${o.dtype}`);
    }
    const size = sizeOf(o.shape);
    const out = backend.allocate(size * 4);
    if (size === 0) return [out];
    const bufs = [asHandle(a.handle).buffer, asHandle(b.handle).buffer, out.buffer];
    const max = backend.limits.maxComputeWorkgroupsPerDimension;
    if (shapesEqual(a.shape, o.shape) && shapesEqual(b.shape, o.shape)) {
      const p = backend.program(`binary/${op}/${t}/same`, () => sameShapeProgram(op, t));
      backend.dispatch(p, bufs, { size }, linearWorkgroups(size, WG_SAME, max));
    } else {
      const rank = o.shape.length;
      const p = backend.program(`binary/${op}/${t}/bcast${rank}`, () => broadcastProgram(op, t, rank));
      const uniforms = {
        size,
        shape: o.shape,
        aStrides: broadcastStrides(a.shape, o.shape),
        bStrides: broadcastStrides(b.shape, o.shape),
      };
      backend.dispatch(p, bufs, uniforms, linearWorkgroups(size, WG_BROADCAST, max));
    }
    return [out];
  };
}

let registered = false;
/** Registers the webgpu binary kernels (idempotent). */
export function registerBinaryKernels(): void {
  if (registered) return;
  registered = true;
  for (const op of Object.keys(BINARY_EXPR) as WebGpuBinaryOp[]) registerKernel(op, 'webgpu', binaryKernel(op));
}

