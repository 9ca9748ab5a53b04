/**
 * Elementwise ("map") programs: one thread per output word. A word holds one element of a 32/64-bit
 * dtype, or 2 (float16) / 4 (uint8, bool) elements of a packed one, so no two threads ever write
 * the same word (no atomics, no races at tensor or row boundaries).
 *
 * `mapProgram` assembles the shader from a per-element body; `elementwise` is the value-level
 * N-ary op with numpy broadcasting that the unary / binary / where / clamp / cast kernels use.
 */
import { type DType, type Shape, broadcastStrides, shapesEqual, sizeOf } from '@tubelet/core';
import { type GpuHandle, type WebGpuBackend, asHandle } from '../backend';
import { type ProgramDesc, type UniformField, type UniformValues, linearWorkgroups } from '../program';
import { type Storage, allocFor, bindingType, elementsPerWord, packedBits, packedWidth, readExpr, storageLib, storageOf, storeStmt } from './common-dtype';
import { wgslLib } from './common-wgsl';

export interface MapProgramSpec {
  /** Cache key: must determine the generated source. */
  key: string;
  inputs: readonly { name: string; storage: Storage }[];
  output: { name: string; storage: Storage };
  /** Uniforms beyond `size` (the number of output elements), which is always first. */
  uniforms?: readonly UniformField[];
  /** WGSL helper names (common-wgsl.ts). */
  lib?: readonly string[];
  header?: string;
  /** Statements computing output element `i` (a u32 in scope); may be empty. */
  body: string;
  /** The output element's compute value (an expression, after `body`). */
  value: string;
  workgroupSize?: number;
}

export const WG_MAP = 256;

/** A map program: thread `idx` writes output word `idx` (elements idx·P .. idx·P + P - 1). */
export function mapProgram(spec: MapProgramSpec): ProgramDesc {
  const out = spec.output;
  const P = elementsPerWord(out.storage);
  const lib = new Set<string>(spec.lib ?? []);
  for (const s of [out.storage, ...spec.inputs.map((i) => i.storage)]) for (const l of storageLib(s)) lib.add(l);
  let main: string;
  if (P === 1) {
    main = [
      '  if (idx >= u.size) { return; }',
      '  let i = idx;',
      spec.body,
      `  ${storeStmt(out.storage, out.name, 'i', spec.value)}`,
    ].join('\n');
  } else {
    const w = packedWidth(out.storage);
    main = [
      `  if (idx >= (u.size + ${P - 1}u) / ${P}u) { return; }`,
      '  var word = 0u;',
      `  for (var s = 0u; s < ${P}u; s++) {`,
      `    let i = idx * ${P}u + s;`,
      '    if (i >= u.size) { break; }',
      spec.body,
      `    word = word | (${packedBits(out.storage, spec.value)} << (s * ${w}u));`,
      '  }',
      `  ${out.name}[idx] = word;`,
    ].join('\n');
  }
  const header = [wgslLib(lib), spec.header ?? ''].filter((s) => s.length).join('\n');
  return {
    key: spec.key,
    workgroupSize: spec.workgroupSize ?? WG_MAP,
    bindings: [
      ...spec.inputs.map((b) => ({ name: b.name, type: bindingType(b.storage), access: 'read' as const })),
      { name: out.name, type: bindingType(out.storage), access: 'read_write' as const },
    ],
    uniforms: [{ name: 'size', type: 'u32' }, ...(spec.uniforms ?? [])],
    ...(header ? { header } : {}),
    main,
  };
}

/** Records a map program over `size` output elements into `out` (no dispatch when size is 0). */
export function runMapProgram(
  backend: WebGpuBackend,
  key: string,
  build: () => ProgramDesc,
  buffers: readonly GPUBuffer[],
  outStorage: Storage,
  size: number,
  uniforms: UniformValues = {},
): void {
  if (size === 0) return;
  const p = backend.program(key, build);
  const words = Math.ceil(size / elementsPerWord(outStorage));
  const wg = p.workgroupSize[0];
  backend.dispatch(p, buffers, { ...uniforms, size }, linearWorkgroups(words, wg, backend.limits.maxComputeWorkgroupsPerDimension));
}

// ---------------------------------------------------------------------------------------------
// Broadcasting

/**
 * Drops size-1 output dims and merges neighbouring dims every operand walks contiguously (or
 * broadcasts over both), so [2,3,4] + [2,3,4] is rank 1 and [2,3,4] + [4] is rank 2.
 */
export function collapseDims(shape: Shape, strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const keep = [...shape.keys()].filter((d) => shape[d] !== 1);
  const s: number[] = [];
  const st: number[][] = strides.map(() => []);
  for (const d of keep) {
    const n = s.length;
    if (n > 0 && strides.every((x, k) => st[k]![n - 1] === x[d]! * shape[d]!)) {
      s[n - 1]! *= shape[d]!;
      strides.forEach((x, k) => (st[k]![n - 1] = x[d]!));
    } else {
      s.push(shape[d]!);
      strides.forEach((x, k) => st[k]!.push(x[d]!));
    }
  }
  return { shape: s, strides: st };
}

export type OperandMode = 'same' | 'scalar' | 'bcast';

