import {
  BYTES_PER_ELEMENT,
  type Backend,
  type DType,
  type Shape,
  type TypedArray,
  allocArray,
  sizeOf,
} from '@tubelet/core';
import { STAGING_USAGE, TENSOR_USAGE, UNIFORM_USAGE, MapMode, alignTo } from './constants';
import { type AcquiredDevice, type AdapterInfo, type DeviceSource } from './device';
import { BufferPool, type BufferPoolOptions, type PoolStats } from './pool';
import { type CompiledProgram, type ProgramDesc, ProgramCache, type UniformValues, packUniforms } from './program';

/**
 * What a webgpu tensor handle is: a pooled storage buffer plus the logical byte length of the
 * tensor in it (the buffer's size is its pool bucket). Storage layout per dtype: float32 / int32
 * as 4-byte words, int64 as raw little-endian 8-byte pairs of u32, float16 as packed raw u16 pairs
 * (two per word), uint8 / bool as packed bytes (four per word); the tail of the last word is padding.
 */
export class GpuHandle {
  #released = false;
  constructor(
    readonly buffer: GPUBuffer,
    /** Bytes of tensor data (size × bytes per element), before padding. */
    readonly byteLength: number,
  ) {}

  get released(): boolean {
    return this.#released;
  }

  /** @internal */
  markReleased(): void {
    if (this.#released) throw new Error('webgpu: buffer released twice');
    this.#released = true;
  }
}

export interface WebGpuStats extends PoolStats {
  /** Compiled pipelines in the cache. */
  pipelines: number;
  /** Compute dispatches recorded so far. */
  dispatches: number;
  /** Command buffers submitted so far. */
  submits: number;
  /** GPU errors raised outside withErrorScope() (validation, out-of-memory, internal). */
  gpuErrors: number;
}

export interface WebGpuBackendOptions extends BufferPoolOptions {
  /** Dispatches recorded into one command encoder before it is submitted (default 16). */
  maxBatch?: number;
}

/** The `webgpu` backend: tensors in GPU storage buffers, kernels as WGSL compute pipelines. */
export class WebGpuBackend implements Backend {
  readonly name = 'webgpu';
  readonly device: GPUDevice;
  /** vendor / architecture / device / description of the adapter (empty strings where unknown). */
  readonly adapterInfo: AdapterInfo;
  /** Where the device came from: the caller, navigator.gpu, or Dawn in Node. */
  readonly source: DeviceSource;
  /** Features enabled on the device (e.g. 'shader-f16', 'timestamp-query'). */
  readonly features: ReadonlySet<string>;
  readonly limits: GPUSupportedLimits;
  readonly pool: BufferPool;
  readonly programs: ProgramCache;

  readonly #owned: boolean;
  /** Kept reachable for the life of the backend (Dawn's GPU object in Node). */
  readonly #keepAlive: unknown;
  readonly #maxBatch: number;
  #encoder: GPUCommandEncoder | null = null;
  #pending = 0;
  /** Uniform buffers used by the unsubmitted encoder; pooled again once it is submitted. */
  #pendingUniforms: GPUBuffer[] = [];
  #dispatches = 0;
  #submits = 0;
  #lost: string | null = null;
  #disposed = false;
  #gpuErrors = 0;
  #lastGpuError: string | null = null;

