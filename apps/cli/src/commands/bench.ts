/**
 * `tubelet bench <model>`: forward latency of a named model on a backend — warm-up, then timed runs
 * (forward + readback of the outputs), median / min / max / spread and GFLOP/s from the tracer;
 * with `--vs onnx` the same model exported to ONNX runs in onnxruntime-node in the same process.
 */
import { cpus } from 'node:os';
import { type Tensor, dispose, getBackend, setBackend, tensor } from '@tubelet/core';
import { VIVIT_PRESETS, loadUniformer, loadVivit, traceUniformer, traceVivit, uniformerPresets } from '@tubelet/models';
import { UserError } from '../main';
import { randn } from '../random';
import { registerOptionalBackends } from '../optional-backends';
import { onnxForNamedModel } from './export';
import { presetInputShape } from './models';

export const BENCH_USAGE = 'tubelet bench <model> [--backend cpu|webgpu|cuda] [--iters N] [--warmup N] [--vs onnx] [--input-shape 1x3x8x224x224] [--json]';

export interface BenchOptions {
  model: string;
  backend?: string;
  iters?: string;
  warmup?: string;
  vs?: string;
  inputShape?: string;
  json?: boolean;
}

export interface Timing {
  runtime: string;
  runs: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** (max − min) / median */
  spread: number;
  gflops: number;
}

function count(name: string, v: string | undefined, def: number, min: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UserError(`--${name} must be an integer >= ${min}, got '${v}'`, 2);
  return n;
}

function summarize(runtime: string, times: number[], flops: number): Timing {
  const s = [...times].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { runtime, runs: s.length, medianMs: median, minMs: s[0]!, maxMs: s[s.length - 1]!, spread: (s[s.length - 1]! - s[0]!) / median, gflops: flops / 1e6 / median };
}

/** Runs `step` warm-up + iters times with a progress line on stderr; returns the timed durations (ms). */
async function timeRuns(label: string, warmup: number, iters: number, step: () => Promise<void>): Promise<number[]> {
  const times: number[] = [];
  const total = warmup + iters;
  for (let i = 0; i < total; i++) {
    const warm = i < warmup;
    const tty = process.stderr.isTTY;
    process.stderr.write(`${tty ? '\r' : ''}[bench] ${label}: ${warm ? `warm-up ${i + 1}/${warmup}` : `run ${i - warmup + 1}/${iters}`}${tty ? '   ' : '\n'}`);
    const t0 = performance.now();
    await step();
    if (!warm) times.push(performance.now() - t0);
  }
  if (process.stderr.isTTY) process.stderr.write('\n');
  return times;
}

export async function runBench(o: BenchOptions): Promise<{ model: string; input: number[]; flops: number; results: Timing[] }> {
  const iters = count('iters', o.iters, 5, 1);
  const warmup = count('warmup', o.warmup, 1, 0);
  if (o.vs !== undefined && o.vs !== 'onnx') throw new UserError(`--vs takes 'onnx', got '${o.vs}'`, 2);
  const preset = uniformerPresets().find((p) => p.name === o.model);
  const vivit = VIVIT_PRESETS[o.model];
  if (!preset && !vivit) throw new UserError(`unknown model '${o.model}' (list them with 'tubelet models')`, 2);
  let shape: number[];
  if (o.inputShape !== undefined) {
    if (!preset) throw new UserError('--input-shape applies to UniFormer models (ViViT has a fixed frame count and size)', 2);
    shape = o.inputShape.split(/[x,]/).map(Number);
    if (shape.some((d) => !Number.isInteger(d) || d < 1)) throw new UserError(`bad --input-shape '${o.inputShape}' (e.g. 1x3x8x224x224)`, 2);
  } else if (preset) shape = presetInputShape(preset);
  else shape = [1, vivit!.config.numChannels, vivit!.config.numFrames, vivit!.config.imageSize[0], vivit!.config.imageSize[1]];

  await registerOptionalBackends();
  if (o.backend) await setBackend(o.backend);
  const backend = getBackend().name;
  const flops = preset ? (await traceUniformer(preset.config, shape)).summary.flops : (await traceVivit(o.model)).flops;
  process.stderr.write(`[bench] ${o.model} input [${shape.join(', ')}], ${(flops / 1e9).toFixed(2)} GFLOP per forward; seeded random weights\n`);

  const results: Timing[] = [];
  const x = tensor(randn(shape.reduce((a, b) => a * b, 1)), shape, { backend });
  try {
    const run = preset ? await loadUniformer(o.model, { seed: 0, backend }) : await loadVivit(o.model, { seed: 0, backend });
    try {
      const forward = (): Tensor[] => {
        if ('forwardOutputs' in run) return Object.values(run.forwardOutputs(x, [run.finalOutput]));
        return [...run.forward(x, { outputs: run.defaultOutputs() }).values()];
      };
      const times = await timeRuns(backend, warmup, iters, async () => {
        const outs = forward();
        try {
          for (const t of outs) await t.data();
        } finally {
          dispose(outs);
        }
      });
      results.push(summarize(backend === 'webgpu' && /swiftshader/i.test(adapterName()) ? 'webgpu (SwiftShader: CPU emulation)' : backend, times, flops));
    } finally {
      run.dispose();
    }
  } finally {
    x.dispose();
  }

  if (o.vs === 'onnx') {
    let ort: typeof import('onnxruntime-node');
    try {
      ort = await import('onnxruntime-node');
    } catch (e) {
      throw new UserError(`--vs onnx needs the onnxruntime-node package: ${(e as Error).message.split('\n')[0]}`);
    }
    process.stderr.write('[bench] exporting the same model to ONNX …\n');
    const { bytes, inputName } = await onnxForNamedModel(o.model, 0, preset ? shape : undefined);
    const threads = cpus().length;
    const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: threads, interOpNumThreads: 1 });
    try {
      const feed = { [inputName]: new ort.Tensor('float32', randn(shape.reduce((a, b) => a * b, 1)), shape) };
      const times = await timeRuns(`onnxruntime-node (${threads} threads)`, Math.max(1, warmup), iters, async () => {
        const out = await session.run(feed);
        for (const v of Object.values(out)) v.dispose?.();
      });
      results.push(summarize(`onnxruntime-node (${threads} threads)`, times, flops));
    } finally {
      await session.release();
    }
  }

  const report = { model: o.model, input: shape, flops, results };
  if (o.json) {
    console.log(JSON.stringify(report, null, 2));
    return report;
  }
  const ort = results.find((r) => r.runtime.startsWith('onnxruntime'));
  console.log(`${o.model}  input [${shape.join(', ')}]  ${(flops / 1e9).toFixed(2)} GFLOP per forward (multiply-add = 2)`);
  const rows = [['runtime', 'runs', 'median', 'min', 'max', 'spread', 'GFLOP/s', ...(ort ? ['vs onnxruntime'] : [])]];
  for (const r of results) {
    rows.push([r.runtime, String(r.runs), ms(r.medianMs), ms(r.minMs), ms(r.maxMs), `${(100 * r.spread).toFixed(1)}%`, r.gflops.toFixed(2), ...(ort ? [r === ort ? '1.00×' : `${(ort.medianMs / r.medianMs).toFixed(3)}× (${(r.medianMs / ort.medianMs).toFixed(1)}× slower)`] : [])]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const r of rows) console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
  return report;
}

function ms(v: number): string {
  return v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(1)} ms`;
}

function adapterName(): string {
  const b = getBackend() as unknown as { adapterInfo?: { architecture?: string; description?: string } };
  return `${b.adapterInfo?.architecture ?? ''} ${b.adapterInfo?.description ?? ''}`;
}
