/**
 * webgpu kernels: reshape, transpose, slice, expand, concat, pad, gather. Layout kernels copy
 * element bits (never values: NaN payloads and float16 bits survive) with one thread per output
 * word (see common-map.ts), so packed dtypes (float16, uint8, bool) need no atomics.
 *
 * - reshape is zero-copy: the kernel returns the input handle and core shares the storage; so are
 *   transpose / slice / expand / cast-free views that turn out to be the identity.
 * - transpose, slice (any steps, negative too) and expand are one "strided read" program: output
 *   element i reads input offset base + Σ coord_d · stride_d over the collapsed output shape.
 * - gather: indices int32 or int64; negative ones count from the end. An index outside
 *   [-dim, dim) cannot throw on a GPU: its output slice is all zero bits (0, 0.0, false), like
 *   TensorFlow's GPU gather, and nothing is read out of bounds (the cpu backend throws).
 */
import {
  type ConcatAttrs,
  type DType,
  type ExpandAttrs,
  type GatherAttrs,
  type KernelContext,
  type PadAttrs,
  type Shape,
  type SliceAttrs,
  type TensorInfo,
  type TransposeAttrs,
  broadcastStrides,
  f32ToF16Bits,
  registerKernel,
  sizeOf,
  stridesOf,
} from '@tubelet/core';
import { type GpuHandle, type WebGpuBackend, asHandle } from '../backend';
import { type Storage, allocFor, rawStorageOf, readExpr, storageOf } from './common-dtype';
import { collapseDims, mapProgram, runMapProgram } from './common-map';

type Ctx<A = unknown> = KernelContext<A, WebGpuBackend>;

// ---------------------------------------------------------------------------------------------
// strided read: transpose / slice / expand

/**
 * out[i] = x[base + Σ_d coord_d(i) · strides[d]] over `outShape` (strides in elements, may be
 * negative). Returns the input handle itself when that is the identity.
 */
export function stridedCopy(backend: WebGpuBackend, x: TensorInfo, outShape: Shape, strides: readonly number[], base: number): unknown {
  const size = sizeOf(outShape);
  const col = collapseDims(outShape, [strides]);
  const st = col.strides[0]!;
  const rank = col.shape.length;
  if (size === x.size && base === 0 && (rank === 0 || (rank === 1 && st[0] === 1))) return x.handle;
  const s = rawStorageOf(x.dtype);
  const out = allocFor(backend, x.dtype, size);
  const key = `layout/strided/${s}/r${rank}`;
  const build = () =>
    mapProgram({
      key,
      inputs: [{ name: 'X', storage: s }],
      output: { name: 'Y', storage: s },
      uniforms: [
        { name: 'base', type: 'u32' },
        { name: 'shape', type: 'u32', length: Math.max(rank, 1) },
        { name: 'strides', type: 'i32', length: Math.max(rank, 1) },
      ],
      body: [
        '    var rem = i;',
        '    var o = u.base;',
        `    for (var d = ${rank - 1}i; d >= 0; d--) {`,
        '      let k = u32(d);',
        '      let c = rem % u_shape(k);',
        '      rem = rem / u_shape(k);',
        '      o = o + c * bitcast<u32>(u_strides(k));',
        '    }',
      ].join('\n'),
      value: readExpr(s, 'X', 'o'),
    });
  runMapProgram(backend, key, build, [asHandle(x.handle).buffer, out.buffer], s, size, {
    base,
    shape: rank ? col.shape : [1],
    strides: rank ? st : [0],
  });
  return out;
}

function transposeKernel(ctx: Ctx<TransposeAttrs>): unknown[] {
  const x = ctx.inputs[0]!;
  const st = stridesOf(x.shape);
  return [stridedCopy(ctx.backend, x, ctx.outputs[0]!.shape, ctx.attrs.perm.map((p) => st[p]!), 0)];
}

function sliceKernel(ctx: Ctx<SliceAttrs>): unknown[] {
  const x = ctx.inputs[0]!;
  const st = stridesOf(x.shape);
  const out = ctx.outputs[0]!.shape;
  let base = 0;
  if (sizeOf(out) > 0) ctx.attrs.starts.forEach((s, d) => (base += s * st[d]!));
  return [stridedCopy(ctx.backend, x, out, ctx.attrs.steps.map((s, d) => s * st[d]!), base)];
}

function expandKernel(ctx: Ctx<ExpandAttrs>): unknown[] {
  const x = ctx.inputs[0]!;
  return [stridedCopy(ctx.backend, x, ctx.attrs.shape, broadcastStrides(x.shape, ctx.attrs.shape), 0)];
}

// ---------------------------------------------------------------------------------------------
// concat

/** Inputs one concat program reads (the output takes one more storage binding). */
function concatGroup(backend: WebGpuBackend): number {
  return Math.max(1, Math.min(8, (backend.limits.maxStorageBuffersPerShaderStage ?? 8) - 1));
}

