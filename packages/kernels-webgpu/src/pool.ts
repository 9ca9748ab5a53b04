import { alignTo } from './constants';

/** Smallest buffer the pool hands out (bytes); also the alignment of every bucket. */
export const MIN_BUCKET = 16;
/** Below this, buckets are powers of two; above, quarter steps between powers of two (≤ 25% waste). */
const POW2_LIMIT = 4096;

/**
 * The bucket (allocation size in bytes) that serves a request of `bytes`: a multiple of 16,
 * a power of two up to 4 KiB, then 1, 1.25, 1.5 or 1.75 times a power of two.
 */
export function bucketSize(bytes: number): number {
  if (!Number.isFinite(bytes) || bytes < 0) throw new RangeError(`webgpu: invalid buffer size ${bytes}`);
  if (bytes <= MIN_BUCKET) return MIN_BUCKET;
  const p = 2 ** Math.ceil(Math.log2(bytes));
  if (p <= POW2_LIMIT) return p;
  const quarter = p / 8; // steps of (p/2)/4 between p/2 and p
  return alignTo(Math.max(bytes, p / 2), quarter);
}

export interface PoolStats {
  /** Bytes of every live GPU buffer the pool created (in use + pooled). */
  allocatedBytes: number;
  /** Bytes of released buffers waiting in the pool for reuse. */
  pooledBytes: number;
  /** Bytes of buffers handed out and not yet released. */
  inUseBytes: number;
  /** Live GPU buffers (in use + pooled). */
  numBuffers: number;
  /** Buffers waiting in the pool. */
  numPooled: number;
  /** createBuffer calls so far. */
  allocations: number;
  /** Requests served from the pool so far. */
  reuses: number;
}

export interface BufferPoolOptions {
  /** Released buffers beyond this many pooled bytes are destroyed instead (default 512 MiB). */
  maxPooledBytes?: number;
}

/**
 * GPU buffers bucketed by (usage, size). acquire() reuses a released buffer of the same bucket
 * or creates one; release() puts it back (or destroys it when the pool is full).
 */
export class BufferPool {
  readonly #device: GPUDevice;
  readonly #free = new Map<string, GPUBuffer[]>();
  readonly #inUse = new Set<GPUBuffer>();
  readonly #maxPooled: number;
  #pooledBytes = 0;
  #inUseBytes = 0;
  #numPooled = 0;
  #allocations = 0;
  #reuses = 0;
  #disposed = false;

  constructor(device: GPUDevice, opts: BufferPoolOptions = {}) {
    this.#device = device;
    this.#maxPooled = opts.maxPooledBytes ?? 512 * 2 ** 20;
  }

  /** A buffer of at least `bytes` bytes (its `size` is the bucket size) with exactly `usage`. */
  acquire(bytes: number, usage: number, label?: string): GPUBuffer {
    if (this.#disposed) throw new Error('webgpu: the buffer pool was disposed');
    const size = bucketSize(bytes);
    const list = this.#free.get(key(usage, size));
    let buf = list?.pop();
    if (buf) {
      this.#reuses++;
      this.#pooledBytes -= size;
      this.#numPooled--;
    } else {
      buf = this.#device.createBuffer({ size, usage, label });
      this.#allocations++;
    }
    this.#inUse.add(buf);
    this.#inUseBytes += size;
    return buf;
  }

  /** Returns a buffer from acquire() to the pool. Releasing twice is an error. */
  release(buf: GPUBuffer): void {
    if (this.#disposed) return;
    if (!this.#inUse.delete(buf)) throw new Error('webgpu: released a buffer that is not in use (released twice?)');
    this.#inUseBytes -= buf.size;
    if (this.#pooledBytes + buf.size > this.#maxPooled) {
      buf.destroy();
      return;
    }
    const k = key(buf.usage, buf.size);
    let list = this.#free.get(k);
    if (!list) this.#free.set(k, (list = []));
    list.push(buf);
    this.#pooledBytes += buf.size;
    this.#numPooled++;
  }

  /** Destroys every pooled (released) buffer; buffers in use are untouched. */
  trim(): void {
    for (const list of this.#free.values()) for (const b of list) b.destroy();
    this.#free.clear();
    this.#pooledBytes = 0;
    this.#numPooled = 0;
  }

  stats(): PoolStats {
    return {
      allocatedBytes: this.#inUseBytes + this.#pooledBytes,
      pooledBytes: this.#pooledBytes,
      inUseBytes: this.#inUseBytes,
      numBuffers: this.#inUse.size + this.#numPooled,
      numPooled: this.#numPooled,
      allocations: this.#allocations,
      reuses: this.#reuses,
    };
  }

  /** Destroys every buffer, pooled or in use. The pool cannot be used afterwards. */
  dispose(): void {
    if (this.#disposed) return;
    this.trim();
    for (const b of this.#inUse) b.destroy();
    this.#inUse.clear();
    this.#inUseBytes = 0;
    this.#disposed = true;
  }
}

function key(usage: number, size: number): string {
  return `${usage}:${size}`;
}
