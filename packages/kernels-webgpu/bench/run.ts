/**
 * Kernel benchmark: matmul / conv3d / depthwise conv3d / attention at the shapes UniFormer-S
 * (16×224²) and ViViT-B use, on webgpu, on the cpu backend and on onnxruntime-node running the
 * same single-op ONNX graph (built with core's buildOnnxModel), all in one run. Prints a table of
 * milliseconds, GFLOP/s and throughput relative to onnxruntime (ORT time / backend time), plus
 * the largest difference of the webgpu output from onnxruntime's.
 *
 *   pnpm --filter @tubelet/kernels-webgpu bench            (VK_ICD_FILENAMES for SwiftShader)
 *   BENCH_FULL=1 … bench     full shapes even on CPU emulation (slow)
 *   BENCH_FILTER=attn … bench  only rows whose name contains the string
 *
 * When the webgpu adapter is CPU emulation (SwiftShader) its numbers are labelled as such and
 * every backend runs scaled-down shapes (printed per row) so the run takes a few minutes.
 */
process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json';

import os from 'node:os';
import * as ort from 'onnxruntime-node';
import {
  type OnnxAttr,
  type Tensor,
  buildOnnxModel,
  conv,
  initBackend,
  linear,
  registerCpuBackend,
  removeBackend,
  sdpa,
  tensor,
} from '@tubelet/core';
import { type WebGpuBackend, registerWebGpuBackend } from '../src/index';

interface Input {
  name: string;
  shape: number[];
}

interface Case {
  name: string;
  group: 'matmul' | 'conv3d' | 'depthwise' | 'attention';
  /** inputs at full size and at the CPU-emulation scale */
  inputs: (emulated: boolean) => Input[];
  scaleNote: string;
  run: (x: Tensor[]) => Tensor;
  onnx: { opType: string; attrs: Record<string, OnnxAttr>; opset?: number };
  flops: (ins: Input[]) => number;
}

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function linearCase(name: string, L: number, K: number, N: number, div: number): Case {
  return {
    name,
    group: 'matmul',
    inputs: (e) => [
      { name: 'x', shape: [e ? Math.ceil(L / div) : L, K] },
      { name: 'w', shape: [N, K] },
      { name: 'b', shape: [N] },
    ],
    scaleNote: `tokens ÷${div}`,
    run: (x) => linear(x[0]!, x[1]!, x[2]),
    onnx: { opType: 'Gemm', attrs: { transB: { i: 1 } } },
    flops: (ins) => 2 * ins[0]!.shape[0]! * K * N,
  };
}

function convCase(
  name: string,
  group: Case['group'],
  x: number[],
  w: number[],
  a: { stride?: number[]; pads?: number[]; groups?: number },
): Case {
  const d = x.length - 2;
  const stride = a.stride ?? new Array<number>(d).fill(1);
  const pads = a.pads ?? new Array<number>(2 * d).fill(0);
  const groups = a.groups ?? 1;
  return {
    name,
    group,
    // emulation: H and W halved (a quarter of the work)
    inputs: (e) => [
      { name: 'x', shape: e ? [...x.slice(0, -2), Math.ceil(x[x.length - 2]! / 2), Math.ceil(x[x.length - 1]! / 2)] : x },
      { name: 'w', shape: w },
      { name: 'b', shape: [w[0]!] },
    ],
    scaleNote: 'H, W ÷2',
    run: (t) => conv(t[0]!, t[1]!, t[2], { stride, padding: pads, groups }),
    onnx: { opType: 'Conv', attrs: { strides: { ints: stride }, pads: { ints: pads }, group: { i: groups }, kernel_shape: { ints: w.slice(2) } } },
    flops: (ins) => {
      const xs = ins[0]!.shape;
      const out = xs.slice(2).map((s, i) => Math.floor((s + pads[i]! + pads[d + i]! - w[2 + i]!) / stride[i]!) + 1);
      return 2 * xs[0]! * w[0]! * prod(out) * prod(w.slice(1));
    },
  };
}

function attentionCase(name: string, heads: number, L: number, D: number, div: number, cls: number): Case {
  const len = (e: boolean) => (e ? Math.ceil((L - cls) / div) + cls : L);
  return {
    name,
    group: 'attention',
    inputs: (e) => ['q', 'k', 'v'].map((n) => ({ name: n, shape: [1, heads, len(e), D] })),
    scaleNote: `tokens ÷${div}`,
    run: (x) => sdpa(x[0]!, x[1]!, x[2]!),
    onnx: { opType: 'Attention', attrs: {}, opset: 23 },
    // the op's own count: QKᵀ and PV (2·L²·D each) plus softmax (5·L²)
    flops: (ins) => {
      const l = ins[0]!.shape[2]!;
      return heads * (4 * l * l * D + 5 * l * l);
    },
  };
}