function concatInto(backend: WebGpuBackend, xs: readonly TensorInfo[], axis: number, outShape: Shape, dtype: DType): GpuHandle {
  const G = concatGroup(backend);
  if (xs.length > G) {
    // concatenate groups into temporaries, then the temporaries (each copy is one program)
    const parts: TensorInfo[] = [];
    for (let g = 0; g < xs.length; g += G) {
      const group = xs.slice(g, g + G);
      const shape = outShape.slice();
      shape[axis] = group.reduce((n, x) => n + x.shape[axis]!, 0);
      const h = concatInto(backend, group, axis, shape, dtype);
      parts.push({ handle: h, shape, dtype, size: sizeOf(shape) });
    }
    const out = concatInto(backend, parts, axis, outShape, dtype);
    for (const p of parts) backend.release(p.handle);
    return out;
  }
  const size = sizeOf(outShape);
  const out = allocFor(backend, dtype, size);
  if (size === 0) return out;
  const s = rawStorageOf(dtype);
  const n = xs.length;
  let inner = 1;
  for (let d = axis + 1; d < outShape.length; d++) inner *= outShape[d]!;
  const total = outShape[axis]!;
  const ends: number[] = [];
  let at = 0;
  for (const x of xs) ends.push((at += x.shape[axis]!));
  const key = `layout/concat/${s}/n${n}`;
  const build = () => {
    const body = ['    let q = i % u.inner;', '    let t = i / u.inner;', '    let c = t % u.total;', '    let p = t / u.total;', `    var v: ${s === 'i64' ? 'vec2<u32>' : 'u32'};`];
    for (let k = 0; k < n; k++) {
      const start = k === 0 ? '0u' : `u_ends(${k - 1}u)`;
      const len = `(u_ends(${k}u) - ${start})`;
      const read = readExpr(s, `X${k}`, `(p * ${len} + (c - ${start})) * u.inner + q`);
      body.push(k < n - 1 ? `    ${k ? 'else ' : ''}if (c < u_ends(${k}u)) { v = ${read}; }` : `    ${k ? 'else ' : ''}{ v = ${read}; }`);
    }
    return mapProgram({
      key,
      inputs: xs.map((_, k) => ({ name: `X${k}`, storage: s })),
      output: { name: 'Y', storage: s },
      uniforms: [
        { name: 'inner', type: 'u32' },
        { name: 'total', type: 'u32' },
        { name: 'ends', type: 'u32', length: n },
      ],
      body: body.join('\n'),
      value: 'v',
    });
  };
  runMapProgram(backend, key, build, [...xs.map((x) => asHandle(x.handle).buffer), out.buffer], s, size, { inner, total, ends });
  return out;
}

function concatKernel(ctx: Ctx<ConcatAttrs>): unknown[] {
  const xs = ctx.inputs.filter((x): x is TensorInfo => x !== null);
  const o = ctx.outputs[0]!;
  if (xs.length === 1) return [xs[0]!.handle];
  return [concatInto(ctx.backend, xs, ctx.attrs.axis, o.shape, o.dtype)];
}

// ---------------------------------------------------------------------------------------------
// pad

/** The raw bits (lo, hi words) of `value` stored as `dtype`, as the cpu reference's fill does. */
function fillBits(dtype: DType, value: number): [number, number] {
  switch (dtype) {
    case 'float32':
      return [new Uint32Array(new Float32Array([value]).buffer)[0]!, 0];
    case 'float16':
      return [f32ToF16Bits(value), 0];
    case 'int32':
      return [new Uint32Array(new Int32Array([value]).buffer)[0]!, 0];
    case 'uint8':
      return [new Uint8Array([value])[0]!, 0];
    case 'bool':
      return [value ? 1 : 0, 0];
    case 'int64': {
      const v = BigInt.asUintN(64, BigInt(Math.trunc(value)));
      return [Number(v & 0xffffffffn), Number(v >> 32n)];
    }
  }
}

