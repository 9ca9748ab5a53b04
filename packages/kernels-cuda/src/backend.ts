import { BYTES_PER_ELEMENT, type Backend, type DType, type Shape, type TypedArray } from '@tubelet/core';
import type { CudaAddon, CudaDeviceInfo, CudaHandle } from './addon';

/** Wraps downloaded bytes as the host array type core uses for `dtype`. */
export function viewAs(dtype: DType, buf: ArrayBuffer): TypedArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(buf);
    case 'float16':
      return new Uint16Array(buf);
    case 'int32':
      return new Int32Array(buf);
    case 'int64':
      return new BigInt64Array(buf);
    case 'uint8':
    case 'bool':
      return new Uint8Array(buf);
    default:
      throw new TypeError(`cuda: unknown dtype '${String(dtype)}'`);
  }
}

/**
 * The `cuda` backend: a buffer handle is a device allocation made by the addon. Uploads are
 * synchronous copies; kernels are queued on the device in order; reads are asynchronous.
 */
export class CudaBackend implements Backend {
  readonly name = 'cuda';

  constructor(
    /** The loaded addon (exposed for kernels). */
    readonly addon: CudaAddon,
    /** The device this backend runs on. */
    readonly device: CudaDeviceInfo,
  ) {}

  /** A new uninitialised device buffer of `bytes` bytes (for kernel outputs). */
  alloc(bytes: number): CudaHandle {
    return this.addon.alloc(bytes);
  }

  write(values: TypedArray, _dtype: DType, _shape: Shape): CudaHandle {
    const h = this.addon.alloc(values.byteLength);
    try {
      this.addon.upload(h, values);
    } catch (e) {
      this.addon.free(h);
      throw e;
    }
    return h;
  }

  async read(handle: unknown, dtype: DType, size: number): Promise<TypedArray> {
    const buf = await this.addon.download(handle as CudaHandle, size * BYTES_PER_ELEMENT[dtype]);
    return viewAs(dtype, buf);
  }

  release(handle: unknown): void {
    this.addon.free(handle as CudaHandle);
  }

  sync(): Promise<void> {
    return this.addon.sync();
  }

  /** Free / total device memory in bytes (cudaMemGetInfo). */
  memInfo(): { free: number; total: number } {
    return this.addon.memInfo();
  }

  dispose(): void {
    // Buffers belong to tensors and are freed when they are disposed (or garbage collected).
  }
}
