import { type Backend, type KernelContext, type OutputSpec, registerBackend, registerKernel } from '../backend';
import { type DType, type TypedArray, allocArray, f16ArrayToF32, f32ArrayToF16 } from '../dtype';
import type { Shape } from '../shape';

/**
 * The pure-TypeScript reference backend. A buffer handle is the host typed array itself
 * (float16 as Uint16 bits); kernels compute float16 in float32 and round once at the end.
 */
export class CpuBackend implements Backend {
  readonly name = 'cpu';

  write(values: TypedArray, dtype: DType): TypedArray {
    const a = allocArray(dtype, values.length);
    (a as Float32Array).set(values as Float32Array);
    return a;
  }

  async read(handle: unknown, dtype: DType, size: number): Promise<TypedArray> {
    return this.readSync(handle, dtype, size);
  }

  readSync(handle: unknown, dtype: DType, size: number): TypedArray {
    const src = handle as TypedArray;
    if (src.length !== size) throw new Error(`cpu: buffer holds ${src.length} values, expected ${size}`);
    return src.slice() as TypedArray;
  }

  release(): void {
    // host arrays are garbage collected; the core's counters track the bytes
  }
}

export type CpuArray = TypedArray;

/** A CPU kernel body: host arrays in (null for omitted optional inputs), host arrays out. */
export type CpuKernelBody<A> = (
  inputs: (CpuArray | null)[],
  attrs: A,
  outputs: OutputSpec[],
  ctx: KernelContext<A, CpuBackend>,
) => CpuArray[] | Promise<CpuArray[]>;

export interface CpuKernelOptions {
  /**
   * How float16 inputs are handled: 'upcast' (default) converts float16 inputs to float32,
   * runs the body on float32 and rounds float16 outputs back; 'native' passes raw arrays.
   */
  f16?: 'upcast' | 'native';
}

function upcastInputs(ctx: KernelContext<unknown, CpuBackend>): (CpuArray | null)[] {
  return ctx.inputs.map((i) => (i ? (i.dtype === 'float16' ? f16ArrayToF32(i.handle as Uint16Array) : (i.handle as CpuArray)) : null));
}

/** Registers a CPU kernel for `op`, with float16 computed through float32. */
export function cpuKernel<A>(op: string, body: CpuKernelBody<A>, opts: CpuKernelOptions = {}): void {
  registerKernel(op, 'cpu', (ctx: KernelContext<A, CpuBackend>) => {
    const native = opts.f16 === 'native' || !ctx.inputs.some((i) => i?.dtype === 'float16');
    if (native) return body(ctx.inputs.map((i) => (i ? (i.handle as CpuArray) : null)), ctx.attrs, ctx.outputs, ctx);
    const outs32 = ctx.outputs.map((o) => (o.dtype === 'float16' ? { ...o, dtype: 'float32' as DType } : o));
    const fix = (arrs: CpuArray[]) => arrs.map((a, i) => (ctx.outputs[i]!.dtype === 'float16' && a instanceof Float32Array ? f32ArrayToF16(a) : a));
    const r = body(upcastInputs(ctx as KernelContext<unknown, CpuBackend>), ctx.attrs, outs32, ctx);
    return r instanceof Promise ? r.then(fix) : fix(r);
  });
}

/** Allocates the array for output spec `o`. */
export function alloc(o: OutputSpec): CpuArray {
  let n = 1;
  for (const d of o.shape) n *= d;
  return allocArray(o.dtype, n);
}

export function shapeSize(s: Shape): number {
  let n = 1;
  for (const d of s) n *= d;
  return n;
}

let registered = false;
/** Registers the cpu backend (priority 1); done when @tubelet/core is imported. */
export function registerCpuBackend(): void {
  if (registered) return;
  registered = true;
  registerBackend('cpu', () => new CpuBackend(), 1);
}