function padKernel(ctx: Ctx<PadAttrs>): unknown[] {
  const backend = ctx.backend;
  const x = ctx.inputs[0]!;
  const o = ctx.outputs[0]!;
  const { pads, mode } = ctx.attrs;
  const size = sizeOf(o.shape);
  const r = x.shape.length;
  if (pads.every((p) => p === 0)) return [x.handle];
  const out = allocFor(backend, o.dtype, size);
  if (size === 0) return [out];
  const s = rawStorageOf(o.dtype);
  const key = `layout/pad/${mode}/${s}/r${r}`;
  const fill = s === 'i64' ? 'vec2<u32>(u.fillLo, u.fillHi)' : 'u.fillLo';
  const build = () => {
    const body = ['    var rem = i;', '    var o = 0u;', '    var inside = true;', `    for (var d = ${r - 1}i; d >= 0; d--) {`, '      let k = u32(d);', '      let n = i32(u_ishape(k));', '      var j = i32(rem % u_oshape(k)) - u_before(k);', '      rem = rem / u_oshape(k);'];
    if (mode === 'constant') body.push('      inside = inside && j >= 0 && j < n;');
    else if (mode === 'replicate') body.push('      j = clamp(j, 0, n - 1);');
    else body.push('      if (n == 1) { j = 0; } else {', '        let period = 2 * (n - 1);', '        j = ((j % period) + period) % period;', '        if (j >= n) { j = period - j; }', '      }');
    body.push('      o = o + u32(max(j, 0)) * u_istrides(k);', '    }', `    var v = ${fill};`, `    if (inside) { v = ${readExpr(s, 'X', 'o')}; }`);
    return mapProgram({
      key,
      inputs: [{ name: 'X', storage: s }],
      output: { name: 'Y', storage: s },
      uniforms: [
        { name: 'fillLo', type: 'u32' },
        { name: 'fillHi', type: 'u32' },
        { name: 'oshape', type: 'u32', length: r },
        { name: 'ishape', type: 'u32', length: r },
        { name: 'istrides', type: 'u32', length: r },
        { name: 'before', type: 'i32', length: r },
      ],
      body: body.join('\n'),
      value: 'v',
    });
  };
  const [fillLo, fillHi] = mode === 'constant' ? fillBits(o.dtype, ctx.attrs.value) : [0, 0];
  runMapProgram(backend, key, build, [asHandle(x.handle).buffer, out.buffer], s, size, {
    fillLo,
    fillHi,
    oshape: o.shape,
    ishape: x.shape,
    istrides: stridesOf(x.shape),
    before: x.shape.map((_, d) => pads[2 * d]!),
  });
  return [out];
}

// ---------------------------------------------------------------------------------------------
// gather

function gatherKernel(ctx: Ctx<GatherAttrs>): unknown[] {
  const backend = ctx.backend;
  const [x, idx] = [ctx.inputs[0]!, ctx.inputs[1]!];
  const o = ctx.outputs[0]!;
  const size = sizeOf(o.shape);
  const out = allocFor(backend, o.dtype, size);
  if (size === 0) return [out];
  const axis = ctx.attrs.axis;
  const dim = x.shape[axis]!;
  let inner = 1;
  for (let d = axis + 1; d < x.shape.length; d++) inner *= x.shape[d]!;
  const s = rawStorageOf(o.dtype);
  const is: Storage = storageOf(idx.dtype);
  const key = `layout/gather/${s}/${is}`;
  const zero = s === 'i64' ? 'vec2<u32>(0u, 0u)' : '0u';
  const build = () =>
    mapProgram({
      key,
      inputs: [
        { name: 'X', storage: s },
        { name: 'I', storage: is },
      ],
      output: { name: 'Y', storage: s },
      uniforms: [
        { name: 'inner', type: 'u32' },
        { name: 'nidx', type: 'u32' },
        { name: 'dim', type: 'u32' },
      ],
      body: [
        '    let q = i % u.inner;',
        '    let t = i / u.inner;',
        '    let k = t % u.nidx;',
        '    let p = t / u.nidx;',
        ...(is === 'i64'
          ? [
              `    let iv = ${readExpr(is, 'I', 'k')};`,
              '    var j = -1i;',
              '    if (iv.y == 0u && iv.x < u.dim) { j = i32(iv.x); }',
              '    else if (iv.y == 0xffffffffu && bitcast<i32>(iv.x) < 0 && bitcast<i32>(iv.x) >= -i32(u.dim)) { j = bitcast<i32>(iv.x) + i32(u.dim); }',
            ]
          : [`    var j = ${readExpr(is, 'I', 'k')};`, '    if (j < 0) { j = j + i32(u.dim); }', '    if (j >= i32(u.dim)) { j = -1; }']),
        `    var v = ${zero};`,
        `    if (j >= 0) { v = ${readExpr(s, 'X', '(p * u.dim + u32(j)) * u.inner + q')}; }`,
      ].join('\n'),
      value: 'v',
    });
  runMapProgram(backend, key, build, [asHandle(x.handle).buffer, asHandle(idx.handle).buffer, out.buffer], s, size, { inner, nidx: idx.size, dim });
  return [out];
}

let registered = false;
/** Registers the webgpu layout kernels (idempotent). */
export function registerLayoutKernels(): void {
  if (registered) return;
  registered = true;
  // zero-copy: the output shares the input's buffer
  registerKernel('reshape', 'webgpu', (ctx: Ctx) => [ctx.inputs[0]!.handle]);
  registerKernel('transpose', 'webgpu', transposeKernel);
  registerKernel('slice', 'webgpu', sliceKernel);
  registerKernel('expand', 'webgpu', expandKernel);
  registerKernel('concat', 'webgpu', concatKernel);
  registerKernel('pad', 'webgpu', padKernel);
  registerKernel('gather', 'webgpu', gatherKernel);
}
