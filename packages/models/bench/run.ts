/**
 * Model latency benchmark: forward latency of UniFormer-S (8×224², 16×224²) and ViViT-B (32×224²)
 * on tubelet's `cpu` backend (pure TypeScript), on `webgpu` (Dawn in Node; SwiftShader when there
 * is no GPU — labelled as CPU emulation) and on onnxruntime-node running the graph `tubelet export`
 * writes for the same model and weights (opset 17, CPU EP, 2 intra-op threads) — all in one run.
 *
 *   pnpm --filter @tubelet/models bench
 *
 * Each row: median latency after warm-up, the spread (min–max of the timed runs), GFLOP/s from the
 * tracer's FLOP count (multiply-add = 2) and the ratio to onnxruntime on the same input
 * (ORT ms / backend ms: 1 = as fast as onnxruntime, < 1 slower). |Δ| is the largest difference of
 * the backend's output from onnxruntime's (logits; ViViT's pooled features, as scenic initialises
 * the classifier to zeros) — the same random weights (seed 0) run everywhere.
 *
 * What would take too long on 2 cores is scaled down or skipped, and the table says so: ViViT-B at
 * full size on `cpu` (~10 min per forward), and every full-size model on SwiftShader (it emulates
 * the GPU on the CPU at well under 1 GFLOP/s); the scaled rows (crop 64², ViViT-B 4 frames) run
 * onnxruntime and the skipped backends on the same smaller input so that the ratios stay like for like.
 *
 * Environment: BENCH_MODELS=s8,s16,vivit (subset), BENCH_QUICK=1 (skip full-size cpu runs),
 * BENCH_CPU_RUNS=N (timed cpu runs, default 2), BENCH_FULL=1 (full sizes on SwiftShader too),
 * VK_ICD_FILENAMES (defaults to Chromium's SwiftShader ICD).
 *
 * webgpu runs in a child process (the same script with --child), so that a crash of the emulated
 * device cannot take the whole run down.
 */
process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json';

import { spawn } from 'node:child_process';
import os from 'node:os';
import * as ort from 'onnxruntime-node';
import { type Tensor, exportOnnx, initBackend, summarizeGraph, tensor, traceForExport } from '@tubelet/core';
import { type VivitConfig, VivitModel, createUniformer, getUniformerPreset, loadUniformer, loadVivit } from '@tubelet/models';

// ---------------------------------------------------------------------------------------------
// Workloads

interface Workload {
  id: string;
  /** Model name (a preset). */
  model: string;
  family: 'uniformer' | 'vivit';
  title: string;
  shape: number[];
  /** ViViT: config overrides for a scaled input (frames, crop). */
  vivitConfig?: Partial<VivitConfig>;
  /** Scaled variant of a full-size workload (printed). */
  scaledFrom?: string;
}

const S8 = 'uniformer-s-k400-8x8';
const S16 = 'uniformer-s-k400-16x4';
const VB = 'vivit-b-16x2-k400';

const FULL: Workload[] = [
  { id: 's8', model: S8, family: 'uniformer', title: 'UniFormer-S', shape: [1, 3, 8, 224, 224] },
  { id: 's16', model: S16, family: 'uniformer', title: 'UniFormer-S', shape: [1, 3, 16, 224, 224] },
  { id: 'vivit', model: VB, family: 'vivit', title: 'ViViT-B/16x2', shape: [1, 3, 32, 224, 224] },
];

/**
 * Smaller inputs for what is skipped at full size (SwiftShader: ~0.2–1 GFLOP/s on a loaded 2-core
 * machine; ViViT-B on cpu). Frames are kept for UniFormer-S (8 vs 16 stays visible), the crop is
 * 64²; ViViT-B runs 4 frames × 64² (2×4×4 = 32 tokens; position embeddings sized to match).
 */
