/** Runs one onnxruntime spec (and its float16 variant) into conformance case data. */
import { f16BitsToF32, f32ToF16Bits } from '../../src/dtype';
import { getOp, inferOp } from '../../src/op';
import '../../src/index';
import { type RawCase, encodeAttrs, encodeTensor } from '../../src/testing/codec';
import { compareTensor } from '../../src/testing/compare';
import type { HostTensor } from '../../src/testing/types';
import { attr, runGraph } from './graph';
import type { OrtSpec } from './specs';

export interface SpecOutcome {
  name: string;
  /** the case, or why it was dropped */
  kept?: { raw: RawCase; inputs: (HostTensor | null)[]; expected: HostTensor[] };
  dropped?: string;
}

function toF16(t: HostTensor): HostTensor {
  return { dtype: 'float16', shape: t.shape.slice(), data: Uint16Array.from(t.data as Float32Array, (v) => f32ToF16Bits(v)) };
}

function f16ToF32(t: HostTensor): HostTensor {
  return { dtype: 'float32', shape: t.shape.slice(), data: Float32Array.from(t.data as Uint16Array, (b) => f16BitsToF32(b)) };
}

function convert(o: HostTensor, want: { shape: number[]; dtype: string }, j: number): HostTensor {
  if (o.shape.length !== want.shape.length || o.shape.some((d, i) => want.shape[i]! >= 0 && d !== want.shape[i])) {
    throw new Error(`output ${j}: onnxruntime shape [${o.shape.join(', ')}] but our descriptor infers [${want.shape.join(', ')}]`);
  }
  if (o.dtype === want.dtype) return o;
  if (o.dtype === 'int64' && want.dtype === 'int32') {
    const d = o.data as BigInt64Array;
    const out = new Int32Array(d.length);
    d.forEach((v, i) => {
      if (v < -(2n ** 31n) || v >= 2n ** 31n) throw new Error(`output ${j}: int64 value ${v} does not fit int32`);
      out[i] = Number(v);
    });
    return { dtype: 'int32', shape: o.shape, data: out };
  }
  throw new Error(`output ${j}: onnxruntime dtype ${o.dtype} but our descriptor infers ${want.dtype}`);
}

export async function runSpecVariant(spec: OrtSpec, f16: boolean): Promise<SpecOutcome> {
  const name = f16 ? `${spec.name}/f16` : spec.name;
  try {
    const ours = f16 ? spec.inputs.map((t) => (t && t.dtype === 'float32' ? toF16(t) : t)) : spec.inputs;
    const ortIn = f16 ? ours.map((t) => (t && t.dtype === 'float16' ? f16ToF32(t) : t)) : ours;
    const metas = ours.map((t) => (t ? { shape: t.shape, dtype: t.dtype } : null));
    const { outputs: want } = inferOp(getOp(spec.op), metas, spec.attrs);
    let outs = (await runGraph(
      ortIn,
      (g) => {
        const o = spec.build(g);
        return f16 ? o.map((n, j) => (want[j]?.dtype === 'float16' ? g.op1('Cast', [n], { to: attr.int(10) }) : n)) : o;
      },
      spec.opset,
    )) as HostTensor[];
    if (spec.post) outs = spec.post(outs, ortIn);
    if (outs.length !== want.length) throw new Error(`onnxruntime gave ${outs.length} outputs, our op has ${want.length}`);
    const expected = outs.map((o, j) => convert(o, want[j]!, j));
    if (spec.reference && !f16) {
      const refs = spec.reference(ortIn);
      for (let j = 0; j < refs.length; j++) {
        const r = refs[j]!;
        const e = expected[j]!;
        const asF32: HostTensor = { dtype: 'float32', shape: r.shape, data: Float32Array.from(r.data) };
        const ortF32: HostTensor = { dtype: 'float32', shape: e.shape, data: Float32Array.from(e.data as ArrayLike<number>, Number) };
        const c = compareTensor(ortF32, asF32, spec.refTol ?? { abs: 1e-5, rel: 1e-5 }, `output ${j}`);
        if (!c.ok) return { name, dropped: `onnxruntime disagrees with the PyTorch-semantics reference (onnxruntime = got, torch = expected): ${c.message}` };
      }
    }
    const raw: RawCase = {
      n: name,
      o: spec.op,
      src: 'onnxruntime',
      a: encodeAttrs(spec.attrs),
      i: ours.map((t) => (t ? encodeTensor(t) : null)),
      e: expected.map(encodeTensor),
      t: f16 ? [spec.f16!.abs, spec.f16!.rel] : [spec.tol.abs, spec.tol.rel],
      ...(spec.note ? { note: spec.note } : {}),
    };
    return { name, kept: { raw, inputs: ours, expected } };
  } catch (e) {
    return { name, dropped: `error: ${e instanceof Error ? e.message : String(e)}` };
  }
}

export async function runSpec(spec: OrtSpec): Promise<SpecOutcome[]> {
  const out = [await runSpecVariant(spec, false)];
  if (spec.f16) out.push(await runSpecVariant(spec, true));
  return out;
}
