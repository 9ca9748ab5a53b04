/**
 * Typed compute-program descriptors and the pipeline cache. A kernel describes its shader as a
 * ProgramDesc (storage bindings, uniform fields, workgroup size and the body of `main`); the
 * cache turns each distinct `key` into a compiled pipeline once.
 */

/** WGSL element types of storage arrays. */
export type WgslElement = 'f32' | 'f16' | 'i32' | 'u32';

export interface StorageBinding {
  /** The WGSL variable name. */
  name: string;
  /** Element type: the binding is `array<type>`. */
  type: WgslElement;
  /** 'read' for inputs, 'read_write' for outputs. */
  access: 'read' | 'read_write';
}

export type UniformScalar = 'u32' | 'i32' | 'f32';

export interface UniformField {
  name: string;
  type: UniformScalar;
  /**
   * Present for arrays (shapes, strides): stored as `array<vec4<type>, ceil(length/4)>` and read
   * with the generated accessor `u_<name>(i)`. Absent for a scalar, read as `u.<name>`.
   */
  length?: number;
}

export interface ProgramDesc {
  /** Identifies the generated source exactly: everything the WGSL depends on goes in here. */
  key: string;
  /** Threads per workgroup; a number means [n, 1, 1]. */
  workgroupSize: number | readonly [number, number?, number?];
  /** Storage buffers in binding order (inputs, then outputs). The uniform block binds after them. */
  bindings: readonly StorageBinding[];
  uniforms?: readonly UniformField[];
  /** WGSL placed before `main` (helper functions, constants). */
  header?: string;
  /**
   * The body of `main`. In scope: `gid`, `lid`, `wid`, `nwg` (the usual builtins) and
   * `idx: u32`, the linear thread index of a dispatch made with linearWorkgroups().
   */
  main: string;
  /** WGSL extensions to enable (e.g. 'f16'). */
  enable?: readonly string[];
}

export interface UniformLayout {
  fields: readonly (UniformField & { offset: number })[];
  /** Buffer size in bytes (a multiple of 16, at least 16). */
  size: number;
}

export interface CompiledProgram {
  readonly key: string;
  readonly source: string;
  readonly desc: ProgramDesc;
  readonly workgroupSize: readonly [number, number, number];
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
  readonly uniformLayout: UniformLayout | null;
}

export type UniformValues = Record<string, number | readonly number[]>;

export function workgroupTriple(w: ProgramDesc['workgroupSize']): [number, number, number] {
  if (typeof w === 'number') return [w, 1, 1];
  return [w[0], w[1] ?? 1, w[2] ?? 1];
}

/** WGSL layout of the uniform struct: scalars align to 4, vec4 arrays to 16; size rounds to 16. */
export function uniformLayout(fields: readonly UniformField[]): UniformLayout {
  let off = 0;
  const out: (UniformField & { offset: number })[] = [];
  for (const f of fields) {
    if (f.length === undefined) {
      out.push({ ...f, offset: off });
      off += 4;
    } else {
      off = Math.ceil(off / 16) * 16;
      out.push({ ...f, offset: off });
      off += 16 * vec4Count(f.length);
    }
  }
  return { fields: out, size: Math.max(16, Math.ceil(off / 16) * 16) };
}

function vec4Count(length: number): number {
  return Math.max(1, Math.ceil(length / 4));
}

/** Writes `values` into a fresh buffer laid out as `layout`. Every field must be given. */
export function packUniforms(layout: UniformLayout, values: UniformValues, key = 'program'): ArrayBuffer {
  const buf = new ArrayBuffer(layout.size);
  const dv = new DataView(buf);
  for (const f of layout.fields) {
    const v = values[f.name];
    if (v === undefined) throw new Error(`webgpu ${key}: uniform '${f.name}' was not given`);
    const arr = typeof v === 'number' ? [v] : v;
    if (f.length === undefined ? typeof v !== 'number' : arr.length > f.length) {
      throw new Error(`webgpu ${key}: uniform '${f.name}' expects ${f.length === undefined ? 'a number' : `at most ${f.length} values`}`);
    }
    for (let i = 0; i < arr.length; i++) {
      const o = f.offset + 4 * i;
      const x = arr[i]!;
      if (f.type === 'f32') dv.setFloat32(o, x, true);
      else if (f.type === 'i32') dv.setInt32(o, x, true);
      else {
        if (!(x >= 0 && x <= 0xffffffff)) throw new RangeError(`webgpu ${key}: uniform '${f.name}' value ${x} does not fit u32`);
        dv.setUint32(o, x, true);
      }
    }
  }
  return buf;
}