const SCALED: Record<string, Workload> = {
  s8: { id: 's8-small', model: S8, family: 'uniformer', title: 'UniFormer-S', shape: [1, 3, 8, 64, 64], scaledFrom: 's8' },
  s16: { id: 's16-small', model: S16, family: 'uniformer', title: 'UniFormer-S', shape: [1, 3, 16, 64, 64], scaledFrom: 's16' },
  vivit: { id: 'vivit-small', model: VB, family: 'vivit', title: 'ViViT-B/16x2', shape: [1, 3, 4, 64, 64], vivitConfig: { numFrames: 4, imageSize: [64, 64] }, scaledFrom: 'vivit' },
};

const ALL: Record<string, Workload> = Object.fromEntries([...FULL, ...Object.values(SCALED)].map((w) => [w.id, w]));

/** Deterministic input in [-1, 1) (the same on every backend and in the child). */
function inputData(shape: number[]): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const a = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 2 ** 32) * 2 - 1;
  }
  return a;
}

interface LoadedModel {
  /** The forward pass; returns the output compared across backends (`compare`). */
  forward(x: Tensor): Tensor;
  /** Name of that output in the exported graph: logits, or ViViT's pooled features (scenic initialises its classifier to zeros). */
  compare: string;
  params: Map<string, Tensor>;
  /** The traced forward for export (a fresh model on the trace backend from ctx.params). */
  traceFn: (x: Tensor, ctx: { params: Map<string, Tensor> }) => Record<string, Tensor>;
  inputName: string;
  dispose(): void;
}

async function buildModel(w: Workload, backend: string): Promise<LoadedModel> {
  if (w.family === 'uniformer') {
    const m = await loadUniformer(w.model, { seed: 0, backend });
    const cfg = getUniformerPreset(w.model).config;
    const outputs = m.defaultOutputs();
    return {
      forward: (x) => {
        const y = m.forward(x) as Tensor | Map<string, Tensor>;
        return y instanceof Map ? y.values().next().value! : y;
      },
      compare: 'logits',
      params: m.namedTensors(),
      traceFn: (x, ctx) => {
        const t = createUniformer(cfg);
        t.loadWeights(ctx.params);
        return Object.fromEntries(t.forward(x, { outputs }) as Map<string, Tensor>);
      },
      inputName: 'input',
      dispose: () => m.dispose(),
    };
  }
  const m = await loadVivit(w.model, { seed: 0, backend, config: w.vivitConfig });
  const cfg = m.config;
  return {
    forward: (x) => {
      const o = m.forwardOutputs(x, ['pooled', 'logits']);
      o.logits!.dispose();
      return o.pooled!;
    },
    compare: 'pooled',
    params: m.namedTensors(),
    traceFn: (x, ctx) => {
      const t = new VivitModel(cfg);
      t.loadWeights(ctx.params);
      return t.forwardOutputs(x, ['pooled', 'logits']);
    },
    inputName: 'video',
    dispose: () => m.dispose(),
  };
}

// ---------------------------------------------------------------------------------------------
// Timing

interface Timing {
  times: number[];
  median: number;
  min: number;
  max: number;
  logits: Float32Array;
}

function summarize(times: number[], logits: Float32Array): Timing {
  const s = times.slice().sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { times, median, min: s[0]!, max: s[s.length - 1]!, logits };
}

