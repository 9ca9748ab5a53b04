/**
 * webgpu kernels: sum / mean / max / min over axes, argmax / argmin, topk, softmax, layerNorm,
 * batchNorm.
 *
 * Strategy
 * - Rows: a reduction is viewed as rows × len. The kept and the reduced dims are each collapsed
 *   (neighbours merged) and walked with strides in place, so reducing a middle axis needs no
 *   transpose.
 * - Long rows (len > 64) get one workgroup per row: every thread accumulates a strided part of
 *   the row, then a shared-memory tree combines the partials (64 threads, 256 past 2048
 *   elements). Short rows get one thread per row (no idle lanes, no barriers). Few long rows
 *   (rows < 64, len > 8192) are split into chunks reduced by separate workgroups into partials,
 *   then a second pass reduces the partials.
 * - softmax (max, Σexp, write) and layerNorm (mean, Σ(x - mean)², write: two-pass variance)
 *   run one workgroup per row (32–256 threads by row length) with shared-memory reductions. A
 *   row of up to 8 elements per thread (2048 at 256 threads: attention rows, every LayerNorm
 *   width) is read from memory once and kept in registers across the phases, and softmax takes
 *   each exp once; longer rows are streamed in every phase. batchNorm is an elementwise map.
 * - argmax / argmin carry (value, index) pairs; ties keep the lower index, NaN wins (torch).
 * - topk: one workgroup per row, k selection passes; pass t picks the best element strictly after
 *   the (value, index) picked by pass t-1 in the order "larger first (NaN largest), then lower
 *   index", so ties are stable and nothing needs marking. O(k·len / 64) per row: meant for the
 *   small k of classification heads and detection, not for sorting. Values are then gathered
 *   by index (bit copies).
 * - Outputs of packed dtypes (float16, uint8) are computed into a 32-bit buffer and packed by an
 *   elementwise pass (a word may straddle rows, which different workgroups write).
 */
import {
  type ArgReduceAttrs,
  type AxisAttrs,
  type BatchNormAttrs,
  type DType,
  type KernelContext,
  type LayerNormAttrs,
  type ReduceAttrs,
  type Shape,
  type TensorInfo,
  type TopkAttrs,
  registerKernel,
  stridesOf,
} from '@tubelet/core';
import { type GpuHandle, type WebGpuBackend, asHandle } from '../backend';
import { type ProgramDesc, type UniformField, type UniformValues, linearWorkgroups } from '../program';
import {
  type ComputeType,
  type Storage,
  allocFor,
  bindingType,
  computeTypeOf,
  isPacked,
  rawStorageOf,
  readExpr,
  storageLib,
  storageOf,
  storeStmt,
} from './common-dtype';
import { elementwise, mapProgram, runMapProgram } from './common-map';
import { wgslLib } from './common-wgsl';

type Ctx<A = unknown> = KernelContext<A, WebGpuBackend>;

/** Rows at most this long are reduced by one thread each. */
const THREAD_ROW_MAX = 64;
const CHUNK_MIN_LEN = 8192;
const CHUNK_ROWS_MAX = 64;

/** Workgroup size for rows of `len` elements. */
function rowWorkgroup(len: number): number {
  return len > 2048 ? 256 : 64;
}

/** Unpacked storage a kernel writes values of compute type `t` to (packed dtypes are packed afterwards). */
function wideStorage(t: ComputeType): Storage {
  return t === 'f32' ? 'f32' : t === 'i32' ? 'i32' : t === 'u32' ? 'w32' : 'i64';
}

/** Packs (or just returns) a 32-bit-per-element temporary into the output dtype; releases the temporary. */
function finishPacked(backend: WebGpuBackend, tmp: GpuHandle, wide: Storage, shape: Shape, dtype: DType): GpuHandle {
  if (!isPacked(storageOf(dtype))) return tmp;
  const out = elementwise(backend, {
    id: 'pack',
    inputs: [{ handle: tmp, shape, dtype, storage: wide }],
    outShape: shape,
    outDtype: dtype,
    expr: 'a',
  });
  backend.release(tmp);
  return out;
}

function program(desc: Omit<ProgramDesc, 'header'> & { lib?: readonly string[]; storages?: readonly Storage[]; header?: string }): ProgramDesc {
  const lib = new Set(desc.lib ?? []);
  for (const s of desc.storages ?? []) for (const l of storageLib(s)) lib.add(l);
  const header = [wgslLib(lib), desc.header ?? ''].filter((x) => x).join('\n');
  const { lib: _l, storages: _s, ...rest } = desc;
  return { ...rest, ...(header ? { header } : {}) };
}

