/**
 * ONNX export of whole models: the tiny UniFormer (video, image, conv-stem image, dense, pose
 * backbone) and ViViT (models 1–4) parity models, with the official vectors' weights, exported
 * with a dynamic batch and run in onnxruntime-node. Every output the vectors hold is compared with
 * the official value at the parity bound 1e-4·max(1, max|ref|), at the vectors' batch size and at
 * batch sizes 1 and 3 (the same samples, rearranged).
 *
 * The models live in @tubelet/models, whose sources import '@tubelet/core': that import is pointed
 * at these sources (vi.mock), so model, tracer and exporter share one core instance.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';

vi.mock('@tubelet/core', async () => await import('../src/index'));

import { type RawTensor, type Tensor, decodeOnnxModel, exportOnnx, traceForExport } from '../src/index';
import { type HostTensor, runOnnx } from '../scripts/ort';

// Imported by (non-literal) path so that core's typecheck does not pull the models' sources in
// (they are type-checked against core's published types, in their own package).
const load = (p: string): Promise<any> => import(/* @vite-ignore */ fileURLToPath(new URL(`${p}.ts`, import.meta.url)));
const { applyUniformerWeights, configFromOfficial, createUniformer, fromHfPixelValues, normalizeUniformerKeys, VivitModel } = await load('../../models/src/index');
const { readSt } = await load('../../models/test/fixtures/uniformer/helpers');
const { readVector } = await load('../../models/test/vivit-helpers');

const report: string[] = [];
afterAll(() => console.log(`ONNX export through onnxruntime-node (max |ort − official| / max(1, max|ref|), worst output; batch 1 / 3 re-checked):\n${report.join('\n')}`));

/** Rows `rows` of a [B, ...] float32 array. */
function pickRows(data: Float32Array, shape: number[], rows: number[]): { data: Float32Array; shape: number[] } {
  const per = data.length / shape[0]!;
  const out = new Float32Array(per * rows.length);
  rows.forEach((r, i) => out.set(data.subarray(r * per, (r + 1) * per), i * per));
  return { data: out, shape: [rows.length, ...shape.slice(1)] };
}

function relErr(got: Float32Array, ref: Float32Array): { rel: number; abs: number } {
  expect(got.length).toBe(ref.length);
  let abs = 0;
  let mx = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(got[i]! - ref[i]!);
    if (!(d <= abs)) abs = d;
    mx = Math.max(mx, Math.abs(ref[i]!));
  }
  return { rel: abs / Math.max(1, mx), abs };
}

interface Case {
  name: string;
  inputName: string;
  input: { data: Float32Array; shape: number[] };
  refs: Map<string, { data: Float32Array; shape: number[] }>;
  /**
   * The traced forward: builds a fresh model on the trace backend from ctx.params. (Typed loosely:
   * the models' sources are type-checked against core's published types, mocked to these sources at run time.)
   */
  fn: (x: any, ctx: { params: Map<string, any> }) => unknown;
  params: ReadonlyMap<string, any>;
  dispose(): void;
}