const CASES: Case[] = [
  linearCase('ViViT-B MLP fc1, linear 768→3072, 1569 tokens', 1569, 768, 3072, 8),
  linearCase('UniFormer-S stage-3 MLP fc1, linear 320→1280, 1568 tokens', 1568, 320, 1280, 4),
  convCase('UniFormer-S stem conv 3→64, k3×4×4 s2×4×4, 16×224²', 'conv3d', [1, 3, 16, 224, 224], [64, 3, 3, 4, 4], { stride: [2, 4, 4], pads: [1, 0, 0, 1, 0, 0] }),
  convCase('UniFormer-S stage-1 MLP 1×1×1 conv 64→256, 8×56²', 'conv3d', [1, 64, 8, 56, 56], [256, 64, 1, 1, 1], {}),
  convCase('UniFormer-S stage-2 patch embed 64→128, k1×2×2 s1×2×2', 'conv3d', [1, 64, 8, 56, 56], [128, 64, 1, 2, 2], { stride: [1, 2, 2] }),
  convCase('UniFormer-S stage-1 depthwise 5×5×5, 64×8×56²', 'depthwise', [1, 64, 8, 56, 56], [64, 1, 5, 5, 5], { pads: [2, 2, 2, 2, 2, 2], groups: 64 }),
  convCase('UniFormer-S stage-2 depthwise 5×5×5, 128×8×28²', 'depthwise', [1, 128, 8, 28, 28], [128, 1, 5, 5, 5], { pads: [2, 2, 2, 2, 2, 2], groups: 128 }),
  convCase('UniFormer-S stage-3 DPE depthwise 3×3×3, 320×8×14²', 'depthwise', [1, 320, 8, 14, 14], [320, 1, 3, 3, 3], { pads: [1, 1, 1, 1, 1, 1], groups: 320 }),
  attentionCase('UniFormer-S stage-3 attention, 5 heads × 64, L 1568', 5, 1568, 64, 4, 0),
  attentionCase('ViViT-B attention, 12 heads × 64, L 1568+1', 12, 1569, 64, 4, 1),
];

function randomData(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = ((s / 2 ** 32) * 2 - 1) * 0.5;
  }
  return a;
}

interface Timing {
  ms: number;
  reps: number;
}

/** Median time of `fn` after one warm-up (compile) run: reps until ≥ minMs spent, between 2 and 10. */
async function measure(fn: () => Promise<void>, minMs: number): Promise<Timing> {
  await fn();
  const times: number[] = [];
  let spent = 0;
  while (times.length < 2 || (spent < minMs && times.length < 10)) {
    const t0 = performance.now();
    await fn();
    const t = performance.now() - t0;
    times.push(t);
    spent += t;
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)]!, reps: times.length };
}

function fmtMs(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
}

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
}

