/**
 * webgpu kernels: avgPool / maxPool, 1d/2d/3d (lifted to 3-d), PyTorch semantics.
 *
 * One thread per output element. The window start is o·stride - pad_begin; per dim the tap range
 * is clipped to the input once ([tLo, tHi)), so the loops visit valid input only.
 *  - maxPool: taps start + t·dilation; padding acts as -inf (never selected); NaN wins (tested on
 *    the bits, not with x != x, which fast-math compilers may fold away).
 *  - avgPool: sum over the clipped window; divisor with countIncludePad is the product over dims
 *    of the window clipped to the padded extent [-pad_begin, in + pad_end) (torch's
 *    hend = min(hstart + k, in + pad)), else the number of valid inputs.
 * Kernel sizes, strides, pads and dilations are uniforms: one pipeline per (kind, dtype).
 */
import { type KernelContext, type PoolAttrs, registerKernel, sizeOf } from '@tubelet/core';
import type { WebGpuBackend } from '../backend';
import { type ProgramDesc, type UniformValues, linearWorkgroups } from '../program';
import { type ElemKind, FLOAT_BITS_HELPERS, bufferOf, elemKind, enables, inBinding, loaders, outBinding, outputTarget, storers } from './gemm-common';

const WG = 128;

function lift(v: readonly number[], fill: number): number[] {
  const r = v.slice();
  while (r.length < 3) r.unshift(fill);
  return r;
}

function poolProgram(key: string, kind: 'max' | 'avg', xk: ElemKind, yk: 'f32' | 'f16'): ProgramDesc {
  const dims = ['d', 'h', 'w'];
  const u32 = ['size', 'D', 'H', 'W', 'OD', 'OH', 'OW', 'incl'];
  const i32 = dims.flatMap((d) => [`k${d}`, `s${d}`, `dl${d}`, `pb${d}`, `pe${d}`]);
  // per dim: start, clipped tap range and (avg) the include-pad count
  const range = (d: string, o: string, len: string) => `  let ws${d} = i32(${o}) * u.s${d} - u.pb${d};
  let lo${d} = max(0, (-ws${d} + u.dl${d} - 1) / u.dl${d});
  let hi${d} = min(u.k${d}, (i32(u.${len}) - 1 - ws${d}) / u.dl${d} + 1);
  let pc${d} = min(ws${d} + (u.k${d} - 1) * u.dl${d} + 1, i32(u.${len}) + u.pe${d}) - ws${d};`;
  const inner =
    kind === 'max'
      ? `        let v = ld_X(base + u32(id * i32(u.H) * i32(u.W) + ih * i32(u.W) + iw));
        if (v > acc || is_nan(v)) { acc = v; }
        if (is_nan(acc)) { break; }`
      : `        acc += ld_X(base + u32(id * i32(u.H) * i32(u.W) + ih * i32(u.W) + iw));`;
  const finish =
    kind === 'max'
      ? '  st_Y(idx, acc);'
      : `  let cnt = select(max(hid - lod, 0) * max(hih - loh, 0) * max(hiw - low, 0), pcd * pch * pcw, u.incl != 0u);
  st_Y(idx, select(0.0, acc / f32(cnt), cnt > 0));`;
  const main = `  if (idx >= u.size) { return; }
  let ow = idx % u.OW;
  var q = idx / u.OW;
  let oh = q % u.OH;
  q = q / u.OH;
  let od = q % u.OD;
  let plane = q / u.OD;
  let base = plane * u.D * u.H * u.W;
${range('d', 'od', 'D')}
${range('h', 'oh', 'H')}
${range('w', 'ow', 'W')}
  var acc = ${kind === 'max' ? 'neg_inf()' : '0.0'};
  for (var td = lod; td < hid; td++) {
    let id = wsd + td * u.dld;
    for (var th = loh; th < hih; th++) {
      let ih = wsh + th * u.dlh;
      for (var tw = low; tw < hiw; tw++) {
        let iw = wsw + tw * u.dlw;
${inner}
      }
    }
  }
${finish}`;
  return {
    key,
    workgroupSize: WG,
    bindings: [inBinding('X', xk), outBinding('Y', yk)],
    uniforms: [...u32.map((name) => ({ name, type: 'u32' as const })), ...i32.map((name) => ({ name, type: 'i32' as const }))],
    header: [loaders('X', xk), storers('Y', yk), FLOAT_BITS_HELPERS].join('\n'),
    main,
    enable: enables(xk, yk),
  };
}

function poolKernel(kind: 'max' | 'avg') {
  const op = `${kind}Pool`;
  return (ctx: KernelContext<PoolAttrs, WebGpuBackend>): unknown[] => {
    const be = ctx.backend;
    const x = ctx.inputs[0]!;
    const os = ctx.outputs[0]!.shape;
    const size = sizeOf(os);
    const out = outputTarget(be, ctx.outputs[0]!.dtype, size, op);
    if (size > 0) {
      const a = ctx.attrs;
      const d = x.shape.length - 2;
      const xk = elemKind(be, x.dtype, op);
      const key = `pool/${kind}/${xk}/${out.kind}`;
      const p = be.program(key, () => poolProgram(key, kind, xk, out.kind));
      const inp = lift(x.shape.slice(2), 1);
      const o = lift(os.slice(2), 1);
      const k = lift(a.kernel, 1);
      const s = lift(a.stride, 1);
      const dl = lift(a.dilation, 1);
      const pb = lift(a.pads.slice(0, d), 0);
      const pe = lift(a.pads.slice(d), 0);
      const u: UniformValues = { size, D: inp[0]!, H: inp[1]!, W: inp[2]!, OD: o[0]!, OH: o[1]!, OW: o[2]!, incl: a.countIncludePad ? 1 : 0 };
      ['d', 'h', 'w'].forEach((n, i) => {
        u[`k${n}`] = k[i]!;
        u[`s${n}`] = s[i]!;
        u[`dl${n}`] = dl[i]!;
        u[`pb${n}`] = pb[i]!;
        u[`pe${n}`] = pe[i]!;
      });
      be.dispatch(p, [bufferOf(x.handle), out.buffer], u, linearWorkgroups(size, WG, be.limits.maxComputeWorkgroupsPerDimension));
    }
    return [out.finish()];
  };
}

let registered = false;
/** Registers the webgpu avgPool / maxPool kernels (idempotent). */
export function registerPoolKernels(): void {
  if (registered) return;
  registered = true;
  registerKernel('maxPool', 'webgpu', poolKernel('max'));
  registerKernel('avgPool', 'webgpu', poolKernel('avg'));
}
