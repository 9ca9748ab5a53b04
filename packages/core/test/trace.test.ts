import { describe, expect, it } from 'vitest';
import {
  add,
  conv,
  exp,
  gather,
  gelu,
  getBackend,
  getBackendName,
  getOp,
  keep,
  layerNorm,
  linear,
  matmul,
  mean,
  memory,
  neg,
  nms,
  reshape,
  tensor,
  tidy,
  transpose,
  type Tensor,
} from '../src/index';
import {
  TRACE_READ_MESSAGE,
  TraceBackend,
  formatReport,
  registerTraceBackend,
  summarizeGraph,
  traceGraph,
  type TracedGraph,
} from '../src/trace/index';

const zeroMemory = { numTensors: 0, numStorages: 0, numBytes: 0 };
const shapesOf = (g: TracedGraph) => g.nodes.map((n) => n.outputs.map((o) => o.shape));

describe('traceGraph: tiny MLP (linear → gelu → linear)', () => {
  // weights live on cpu (created from host values only: no cpu kernel runs)
  const B = 2, T = 3, C = 8, H = 16;
  const w1 = tensor(new Float32Array(H * C).fill(0.5), [H, C]);
  const b1 = tensor(new Float32Array(H), [H]);
  const w2 = tensor(new Float32Array(C * H).map((_, i) => i), [C, H]);
  const b2 = tensor(new Float32Array(C), [C]);
  const params = { 'fc1.weight': w1, 'fc1.bias': b1, 'fc2.weight': w2, 'fc2.bias': b2 };
  const mlp = (x: Tensor, p: Map<string, Tensor>) => {
    const h = linear(x, p.get('fc1.weight')!, p.get('fc1.bias'));
    const a = gelu(h);
    return linear(a, p.get('fc2.weight')!, p.get('fc2.bias'));
  };

  it('records the exact node list with shapes, dtypes, value ids and normalised attrs', async () => {
    const g = await traceGraph((x, ctx) => mlp(x, ctx.params), [{ name: 'x', shape: [B, T, C] }], { params });
    expect(g.nodes.map((n) => n.op)).toEqual(['linear', 'gelu', 'linear']);
    expect(shapesOf(g)).toEqual([[[B, T, H]], [[B, T, H]], [[B, T, C]]]);
    expect(g.nodes.every((n) => n.outputs.every((o) => o.dtype === 'float32'))).toBe(true);
    expect(g.nodes.map((n) => n.id)).toEqual([0, 1, 2]);
    expect(g.nodes[1]!.attrs).toEqual({ approximate: 'none' });
    expect(g.nodes[0]!.attrs).toEqual({});

    expect(g.inputs).toEqual([{ name: 'x', valueId: expect.any(Number), shape: [B, T, C], dtype: 'float32' }]);
    expect(g.constants.map((c) => [c.name, c.shape, c.dtype])).toEqual([
      ['fc1.weight', [H, C], 'float32'],
      ['fc1.bias', [H], 'float32'],
      ['fc2.weight', [C, H], 'float32'],
      ['fc2.bias', [C], 'float32'],
    ]);
    expect(g.constants.every((c) => c.values === undefined)).toBe(true);
    const id = (name: string) => g.constants.find((c) => c.name === name)!.valueId;
    const [l1, act, l2] = g.nodes;
    expect(l1!.inputs).toEqual([g.inputs[0]!.valueId, id('fc1.weight'), id('fc1.bias')]);
    expect(act!.inputs).toEqual([l1!.outputs[0]!.valueId]);
    expect(l2!.inputs).toEqual([act!.outputs[0]!.valueId, id('fc2.weight'), id('fc2.bias')]);
    expect(g.outputs).toEqual([{ name: 'output', valueId: l2!.outputs[0]!.valueId, shape: [B, T, C], dtype: 'float32' }]);
    expect(g.keepValues).toBe(false);
    expect(g.leaked).toBeUndefined();

    // the originals stay where they were, untouched
    expect(w1.backend).toBe('cpu');
    expect(w1.isDisposed).toBe(false);
  });

  it('sums FLOPs in closed form and counts parameters', async () => {
    const g = await traceGraph((x, ctx) => mlp(x, ctx.params), [{ name: 'x', shape: [B, T, C] }], { params });
    const s = summarizeGraph(g);
    const M = B * T;
    const fc1 = 2 * M * C * H; // 2·M·K·N
    const fc2 = 2 * M * H * C;
    const geluFlops = getOp('gelu').flops!([{ shape: [B, T, H], dtype: 'float32' }], { approximate: 'none' }, [{ shape: [B, T, H], dtype: 'float32' }]);
    expect(geluFlops).toBe(8 * M * H);
    expect(g.nodes.map((n) => n.flops)).toEqual([fc1, geluFlops, fc2]);
    expect(s.flops).toBe(fc1 + fc2 + 8 * M * H);
    expect(s.params).toBe(H * C + H + C * H + C);
    expect(s.namedParams).toBe(s.params);
    expect(s.paramBytes).toBe(4 * s.params);
    expect(s.nodes).toBe(3);
    expect(s.byOp).toEqual([
      { op: 'linear', count: 2, flops: fc1 + fc2, share: (fc1 + fc2) / s.flops },
      { op: 'gelu', count: 1, flops: 8 * M * H, share: (8 * M * H) / s.flops },
    ]);
    expect(s.inputBytes).toBe(4 * B * T * C);
    expect(s.outputBytes).toBe(4 * B * T * C);
    // Mlp-style disposal is absent here, so every value stays alive: x + h + a + y
    expect(s.peakActivationBytes).toBe(4 * (B * T * C + 2 * B * T * H + B * T * C));
  });

  it('copies parameter values only with keepValues, and accepts shape-only params', async () => {
    const g = await traceGraph((x, ctx) => mlp(x, ctx.params), [{ name: 'x', shape: [B, T, C] }], { params, keepValues: true });
    expect(g.keepValues).toBe(true);
    const c = g.constants.find((k) => k.name === 'fc2.weight')!;
    expect(c.values).toBeInstanceOf(Float32Array);
    expect(Array.from(c.values as Float32Array)).toEqual(Array.from({ length: C * H }, (_, i) => i));

    const shapes = new Map([
      ['fc1.weight', { shape: [H, C] }],
      ['fc1.bias', { shape: [H] }],
      ['fc2.weight', { shape: [C, H] }],
      ['fc2.bias', { shape: [C] }],
    ]);
    const g2 = await traceGraph((x, ctx) => mlp(x, ctx.params), [{ name: 'x', shape: [B, T, C] }], { params: shapes, keepValues: true });
    expect(shapesOf(g2)).toEqual(shapesOf(g));
    expect(g2.constants.every((k) => k.values === undefined)).toBe(true);
    expect(summarizeGraph(g2).params).toBe(summarizeGraph(g).params);
  });

  it('formats a readable report', async () => {
    const g = await traceGraph((x, ctx) => mlp(x, ctx.params), [{ name: 'x', shape: [B, T, C] }], { params });
    const text = formatReport(summarizeGraph(g), { title: 'tiny mlp' });
    const lines = text.split('\n');
    expect(lines[0]).toBe('tiny mlp');
    expect(text).toMatch(/^nodes\s+3$/m);
    expect(text).toMatch(/^parameters\s+0\.000 M \(280; 0\.00 MB\)$/m);
    expect(text).toMatch(/^compute\s+0\.000 GFLOPs \(3,840 FLOPs\)$/m);
    expect(text).toMatch(/^peak activations\s+0\.00 MB$/m);
    expect(text).toMatch(/^op\s+count\s+GFLOPs\s+share$/m);
    expect(text).toMatch(/^linear\s+2\s+0\.000\s+80\.0%$/m);
    expect(text).toMatch(/^gelu\s+1\s+0\.000\s+20\.0%$/m);
    const one = formatReport(summarizeGraph(g), { top: 1 });
    expect(one).toMatch(/^\(1 more\)\s+1\s+0\.000\s+20\.0%$/m);
  });
});

