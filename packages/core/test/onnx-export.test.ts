/** exportOnnx: dynamic batch through reshape / expand / slice, names, initializers and the errors. */
import { describe, expect, it } from 'vitest';
import {
  type Tensor,
  OnnxExportError,
  add,
  concat,
  decodeOnnxModel,
  expand,
  exportOnnx,
  exportOnnxSpec,
  gelu,
  linear,
  mean,
  reshape,
  sdpa,
  slice,
  tensor,
  traceForExport,
  traceGraph,
  transpose,
} from '../src/index';
import { runOnnx } from '../scripts/ort';

function rand(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 2 ** 32) * 2 - 1;
  }
  return a;
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

/**
 * A token model with every batch-sensitive pattern the real models use: window partition (batch
 * merged into dim 0), a class token expanded to the batch and concatenated, a slice, a reshape
 * back, and a linear layer with named weights.
 */
function tokenModel(x: Tensor, params: Map<string, Tensor>): Tensor {
  const [B, C, H, W] = x.shape as [number, number, number, number];
  const ws = 2;
  // [B, C, H, W] → windows [B·(H/ws)·(W/ws), ws·ws, C]
  let t = transpose(x, [0, 2, 3, 1]);
  t = reshape(t, [B, H / ws, ws, W / ws, ws, C]);
  t = transpose(t, [0, 1, 3, 2, 4, 5]);
  t = reshape(t, [-1, ws * ws, C]);
  t = gelu(linear(t, params.get('proj.weight')!, params.get('proj.bias')!));
  // back to [B, tokens, C]
  t = reshape(t, [B, -1, C]);
  const cls = expand(params.get('cls_token')!, [B, 1, C]);
  t = concat([cls, t], 1);
  t = add(t, params.get('pos')!);
  const first = slice(t, { starts: [0], ends: [1], axes: [1] });
  const rest = mean(slice(t, { starts: [1], ends: [t.shape[1]!], axes: [1] }), { axes: [1], keepDims: true });
  return reshape(add(first, rest), [B, C]);
}