async function checkCase(c: Case): Promise<void> {
  const B = c.input.shape[0]!;
  const { graph, probe } = await traceForExport(c.fn as never, [{ name: c.inputName, shape: c.input.shape }], { params: c.params as ReadonlyMap<string, Tensor> });
  c.dispose();
  const bytes = exportOnnx(graph, { batchProbe: probe });
  const model = decodeOnnxModel(bytes);
  expect(model.opsets).toEqual([{ domain: '', version: 17 }]);
  expect(model.graph.inputs[0]!.shape![0]).toBe('N');
  // every parameter the forward reads is an initializer under its own name
  const read = new Set(graph.nodes.flatMap((n) => n.inputs));
  const usedParams = graph.constants.filter((k) => k.name && read.has(k.valueId)).map((k) => k.name!);
  expect(usedParams.length).toBeGreaterThan(0);
  const inits = new Set(model.graph.initializers.map((t) => t.name));
  expect(usedParams.filter((k) => !inits.has(k))).toEqual([]);
  const names = [...c.refs.keys()];
  const run = async (x: { data: Float32Array; shape: number[] }) => runOnnx(bytes, { [c.inputName]: { dtype: 'float32', shape: x.shape, data: x.data } as HostTensor });

  let worst = { name: '', rel: 0, abs: 0 };
  const failures: string[] = [];
  const check = (out: Record<string, HostTensor>, rows: number[], tag: string) => {
    for (const n of names) {
      const ref = c.refs.get(n)!;
      const want = rows.length === B && rows.every((r, i) => r === i) ? ref : pickRows(ref.data, ref.shape, rows);
      const got = out[n];
      if (!got) {
        failures.push(`${tag} ${n}: missing`);
        continue;
      }
      expect(got.shape, `${tag} ${n}`).toEqual(want.shape);
      const e = relErr(got.data as Float32Array, want.data);
      if (!(e.rel <= 1e-4)) failures.push(`${tag} ${n}: ${e.rel.toExponential(2)} (abs ${e.abs.toExponential(2)})`);
      if (e.rel > worst.rel || !worst.name) worst = { name: `${n} @${tag}`, ...e };
    }
  };
  check(await run(c.input), [...Array(B).keys()], `B=${B}`);
  check(await run(pickRows(c.input.data, c.input.shape, [0])), [0], 'B=1');
  const three = B >= 2 ? [1, 0, B - 1] : [0, 0, 0];
  check(await run(pickRows(c.input.data, c.input.shape, three)), three, 'B=3');
  report.push(`  ${c.name}: ${names.length} outputs, ${graph.nodes.length} traced ops → ${model.graph.nodes.length} ONNX nodes, ${(bytes.length / 1024).toFixed(0)} KiB; worst ${worst.rel.toExponential(2)} (${worst.name})`);
  expect(failures).toEqual([]);
}

const f32 = (r: RawTensor): { data: Float32Array; shape: number[] } => ({ data: r.data as Float32Array, shape: r.shape.slice() });

function uniformerCase(name: string): Case {
  const io = readSt(`${name}.io.safetensors`);
  const w = readSt(`${name}.weights.safetensors`);
  const cfg = configFromOfficial(JSON.parse(io.metadata.config!));
  const model = createUniformer(cfg);
  applyUniformerWeights(model, normalizeUniformerKeys(w.tensors).stateDict);
  const known = new Set(model.outputNames());
  const outputs = [...io.tensors.keys()].filter((k) => k !== 'input' && known.has(k));
  const refs = new Map(outputs.map((k: string) => [k, f32(io.tensors.get(k)!)] as const));
  return {
    name: `uniformer ${name}`,
    inputName: 'input',
    input: f32(io.tensors.get('input')!),
    refs,
    params: model.namedTensors(),
    fn: (x, ctx) => {
      const m = createUniformer(cfg);
      m.loadWeights(ctx.params);
      return m.forward(x, { outputs });
    },
    dispose: () => model.dispose(),
  };
}

function vivitCase(name: string): Case {
  const v = readVector(`${name}.safetensors`);
  const model = new VivitModel(v.config);
  model.loadWeights(v.weights());
  const pv = v.tensor('input.pixel_values');
  const video = fromHfPixelValues(pv);
  const input = { data: video.dataSync() as Float32Array, shape: video.shape.slice() };
  pv.dispose();
  video.dispose();
  const refs = new Map<string, { data: Float32Array; shape: number[] }>(v.outputs.map((k: string) => [k, f32(v.dict.get(`output.${k}`)!)] as const));
  return {
    name: `vivit ${name}`,
    inputName: 'video',
    input,
    refs,
    params: model.namedTensors(),
    fn: (x, ctx) => {
      const m = new VivitModel(v.config);
      m.loadWeights(ctx.params);
      return m.forwardOutputs(x, v.outputs);
    },
    dispose: () => model.dispose(),
  };
}

describe('ONNX export of the tiny UniFormer models (official vectors, onnxruntime-node, dynamic batch)', () => {
  for (const name of ['video_tiny', 'image_tiny', 'image_convstem_tiny', 'det_hybrid_tiny', 'pose_tiny']) {
    it(name, async () => checkCase(uniformerCase(name)));
  }
});

describe('ONNX export of ViViT models 1–4 (official vectors, onnxruntime-node, dynamic batch)', () => {
  for (const name of ['m1_tubelet_token', 'm1_framesample_gap', 'm1_lowvar_eps_probe', 'm2_tubelet_token', 'm2_framesample_gap', 'm3_tubelet_gap', 'm4_tubelet_gap']) {
    it(name, async () => checkCase(vivitCase(name)));
  }
});
