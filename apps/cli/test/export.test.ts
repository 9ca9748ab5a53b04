/**
 * `tubelet export` driven as a subprocess (the built CLI): the tiny parity models are exported with
 * the official vectors' weights and run in onnxruntime-node at two batch sizes; the outputs match
 * our cpu outputs (`tubelet run`) and the official vectors within 1e-4·max(1, max|ref|).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeOnnxModel } from '@tubelet/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, U, V, relErr, run as runBin, tensors } from './helpers';

/** The slice of onnxruntime-node's API used here. */
interface OrtTensor {
  data: unknown;
  dims: readonly number[];
}
interface Ort {
  Tensor: new (type: 'float32', data: Float32Array, dims: number[]) => OrtTensor;
  InferenceSession: {
    create(path: string, opts: object): Promise<{ run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>; release(): Promise<void> }>;
  };
}
// onnxruntime-node is a devDependency of @tubelet/core (the CLI itself never loads it)
const ort = createRequire(fileURLToPath(new URL('../../../packages/core/package.json', import.meta.url)))('onnxruntime-node') as Ort;

const run = (args: string[]) => runBin(args, { timeout: 120_000, maxBuffer: 1 << 24 });

async function ortRun(file: string, feeds: Record<string, { data: Float32Array; shape: number[] }>): Promise<Record<string, { data: Float32Array; dims: number[] }>> {
  const session = await ort.InferenceSession.create(file, { intraOpNumThreads: 1, executionProviders: ['cpu'] });
  try {
    const f: Record<string, OrtTensor> = {};
    for (const [k, v] of Object.entries(feeds)) f[k] = new ort.Tensor('float32', v.data, v.shape);
    const r = await session.run(f);
    return Object.fromEntries(Object.entries(r).map(([k, t]) => [k, { data: Float32Array.from(t.data as Float32Array), dims: t.dims.map(Number) }]));
  } finally {
    await session.release();
  }
}

const firstRow = (a: Float32Array, rows: number) => a.subarray(0, a.length / rows);

