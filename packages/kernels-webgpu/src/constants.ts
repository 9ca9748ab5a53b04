/**
 * WebGPU flag values, spelled out so the backend works with a caller-supplied device even where
 * the `GPUBufferUsage` / `GPUMapMode` globals were never installed (Node without `webgpu`'s globals).
 */
export const BufferUsage = {
  MAP_READ: 0x0001,
  MAP_WRITE: 0x0002,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  INDEX: 0x0010,
  VERTEX: 0x0020,
  UNIFORM: 0x0040,
  STORAGE: 0x0080,
  INDIRECT: 0x0100,
  QUERY_RESOLVE: 0x0200,
} as const;

export const MapMode = { READ: 0x0001, WRITE: 0x0002 } as const;

/** Usage of every tensor buffer: bound as storage, uploaded to, copied out of. */
export const TENSOR_USAGE = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;
/** Usage of readback staging buffers. */
export const STAGING_USAGE = BufferUsage.MAP_READ | BufferUsage.COPY_DST;
/** Usage of per-dispatch uniform buffers. */
export const UNIFORM_USAGE = BufferUsage.UNIFORM | BufferUsage.COPY_DST;

export function alignTo(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}