describe('traceGraph: conv3d + layerNorm + mean block', () => {
  it('infers shapes and counts conv FLOPs as 2·out·(C/groups)·kD·kH·kW', async () => {
    const N = 1, Cin = 3, D = 4, HW = 8, O = 6;
    const params = {
      'conv.weight': { shape: [O, Cin, 2, 3, 3] },
      'conv.bias': { shape: [O] },
      'dw.weight': { shape: [O, 1, 3, 3, 3] },
      'norm.weight': { shape: [O] },
      'norm.bias': { shape: [O] },
    };
    const g = await traceGraph(
      (x, { params: p }) => {
        const c = conv(x, p.get('conv.weight')!, p.get('conv.bias'), { stride: [2, 1, 1], padding: [0, 1, 1] });
        const dw = conv(c, p.get('dw.weight')!, null, { padding: 1, groups: O });
        const cl = transpose(dw, [0, 2, 3, 4, 1]);
        const n = layerNorm(cl, p.get('norm.weight'), p.get('norm.bias'), { eps: 1e-6 });
        return { pooled: mean(n, { axes: [1, 2, 3] }), features: dw };
      },
      [{ name: 'video', shape: [N, Cin, D, HW, HW] }],
      { params },
    );
    expect(g.nodes.map((n) => n.op)).toEqual(['conv', 'conv', 'transpose', 'layerNorm', 'mean']);
    // D: floor((4 - 2) / 2) + 1 = 2; H, W: (8 + 2 - 3) / 1 + 1 = 8
    const out = [N, O, 2, HW, HW];
    expect(shapesOf(g)).toEqual([[out], [out], [[N, 2, HW, HW, O]], [[N, 2, HW, HW, O]], [[N, O]]]);
    expect(g.nodes[0]!.attrs).toEqual({ stride: [2, 1, 1], pads: [0, 1, 1, 0, 1, 1], dilation: [1, 1, 1], groups: 1 });
    expect(g.nodes[1]!.attrs).toEqual({ stride: [1, 1, 1], pads: [1, 1, 1, 1, 1, 1], dilation: [1, 1, 1], groups: O });
    expect(g.nodes[3]!.attrs).toEqual({ axis: 4, eps: 1e-6 });
    expect(g.nodes[4]!.attrs).toEqual({ axes: [1, 2, 3], keepDims: false });
    expect(g.nodes[1]!.inputs[2]).toBeNull();

    const outElems = N * O * 2 * HW * HW; // 768
    const convFlops = 2 * outElems * (Cin / 1) * 2 * 3 * 3; // 82,944
    const dwFlops = 2 * outElems * (O / O) * 3 * 3 * 3; // 41,472
    expect(g.nodes.map((n) => n.flops)).toEqual([convFlops, dwFlops, 0, 8 * outElems, outElems]);
    const s = summarizeGraph(g);
    expect(s.flops).toBe(convFlops + dwFlops + 8 * outElems + outElems);
    expect(s.byOp[0]).toEqual({ op: 'conv', count: 2, flops: convFlops + dwFlops, share: (convFlops + dwFlops) / s.flops });
    expect(s.params).toBe(O * Cin * 18 + O + O * 27 + O + O);
    expect(g.outputs.map((o) => [o.name, o.shape])).toEqual([
      ['pooled', [N, O]],
      ['features', out],
    ]);
    expect(s.outputBytes).toBe(4 * (N * O + outElems));
  });
});