  constructor(acquired: AcquiredDevice, opts: WebGpuBackendOptions = {}) {
    this.device = acquired.device;
    this.adapterInfo = acquired.adapterInfo;
    this.source = acquired.source;
    this.#owned = acquired.owned;
    this.#keepAlive = acquired.keepAlive;
    this.features = new Set(this.device.features as unknown as Iterable<string>);
    this.limits = this.device.limits;
    this.pool = new BufferPool(this.device, opts);
    this.programs = new ProgramCache(this.device);
    this.#maxBatch = Math.max(1, opts.maxBatch ?? 16);
    this.device.lost?.then?.(
      (info) => {
        if (!this.#disposed) this.#lost = `device lost (${info.reason}): ${info.message}`;
      },
      () => undefined,
    );
    // Errors outside an error scope are otherwise silent: count them, keep the last, warn on the first.
    this.device.addEventListener?.('uncapturederror', (ev) => {
      const msg = (ev as GPUUncapturedErrorEvent).error?.message ?? String(ev);
      if (this.#gpuErrors++ === 0) console.warn(`webgpu: uncaptured GPU error (further ones are counted in stats().gpuErrors): ${msg}`);
      this.#lastGpuError = msg;
    });
  }

  /** The message of the last GPU error raised outside withErrorScope(), if any. */
  get lastGpuError(): string | null {
    return this.#lastGpuError;
  }

  /** Whether WGSL `f16` can be used (the adapter has 'shader-f16'). */
  get hasF16(): boolean {
    return this.features.has('shader-f16');
  }

  /** The object kept alive for the device's sake (Dawn's GPU in Node), if any. */
  get keepAlive(): unknown {
    return this.#keepAlive;
  }

  #check(): void {
    if (this.#disposed) throw new Error('webgpu: the backend was disposed');
    if (this.#lost) throw new Error(`webgpu: ${this.#lost}`);
  }

  /** A new, uninitialised tensor buffer holding `byteLength` bytes (padded to the pool bucket). */
  allocate(byteLength: number): GpuHandle {
    this.#check();
    return new GpuHandle(this.pool.acquire(alignTo(byteLength, 4), TENSOR_USAGE), byteLength);
  }

  write(values: TypedArray, dtype: DType, shape: Shape): GpuHandle {
    const size = sizeOf(shape);
    if (values.length !== size) throw new Error(`webgpu: write of ${values.length} values into shape [${shape.join(', ')}] (${size} elements)`);
    const bytes = size * BYTES_PER_ELEMENT[dtype];
    if (values.byteLength !== bytes) throw new Error(`webgpu: a ${values.constructor.name} cannot hold ${dtype} data`);
    // Pooled buffers may still be read by recorded (unsubmitted) commands; a queue write would
    // land before them, so submit those first.
    this.flush();
    const h = this.allocate(bytes);
    if (bytes === 0) return h;
    let src = new Uint8Array(values.buffer, values.byteOffset, bytes);
    const padded = alignTo(bytes, 4);
    if (padded !== bytes) {
      const p = new Uint8Array(padded);
      p.set(src);
      src = p;
    }
    this.device.queue.writeBuffer(h.buffer, 0, src as Uint8Array<ArrayBuffer>, 0, padded);
    return h;
  }

  async read(handle: unknown, dtype: DType, size: number): Promise<TypedArray> {
    const h = asHandle(handle);
    const bytes = size * BYTES_PER_ELEMENT[dtype];
    if (bytes > h.byteLength) throw new Error(`webgpu: reading ${size} ${dtype} values (${bytes} bytes) from a ${h.byteLength}-byte buffer`);
    const out = allocArray(dtype, size);
    if (bytes === 0) return out;
    this.#check();
    const padded = alignTo(bytes, 4);
    const staging = this.pool.acquire(padded, STAGING_USAGE);
    try {
      // Recorded before any await, so the copy sees every earlier dispatch and write and later
      // reuse of `h` (after release) cannot overtake it.
      this.#encoderFor().copyBufferToBuffer(h.buffer, 0, staging, 0, padded);
      this.#pending++;
      this.flush();
      await staging.mapAsync(MapMode.READ, 0, padded);
      const mapped = new Uint8Array(staging.getMappedRange(0, padded), 0, bytes);
      new Uint8Array(out.buffer, out.byteOffset, bytes).set(mapped);
      staging.unmap();
    } catch (e) {
      if (this.#disposed) throw new Error('webgpu: the backend was disposed during a readback');
      throw e;
    } finally {
      if (staging.mapState === 'mapped') staging.unmap();
      this.pool.release(staging);
    }
    return out;
  }

  release(handle: unknown): void {
    if (handle instanceof GpuHandle && handle.released) throw new Error('webgpu: buffer released twice');
    const h = asHandle(handle);
    h.markReleased();
    this.pool.release(h.buffer);
  }

  /**
   * Records one compute dispatch of `program`. `buffers` follow the program's bindings; the
   * uniform block (if any) is packed from `uniforms`. Submission is batched: see flush().
   */
  dispatch(program: CompiledProgram, buffers: readonly GPUBuffer[], uniforms: UniformValues | undefined, workgroups: readonly [number, number?, number?]): void {
    this.#check();
    const n = program.desc.bindings.length;
    if (buffers.length !== n) throw new Error(`webgpu ${program.key}: ${buffers.length} buffers given for ${n} bindings`);
    const entries: GPUBindGroupEntry[] = buffers.map((buffer, i) => ({ binding: i, resource: { buffer } }));
    if (program.uniformLayout) {
      const data = packUniforms(program.uniformLayout, uniforms ?? {}, program.key);
      const ub = this.pool.acquire(data.byteLength, UNIFORM_USAGE);
      this.device.queue.writeBuffer(ub, 0, data);
      this.#pendingUniforms.push(ub);
      entries.push({ binding: n, resource: { buffer: ub, size: data.byteLength } });
    }
    const bindGroup = this.device.createBindGroup({ layout: program.layout, entries });
    const pass = this.#encoderFor().beginComputePass();
    pass.setPipeline(program.pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(workgroups[0], workgroups[1] ?? 1, workgroups[2] ?? 1);
    pass.end();
    this.#dispatches++;
    if (++this.#pending >= this.#maxBatch) this.flush();
  }

  /** The compiled program for `key` (built and compiled once). */
  program(key: string, build: () => ProgramDesc): CompiledProgram {
    this.#check();
    return this.programs.get(key, build);
  }

  #encoderFor(): GPUCommandEncoder {
    return (this.#encoder ??= this.device.createCommandEncoder());
  }

  /** Submits recorded commands (reads, syncs and writes do this themselves). */
  flush(): void {
    const enc = this.#encoder;
    if (!enc) return;
    this.#encoder = null;
    this.#pending = 0;
    this.device.queue.submit([enc.finish()]);
    this.#submits++;
    for (const ub of this.#pendingUniforms) this.pool.release(ub);
    this.#pendingUniforms = [];
  }

  async sync(): Promise<void> {
    if (this.#disposed) return;
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
  }

  /**
   * Runs `fn` inside validation + out-of-memory error scopes and throws the first GPU error it
   * caused (errors are otherwise only reported asynchronously by the device).
   */
  async withErrorScope<T>(fn: () => T | Promise<T>): Promise<T> {
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    let result: T;
    try {
      result = await fn();
      this.flush();
    } finally {
      const validation = await this.device.popErrorScope();
      const oom = await this.device.popErrorScope();
      const err = validation ?? oom;
      if (err) throw new Error(`webgpu: ${err.message}`);
    }
    return result;
  }

  stats(): WebGpuStats {
    return { ...this.pool.stats(), pipelines: this.programs.size, dispatches: this.#dispatches, submits: this.#submits, gpuErrors: this.#gpuErrors };
  }

  /** Destroys every buffer and, when the backend created the device, the device. */
  dispose(): void {
    if (this.#disposed) return;
    try {
      if (!this.#lost) this.flush();
    } catch {
      // a lost device cannot submit; everything is destroyed below anyway
    }
    this.#disposed = true;
    this.#encoder = null;
    this.#pendingUniforms = [];
    this.pool.dispose();
    this.programs.clear();
    if (this.#owned) this.device.destroy();
  }

  get disposed(): boolean {
    return this.#disposed;
  }
}

export function asHandle(handle: unknown): GpuHandle {
  if (!(handle instanceof GpuHandle)) throw new Error('webgpu: not a webgpu buffer handle (a tensor of another backend?)');
  if (handle.released) throw new Error('webgpu: buffer used after release');
  return handle;
}