async function main(): Promise<void> {
  const filter = process.env.BENCH_FILTER ?? '';
  registerCpuBackend();
  registerWebGpuBackend();
  let gpu: WebGpuBackend | null = null;
  let gpuReason = '';
  try {
    gpu = (await initBackend('webgpu')) as WebGpuBackend;
  } catch (e) {
    gpuReason = e instanceof Error ? e.message : String(e);
  }
  const info = gpu?.adapterInfo;
  const emulated = !!info && /swiftshader|llvmpipe|lavapipe/i.test(`${info.architecture} ${info.device} ${info.description}`);
  const scaled = emulated && process.env.BENCH_FULL !== '1';
  const gpuLabel = !gpu
    ? `webgpu unavailable: ${gpuReason}`
    : emulated
      ? `webgpu = SwiftShader (CPU emulation): ${info!.description || info!.device}`
      : `webgpu = ${[info!.vendor, info!.architecture, info!.device, info!.description].filter(Boolean).join(' / ')}`;
  const threads = Math.min(os.availableParallelism?.() ?? os.cpus().length, 8);
  console.log(`tubelet kernel bench — node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}`);
  console.log(gpuLabel);
  console.log(`cpu = tubelet cpu backend (TypeScript, 1 thread); ort = onnxruntime-node ${ort.env.versions?.common ?? '1.30.0'} CPU EP, ${threads} intra-op threads`);
  if (scaled) console.log('shapes scaled down for CPU emulation (column "scale"; every backend runs the scaled shape; BENCH_FULL=1 for full size)');
  console.log('ratio = onnxruntime time / backend time (>1: faster than onnxruntime); |Δ| = max abs difference of webgpu vs onnxruntime output\n');

  const rows: string[][] = [];
  const header = ['case', 'shape', 'scale', 'GFLOP', 'ort ms', 'ort GF/s', 'cpu ms', 'cpu GF/s', 'cpu ratio', `webgpu${emulated ? '(SwiftShader)' : ''} ms`, 'webgpu GF/s', 'webgpu ratio', '|Δ|'];
  const t0 = performance.now();
  for (const c of CASES) {
    if (filter && !c.name.toLowerCase().includes(filter.toLowerCase())) continue;
    const ins = c.inputs(scaled);
    const flops = c.flops(ins);
    const data = ins.map((x, i) => randomData(prod(x.shape), 7 + i));
    const row = [c.name, ins.map((x) => x.shape.join('×')).join(', '), scaled ? c.scaleNote : '1', (flops / 1e9).toFixed(3)];
    process.stderr.write(`running: ${c.name} … `);
    // onnxruntime: the same op as a one-node graph
    let ortMs = NaN;
    let ortOut: Float32Array | null = null;
    try {
      const model = buildOnnxModel({
        name: `bench_${c.group}`,
        opset: c.onnx.opset ?? 17,
        nodes: [{ opType: c.onnx.opType, inputs: ins.map((x) => x.name), outputs: ['y'], attrs: c.onnx.attrs }],
        inputs: ins.map((x) => ({ name: x.name, dtype: 'float32' as const, shape: x.shape })),
        outputs: [{ name: 'y', dtype: 'float32' }],
        initializers: [],
      });
      const session = await ort.InferenceSession.create(model, { intraOpNumThreads: threads, interOpNumThreads: 1, executionProviders: ['cpu'] });
      const feeds: Record<string, ort.Tensor> = {};
      ins.forEach((x, i) => (feeds[x.name] = new ort.Tensor('float32', data[i]!, x.shape)));
      const t = await measure(async () => {
        const r = await session.run(feeds);
        ortOut = r.y!.data as Float32Array;
      }, 1500);
      ortMs = t.ms;
      await session.release();
      row.push(fmtMs(ortMs), (flops / ortMs / 1e6).toFixed(1));
    } catch (e) {
      row.push('error', e instanceof Error ? e.message.split('\n')[0]!.slice(0, 40) : String(e));
    }
    // tubelet backends
    let gpuOut: Float32Array | null = null;
    for (const be of ['cpu', 'webgpu'] as const) {
      if (be === 'webgpu' && !gpu) {
        row.push('n/a', 'n/a', 'n/a');
        continue;
      }
      const xs = ins.map((x, i) => tensor(data[i]!, x.shape, { backend: be }));
      try {
        const t = await measure(async () => {
          const y = c.run(xs);
          if (be === 'webgpu') await gpu!.sync();
          y.dispose();
        }, be === 'webgpu' ? 1000 : 1500);
        if (be === 'webgpu') {
          const y = c.run(xs);
          gpuOut = (await y.data()) as Float32Array;
          y.dispose();
        }
        row.push(fmtMs(t.ms), (flops / t.ms / 1e6).toFixed(2), Number.isFinite(ortMs) ? (ortMs / t.ms).toFixed(3) : 'n/a');
      } catch (e) {
        row.push('error', e instanceof Error ? e.message.split('\n')[0]!.slice(0, 40) : String(e), '');
      } finally {
        for (const x of xs) x.dispose();
      }
    }
    let diff = 'n/a';
    const ref = ortOut as Float32Array | null;
    const got = gpuOut as Float32Array | null;
    if (ref && got && ref.length === got.length) {
      let m = 0;
      for (let i = 0; i < ref.length; i++) m = Math.max(m, Math.abs(ref[i]! - got[i]!));
      diff = m.toExponential(1);
    }
    row.push(diff);
    rows.push(row);
    process.stderr.write(`done (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
  }

  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => '| ' + r.map((v, i) => pad(v ?? '', widths[i]!, i >= 3)).join(' | ') + ' |';
  console.log(line(header));
  console.log('|' + widths.map((w, i) => (i >= 3 ? '-'.repeat(w + 1) + ':' : '-'.repeat(w + 2))).join('|') + '|');
  for (const r of rows) console.log(line(r));
  console.log(`\ntotal ${((performance.now() - t0) / 1000).toFixed(1)} s${gpu ? `; webgpu pipelines ${gpu.stats().pipelines}, dispatches ${gpu.stats().dispatches}, GPU errors ${gpu.stats().gpuErrors}` : ''}`);
  removeBackend('webgpu');
}

await main();