describe('trace backend memory accounting', () => {
  const n = 1000;
  const S = 4 * n; // bytes of one float32[1000] value

  it('peak activation bytes honour the release order (disposed vs kept intermediates)', async () => {
    // each step: e = exp(y); next = neg(e); e is freed by tidy, the previous step's output by hand
    const disposed = await traceGraph(
      (x) => {
        let y = x;
        for (let k = 0; k < 3; k++) {
          const next = tidy(() => neg(exp(y)));
          if (y !== x) y.dispose();
          y = next;
        }
        return y;
      },
      [{ name: 'x', shape: [n] }],
    );
    const kept = await traceGraph(
      (x) => {
        let y = x;
        for (let k = 0; k < 3; k++) y = neg(exp(y));
        return reshape(y, [10, 100]); // a view: shares y's buffer
      },
      [{ name: 'x', shape: [n] }],
    );
    expect(disposed.nodes.map((nd) => nd.op)).toEqual(['exp', 'neg', 'exp', 'neg', 'exp', 'neg']);
    expect(kept.nodes.map((nd) => nd.op)).toEqual(['exp', 'neg', 'exp', 'neg', 'exp', 'neg', 'reshape']);
    expect(kept.nodes[6]!.outputs[0]!.aliasOf).toBe(kept.nodes[5]!.outputs[0]!.valueId);
    // disposed: x + previous output + e + next = 4 values at the neg of steps 2 and 3
    expect(summarizeGraph(disposed).peakActivationBytes).toBe(4 * S);
    // kept: x + 6 intermediates; the reshape view adds nothing
    expect(summarizeGraph(kept).peakActivationBytes).toBe(7 * S);
    // the free events: e1 after node 2 (the tidy ends after neg), e2 after node 4 before n1
    const rel = disposed.releases.slice(0, 5);
    const out = (i: number) => disposed.nodes[i]!.outputs[0]!.valueId;
    expect(rel).toEqual([
      { valueId: out(0), afterNode: 2 },
      { valueId: out(2), afterNode: 4 },
      { valueId: out(1), afterNode: 4 },
      { valueId: out(4), afterNode: 6 },
      { valueId: out(3), afterNode: 6 },
    ]);
    // then traceGraph frees the input and the output
    expect(disposed.releases.slice(5).map((r) => r.valueId).sort()).toEqual([disposed.inputs[0]!.valueId, out(5)].sort());
    expect(disposed.releases.length).toBe(7);
  });

  it('leaves the trace backend empty and restores the current backend', async () => {
    const before = getBackendName();
    let inside = '';
    let backend: TraceBackend | null = null;
    const g = await traceGraph(
      (x, ctx) => {
        inside = getBackendName();
        backend = getBackend(ctx.backend) as TraceBackend;
        const c = tensor([1, 2, 3, 4], [4]); // lands on the trace backend (it is current)
        const y = add(add(x, c), 1); // the scalar 1 is lifted to a constant too
        expect(memory(ctx.backend).numTensors).toBeGreaterThan(0);
        return y;
      },
      [{ name: 'x', shape: [2, 4] }],
    );
    expect(inside).toBe(g.backend);
    expect(g.backend).toMatch(/^trace:\d+$/);
    expect(getBackendName()).toBe(before);
    expect(memory(g.backend)).toEqual(zeroMemory);
    expect(backend!.memory()).toEqual({ ...zeroMemory, liveValues: 0, liveBytes: 0 });
    expect(g.constants.map((c) => [c.name, c.shape])).toEqual([
      [undefined, [4]],
      [undefined, []],
    ]);
    expect(summarizeGraph(g).params).toBe(5);
    expect(summarizeGraph(g).namedParams).toBe(0);
  });

  it('reports values the traced function kept alive with keep()', async () => {
    const g = await traceGraph(
      (x) => {
        keep(exp(x));
        return neg(x);
      },
      [{ name: 'x', shape: [3] }],
    );
    expect(g.leaked).toEqual([g.nodes[0]!.outputs[0]!.valueId]);
    expect(memory(g.backend).numTensors).toBe(1);
  });
});