export interface Operand {
  handle: unknown;
  shape: Shape;
  dtype: DType;
  /** Storage override (default storageOf(dtype)). */
  storage?: Storage;
}

export interface ElementwiseOptions {
  /** Identifies the op and variant in cache keys, e.g. 'binary/add'. */
  id: string;
  inputs: readonly Operand[];
  /** WGSL value names of the inputs (default a, b, c, ...); their bindings are the names upper-cased. */
  names?: readonly string[];
  outShape: Shape;
  outDtype: DType;
  outStorage?: Storage;
  /** The output value, over the input values. */
  expr: string;
  lib?: readonly string[];
  header?: string;
  uniforms?: readonly UniformField[];
  uniformValues?: UniformValues;
  /** Into this buffer instead of a new one. */
  into?: GpuHandle;
  /** Custom cache key of a variant (default: id + operand storages/modes + output storage + rank). */
  key?: (modes: readonly OperandMode[], rank: number) => string;
}

/** Same-shape inputs run with workgroups of 256; broadcast indexing with 64 (the index math is heavier). */
export const WG_BROADCAST = 64;

/** The map program of `elementwise` for one combination of operand modes / storages / rank. */
export function elementwiseProgram(
  key: string,
  names: readonly string[],
  storages: readonly Storage[],
  modes: readonly OperandMode[],
  rank: number,
  outStorage: Storage,
  opts: Pick<ElementwiseOptions, 'expr' | 'lib' | 'header' | 'uniforms'>,
): ProgramDesc {
  const bcast = modes.some((m) => m === 'bcast');
  const lines: string[] = [];
  if (bcast) {
    lines.push('    var rem = i;');
    names.forEach((n, k) => modes[k] === 'bcast' && lines.push(`    var o_${n} = 0u;`));
    lines.push(
      `    for (var d = ${rank - 1}i; d >= 0; d--) {`,
      '      let k = u32(d);',
      '      let c = rem % u_shape(k);',
      '      rem = rem / u_shape(k);',
    );
    names.forEach((n, k) => modes[k] === 'bcast' && lines.push(`      o_${n} += c * u_${n}Strides(k);`));
    lines.push('    }');
  }
  names.forEach((n, k) => {
    const off = modes[k] === 'same' ? 'i' : modes[k] === 'scalar' ? '0u' : `o_${n}`;
    lines.push(`    let ${n} = ${readExpr(storages[k]!, n.toUpperCase(), off)};`);
  });
  const uniforms: UniformField[] = [];
  if (bcast) {
    uniforms.push({ name: 'shape', type: 'u32', length: rank });
    names.forEach((n, k) => modes[k] === 'bcast' && uniforms.push({ name: `${n}Strides`, type: 'u32', length: rank }));
  }
  uniforms.push(...(opts.uniforms ?? []));
  return mapProgram({
    key,
    inputs: names.map((n, k) => ({ name: n.toUpperCase(), storage: storages[k]! })),
    output: { name: 'Y', storage: outStorage },
    uniforms,
    lib: opts.lib ?? [],
    ...(opts.header ? { header: opts.header } : {}),
    body: lines.join('\n'),
    value: opts.expr,
    workgroupSize: bcast ? WG_BROADCAST : WG_MAP,
  });
}

const DEFAULT_NAMES = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];

/**
 * Runs an N-ary elementwise op with numpy broadcasting and returns the output buffer. Each
 * input is read in place: same shape as the output → by index; one element → element 0; else by
 * broadcast strides over the collapsed output shape.
 */
export function elementwise(backend: WebGpuBackend, o: ElementwiseOptions): GpuHandle {
  const size = sizeOf(o.outShape);
  const out = o.into ?? allocFor(backend, o.outDtype, size);
  if (size === 0) return out;
  const names = o.names ?? DEFAULT_NAMES.slice(0, o.inputs.length);
  const storages = o.inputs.map((x) => x.storage ?? storageOf(x.dtype));
  const outStorage = o.outStorage ?? storageOf(o.outDtype);
  const modes: OperandMode[] = o.inputs.map((x) => (shapesEqual(x.shape, o.outShape) ? 'same' : sizeOf(x.shape) === 1 ? 'scalar' : 'bcast'));
  const uniforms: UniformValues = { ...(o.uniformValues ?? {}) };
  let rank = 0;
  if (modes.includes('bcast')) {
    const bi = modes.flatMap((m, k) => (m === 'bcast' ? [k] : []));
    const col = collapseDims(o.outShape, bi.map((k) => broadcastStrides(o.inputs[k]!.shape, o.outShape)));
    rank = col.shape.length;
    uniforms.shape = col.shape;
    bi.forEach((k, j) => (uniforms[`${names[k]}Strides`] = col.strides[j]!));
  }
  const key = o.key?.(modes, rank) ?? `${o.id}|${names.map((n, k) => `${n}:${storages[k]}:${modes[k]}`).join(',')}|${outStorage}|r${rank}`;
  const buffers = [...o.inputs.map((x) => asHandle(x.handle).buffer), out.buffer];
  runMapProgram(backend, key, () => elementwiseProgram(key, names, storages, modes, rank, outStorage, o), buffers, outStorage, size, uniforms);
  return out;
}
