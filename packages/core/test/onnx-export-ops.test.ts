/**
 * Per-op ONNX export: every op case of the conformance suite (and every program case) is traced
 * on the trace backend, exported with exportOnnx and run in onnxruntime-node; the outputs are
 * compared with our cpu kernels' on the same inputs, at the case's tolerance. Ops without an
 * ONNX form must fail with an OnnxExportError naming the op.
 */
import { describe, expect, it } from 'vitest';
import {
  type DType,
  type Tensor,
  type TypedArray,
  OnnxExportError,
  Scope,
  decodeOnnxModel,
  exportOnnx,
  getOp,
  onnxExportableOps,
  onnxUnmappedOps,
  opCatalogue,
  runOp,
  runOpAsync,
  tensor,
  traceGraph,
} from '../src/index';
import { type ConformanceCase, type HostTensor, compareOutputs, conformanceCases } from '../src/testing/index';
import { runOnnx } from '../scripts/ort';

/** Cases the exporter refuses on purpose (an OnnxExportError naming the op is expected), with the reason. */
const REFUSED: { test: (c: ConformanceCase) => boolean; why: RegExp }[] = [
  // batched NMS (classes input): ONNX's multi-class NonMaxSuppression orders its output class by class
  { test: (c) => c.op === 'nms' && c.kind === 'op' && c.inputs[2] != null, why: /op #0 'nms'.*classes/ },
];

/**
 * onnxruntime is another implementation: float outputs get a relative floor of 1e-6 on top of the
 * case's tolerance (its bicubic weights, for one, sum to 1 only to ~3e-7).
 */
const tolFor = (c: ConformanceCase) => ({ abs: c.tol.abs, rel: Math.max(c.tol.rel, 1e-6) });

/** Runs the case's op (or program) on `backend` and returns the outputs (the caller disposes them). */
async function apply(c: ConformanceCase, inputs: (Tensor | null)[], backend?: string): Promise<Tensor[]> {
  if (c.kind === 'program') return c.run(inputs as Tensor[]);
  const desc = getOp(c.op);
  return desc.async ? runOpAsync(desc, inputs, c.attrs, backend) : runOp(desc, inputs, c.attrs, backend);
}

async function onCpu(c: ConformanceCase): Promise<HostTensor[]> {
  const scope = new Scope();
  try {
    const xs = c.inputs.map((h) => (h ? tensor(h.data as TypedArray, h.shape, { dtype: h.dtype as DType, backend: 'cpu' }) : null));
    const ys = await apply(c, xs, 'cpu');
    const out: HostTensor[] = [];
    for (const y of ys) out.push({ dtype: y.dtype, shape: y.shape.slice(), data: (await y.data()) as never });
    return out;
  } finally {
    scope.end();
  }
}

/** Traces the case's op with its non-null inputs as graph inputs x{i}. */
async function exportCase(c: ConformanceCase): Promise<Uint8Array> {
  const specs = c.inputs.flatMap((h, i) => (h ? [{ name: `x${i}`, shape: h.shape, dtype: h.dtype as DType }] : []));
  const graph = await traceGraph(
    async (...args: unknown[]) => {
      const given = args.slice(0, specs.length) as Tensor[];
      let k = 0;
      const xs = c.inputs.map((h) => (h ? given[k++]! : null));
      return apply(c, xs);
    },
    specs,
    { keepValues: true },
  );
  return exportOnnx(graph);
}

async function onOrt(c: ConformanceCase, model: Uint8Array): Promise<HostTensor[]> {
  const feeds: Record<string, HostTensor> = {};
  c.inputs.forEach((h, i) => {
    if (h) feeds[`x${i}`] = h;
  });
  const out = await runOnnx(model, feeds as never);
  const names = decodeOnnxModel(model).graph.outputs.map((o) => o.name);
  return names.map((n) => out[n] as unknown as HostTensor);
}

const mapped = new Set(onnxExportableOps());
const cases = conformanceCases().filter((c) => (c.kind === 'program' ? c.ops.every((o) => mapped.has(o)) : mapped.has(c.op)));
const byOp = new Map<string, ConformanceCase[]>();
for (const c of cases) byOp.set(c.op, [...(byOp.get(c.op) ?? []), c]);

describe('exported single ops run in onnxruntime-node like our cpu kernels', () => {
  for (const [op, list] of [...byOp].sort(([a], [b]) => a.localeCompare(b))) {
    it(`${op} (${list.length} cases)`, async () => {
      const failures: string[] = [];
      for (const c of list) {
        const refused = REFUSED.find((r) => r.test(c));
        if (refused) {
          const err = await exportCase(c).then(
            () => null,
            (e: unknown) => e,
          );
          if (!(err instanceof OnnxExportError) || !refused.why.test(err.message)) failures.push(`${c.name}: expected an OnnxExportError matching ${refused.why}, got ${String(err)}`);
          continue;
        }
        let got: HostTensor[];
        try {
          got = await onOrt(c, await exportCase(c));
        } catch (e) {
          failures.push(`${c.name}: ${(e as Error).message.split('\n')[0]}`);
          continue;
        }
        const want = await onCpu(c);
        const r = compareOutputs(got, want, tolFor(c));
        if (!r.ok) failures.push(`${c.name}: ${r.message.split('\n')[0]}`);
      }
      expect(failures).toEqual([]);
    });
  }
});

describe('export coverage', () => {
  it('every catalogue op is either mapped or has a stated reason', () => {
    const unmapped = onnxUnmappedOps();
    for (const op of opCatalogue().keys()) expect(mapped.has(op) || op in unmapped, op).toBe(true);
    console.log(`mapped (${mapped.size}): ${[...mapped].join(', ')}\nunmapped: ${Object.keys(unmapped).join(', ')}`);
  });

  it('an unmapped op fails with an error naming it', async () => {
    const graph = await traceGraph(
      (x: Tensor) => runOp(getOp('warpAffine'), [x], { matrix: [1, 0, 0, 0, 1, 0], size: [4, 4] })[0]!,
      [{ name: 'img', shape: [4, 4, 3], dtype: 'uint8' }],
      { keepValues: true },
    );
    expect(() => exportOnnx(graph)).toThrow(OnnxExportError);
    expect(() => exportOnnx(graph)).toThrow(/op #0 'warpAffine'/);
  });
});