function dispatchRows(backend: WebGpuBackend, key: string, build: () => ProgramDesc, buffers: GPUBuffer[], groups: number, uniforms: UniformValues): void {
  if (groups === 0) return;
  const p = backend.program(key, build);
  backend.dispatch(p, buffers, uniforms, linearWorkgroups(groups * p.workgroupSize[0], p.workgroupSize[0], backend.limits.maxComputeWorkgroupsPerDimension));
}

/** WGSL: the workgroup's linear index `g` (one workgroup per row or chunk). */
const GROUP_INDEX = '  let g = wid.x + wid.y * nwg.x;';

/** WGSL: combine the values of shared array `sh` (WG long) into sh[0] with `combine(a, b)`. */
function treeReduce(wg: number, combine: (a: string, b: string) => string, arrays = ['sh']): string {
  const assigns = arrays.length === 1 ? `sh[lid.x] = ${combine('sh[lid.x]', 'sh[lid.x + s]')};` : combine('lid.x', 'lid.x + s');
  return [
    '  workgroupBarrier();',
    `  for (var s = ${wg / 2}u; s > 0u; s = s >> 1u) {`,
    `    if (lid.x < s) { ${assigns} }`,
    '    workgroupBarrier();',
    '  }',
  ].join('\n');
}

/** WGSL statements setting `${v}` (a u32 var declared by the caller) to Σ coord_d · stride_d of `idx` over `shape`. */
function unravel(idx: string, v: string, shape: string, strides: string, rank: number): string {
  if (rank === 0) return '';
  if (rank === 1) return `    ${v} = ${v} + (${idx}) * u_${strides}(0u);`;
  return [
    `    { var rem_ = ${idx};`,
    `      for (var d = ${rank - 1}i; d >= 0; d--) {`,
    `        let k = u32(d);`,
    `        ${v} = ${v} + (rem_ % u_${shape}(k)) * u_${strides}(k);`,
    `        rem_ = rem_ / u_${shape}(k);`,
    '      } }',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// sum / mean / max / min

type ReduceOp = 'sum' | 'mean' | 'max' | 'min';

interface Accumulator {
  init: string;
  combine: (a: string, b: string) => string;
  lib: string[];
}

function accumulator(op: ReduceOp, t: ComputeType): Accumulator {
  const sum = op === 'sum' || op === 'mean';
  switch (t) {
    case 'f32':
      return sum
        ? { init: '0.0', combine: (a, b) => `(${a} + ${b})`, lib: [] }
        : { init: `f32_inf(${op === 'max'})`, combine: (a, b) => `f32_${op}_nan(${a}, ${b})`, lib: ['fcmp'] };
    case 'i32':
      return sum
        ? { init: '0i', combine: (a, b) => `(${a} + ${b})`, lib: [] }
        : { init: op === 'max' ? 'bitcast<i32>(0x80000000u)' : '0x7fffffffi', combine: (a, b) => `${op}(${a}, ${b})`, lib: [] };
    case 'u32':
      return sum ? { init: '0u', combine: (a, b) => `(${a} + ${b})`, lib: [] } : { init: op === 'max' ? '0u' : '0xffffffffu', combine: (a, b) => `${op}(${a}, ${b})`, lib: [] };
    case 'vec2<u32>':
      return sum
        ? { init: 'vec2<u32>(0u, 0u)', combine: (a, b) => `u64_add(${a}, ${b})`, lib: ['i64'] }
        : {
            init: op === 'max' ? 'vec2<u32>(0u, 0x80000000u)' : 'vec2<u32>(0xffffffffu, 0x7fffffffu)',
            combine: (a, b) => `i64_${op}(${a}, ${b})`,
            lib: ['i64'],
          };
  }
}

interface RowGeometry {
  rows: number;
  len: number;
  kshape: number[];
  kstrides: number[];
  rshape: number[];
  rstrides: number[];
}

/** Kept and reduced dims of `shape`, each collapsed: rows = Π kept, len = Π reduced. */
function rowGeometry(shape: Shape, axes: readonly number[]): RowGeometry {
  const st = stridesOf(shape);
  const g: RowGeometry = { rows: 1, len: 1, kshape: [], kstrides: [], rshape: [], rstrides: [] };
  let prevRed: boolean | null = null;
  shape.forEach((n, d) => {
    const red = axes.includes(d);
    if (red) g.len *= n;
    else g.rows *= n;
    if (n === 1) return;
    const [sh, ss] = red ? [g.rshape, g.rstrides] : [g.kshape, g.kstrides];
    if (prevRed === red && sh.length) {
      sh[sh.length - 1]! *= n;
      ss[ss.length - 1] = st[d]!;
    } else {
      sh.push(n);
      ss.push(st[d]!);
    }
    prevRed = red;
  });
  return g;
}

/** One reduction pass: rows × chunks outputs of the accumulator (finalised when `final`). */
function reduceProgram(key: string, op: ReduceOp, inS: Storage, outS: Storage, geo: { kr: number; rr: number }, mode: 'thread' | number, final: boolean): ProgramDesc {
  const t = computeTypeOf(inS);
  const acc = accumulator(op, t);
  const fin = (v: string) => (final && op === 'mean' ? `f32_div(${v}, f32(u.n))` : v);
  const lib = [...acc.lib, ...(final && op === 'mean' ? ['fmath'] : [])];
  const uniforms: UniformField[] = [
    { name: 'rows', type: 'u32' },
    { name: 'len', type: 'u32' },
    { name: 'chunks', type: 'u32' },
    { name: 'chunkLen', type: 'u32' },
    { name: 'n', type: 'u32' },
    { name: 'kshape', type: 'u32', length: Math.max(geo.kr, 1) },
    { name: 'kstrides', type: 'u32', length: Math.max(geo.kr, 1) },
    { name: 'rshape', type: 'u32', length: Math.max(geo.rr, 1) },
    { name: 'rstrides', type: 'u32', length: Math.max(geo.rr, 1) },
  ];
  const bindings = [
    { name: 'X', type: bindingType(inS), access: 'read' as const },
    { name: 'Y', type: bindingType(outS), access: 'read_write' as const },
  ];
  const elem = (r: string) => ['    var off = base;', unravel(r, 'off', 'rshape', 'rstrides', geo.rr), `    acc = ${acc.combine('acc', readExpr(inS, 'X', 'off'))};`].join('\n');
  if (mode === 'thread') {
    return program({
      key,
      workgroupSize: 64,
      bindings,
      uniforms,
      lib,
      storages: [inS, outS],
      main: [
        '  if (idx >= u.rows) { return; }',
        '  var base = 0u;',
        unravel('idx', 'base', 'kshape', 'kstrides', geo.kr),
        `  var acc = ${acc.init};`,
        '  for (var r = 0u; r < u.len; r++) {',
        elem('r'),
        '  }',
        `  ${storeStmt(outS, 'Y', 'idx', fin('acc'))}`,
      ].join('\n'),
    });
  }
  const wg = mode;
  const T = t;
  return program({
    key,
    workgroupSize: wg,
    bindings,
    uniforms,
    lib,
    storages: [inS, outS],
    header: `var<workgroup> sh: array<${T}, ${wg}>;`,
    main: [
      GROUP_INDEX,
      '  if (g >= u.rows * u.chunks) { return; }',
      '  let row = g / u.chunks;',
      '  let chunk = g % u.chunks;',
      '  var base = 0u;',
      unravel('row', 'base', 'kshape', 'kstrides', geo.kr),
      `  var acc = ${acc.init};`,
      '  let r1 = min(u.len, (chunk + 1u) * u.chunkLen);',
      `  for (var r = chunk * u.chunkLen + lid.x; r < r1; r += ${wg}u) {`,
      elem('r'),
      '  }',
      '  sh[lid.x] = acc;',
      treeReduce(wg, acc.combine),
      `  if (lid.x == 0u) { ${storeStmt(outS, 'Y', 'g', fin('sh[0]'))} }`,
    ].join('\n'),
  });
}

function reduceKernel(op: ReduceOp) {
  return (ctx: Ctx<ReduceAttrs>): unknown[] => {
    const backend = ctx.backend;
    const x = ctx.inputs[0]!;
    const o = ctx.outputs[0]!;
    const geo = rowGeometry(x.shape, ctx.attrs.axes);
    const { rows, len } = geo;
    const inS = storageOf(x.dtype);
    const t = computeTypeOf(inS);
    const wide = wideStorage(t);
    const tmp = allocFor(backend, wide === 'i64' ? 'int64' : 'int32', rows);
    if (rows === 0) return [finishPacked(backend, tmp, wide, o.shape, o.dtype)];
    const base = { rows, len, chunks: 1, chunkLen: Math.max(len, 1), n: len, kshape: geo.kshape, kstrides: geo.kstrides, rshape: geo.rshape, rstrides: geo.rstrides };
    const fill = (u: typeof base) => ({ ...u, kshape: u.kshape.length ? u.kshape : [1], kstrides: u.kstrides.length ? u.kstrides : [0], rshape: u.rshape.length ? u.rshape : [1], rstrides: u.rstrides.length ? u.rstrides : [0] });
    const kr = geo.kshape.length;
    const rr = geo.rshape.length;
    if (len <= THREAD_ROW_MAX) {
      const key = `reduce/${op}/${inS}/thread/k${kr}r${rr}`;
      const p = backend.program(key, () => reduceProgram(key, op, inS, wide, { kr, rr }, 'thread', true));
      backend.dispatch(p, [asHandle(x.handle).buffer, tmp.buffer], fill(base), linearWorkgroups(rows, 64, backend.limits.maxComputeWorkgroupsPerDimension));
    } else if (rows >= CHUNK_ROWS_MAX || len <= CHUNK_MIN_LEN) {
      const wg = rowWorkgroup(len);
      const key = `reduce/${op}/${inS}/wg${wg}/k${kr}r${rr}`;
      dispatchRows(backend, key, () => reduceProgram(key, op, inS, wide, { kr, rr }, wg, true), [asHandle(x.handle).buffer, tmp.buffer], rows, fill(base));
    } else {
      // few long rows: chunks reduced into partials (rows × chunks), then the partials per row
      const chunks = Math.min(256, Math.ceil(len / 4096));
      const chunkLen = Math.ceil(len / chunks);
      const part = allocFor(backend, wide === 'i64' ? 'int64' : 'int32', rows * chunks);
      const k1 = `reduce/${op}/${inS}/wg256/k${kr}r${rr}/partial`;
      dispatchRows(backend, k1, () => reduceProgram(k1, op === 'mean' ? 'sum' : op, inS, wide, { kr, rr }, 256, false), [asHandle(x.handle).buffer, part.buffer], rows * chunks, fill({ ...base, chunks, chunkLen }));
      const k2 = `reduce/${op}/${wide}/wg64/k1r1`;
      dispatchRows(backend, k2, () => reduceProgram(k2, op, wide, wide, { kr: 1, rr: 1 }, 64, true), [part.buffer, tmp.buffer], rows, {
        rows,
        len: chunks,
        chunks: 1,
        chunkLen: chunks,
        n: len,
        kshape: [rows],
        kstrides: [chunks],
        rshape: [chunks],
        rstrides: [1],
      });
      backend.release(part);
    }
    return [finishPacked(backend, tmp, wide, o.shape, o.dtype)];
  };
}

// ---------------------------------------------------------------------------------------------
// argmax / argmin / topk: (value, index) orders

/** [outer, dim, inner] view of `shape` around `axis`. */
function axisGeometry(shape: Shape, axis: number) {
  let outer = 1;
  for (let d = 0; d < axis; d++) outer *= shape[d]!;
  let inner = 1;
  for (let d = axis + 1; d < shape.length; d++) inner *= shape[d]!;
  return { outer, dim: shape[axis]!, inner };
}

/**
 * WGSL `fn before(av, ai, bv, bi) -> bool`: (av, ai) comes strictly before (bv, bi) when `larger`
 * first (else smaller first), NaN counting as the largest value (argmax/topk) or, for argmin, as the
 * smallest, i.e. NaN always wins for argmax/argmin; ties: the lower index first.
 */
function orderFn(t: ComputeType, larger: boolean, nanFirst: boolean): { code: string; lib: string[] } {
  const T = t;
  let gt: string;
  let lib: string[] = [];
  if (t === 'f32') {
    lib = ['bits'];
    // returns true when a ranks before b ignoring indices; eq when tied
    const nanRank = nanFirst ? 'true' : 'false';
    return {
      lib,
      code: [
        `fn before(av: ${T}, ai: u32, bv: ${T}, bi: u32) -> bool {`,
        '  let an = f32_isnan(av);',
        '  let bn = f32_isnan(bv);',
        `  if (an || bn) { if (an && bn) { return ai < bi; } return an == ${nanRank}; }`,
        `  if (av ${larger ? '>' : '<'} bv) { return true; }`,
        `  if (av ${larger ? '<' : '>'} bv) { return false; }`,
        '  return ai < bi;',
        '}',
      ].join('\n'),
    };
  }
  if (t === 'vec2<u32>') {
    lib = ['i64'];
    gt = larger ? 'i64_lt(bv, av)' : 'i64_lt(av, bv)';
    const lt = larger ? 'i64_lt(av, bv)' : 'i64_lt(bv, av)';
    return { lib, code: `fn before(av: ${T}, ai: u32, bv: ${T}, bi: u32) -> bool { if (${gt}) { return true; } if (${lt}) { return false; } return ai < bi; }` };
  }
  const [g, l] = larger ? ['>', '<'] : ['<', '>'];
  return { lib, code: `fn before(av: ${T}, ai: u32, bv: ${T}, bi: u32) -> bool { if (av ${g} bv) { return true; } if (av ${l} bv) { return false; } return ai < bi; }` };
}

function argProgram(key: string, s: Storage, largest: boolean, wg: number | 'thread'): ProgramDesc {
  const t = computeTypeOf(s);
  const ord = orderFn(t, largest, true);
  const uniforms: UniformField[] = [
    { name: 'rows', type: 'u32' },
    { name: 'dim', type: 'u32' },
    { name: 'inner', type: 'u32' },
  ];
  const bindings = [
    { name: 'X', type: bindingType(s), access: 'read' as const },
    { name: 'Y', type: 'i32' as const, access: 'read_write' as const },
  ];
  const rowBase = ['  let p = row / u.inner;', '  let q = row % u.inner;', '  let base = p * u.dim * u.inner + q;'].join('\n');
  if (wg === 'thread') {
    return program({
      key,
      workgroupSize: 64,
      bindings,
      uniforms,
      lib: ord.lib,
      storages: [s],
      header: ord.code,
      main: [
        '  let row = idx;',
        '  if (row >= u.rows) { return; }',
        rowBase,
        `  var bv = ${readExpr(s, 'X', 'base')};`,
        '  var bi = 0u;',
        '  for (var j = 1u; j < u.dim; j++) {',
        `    let v = ${readExpr(s, 'X', 'base + j * u.inner')};`,
        '    if (before(v, j, bv, bi)) { bv = v; bi = j; }',
        '  }',
        '  Y[row] = i32(bi);',
      ].join('\n'),
    });
  }
  return program({
    key,
    workgroupSize: wg,
    bindings,
    uniforms,
    lib: ord.lib,
    storages: [s],
    header: [ord.code, `var<workgroup> shv: array<${t}, ${wg}>;`, `var<workgroup> shi: array<u32, ${wg}>;`].join('\n'),
    main: [
      GROUP_INDEX,
      '  let row = g;',
      '  if (row >= u.rows) { return; }',
      rowBase,
      // every thread starts from element 0 (the dim is never empty), then scans its stride
      `  var bv = ${readExpr(s, 'X', 'base')};`,
      '  var bi = 0u;',
      `  for (var j = lid.x; j < u.dim; j += ${wg}u) {`,
      `    let v = ${readExpr(s, 'X', 'base + j * u.inner')};`,
      '    if (before(v, j, bv, bi)) { bv = v; bi = j; }',
      '  }',
      '  shv[lid.x] = bv;',
      '  shi[lid.x] = bi;',
      treeReduce(wg, (a, b) => `if (before(shv[${b}], shi[${b}], shv[${a}], shi[${a}])) { shv[${a}] = shv[${b}]; shi[${a}] = shi[${b}]; }`, ['shv', 'shi']),
      '  if (lid.x == 0u) { Y[row] = i32(shi[0]); }',
    ].join('\n'),
  });
}

function argKernel(op: 'argmax' | 'argmin') {
  return (ctx: Ctx<ArgReduceAttrs>): unknown[] => {
    const backend = ctx.backend;
    const x = ctx.inputs[0]!;
    const { outer, dim, inner } = axisGeometry(x.shape, ctx.attrs.axis);
    const rows = outer * inner;
    const out = allocFor(backend, 'int32', rows);
    if (rows === 0) return [out];
    const s = storageOf(x.dtype);
    const mode = dim <= THREAD_ROW_MAX ? 'thread' : rowWorkgroup(dim);
    const key = `reduce/${op}/${s}/${mode === 'thread' ? 'thread' : `wg${mode}`}`;
    const build = () => argProgram(key, s, op === 'argmax', mode);
    const u = { rows, dim, inner };
    if (mode === 'thread') {
      const p = backend.program(key, build);
      backend.dispatch(p, [asHandle(x.handle).buffer, out.buffer], u, linearWorkgroups(rows, 64, backend.limits.maxComputeWorkgroupsPerDimension));
    } else dispatchRows(backend, key, build, [asHandle(x.handle).buffer, out.buffer], rows, u);
    return [out];
  };
}

const WG_TOPK = 64;

function topkProgram(key: string, s: Storage, largest: boolean): ProgramDesc {
  const t = computeTypeOf(s);
  const ord = orderFn(t, largest, largest);
  const wg = WG_TOPK;
  return program({
    key,
    workgroupSize: wg,
    bindings: [
      { name: 'X', type: bindingType(s), access: 'read' },
      { name: 'I', type: 'i32', access: 'read_write' },
    ],
    uniforms: [
      { name: 'rows', type: 'u32' },
      { name: 'dim', type: 'u32' },
      { name: 'inner', type: 'u32' },
      { name: 'k', type: 'u32' },
    ],
    lib: ord.lib,
    storages: [s],
    header: [ord.code, `var<workgroup> shv: array<${t}, ${wg}>;`, `var<workgroup> shi: array<u32, ${wg}>;`, `var<workgroup> shf: array<u32, ${wg}>;`].join('\n'),
    main: [
      GROUP_INDEX,
      '  let row = g;',
      '  if (row >= u.rows) { return; }',
      '  let p = row / u.inner;',
      '  let q = row % u.inner;',
      '  let base = p * u.dim * u.inner + q;',
      `  var pv = ${readExpr(s, 'X', 'base')};`,
      '  var pi = 0u;',
      '  for (var t = 0u; t < u.k; t++) {',
      '    var found = 0u;',
      '    var bv = pv;',
      '    var bi = 0u;',
      `    for (var j = lid.x; j < u.dim; j += ${wg}u) {`,
      `      let v = ${readExpr(s, 'X', 'base + j * u.inner')};`,
      '      if ((t == 0u || before(pv, pi, v, j)) && (found == 0u || before(v, j, bv, bi))) { bv = v; bi = j; found = 1u; }',
      '    }',
      '    shv[lid.x] = bv;',
      '    shi[lid.x] = bi;',
      '    shf[lid.x] = found;',
      '    workgroupBarrier();',
      `    for (var s = ${wg / 2}u; s > 0u; s = s >> 1u) {`,
      '      if (lid.x < s) {',
      '        let o = lid.x + s;',
      '        if (shf[o] != 0u && (shf[lid.x] == 0u || before(shv[o], shi[o], shv[lid.x], shi[lid.x]))) {',
      '          shv[lid.x] = shv[o]; shi[lid.x] = shi[o]; shf[lid.x] = 1u;',
      '        }',
      '      }',
      '      workgroupBarrier();',
      '    }',
      '    pv = shv[0];',
      '    pi = shi[0];',
      '    if (lid.x == 0u) { I[(p * u.k + t) * u.inner + q] = i32(pi); }',
      '    workgroupBarrier();',
      '  }',
    ].join('\n'),
  });
}

function topkKernel(ctx: Ctx<TopkAttrs>): unknown[] {
  const backend = ctx.backend;
  const x = ctx.inputs[0]!;
  const vo = ctx.outputs[0]!;
  const { k, axis, largest } = ctx.attrs;
  const { outer, dim, inner } = axisGeometry(x.shape, axis);
  const rows = outer * inner;
  const idx = allocFor(backend, 'int32', rows * k);
  const size = rows * k;
  if (size === 0) return [allocFor(backend, vo.dtype, 0), idx];
  const s = storageOf(x.dtype);
  const key = `reduce/topk/${s}/${largest ? 'largest' : 'smallest'}`;
  dispatchRows(backend, key, () => topkProgram(key, s, largest), [asHandle(x.handle).buffer, idx.buffer], rows, { rows, dim, inner, k });
  // values: bit copies of x at the chosen indices
  const rs = rawStorageOf(x.dtype);
  const vals = allocFor(backend, vo.dtype, size);
  const gk = `reduce/topk-values/${rs}`;
  const build = () =>
    mapProgram({
      key: gk,
      inputs: [
        { name: 'X', storage: rs },
        { name: 'I', storage: 'i32' },
      ],
      output: { name: 'Y', storage: rs },
      uniforms: [
        { name: 'dim', type: 'u32' },
        { name: 'inner', type: 'u32' },
        { name: 'k', type: 'u32' },
      ],
      body: ['    let q = i % u.inner;', '    let p = i / (u.k * u.inner);', '    let j = u32(I[i]);'].join('\n'),
      value: readExpr(rs, 'X', '(p * u.dim + j) * u.inner + q'),
    });
  runMapProgram(backend, gk, build, [asHandle(x.handle).buffer, idx.buffer, vals.buffer], rs, size, { dim, inner, k });
  return [vals, idx];
}

// ---------------------------------------------------------------------------------------------
// softmax / layerNorm: one workgroup per row

function sumTree(wg: number): string {
  return treeReduce(wg, (a, b) => `(${a} + ${b})`);
}

/**
 * Per-thread element slots when a row fits in 8 per thread: each element is read from global memory
 * once and kept in registers across the phases (0: stream the row from memory in every phase).
 */
function rowCache(len: number, wg: number): number {
  const per = Math.ceil(len / wg);
  return per <= 1 ? 1 : per <= 2 ? 2 : per <= 4 ? 4 : per <= 8 ? 8 : 0;
}

/** WGSL loop over this thread's elements j of a row of `len`; `body(cached)` may use v[c] when cached. */
function rowLoop(wg: number, cache: number, len: string, body: (cached: boolean) => string): string {
  if (cache) return [`  for (var c = 0u; c < ${cache}u; c++) {`, `    let j = lid.x + c * ${wg}u;`, `    if (j < ${len}) { ${body(true)} }`, '  }'].join('\n');
  return `  for (var j = lid.x; j < ${len}; j += ${wg}u) { ${body(false)} }`;
}

function softmaxProgram(key: string, s: Storage, wg: number, cache: number): ProgramDesc {
  const x = readExpr(s, 'X', 'base + j * u.inner');
  return program({
    key,
    workgroupSize: wg,
    bindings: [
      { name: 'X', type: bindingType(s), access: 'read' },
      { name: 'Y', type: 'f32', access: 'read_write' },
    ],
    uniforms: [
      { name: 'rows', type: 'u32' },
      { name: 'dim', type: 'u32' },
      { name: 'inner', type: 'u32' },
    ],
    lib: ['fmath', 'fcmp'],
    storages: [s],
    header: `var<workgroup> sh: array<f32, ${wg}>;`,
    main: [
      GROUP_INDEX,
      '  if (g >= u.rows) { return; }',
      '  let p = g / u.inner;',
      '  let q = g % u.inner;',
      '  let base = p * u.dim * u.inner + q;',
      cache ? `  var v: array<f32, ${cache}>;` : '',
      '  var m = f32_inf(true);',
      rowLoop(wg, cache, 'u.dim', (c) => (c ? `v[c] = ${x}; m = f32_max_nan(m, v[c]);` : `m = f32_max_nan(m, ${x});`)),
      '  sh[lid.x] = m;',
      treeReduce(wg, (a, b) => `f32_max_nan(${a}, ${b})`),
      '  m = sh[0];',
      '  workgroupBarrier();',
      '  var e = 0.0;',
      rowLoop(wg, cache, 'u.dim', (c) => (c ? 'v[c] = f32_exp(v[c] - m); e = e + v[c];' : `e = e + f32_exp(${x} - m);`)),
      '  sh[lid.x] = e;',
      sumTree(wg),
      '  let total = sh[0];',
      rowLoop(wg, cache, 'u.dim', (c) => `Y[base + j * u.inner] = ${c ? 'v[c]' : `f32_exp(${x} - m)`} / total;`),
    ].join('\n'),
  });
}

/** Workgroup size for a row of `n`: the smallest of 32, 64, 128, 256 covering n/2. */
function normWorkgroup(n: number): number {
  return n <= 64 ? 32 : n <= 128 ? 64 : n <= 256 ? 128 : 256;
}

function softmaxKernel(ctx: Ctx<AxisAttrs>): unknown[] {
  const backend = ctx.backend;
  const x = ctx.inputs[0]!;
  const o = ctx.outputs[0]!;
  const { outer, dim, inner } = axisGeometry(x.shape, ctx.attrs.axis);
  const rows = outer * inner;
  const tmp = allocFor(backend, 'float32', x.size);
  const s = storageOf(x.dtype);
  const wg = normWorkgroup(dim);
  const cache = rowCache(dim, wg);
  const key = `reduce/softmax/${s}/wg${wg}/c${cache}`;
  if (dim > 0) dispatchRows(backend, key, () => softmaxProgram(key, s, wg, cache), [asHandle(x.handle).buffer, tmp.buffer], rows, { rows, dim, inner });
  return [finishPacked(backend, tmp, 'f32', o.shape, o.dtype)];
}

function layerNormProgram(key: string, s: Storage, wg: number, cache: number, hasW: boolean, hasB: boolean): ProgramDesc {
  const bindings = [{ name: 'X', type: bindingType(s), access: 'read' as const }];
  if (hasW) bindings.push({ name: 'W', type: bindingType(s), access: 'read' });
  if (hasB) bindings.push({ name: 'B', type: bindingType(s), access: 'read' });
  const x = readExpr(s, 'X', 'base + j');
  const affine = (v: string) => `${hasW || hasB ? '(' : ''}(${v} - mean) * inv${hasW ? ` * ${readExpr(s, 'W', 'j')}` : ''}${hasB ? ` + ${readExpr(s, 'B', 'j')}` : ''}${hasW || hasB ? ')' : ''}`;
  return program({
    key,
    workgroupSize: wg,
    bindings: [...bindings, { name: 'Y', type: 'f32', access: 'read_write' }],
    uniforms: [
      { name: 'rows', type: 'u32' },
      { name: 'len', type: 'u32' },
      { name: 'eps', type: 'f32' },
    ],
    storages: [s],
    header: `var<workgroup> sh: array<f32, ${wg}>;`,
    main: [
      GROUP_INDEX,
      '  if (g >= u.rows) { return; }',
      '  let base = g * u.len;',
      cache ? `  var v: array<f32, ${cache}>;` : '',
      '  var acc = 0.0;',
      rowLoop(wg, cache, 'u.len', (c) => (c ? `v[c] = ${x}; acc = acc + v[c];` : `acc = acc + ${x};`)),
      '  sh[lid.x] = acc;',
      sumTree(wg),
      '  let mean = sh[0] / f32(u.len);',
      '  workgroupBarrier();',
      '  acc = 0.0;',
      // two-pass (centred) variance: no cancellation when |mean| >> std
      rowLoop(wg, cache, 'u.len', (c) => `let d = ${c ? 'v[c]' : x} - mean; acc = acc + d * d;`),
      '  sh[lid.x] = acc;',
      sumTree(wg),
      '  let inv = 1.0 / sqrt(sh[0] / f32(u.len) + u.eps);',
      rowLoop(wg, cache, 'u.len', (c) => `Y[base + j] = ${affine(c ? 'v[c]' : x)};`),
    ].join('\n'),
  });
}

function layerNormKernel(ctx: Ctx<LayerNormAttrs>): unknown[] {
  const backend = ctx.backend;
  const [x, w, b] = ctx.inputs as [TensorInfo, TensorInfo | null, TensorInfo | null];
  const o = ctx.outputs[0]!;
  let len = 1;
  for (let d = ctx.attrs.axis; d < x.shape.length; d++) len *= x.shape[d]!;
  const rows = len ? x.size / len : 0;
  const tmp = allocFor(backend, 'float32', x.size);
  const s = storageOf(x.dtype);
  const wg = normWorkgroup(len);
  const cache = rowCache(len, wg);
  const key = `reduce/layerNorm/${s}/wg${wg}/c${cache}/${w ? 'w' : ''}${b ? 'b' : ''}`;
  const bufs = [x, w, b].filter((t): t is TensorInfo => t !== null).map((t) => asHandle(t.handle).buffer);
  dispatchRows(backend, key, () => layerNormProgram(key, s, wg, cache, !!w, !!b), [...bufs, tmp.buffer], rows, { rows, len, eps: ctx.attrs.eps });
  return [finishPacked(backend, tmp, 'f32', o.shape, o.dtype)];
}

function batchNormKernel(ctx: Ctx<BatchNormAttrs>): unknown[] {
  const [x, mean, variance, w, b] = ctx.inputs as [TensorInfo, TensorInfo, TensorInfo, TensorInfo | null, TensorInfo | null];
  const o = ctx.outputs[0]!;
  const r = x.shape.length;
  const C = x.shape[1]!;
  const pshape = [1, C, ...new Array<number>(r - 2).fill(1)];
  const param = (t: TensorInfo) => ({ ...t, shape: pshape });
  const inputs = [x, param(mean), param(variance)];
  const names = ['x', 'm', 'v'];
  if (w) inputs.push(param(w)), names.push('w');
  if (b) inputs.push(param(b)), names.push('b');
  // as the cpu reference: scale = w / sqrt(var + eps); y = x·scale + (b - mean·scale)
  const scale = `${w ? 'w' : '1.0'} / f32_sqrt(v + u.eps)`;
  return [
    elementwise(ctx.backend, {
      id: `batchNorm/${w ? 'w' : ''}${b ? 'b' : ''}`,
      inputs,
      names,
      outShape: o.shape,
      outDtype: o.dtype,
      expr: `x * (${scale}) + (${b ? 'b' : '0.0'} - m * (${scale}))`,
      lib: ['fmath'],
      uniforms: [{ name: 'eps', type: 'f32' }],
      uniformValues: { eps: ctx.attrs.eps },
    }),
  ];
}

let registered = false;
/** Registers the webgpu reduction and normalisation kernels (idempotent). */
export function registerReduceKernels(): void {
  if (registered) return;
  registered = true;
  for (const op of ['sum', 'mean', 'max', 'min'] as const) registerKernel(op, 'webgpu', reduceKernel(op));
  registerKernel('argmax', 'webgpu', argKernel('argmax'));
  registerKernel('argmin', 'webgpu', argKernel('argmin'));
  registerKernel('topk', 'webgpu', topkKernel);
  registerKernel('softmax', 'webgpu', softmaxKernel);
  registerKernel('layerNorm', 'webgpu', layerNormKernel);
  registerKernel('batchNorm', 'webgpu', batchNormKernel);
}