let dir = '';
beforeAll(async () => {
  if (!existsSync(BIN)) throw new Error(`build the CLI first (pnpm build): ${BIN} is missing`);
  dir = await mkdtemp(join(tmpdir(), 'tubelet-export-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('tubelet export → onnxruntime-node', () => {
  it('UniFormer video_tiny (official weights): ORT reproduces our cpu outputs and the official vectors, batch 2 and 1', async () => {
    const onnx = join(dir, 'video_tiny.onnx');
    const names = ['stage4', 'pooled', 'logits'];
    const r = await run(['export', '--arch', 'uniformer-video', '--config', U('video_tiny.io.safetensors'), '--weights', U('video_tiny.weights.safetensors'), '--format', 'onnx', '--outputs', names.join(','), onnx]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/WARNING/);
    expect(r.stdout).toMatch(/wrote .*video_tiny\.onnx .*ONNX opset 17/);
    expect(r.stdout).toMatch(/input \[N, 3, 8, 64, 64\]/);
    const model = decodeOnnxModel(new Uint8Array(await readFile(onnx)));
    expect(model.opsets).toEqual([{ domain: '', version: 17 }]);
    expect(model.graph.outputs.map((o) => o.name)).toEqual(names);

    // our cpu outputs, from outside the suite
    const cpuFile = join(dir, 'video_tiny.cpu.safetensors');
    const rr = await run(['run', '--arch', 'uniformer-video', '--config', U('video_tiny.io.safetensors'), '--weights', U('video_tiny.weights.safetensors'), '--input', U('video_tiny.io.safetensors'), '--output', cpuFile, '--outputs', names.join(',')]);
    expect(rr.code, rr.stderr).toBe(0);
    const [cpu, ref] = [await tensors(cpuFile), await tensors(U('video_tiny.io.safetensors'))];
    const x = ref.get('input')!;
    const out = await ortRun(onnx, { input: { data: x.data as Float32Array, shape: x.shape } });
    const one = await ortRun(onnx, { input: { data: firstRow(x.data as Float32Array, 2), shape: [1, ...x.shape.slice(1)] } });
    for (const n of names) {
      expect(out[n]!.dims, n).toEqual(ref.get(n)!.shape);
      expect(relErr(out[n]!.data, cpu.get(n)!.data as Float32Array), `${n} vs cpu`).toBeLessThanOrEqual(1e-4);
      expect(relErr(out[n]!.data, ref.get(n)!.data as Float32Array), `${n} vs official`).toBeLessThanOrEqual(1e-4);
      expect(relErr(one[n]!.data, firstRow(cpu.get(n)!.data as Float32Array, 2)), `${n} at batch 1`).toBeLessThanOrEqual(1e-4);
    }
  });

  it('ViViT model 2 (factorised encoder, official weights): logits match at batch 2 and 1', async () => {
    const onnx = join(dir, 'm2.onnx');
    const vec = V('m2_tubelet_token.safetensors');
    const r = await run(['export', '--arch', 'vivit', '--config', vec, '--weights', vec, onnx]);
    expect(r.code, r.stderr).toBe(0);
    const cpuFile = join(dir, 'm2.cpu.safetensors');
    const rr = await run(['run', '--arch', 'vivit', '--config', vec, '--weights', vec, '--input', vec, '--output', cpuFile]);
    expect(rr.code, rr.stderr).toBe(0);
    const [cpu, ref] = [await tensors(cpuFile), await tensors(vec)];
    // the vectors hold Hugging Face pixel values [B, T, C, H, W]; the exported graph takes [B, C, T, H, W]
    const pv = ref.get('input.pixel_values')!;
    const [B, T, C, H, W] = pv.shape as [number, number, number, number, number];
    const src = pv.data as Float32Array;
    const video = new Float32Array(src.length);
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let c = 0; c < C; c++) video.set(src.subarray((((b * T + t) * C + c) * H) * W, (((b * T + t) * C + c + 1) * H) * W), (((b * C + c) * T + t) * H) * W);
    const out = await ortRun(onnx, { video: { data: video, shape: [B, C, T, H, W] } });
    const one = await ortRun(onnx, { video: { data: firstRow(video, B), shape: [1, C, T, H, W] } });
    expect(out.logits!.dims).toEqual(ref.get('output.logits')!.shape);
    expect(relErr(out.logits!.data, cpu.get('logits')!.data as Float32Array)).toBeLessThanOrEqual(1e-4);
    expect(relErr(out.logits!.data, ref.get('output.logits')!.data as Float32Array)).toBeLessThanOrEqual(1e-4);
    expect(relErr(one.logits!.data, firstRow(cpu.get('logits')!.data as Float32Array, B))).toBeLessThanOrEqual(1e-4);
  });

  it('a named model without --weights: seeded random weights with a loud warning, dynamic batch', async () => {
    const onnx = join(dir, 'uniformer-s.onnx');
    const r = await run(['export', 'uniformer-s-k400-8x8', '--seed', '7', '--input-shape', '1x3x8x64x64', onnx]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/WARNING: no --weights given: exporting SEEDED RANDOM weights \(seed 7\)/);
    expect(r.stdout).toMatch(/21,404,240 parameters/);
    const x = new Float32Array(2 * 3 * 8 * 64 * 64).map((_, i) => Math.sin(i * 0.01));
    const out = await ortRun(onnx, { input: { data: x, shape: [2, 3, 8, 64, 64] } });
    expect(out.logits!.dims).toEqual([2, 400]);
    expect(out.logits!.data.every(Number.isFinite)).toBe(true);
  });

  it('user errors are one line and a non-zero exit', async () => {
    const out = join(dir, 'x.onnx');
    const cases: [string[], RegExp, number][] = [
      [['export', 'no-such-model', out], /unknown model 'no-such-model'/, 1],
      [['export', 'uniformer-s-k400-8x8', '--format', 'tflite', out], /unsupported --format 'tflite'/, 2],
      [['export', 'uniformer-s-k400-8x8', join(dir, 'x.pt')], /must end in \.onnx/, 2],
      [['export', 'uniformer-s-k400-8x8', '--weights', U('video_tiny.weights.safetensors'), out], /are for another model, not uniformer-s-k400-8x8/, 1],
      [['export', 'uniformer-s-k400-8x8', '--weights', join(dir, 'missing.pth'), out], /cannot read --weights .*no such file/, 1],
      [['export', 'uniformer-s-k400-8x8', '--weights', U('video_tiny.weights.safetensors'), '--seed', '1', out], /cannot be combined/, 2],
    ];
    for (const [args, msg, code] of cases) {
      const r = await run(args);
      expect(r.code, args.join(' ')).toBe(code);
      const lines = r.stderr.split('\n').filter((l) => l.startsWith('tubelet:') && !l.includes('WARNING'));
      expect(lines.length, r.stderr).toBe(1);
      expect(lines[0]).toMatch(msg);
    }
    const help = await run(['export', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/tubelet export <model> <out\.onnx>/);
  });
});
