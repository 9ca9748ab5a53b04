import type { Shape } from '../../shape';
import type { AxisAttrs, BatchNormAttrs, LayerNormAttrs } from '../../ops/norm';
import type { ArgReduceAttrs, ReduceAttrs, TopkAttrs } from '../../ops/reduce';
import { type CpuArray, alloc, cpuKernel } from '../backend';
import { contiguousStrides, stridedCopy } from '../strided';

type Num = { [i: number]: number; length: number };

/**
 * Brings the reduced axes to the end (copying only when they are not already trailing) so every
 * reduction runs over contiguous rows: returns the data and [rows, rowLength].
 */
function asRows(x: CpuArray, shape: Shape, axes: readonly number[]): { data: CpuArray; rows: number; len: number } {
  const r = shape.length;
  const kept = [...Array(r).keys()].filter((d) => !axes.includes(d));
  const perm = [...kept, ...axes];
  let len = 1;
  for (const a of axes) len *= shape[a]!;
  const rows = len === 0 ? kept.reduce((p, d) => p * shape[d]!, 1) : x.length / len;
  const trailing = axes.every((a, i) => a === r - axes.length + i);
  if (trailing) return { data: x, rows, len };
  const st = contiguousStrides(shape);
  const data = new (x.constructor as new (n: number) => CpuArray)(x.length);
  stridedCopy(x as Num, 0, perm.map((p) => st[p]!), perm.map((p) => shape[p]!), data as Num);
  return { data, rows, len };
}

/** Row moves along `axis` with stride `inner`: [outer, dim, inner] addressing. */
function axisGeometry(shape: Shape, axis: number) {
  let outer = 1;
  for (let d = 0; d < axis; d++) outer *= shape[d]!;
  let inner = 1;
  for (let d = axis + 1; d < shape.length; d++) inner *= shape[d]!;
  return { outer, dim: shape[axis]!, inner };
}