/** `warmup` untimed runs, then timed runs: at least `minRuns`, more (up to `maxRuns`) while under `budgetMs`. */
async function measure(run: () => Promise<Float32Array>, o: { warmup: number; minRuns: number; maxRuns: number; budgetMs: number; label: string }): Promise<Timing> {
  let logits: Float32Array = new Float32Array();
  for (let i = 0; i < o.warmup; i++) {
    const t0 = performance.now();
    logits = await run();
    progress(`${o.label}: warm-up ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const times: number[] = [];
  let spent = 0;
  while (times.length < o.minRuns || (times.length < o.maxRuns && spent < o.budgetMs)) {
    const t0 = performance.now();
    logits = await run();
    const t = performance.now() - t0;
    times.push(t);
    spent += t;
    progress(`${o.label}: run ${times.length} ${(t / 1000).toFixed(2)} s`);
  }
  return summarize(times, logits);
}

const T_START = performance.now();
function progress(s: string): void {
  process.stderr.write(`[${((performance.now() - T_START) / 1000).toFixed(0).padStart(4)} s] ${s}\n`);
}

// ---------------------------------------------------------------------------------------------
// webgpu child

interface ChildResult {
  ok: boolean;
  error?: string;
  adapter?: { vendor: string; architecture: string; device: string; description: string };
  timing?: { times: number[]; logits: number[] };
}

async function webgpuAdapter(): Promise<{ label: string; emulated: boolean; info: ChildResult['adapter'] } | { error: string }> {
  const { registerWebGpuBackend } = await import('@tubelet/kernels-webgpu');
  registerWebGpuBackend();
  try {
    const be = (await initBackend('webgpu')) as unknown as { adapterInfo: NonNullable<ChildResult['adapter']> };
    const info = be.adapterInfo;
    const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`;
    const emulated = /swiftshader|llvmpipe|lavapipe|software/i.test(text);
    const label = emulated ? `SwiftShader (CPU emulation): ${info.description || info.device || info.architecture}` : [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' / ');
    return { label, emulated, info: { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description } };
  } catch (e) {
    return { error: e instanceof Error ? e.message.split('\n')[0]! : String(e) };
  }
}

async function childMain(args: string[]): Promise<void> {
  const out = (r: ChildResult): void => void process.stdout.write(`\n@@RESULT ${JSON.stringify(r)}\n`);
  try {
    const a = await webgpuAdapter();
    if ('error' in a) return out({ ok: false, error: `no webgpu adapter: ${a.error}` });
    if (args[0] === 'probe') return out({ ok: true, adapter: a.info });
    const w = ALL[args[0]!];
    if (!w) return out({ ok: false, error: `unknown workload ${args[0]}` });
    const runs = Number(args[1] ?? 2);
    const m = await buildModel(w, 'webgpu');
    const x = tensor(inputData(w.shape), w.shape, { backend: 'webgpu' });
    const t = await measure(
      async () => {
        const y = m.forward(x);
        const d = (await y.data()) as Float32Array;
        y.dispose();
        return d;
      },
      { warmup: 1, minRuns: runs, maxRuns: runs, budgetMs: 0, label: `webgpu ${w.id}` },
    );
    x.dispose();
    m.dispose();
    out({ ok: true, adapter: a.info, timing: { times: t.times, logits: Array.from(t.logits) } });
  } catch (e) {
    out({ ok: false, error: e instanceof Error ? e.message.split('\n')[0]! : String(e) });
  }
}

function runChild(args: string[], timeoutMs: number): Promise<ChildResult> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [...process.execArgv, process.argv[1]!, '--child', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => {
      const s = d.toString();
      stderr += s;
      for (const line of s.split('\n')) if (line.startsWith('[')) process.stderr.write(`${line}\n`);
    });
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      const m = /@@RESULT (.*)\n/.exec(stdout);
      if (m) return resolve(JSON.parse(m[1]!) as ChildResult);
      const why = signal === 'SIGKILL' ? `timed out after ${(timeoutMs / 1000).toFixed(0)} s` : `child exited with ${signal ?? `code ${code}`}`;
      const tail = stderr.split('\n').filter((l) => l.trim() && !l.startsWith('[') && !/XDG_RUNTIME_DIR/.test(l)).slice(-1)[0] ?? '';
      resolve({ ok: false, error: `${why}${tail ? `: ${tail.slice(0, 120)}` : ''}` });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Main

interface Row {
  workload: Workload;
  gflop: number;
  backend: string;
  timing?: Timing;
  note?: string;
  ortMs?: number;
  ortLogits?: Float32Array;
}

function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms >= 100 ? 0 : 1)} ms`;
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return NaN;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

async function main(): Promise<void> {
  const env = process.env;
  const pick = new Set((env.BENCH_MODELS ?? 's8,s16,vivit').split(',').map((s) => s.trim()));
  const quick = env.BENCH_QUICK === '1';
  const cpuRuns = Math.max(1, Number(env.BENCH_CPU_RUNS ?? 2));
  const threads = 2;

  const cpus = os.cpus();
  console.log(`tubelet model bench — node ${process.version}, ${cpus[0]?.model ?? 'cpu'} × ${cpus.length}; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' / ')} at start (a shared machine: other jobs compete for the cores)`);
  progress('probing webgpu …');
  const probe = await runChild(['probe'], 120_000);
  const emulated = probe.ok && /swiftshader|llvmpipe|lavapipe|software/i.test(Object.values(probe.adapter ?? {}).join(' '));
  const gpuLabel = !probe.ok
    ? `webgpu unavailable: ${probe.error}`
    : emulated
      ? `webgpu = Dawn on SwiftShader (CPU emulation): ${probe.adapter!.description || probe.adapter!.device} — its numbers measure a CPU emulating a GPU, not a GPU`
      : `webgpu = Dawn on ${[probe.adapter!.vendor, probe.adapter!.architecture, probe.adapter!.device, probe.adapter!.description].filter(Boolean).join(' / ')}`;
  console.log(gpuLabel);
  console.log(`cpu = tubelet's cpu backend (pure TypeScript, 1 thread); ort = onnxruntime-node ${ort.env.versions?.common ?? '1.30.0'} CPU EP, ${threads} intra-op threads, on the ONNX graph exportOnnx writes (opset 17)`);
  console.log('weights: random (seed 0), the same on every backend; batch 1\n');

  const gpuScaled = emulated && env.BENCH_FULL !== '1';
  const rows: Row[] = [];
  const work: { w: Workload; backends: ('ort' | 'cpu' | 'webgpu')[]; skip: Partial<Record<'cpu' | 'webgpu', string>> }[] = [];
  for (const w of FULL) {
    if (!pick.has(w.id)) continue;
    const skip: Partial<Record<'cpu' | 'webgpu', string>> = {};
    if (!probe.ok) skip.webgpu = `no adapter (${probe.error})`;
    else if (gpuScaled) skip.webgpu = `SwiftShader would take minutes per forward: see the ${SCALED[w.id]!.shape.slice(2).join('×')} row`;
    if (w.family === 'vivit') skip.cpu = `~10 min per forward on 2 cores: see the ${SCALED[w.id]!.shape.slice(2).join('×')} row`;
    else if (quick) skip.cpu = 'BENCH_QUICK=1';
    work.push({ w, backends: ['ort', 'cpu', 'webgpu'].filter((b) => !(b in skip)) as ('ort' | 'cpu' | 'webgpu')[], skip });
    // a scaled row where something was skipped at full size: every backend that ran short of it, plus ort for the ratio
    const scaledBackends: ('ort' | 'cpu' | 'webgpu')[] = ['ort'];
    if (skip.cpu && w.family === 'vivit') scaledBackends.push('cpu');
    if (skip.webgpu && probe.ok) scaledBackends.push('webgpu');
    if (scaledBackends.length > 1) work.push({ w: SCALED[w.id]!, backends: scaledBackends, skip: {} });
  }

  for (const { w, backends, skip } of work) {
    const tag = `${w.title} ${w.shape.slice(2).join('×')}`;
    progress(`${tag}: building (seed 0), tracing and exporting …`);
    const m = await buildModel(w, 'cpu');
    const { graph, probe: batchProbe } = await traceForExport(m.traceFn, [{ name: m.inputName, shape: w.shape }], { params: m.params });
    const flops = summarizeGraph(graph).flops;
    const onnx = exportOnnx(graph, { batchProbe });
    const gflop = flops / 1e9;
    const data = inputData(w.shape);
    let ortT: Timing | undefined;
    for (const b of backends) {
      const row: Row = { workload: w, gflop, backend: b };
      try {
        if (b === 'ort') {
          const session = await ort.InferenceSession.create(onnx, { intraOpNumThreads: threads, interOpNumThreads: 1, executionProviders: ['cpu'], graphOptimizationLevel: 'all' });
          const feeds = { [m.inputName]: new ort.Tensor('float32', data, w.shape) };
          ortT = await measure(
            async () => {
              const r = await session.run(feeds);
              const d = Float32Array.from(r[m.compare]!.data as Float32Array);
              for (const t of Object.values(r)) t.dispose();
              return d;
            },
            { warmup: 1, minRuns: 3, maxRuns: 10, budgetMs: 15_000, label: `ort ${tag}` },
          );
          await session.release();
          row.timing = ortT;
        } else if (b === 'cpu') {
          const x = tensor(data, w.shape, { backend: 'cpu' });
          row.timing = await measure(
            async () => {
              const y = m.forward(x);
              const d = (await y.data()) as Float32Array;
              y.dispose();
              return d;
            },
            { warmup: 1, minRuns: cpuRuns, maxRuns: cpuRuns, budgetMs: 0, label: `cpu ${tag}` },
          );
          x.dispose();
        } else {
          const r = await runChild([w.id, String(2)], 20 * 60_000);
          if (!r.ok || !r.timing) row.note = `failed: ${r.error}`;
          else row.timing = summarize(r.timing.times, Float32Array.from(r.timing.logits));
        }
      } catch (e) {
        row.note = `failed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
      }
      row.ortMs = ortT?.median;
      row.ortLogits = ortT?.logits;
      rows.push(row);
    }
    for (const [b, why] of Object.entries(skip)) rows.push({ workload: w, gflop, backend: b, note: `skipped: ${why}` });
    m.dispose();
  }

  // ---- table
  const backendName = (b: string) => (b === 'ort' ? `onnxruntime (${threads} thr)` : b === 'cpu' ? 'cpu (TS, 1 thr)' : emulated ? 'webgpu (SwiftShader, CPU emulation)' : 'webgpu');
  const header = ['model', 'input', 'GFLOP', 'backend', 'median', 'spread (min–max)', 'runs', 'GFLOP/s', 'ratio vs ORT', 'max |Δ| vs ORT'];
  const order = (r: Row) => ['ort', 'cpu', 'webgpu'].indexOf(r.backend);
  const seq = [...FULL.flatMap((w) => [w.id, SCALED[w.id]!.id])];
  rows.sort((a, b) => seq.indexOf(a.workload.id) - seq.indexOf(b.workload.id) || order(a) - order(b));
  const cells = rows.map((r) => {
    const w = r.workload;
    const input = `${w.shape.slice(2).join('×')}${w.scaledFrom ? ' (scaled)' : ''}`;
    if (!r.timing) return [w.title, input, r.gflop.toFixed(1), backendName(r.backend), '—', r.note ?? '', '', '', '', ''];
    const t = r.timing;
    const ratio = r.ortMs !== undefined ? (r.ortMs / t.median).toFixed(r.ortMs / t.median >= 0.1 ? 2 : 4) : 'n/a';
    const diff = r.backend === 'ort' || !r.ortLogits ? '' : maxDiff(t.logits, r.ortLogits).toExponential(1);
    return [w.title, input, r.gflop.toFixed(1), backendName(r.backend), fmtMs(t.median), `${fmtMs(t.min)} – ${fmtMs(t.max)}`, String(t.times.length), (r.gflop / (t.median / 1000)).toFixed(2), r.backend === 'ort' ? '1' : ratio, diff];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: string[]) => `| ${c.map((v, i) => (i >= 4 && i !== 5 ? (v ?? '').padStart(widths[i]!) : (v ?? '').padEnd(widths[i]!))).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w, i) => (i >= 4 && i !== 5 ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`);
  for (const c of cells) console.log(line(c));
  console.log(`\nratio = onnxruntime median / backend median on the same input (1 = as fast as onnxruntime; 0.05 = 20× slower). (scaled) rows: a smaller input${emulated ? ' because SwiftShader emulates the GPU on the CPU' : ''}; ViViT-B scaled = 4 frames × 64² (32 tokens; its position embeddings sized to match).`);
  console.log(`total ${((performance.now() - T_START) / 1000).toFixed(0)} s; load average at the end ${os.loadavg().map((l) => l.toFixed(1)).join(' / ')}`);
}

if (process.argv[2] === '--child') await childMain(process.argv.slice(3));
else await main();