describe('trace backend values and dynamic ops', () => {
  it('read() of a traced tensor rejects with a clear message', async () => {
    let err: unknown = null;
    const g = await traceGraph(
      async (x) => {
        const y = exp(x);
        err = await y.data().then(
          () => null,
          (e: unknown) => e,
        );
        expect(() => y.dataSync()).toThrow(/no synchronous readback/);
        return y;
      },
      [{ name: 'x', shape: [2, 2] }],
    );
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe(TRACE_READ_MESSAGE);
    expect(TRACE_READ_MESSAGE).toBe('the trace backend records shapes only; values are not computed');
    expect(memory(g.backend)).toEqual(zeroMemory);
  });

  it('records a data-dependent op (nms) with an upper bound and marks it dynamic', async () => {
    const K = 100;
    const g = await traceGraph(
      async (boxes, scores) => {
        const keepAll = await nms(boxes, scores, { iouThreshold: 0.5 });
        const keepTop = await nms(boxes, scores, { iouThreshold: 0.5, maxOutput: 20 });
        return { all: keepAll, kept: gather(boxes, keepTop, 0) };
      },
      [
        { name: 'boxes', shape: [K, 4] },
        { name: 'scores', shape: [K] },
      ],
    );
    expect(g.nodes.map((n) => n.op)).toEqual(['nms', 'nms', 'gather']);
    const [a, b, gat] = g.nodes;
    expect(a!.dynamic).toBe(true);
    expect(a!.outputs[0]).toMatchObject({ shape: [K], dtype: 'int32', dynamic: true, declaredShape: [-1] });
    expect(b!.outputs[0]).toMatchObject({ shape: [20], dynamic: true, declaredShape: [-1] });
    expect(b!.attrs).toEqual({ iouThreshold: 0.5, maxOutput: 20 });
    expect(gat!.dynamic).toBeUndefined();
    expect(gat!.outputs[0]!.shape).toEqual([20, 4]);
    expect(a!.flops).toBe(K * K);
    const s = summarizeGraph(g);
    expect(s.dynamicNodes).toBe(2);
    expect(formatReport(s)).toMatch(/^nodes\s+3 \(2 data-dependent: shapes are upper bounds\)$/m);
    expect(memory(g.backend)).toEqual(zeroMemory);
  });

  it('copies values written inside the trace only with keepValues', async () => {
    const src = new Float32Array([1, 2, 3]);
    const run = (keepValues: boolean) =>
      traceGraph((x, ctx) => add(x, tensor(src, [3], { backend: ctx.backend })), [{ name: 'x', shape: [3] }], { keepValues, makeCurrent: false });
    const withValues = await run(true);
    src[0] = 42;
    expect(Array.from(withValues.constants[0]!.values as Float32Array)).toEqual([1, 2, 3]);
    expect((await run(false)).constants[0]!.values).toBeUndefined();
  });
});