export function registerReduceKernels(): void {
  for (const op of ['sum', 'mean', 'max', 'min'] as const) {
    cpuKernel<ReduceAttrs>(op, (ins, a, outs, ctx) => {
      const { data, rows, len } = asRows(ins[0]!, ctx.inputs[0]!.shape, a.axes);
      const o = alloc(outs[0]!);
      if (data instanceof BigInt64Array) {
        for (let i = 0; i < rows; i++) {
          let acc = op === 'sum' ? 0n : data[i * len]!;
          for (let j = 0; j < len; j++) {
            const v = data[i * len + j]!;
            acc = op === 'sum' ? acc + v : op === 'max' ? (v > acc ? v : acc) : v < acc ? v : acc;
          }
          (o as BigInt64Array)[i] = acc;
        }
        return [o];
      }
      const x = data as Num;
      const os = o as Num;
      for (let i = 0, base = 0; i < rows; i++, base += len) {
        if (op === 'sum' || op === 'mean') {
          let acc = 0;
          for (let j = 0; j < len; j++) acc += x[base + j]!;
          os[i] = op === 'mean' ? acc / len : acc;
        } else {
          let acc = x[base]!;
          for (let j = 1; j < len && acc === acc; j++) {
            const v = x[base + j]!;
            if (v !== v || (op === 'max' ? v > acc : v < acc)) acc = v;
          }
          os[i] = acc;
        }
      }
      return [o];
    });
  }

  for (const op of ['argmax', 'argmin'] as const) {
    cpuKernel<ArgReduceAttrs>(op, (ins, a, outs, ctx) => {
      const { outer, dim, inner } = axisGeometry(ctx.inputs[0]!.shape, a.axis);
      const x = ins[0] as Num;
      const big = ins[0] instanceof BigInt64Array;
      const o = alloc(outs[0]!) as Int32Array;
      for (let p = 0; p < outer; p++) {
        for (let q = 0; q < inner; q++) {
          const base = p * dim * inner + q;
          let best = 0;
          let bv = x[base]!;
          for (let j = 1; j < dim && (big || bv === bv); j++) {
            const v = x[base + j * inner]!;
            if (v !== v || (op === 'argmax' ? v > bv : v < bv)) {
              best = j;
              bv = v;
            }
          }
          o[p * inner + q] = best;
        }
      }
      return [o];
    });
  }

  cpuKernel<TopkAttrs>('topk', (ins, a, outs, ctx) => {
    const { outer, dim, inner } = axisGeometry(ctx.inputs[0]!.shape, a.axis);
    const x = ins[0] as Num;
    const vals = alloc(outs[0]!) as Num;
    const idxs = alloc(outs[1]!) as Int32Array;
    const order = new Int32Array(dim);
    const row = new Float64Array(dim);
    const big = ins[0] instanceof BigInt64Array;
    const sign = a.largest ? -1 : 1;
    // NaN sorts as the largest value (torch)
    const key = (v: number) => (v !== v ? (a.largest ? -Infinity : Infinity) : sign * v);
    const cmp = (i: number, j: number) => row[i]! - row[j]! || i - j;
    for (let p = 0; p < outer; p++) {
      for (let q = 0; q < inner; q++) {
        const base = p * dim * inner + q;
        for (let j = 0; j < dim; j++) {
          order[j] = j;
          row[j] = key(big ? Number(x[base + j * inner]) : x[base + j * inner]!);
        }
        order.sort(cmp);
        for (let j = 0; j < a.k; j++) {
          const ob = p * a.k * inner + j * inner + q;
          vals[ob] = x[base + order[j]! * inner]!;
          idxs[ob] = order[j]!;
        }
      }
    }
    return [vals as CpuArray, idxs];
  });

  cpuKernel<AxisAttrs>('softmax', (ins, a, outs, ctx) => {
    const { outer, dim, inner } = axisGeometry(ctx.inputs[0]!.shape, a.axis);
    const x = ins[0] as Num;
    const o = alloc(outs[0]!) as Num;
    for (let p = 0; p < outer; p++) {
      for (let q = 0; q < inner; q++) {
        const base = p * dim * inner + q;
        let m = -Infinity;
        for (let j = 0, i = base; j < dim; j++, i += inner) if (x[i]! > m || x[i] !== x[i]) m = x[i]!;
        let s = 0;
        for (let j = 0, i = base; j < dim; j++, i += inner) s += Math.exp(x[i]! - m);
        for (let j = 0, i = base; j < dim; j++, i += inner) o[i] = Math.exp(x[i]! - m) / s;
      }
    }
    return [o as CpuArray];
  });

  cpuKernel<LayerNormAttrs>('layerNorm', (ins, a, outs, ctx) => {
    const shape = ctx.inputs[0]!.shape;
    let len = 1;
    for (let d = a.axis; d < shape.length; d++) len *= shape[d]!;
    const x = ins[0] as Num;
    const w = ins[1] as Num | null;
    const b = ins[2] as Num | null;
    const o = alloc(outs[0]!) as Num;
    const rows = len ? x.length / len : 0;
    for (let r = 0, base = 0; r < rows; r++, base += len) {
      let mean = 0;
      for (let j = 0; j < len; j++) mean += x[base + j]!;
      mean /= len;
      let v = 0;
      for (let j = 0; j < len; j++) {
        const d = x[base + j]! - mean;
        v += d * d;
      }
      const inv = 1 / Math.sqrt(v / len + a.eps);
      for (let j = 0; j < len; j++) {
        let y = (x[base + j]! - mean) * inv;
        if (w) y *= w[j]!;
        if (b) y += b[j]!;
        o[base + j] = y;
      }
    }
    return [o as CpuArray];
  });

  cpuKernel<BatchNormAttrs>('batchNorm', (ins, a, outs, ctx) => {
    const shape = ctx.inputs[0]!.shape;
    const [N, C] = [shape[0]!, shape[1]!];
    let inner = 1;
    for (let d = 2; d < shape.length; d++) inner *= shape[d]!;
    const [x, mean, vr, w, b] = ins as (Num | null)[];
    const o = alloc(outs[0]!) as Num;
    for (let c = 0; c < C; c++) {
      const scale = (w ? w[c]! : 1) / Math.sqrt(vr![c]! + a.eps);
      const shift = (b ? b[c]! : 0) - mean![c]! * scale;
      for (let n = 0; n < N; n++) {
        const base = (n * C + c) * inner;
        for (let i = 0; i < inner; i++) o[base + i] = x![base + i]! * scale + shift;
      }
    }
    return [o as CpuArray];
  });
}