describe('exportOnnx with a dynamic batch', () => {
  const C = 4;
  const params = new Map<string, Tensor>([
    ['proj.weight', tensor(rand(C * C, 1), [C, C])],
    ['proj.bias', tensor(rand(C, 2), [C])],
    ['cls_token', tensor(rand(C, 3), [1, 1, C])],
    ['pos', tensor(rand(65 * C, 4), [1, 65, C])],
  ]);

  it('reproduces the cpu forward at batch sizes 1–4 from one export traced at batch 2', async () => {
    const fn = (x: Tensor, ctx: { params: Map<string, Tensor> }) => tokenModel(x, ctx.params);
    const { graph, probe } = await traceForExport(fn, [{ name: 'x', shape: [2, C, 8, 8] }], { params });
    const bytes = exportOnnx(graph, { batchProbe: probe, outputNames: ['embedding'], producer: 'tubelet-test' });
    const m = decodeOnnxModel(bytes);
    expect(m.producerName).toBe('tubelet-test');
    expect(m.graph.inputs[0]!.shape).toEqual(['N', C, 8, 8]);
    expect(m.graph.outputs[0]!.shape).toEqual(['N', C]);
    expect(m.graph.initializers.map((t) => t.name)).toEqual(expect.arrayContaining(['proj.weight', 'proj.bias', 'cls_token', 'pos']));
    for (const B of [1, 2, 3, 4]) {
      const data = rand(B * C * 64, 10 + B);
      const x = tensor(data, [B, C, 8, 8]);
      const ref = tokenModel(x, params);
      const out = await runOnnx(bytes, { x: { dtype: 'float32', shape: [B, C, 8, 8], data } });
      expect(out.embedding!.shape).toEqual([B, C]);
      expect(maxDiff(out.embedding!.data as Float32Array, ref.dataSync() as Float32Array)).toBeLessThan(1e-5);
      x.dispose();
      ref.dispose();
    }
  });

  it('without a probe the shapes are the traced ones', async () => {
    const graph = await traceGraph((x: Tensor, ctx) => tokenModel(x, ctx.params), [{ name: 'x', shape: [2, C, 8, 8] }], { params, keepValues: true });
    const spec = exportOnnxSpec(graph);
    expect(spec.inputs[0]!.shape).toEqual([2, C, 8, 8]);
    expect(() => exportOnnxSpec(graph, { dynamicBatch: true })).toThrow(/batchProbe/);
  });

  it('refuses what a dynamic batch cannot express', async () => {
    // a constant whose shape follows the batch
    const fn1 = (x: Tensor) => add(x, tensor(new Float32Array(x.shape[0]! * 3), [x.shape[0]!, 3]));
    const t1 = await traceForExport(fn1, [{ name: 'x', shape: [2, 3] }]);
    expect(() => exportOnnx(t1.graph, { batchProbe: t1.probe })).toThrow(/constant #0 has shape \[2,3\] in one trace and \[3,3\].*depends on the batch size/);
    // slicing the batch
    const fn2 = (x: Tensor) => slice(x, { starts: [0], ends: [1], axes: [0] });
    const t2 = await traceForExport(fn2, [{ name: 'x', shape: [2, 3] }]);
    expect(() => exportOnnx(t2.graph, { batchProbe: t2.probe })).toThrow(/op #0 'slice'.*batch dim/);
    // folding the batch into a fixed shape
    const fn3 = (x: Tensor) => reshape(x, [-1]);
    const t3 = await traceForExport(fn3, [{ name: 'x', shape: [2, 3] }]);
    expect(exportOnnxSpec(t3.graph, { batchProbe: t3.probe }).outputs[0]!.shape).toEqual(['3N']);
  });
});

describe('exportOnnx basics and errors', () => {
  it('names inputs / outputs, passes inputs straight through and writes opset 17', async () => {
    const graph = await traceGraph((a: Tensor, b: Tensor) => ({ sum: add(a, b), same: a }), [
      { name: 'a', shape: [3] },
      { name: 'b', shape: [3] },
    ], { keepValues: true });
    const bytes = exportOnnx(graph, { inputNames: ['p', 'q'] });
    const m = decodeOnnxModel(bytes);
    expect(m.opsets).toEqual([{ domain: '', version: 17 }]);
    expect(m.graph.inputs.map((i) => i.name)).toEqual(['p', 'q']);
    expect(m.graph.outputs.map((o) => o.name)).toEqual(['sum', 'same']);
    const out = await runOnnx(bytes, { p: { dtype: 'float32', shape: [3], data: Float32Array.of(1, 2, 3) }, q: { dtype: 'float32', shape: [3], data: Float32Array.of(10, 20, 30) } });
    expect(Array.from(out.sum!.data as Float32Array)).toEqual([11, 22, 33]);
    expect(Array.from(out.same!.data as Float32Array)).toEqual([1, 2, 3]);
  });

  it('attention with a fully masked row gives zeros there, as our kernels do', async () => {
    const q = rand(2 * 3, 5);
    const k = rand(3 * 3, 6);
    const v = rand(3 * 3, 7);
    const mask = Uint8Array.of(0, 0, 0, 1, 0, 1);
    const specs = [
      { name: 'q', shape: [1, 2, 3] },
      { name: 'k', shape: [1, 3, 3] },
      { name: 'v', shape: [1, 3, 3] },
      { name: 'm', shape: [2, 3], dtype: 'bool' as const },
    ];
    const graph = await traceGraph((a: Tensor, b: Tensor, c: Tensor, m: Tensor) => sdpa(a, b, c, m), specs, { keepValues: true });
    const out = await runOnnx(exportOnnx(graph), {
      q: { dtype: 'float32', shape: [1, 2, 3], data: q },
      k: { dtype: 'float32', shape: [1, 3, 3], data: k },
      v: { dtype: 'float32', shape: [1, 3, 3], data: v },
      m: { dtype: 'bool', shape: [2, 3], data: mask },
    });
    const ref = sdpa(tensor(q, [1, 2, 3]), tensor(k, [1, 3, 3]), tensor(v, [1, 3, 3]), tensor(mask, [2, 3], { dtype: 'bool' }));
    const want = ref.dataSync() as Float32Array;
    expect(Array.from(want.subarray(0, 3))).toEqual([0, 0, 0]);
    expect(maxDiff(out.output!.data as Float32Array, want)).toBeLessThan(1e-6);
  });

  it('needs constant values (keepValues) and opset 17', async () => {
    const fn = (x: Tensor, ctx: { params: Map<string, Tensor> }) => add(x, ctx.params.get('w')!);
    const shapeOnly = await traceGraph(fn, [{ name: 'x', shape: [2] }], { params: { w: { shape: [2] } } });
    expect(() => exportOnnx(shapeOnly)).toThrow(OnnxExportError);
    expect(() => exportOnnx(shapeOnly)).toThrow(/constant 'w' \[2\] has no values: trace with keepValues/);
    const ok = await traceGraph(fn, [{ name: 'x', shape: [2] }], { params: { w: tensor(Float32Array.of(1, 2), [2]) }, keepValues: true });
    expect(() => exportOnnx(ok, { opset: 18 })).toThrow(/opset 17, not 18/);
    expect(() => exportOnnx(ok, { outputNames: ['x'] })).toThrow(/collides/);
  });
});