describe('traceGraph errors', () => {
  it('rejects outputs that are not trace tensors and bad input specs, cleaning up', async () => {
    const cpuT = tensor([1, 2, 3]);
    await expect(traceGraph(() => cpuT, [])).rejects.toThrow(/output 'output' \(tensor #\d+ float32\[3\]\) lives on backend 'cpu', not the trace backend 'trace:\d+'/);
    expect(cpuT.isDisposed).toBe(false);
    await expect(traceGraph(() => 3 as unknown as Tensor, [])).rejects.toThrow(/must return a Tensor/);
    await expect(traceGraph((x) => x, [{ name: 'x', shape: [2, -1] }])).rejects.toThrow(/invalid dimension -1/);
    await expect(
      traceGraph((x) => x, [
        { name: 'x', shape: [1] },
        { name: 'x', shape: [1] },
      ] as { name: string; shape: number[] }[]),
    ).rejects.toThrow(/input name 'x' is used twice/);
    await expect(traceGraph((x) => matmul(x, x), [{ name: 'x', shape: [2, 3] }])).rejects.toThrow(/matmul: inner dimensions differ/);
    expect(getBackendName()).toBe('cpu');
    expect(memory('cpu').numTensors).toBeGreaterThan(0); // cpuT still alive
    cpuT.dispose();
  });

  it('returns an input unchanged as an output (identity graph)', async () => {
    const g = await traceGraph((x) => [x, x], [{ name: 'x', shape: [5], dtype: 'int32' }]);
    expect(g.nodes).toEqual([]);
    expect(g.outputs.map((o) => [o.name, o.valueId, o.dtype])).toEqual([
      ['output_0', g.inputs[0]!.valueId, 'int32'],
      ['output_1', g.inputs[0]!.valueId, 'int32'],
    ]);
    const s = summarizeGraph(g);
    expect(s.peakActivationBytes).toBe(20);
    expect(s.outputBytes).toBe(20);
    expect(memory(g.backend)).toEqual(zeroMemory);
  });
});

describe('registerTraceBackend', () => {
  it('registers a shared, never-default trace backend usable by name', () => {
    registerTraceBackend();
    registerTraceBackend(); // idempotent
    expect(getBackendName()).toBe('cpu');
    const tb = getBackend('trace') as TraceBackend;
    expect(tb).toBeInstanceOf(TraceBackend);
    const x = tensor(new Float32Array(6), [2, 3], { backend: 'trace' });
    const w = tensor(new Float32Array(12), [4, 3], { backend: 'trace' });
    const y = linear(x, w);
    expect(y.shape).toEqual([2, 4]);
    expect(y.backend).toBe('trace');
    const g = tb.graph();
    expect(g.nodes.map((n) => [n.op, n.outputs[0]!.shape, n.flops])).toEqual([['linear', [2, 4], 2 * 2 * 3 * 4]]);
    expect(g.constants.length).toBe(2);
    expect(tb.memory()).toMatchObject({ numTensors: 3, liveValues: 3, liveBytes: 4 * (6 + 12 + 8) });
    y.dispose();
    x.dispose();
    w.dispose();
    expect(tb.memory()).toEqual({ ...zeroMemory, liveValues: 0, liveBytes: 0 });
    tb.reset();
    expect(tb.graph().nodes).toEqual([]);
  });
});
