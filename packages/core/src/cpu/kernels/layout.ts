import type { ConcatAttrs, ExpandAttrs, GatherAttrs, PadAttrs, SliceAttrs, TransposeAttrs } from '../../ops/layout';
import { f32ToF16Bits as f16 } from '../../dtype';
import { broadcastStrides } from '../../shape';
import { type CpuArray, alloc, cpuKernel } from '../backend';
import { contiguousStrides, stridedCopy } from '../strided';

type Arr = { [i: number]: unknown; length: number };

export function registerLayoutKernels(): void {
  // reshape shares the input buffer: the core gives the output the same storage
  cpuKernel('reshape', (ins) => [ins[0]!], { f16: 'native' });

  cpuKernel<TransposeAttrs>(
    'transpose',
    (ins, a, outs, ctx) => {
      const st = contiguousStrides(ctx.inputs[0]!.shape);
      const o = alloc(outs[0]!);
      stridedCopy(ins[0] as Arr, 0, a.perm.map((p) => st[p]!), outs[0]!.shape, o as Arr);
      return [o];
    },
    { f16: 'native' },
  );

  cpuKernel<SliceAttrs>(
    'slice',
    (ins, a, outs, ctx) => {
      const st = contiguousStrides(ctx.inputs[0]!.shape);
      const o = alloc(outs[0]!);
      let off = 0;
      a.starts.forEach((s, i) => (off += s * st[i]!));
      stridedCopy(ins[0] as Arr, off, a.steps.map((s, i) => s * st[i]!), outs[0]!.shape, o as Arr);
      return [o];
    },
    { f16: 'native' },
  );

  cpuKernel<ExpandAttrs>(
    'expand',
    (ins, a, outs, ctx) => {
      const o = alloc(outs[0]!);
      stridedCopy(ins[0] as Arr, 0, broadcastStrides(ctx.inputs[0]!.shape, a.shape), a.shape, o as Arr);
      return [o];
    },
    { f16: 'native' },
  );

  cpuKernel<ConcatAttrs>(
    'concat',
    (ins, a, outs, ctx) => {
      const os = outs[0]!.shape;
      const o = alloc(outs[0]!);
      const ost = contiguousStrides(os);
      let at = 0;
      ctx.inputs.forEach((inp, k) => {
        const s = inp!.shape;
        stridedCopy(ins[k] as Arr, 0, contiguousStrides(s), s, o as Arr, at * ost[a.axis]!, ost);
        at += s[a.axis]!;
      });
      return [o];
    },
    { f16: 'native' },
  );

  cpuKernel<PadAttrs>(
    'pad',
    (ins, a, outs, ctx) => {
      const s = ctx.inputs[0]!.shape;
      const os = outs[0]!.shape;
      const o = alloc(outs[0]!);
      const x = ins[0]!;
      const r = s.length;
      const ost = contiguousStrides(os);
      const ist = contiguousStrides(s);
      if (a.mode === 'constant') {
        if (a.value !== 0) fillValue(o, ctx.inputs[0]!.dtype, a.value);
        let off = 0;
        for (let d = 0; d < r; d++) off += a.pads[2 * d]! * ost[d]!;
        stridedCopy(x as Arr, 0, ist, s, o as Arr, off, ost);
        return [o];
      }
      // reflect / replicate: a source index per output index and dim, then a gather
      const maps = os.map((n, d) => {
        const m = new Int32Array(n);
        const size = s[d]!;
        for (let i = 0; i < n; i++) {
          let j = i - a.pads[2 * d]!;
          if (a.mode === 'replicate') j = j < 0 ? 0 : j >= size ? size - 1 : j;
          else if (size === 1) j = 0;
          else {
            const period = 2 * (size - 1);
            j = ((j % period) + period) % period;
            if (j >= size) j = period - j;
          }
          m[i] = j * ist[d]!;
        }
        return m;
      });
      const total = o.length;
      const idx = new Array<number>(r).fill(0);
      const xs = x as Arr;
      const oa = o as Arr;
      for (let i = 0; i < total; i++) {
        let src = 0;
        for (let d = 0; d < r; d++) src += maps[d]![idx[d]!]!;
        oa[i] = xs[src];
        for (let d = r - 1; d >= 0; d--) {
          if (++idx[d]! < os[d]!) break;
          idx[d] = 0;
        }
      }
      return [o];
    },
    { f16: 'native' },
  );

  cpuKernel<GatherAttrs>(
    'gather',
    (ins, a, outs, ctx) => {
      const s = ctx.inputs[0]!.shape;
      const x = ins[0]!;
      const idx = ins[1]!;
      const o = alloc(outs[0]!);
      const dim = s[a.axis]!;
      let outer = 1;
      for (let d = 0; d < a.axis; d++) outer *= s[d]!;
      let inner = 1;
      for (let d = a.axis + 1; d < s.length; d++) inner *= s[d]!;
      const nIdx = idx.length;
      const flat = new Int32Array(nIdx);
      for (let k = 0; k < nIdx; k++) {
        let v = Number((idx as Arr)[k]);
        if (v < 0) v += dim;
        if (!(v >= 0 && v < dim)) throw new Error(`gather: index ${Number((idx as Arr)[k])} is out of range for axis ${a.axis} of size ${dim}`);
        flat[k] = v;
      }
      const xs = x as Float32Array;
      const os = o as Float32Array;
      for (let p = 0; p < outer; p++) {
        for (let k = 0; k < nIdx; k++) {
          const from = (p * dim + flat[k]!) * inner;
          os.set(xs.subarray(from, from + inner), (p * nIdx + k) * inner);
        }
      }
      return [o];
    },
    { f16: 'native' },
  );
}

function fillValue(o: CpuArray, dtype: string, value: number): void {
  if (o instanceof BigInt64Array) o.fill(BigInt(Math.trunc(value)));
  else if (dtype === 'float16') (o as Uint16Array).fill(f16(value));
  else if (dtype === 'bool') (o as Uint8Array).fill(value ? 1 : 0);
  else (o as Float32Array).fill(value);
}