/** The complete WGSL module of a program. */
export function programSource(desc: ProgramDesc): string {
  const [wx, wy, wz] = workgroupTriple(desc.workgroupSize);
  const lines: string[] = [];
  for (const e of desc.enable ?? []) lines.push(`enable ${e};`);
  const fields = desc.uniforms ?? [];
  if (fields.length) {
    lines.push('struct Uniforms {');
    for (const f of fields) {
      lines.push(f.length === undefined ? `  ${f.name}: ${f.type},` : `  ${f.name}: array<vec4<${f.type}>, ${vec4Count(f.length)}>,`);
    }
    lines.push('};');
  }
  desc.bindings.forEach((b, i) => {
    lines.push(`@group(0) @binding(${i}) var<storage, ${b.access}> ${b.name}: array<${b.type}>;`);
  });
  if (fields.length) {
    lines.push(`@group(0) @binding(${desc.bindings.length}) var<uniform> u: Uniforms;`);
    for (const f of fields) {
      if (f.length !== undefined) lines.push(`fn u_${f.name}(i: u32) -> ${f.type} { return u.${f.name}[i / 4u][i % 4u]; }`);
    }
  }
  if (desc.header) lines.push(desc.header);
  lines.push(
    `@compute @workgroup_size(${wx}, ${wy}, ${wz})`,
    'fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,',
    '        @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {',
    `  let idx = gid.x + gid.y * (nwg.x * ${wx}u);`,
    desc.main,
    '}',
  );
  return lines.join('\n');
}

/**
 * Workgroup counts covering `n` threads of a 1-D program: x up to `maxPerDim`, spilling into y.
 * The shader's `idx` is then the linear thread index (guard it with `idx < size`).
 */
export function linearWorkgroups(n: number, workgroupSize: number, maxPerDim = 65535): [number, number, number] {
  const groups = Math.ceil(n / workgroupSize);
  if (groups <= maxPerDim) return [Math.max(groups, 1), 1, 1];
  const y = Math.ceil(groups / maxPerDim);
  if (y > maxPerDim) throw new RangeError(`webgpu: ${n} threads exceed the dispatch limit`);
  return [Math.ceil(groups / y), y, 1];
}

/** Compiled pipelines keyed by ProgramDesc.key. */
export class ProgramCache {
  readonly #device: GPUDevice;
  readonly #programs = new Map<string, CompiledProgram>();
  #compiles = 0;

  constructor(device: GPUDevice) {
    this.#device = device;
  }

  /** The compiled program for `key`; `build` runs only on a cache miss. */
  get(key: string, build: () => ProgramDesc): CompiledProgram {
    const hit = this.#programs.get(key);
    if (hit) return hit;
    const desc = build();
    if (desc.key !== key) throw new Error(`webgpu: program built for key '${key}' says its key is '${desc.key}'`);
    const p = this.compile(desc);
    this.#programs.set(key, p);
    return p;
  }

  /** Compiles without caching. */
  compile(desc: ProgramDesc): CompiledProgram {
    const device = this.#device;
    const source = programSource(desc);
    const module = device.createShaderModule({ code: source, label: desc.key });
    const entries: GPUBindGroupLayoutEntry[] = desc.bindings.map((b, i) => ({
      binding: i,
      visibility: 4 /* GPUShaderStage.COMPUTE */,
      buffer: { type: b.access === 'read' ? 'read-only-storage' : 'storage' },
    }));
    const ul = desc.uniforms?.length ? uniformLayout(desc.uniforms) : null;
    if (ul) entries.push({ binding: desc.bindings.length, visibility: 4, buffer: { type: 'uniform' } });
    const layout = device.createBindGroupLayout({ entries, label: desc.key });
    const pipeline = device.createComputePipeline({
      label: desc.key,
      layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: 'main' },
    });
    this.#compiles++;
    return { key: desc.key, source, desc, workgroupSize: workgroupTriple(desc.workgroupSize), pipeline, layout, uniformLayout: ul };
  }

  get size(): number {
    return this.#programs.size;
  }

  get compiles(): number {
    return this.#compiles;
  }

  has(key: string): boolean {
    return this.#programs.has(key);
  }

  clear(): void {
    this.#programs.clear();
  }
}
