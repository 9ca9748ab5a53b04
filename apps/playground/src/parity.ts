/**
 * The browser parity check (parity.html): a tiny UniFormer and a tiny ViViT run on the backend named
 * by `?backend=` (webgpu by default, cpu as the control) and every output stored in the official
 * reference vectors is compared at max|ours − ref| ≤ 1e-4·max(1, max|ref|). Then a subset of the
 * core conformance cases runs on the same backend.
 *
 * The page publishes its results as `window.__parity` (a ParityReport; `status` leaves 'running'
 * when it is done) for test/browser-parity.test.ts, and draws them as tables.
 *
 * Query parameters:
 *   backend=webgpu|cpu        backend under test (default webgpu)
 *   fixtures=<url>            base URL of the vector files (default `fixtures/`, next to the page);
 *                             it must hold uniformer/video_tiny.{io,weights}.safetensors and
 *                             vivit/m1_tubelet_token.safetensors (packages/models/test/fixtures)
 *   models=a,b                model cases to run (default: all; names in MODEL_CASES)
 *   conformance=models|none|all|op1,op2
 *                             conformance subset: `models` (default) = the ops the two models use
 *                             that have a kernel on the backend; `none`; `all` ops with a kernel;
 *                             or a list of op names
 */
import { type Backend, type MemoryInfo, type RawTensor, type Tensor, dispose, getBackend, kernelsOf, memory, parseSafetensors, parseStateDict, rawToTensor, setBackend } from '@tubelet/core';
import { type AdapterInfo, type WebGpuBackend, registerWebGpuBackend } from '@tubelet/kernels-webgpu';
import { configFromOfficial, fromHfPixelValues, loadUniformer, loadVivit, traceUniformer, traceVivit } from '@tubelet/models';

/** One compared output. */
export interface ParityOutput {
  name: string;
  shape: number[];
  /** Backend the output tensor lives on. */
  backend: string;
  maxAbsErr: number;
  maxRef: number;
  /** 1e-4 · max(1, max|ref|). */
  bound: number;
  /** maxAbsErr / max(1, max|ref|). */
  rel: number;
  ok: boolean;
}

export interface ParityModelResult {
  name: string;
  /** The vector file(s) the case reads. */
  files: string[];
  /** Backend requested. */
  backend: string;
  /** Backends the outputs actually live on (a single entry equal to `backend` when all is well). */
  outputBackends: string[];
  /** Ops the model's forward uses (shape-only trace). */
  requiredOps: string[];
  /** requiredOps without a kernel on `backend`. */
  missingOps: string[];
  ok: boolean;
  /** Why it failed to run (load / forward / readback), null when it ran. */
  error: string | null;
  outputs: ParityOutput[];
  /** Largest `rel` over the outputs. */
  worstRel: number;
  worstOutput: string;
  loadMs: number;
  /** First forward + readback of every compared output (includes pipeline compilation on webgpu). */
  forwardMs: number;
  /** A second forward + readback (pipelines cached); its outputs must equal the first's. */
  warmForwardMs: number;
  /** The second forward gave bit-identical outputs. */
  deterministic: boolean | null;
  /** Live tensors on the backend before loading and after disposing everything. */
  memoryBefore: MemoryInfo | null;
  memoryAfter: MemoryInfo | null;
}

export interface ParityCaseResult {
  name: string;
  op: string;
  ok: boolean;
  maxAbsErr: number;
  message: string;
}

export interface ParityConformance {
  /** How the subset was chosen (the `conformance` query value). */
  mode: string;
  ops: string[];
  dtypes: string[];
  total: number;
  passed: number;
  failed: number;
  /** Per op: cases run / passed, and the time they took. */
  perOp: Record<string, { total: number; passed: number; ms: number }>;
  /** The failing cases with their messages (passing ones are only counted). */
  failures: ParityCaseResult[];
  ms: number;
}

export interface ParityGpu {
  /** navigator.gpu exists (WebGPU is enabled in this browser). */
  navigatorGpu: boolean;
  /** requestAdapter() found an adapter. */
  adapterFound: boolean;
  adapter: AdapterInfo | null;
  features: string[];
  /** Why there is no adapter / the backend is unavailable. */
  reason: string | null;
}

export interface ParityReport {
  status: 'running' | 'done' | 'error';
  /** Backend under test. */
  backend: string;
  userAgent: string;
  gpu: ParityGpu;
  /** Where the webgpu backend got its device ('navigator' in a browser), when it started. */
  webgpuSource: string | null;
  /** Ops with a webgpu kernel registered (kernelsOf('webgpu')). */
  webgpuKernels: string[];
  models: ParityModelResult[];
  conformance: ParityConformance | null;
  /** webgpu only: uncaptured GPU errors during the run, and the last one's message. */
  gpuErrors: number | null;
  lastGpuError: string | null;
  /** A failure outside the per-model / per-case reports. */
  error: string | null;
  totalMs: number;
}

declare global {
  interface Window {
    __parity?: ParityReport;
  }
}

/** The model cases: vector files under the fixtures base URL (copied from the official reference code). */
export const MODEL_CASES = ['uniformer-video_tiny', 'vivit-m1_tubelet_token'] as const;
type ModelCase = (typeof MODEL_CASES)[number];

const BOUND = 1e-4;

const params = new URLSearchParams(location.search);
const backendName = params.get('backend') ?? 'webgpu';
const fixturesBase = new URL(params.get('fixtures') ?? 'fixtures/', location.href);
const conformanceMode = params.get('conformance') ?? 'models';
const modelFilter = params.get('models')?.split(',').map((s) => s.trim()).filter(Boolean);

const report: ParityReport = {
  status: 'running',
  backend: backendName,
  userAgent: navigator.userAgent,
  gpu: { navigatorGpu: false, adapterFound: false, adapter: null, features: [], reason: null },
  webgpuSource: null,
  webgpuKernels: [],
  models: [],
  conformance: null,
  gpuErrors: null,
  lastGpuError: null,
  error: null,
  totalMs: 0,
};
window.__parity = report;

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function fetchBytes(path: string): Promise<Uint8Array> {
  const url = new URL(path, fixturesBase);
  const res = await fetch(url);
  if (!res.ok) throw new Error(`fetching ${url.pathname}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** max|ours − ref| against the README bound 1e-4·max(1, max|ref|). NaN in ours fails. */
async function compareOutput(name: string, ours: Tensor, ref: RawTensor): Promise<ParityOutput> {
  const base = { name, shape: ours.shape.slice(), backend: ours.backend };
  if (ours.shape.join() !== ref.shape.join()) {
    return { ...base, maxAbsErr: Infinity, maxRef: NaN, bound: NaN, rel: Infinity, ok: false };
  }
  const a = (await ours.data()) as Float32Array;
  const b = ref.data as Float32Array;
  let maxErr = 0;
  let maxRef = 0;
  for (let i = 0; i < b.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= maxErr)) maxErr = d; // NaN propagates
    const r = Math.abs(b[i]!);
    if (r > maxRef) maxRef = r;
  }
  const scale = Math.max(1, maxRef);
  const bound = BOUND * scale;
  return { ...base, maxAbsErr: maxErr, maxRef, bound, rel: maxErr / scale, ok: maxErr <= bound };
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

function opsOf(nodes: readonly { op: string }[]): string[] {
  return [...new Set(nodes.map((n) => n.op))].sort();
}

function emptyResult(name: string, files: string[]): ParityModelResult {
  return {
    name,
    files,
    backend: backendName,
    outputBackends: [],
    requiredOps: [],
    missingOps: [],
    ok: false,
    error: null,
    outputs: [],
    worstRel: NaN,
    worstOutput: '',
    loadMs: NaN,
    forwardMs: NaN,
    warmForwardMs: NaN,
    deterministic: null,
    memoryBefore: null,
    memoryAfter: null,
  };
}

function missingOn(ops: readonly string[]): string[] {
  const have = new Set(kernelsOf(backendName));
  // the cpu backend may serve ops through Backend.kernel() rather than the registry
  const b = getBackend(backendName) as Backend;
  return ops.filter((op) => !have.has(op) && !b.kernel?.(op));
}

/** Loads a model, runs it, compares `outputs` with `refs`; everything it creates is disposed. */
async function runModel(
  res: ParityModelResult,
  load: () => Promise<{ forward(x: Tensor): Map<string, Tensor>; dispose(): void }>,
  input: RawTensor,
  refs: Map<string, RawTensor>,
): Promise<void> {
  res.memoryBefore = memory(backendName);
  let model: { forward(x: Tensor): Map<string, Tensor>; dispose(): void } | null = null;
  let x: Tensor | null = null;
  let got: Map<string, Tensor> | null = null;
  try {
    let t0 = performance.now();
    model = await load();
    x = rawToTensor(input, { backend: backendName });
    res.loadMs = performance.now() - t0;
    t0 = performance.now();
    got = model.forward(x);
    const first = await Promise.all([...got.values()].map((t) => t.data())); // readback = the work is done
    res.forwardMs = performance.now() - t0;
    t0 = performance.now();
    const again = model.forward(x);
    try {
      const second = await Promise.all([...again.values()].map((t) => t.data()));
      res.warmForwardMs = performance.now() - t0;
      res.deterministic = second.every((d, i) => sameBits(d as Float32Array, first[i] as Float32Array));
    } finally {
      dispose(again);
    }
    for (const [name, ref] of refs) {
      const t = got.get(name);
      if (!t) throw new Error(`the model returned no '${name}'`);
      res.outputs.push(await compareOutput(name, t, ref));
    }
    res.outputBackends = [...new Set([...got.values()].map((t) => t.backend))];
    const worst = res.outputs.reduce((w, o) => (!(o.rel <= w.rel) ? o : w), res.outputs[0]!);
    res.worstRel = worst.rel;
    res.worstOutput = worst.name;
    res.ok = res.outputs.length > 0 && res.outputs.every((o) => o.ok) && res.outputBackends.length === 1 && res.outputBackends[0] === backendName;
  } catch (e) {
    const missing = res.missingOps.length ? ` (ops with no ${backendName} kernel: ${res.missingOps.join(', ')})` : '';
    res.error = `${message(e)}${missing}`;
    res.ok = false;
  } finally {
    if (got) dispose(got);
    x?.dispose();
    model?.dispose();
    res.memoryAfter = memory(backendName);
  }
}

async function runUniformer(): Promise<ParityModelResult> {
  const files = ['uniformer/video_tiny.io.safetensors', 'uniformer/video_tiny.weights.safetensors'];
  const res = emptyResult('uniformer-video_tiny', files);
  report.models.push(res);
  try {
    const [ioBytes, weightBytes] = await Promise.all(files.map(fetchBytes));
    const io = parseSafetensors(ioBytes!, { source: files[0] });
    const cfgJson = JSON.parse(io.metadata?.config ?? 'null') as Record<string, unknown> | null;
    if (!cfgJson) throw new Error(`${files[0]} has no config in its metadata`);
    const cfg = configFromOfficial(cfgJson, 'uniformer-video');
    const input = io.tensors.get('input')!;
    const refs = new Map([...io.tensors].filter(([k]) => k !== 'input'));
    const outputs = [...refs.keys()];
    res.requiredOps = opsOf((await traceUniformer(cfg, input.shape, { outputs })).graph.nodes);
    res.missingOps = missingOn(res.requiredOps);
    await runModel(
      res,
      async () => {
        const m = await loadUniformer(cfg, { weights: weightBytes!, backend: backendName });
        return { forward: (x) => m.forward(x, { outputs }), dispose: () => m.dispose() };
      },
      input,
      refs,
    );
  } catch (e) {
    res.error ??= message(e);
  }
  return res;
}

async function runVivit(): Promise<ParityModelResult> {
  const file = 'vivit/m1_tubelet_token.safetensors';
  const res = emptyResult('vivit-m1_tubelet_token', [file]);
  report.models.push(res);
  try {
    const { stateDict, metadata } = parseStateDict(await fetchBytes(file), { source: file });
    const cfgJson = JSON.parse(metadata?.config ?? 'null') as Record<string, unknown> | null;
    if (!cfgJson) throw new Error(`${file} has no config in its metadata`);
    const weights = new Map([...stateDict].filter(([k]) => !k.startsWith('input.') && !k.startsWith('output.')));
    const refs = new Map([...stateDict].filter(([k]) => k.startsWith('output.')).map(([k, v]) => [k.slice('output.'.length), v] as const));
    const input = stateDict.get('input.pixel_values');
    if (!input) throw new Error(`${file} has no input.pixel_values`);
    const outputs = [...refs.keys()];
    res.requiredOps = opsOf((await traceVivit(cfgJson as never, { batch: input.shape[0] })).graph.nodes);
    res.missingOps = missingOn(res.requiredOps);
    await runModel(
      res,
      async () => {
        const m = await loadVivit(cfgJson as never, { weights, backend: backendName });
        return {
          forward: (pixelValues) => {
            const video = fromHfPixelValues(pixelValues); // HF [B, T, C, H, W] → [B, C, T, H, W]
            try {
              return new Map(Object.entries(m.forwardOutputs(video, outputs)));
            } finally {
              video.dispose();
            }
          },
          dispose: () => m.dispose(),
        };
      },
      input,
      refs,
    );
  } catch (e) {
    res.error ??= message(e);
  }
  return res;
}

async function probeGpu(): Promise<void> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  report.gpu.navigatorGpu = !!gpu;
  if (!gpu) {
    report.gpu.reason = 'navigator.gpu is undefined (WebGPU disabled, or not a secure context)';
    return;
  }
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) {
      report.gpu.reason = 'navigator.gpu.requestAdapter() returned null';
      return;
    }
    report.gpu.adapterFound = true;
    const info = adapter.info;
    report.gpu.adapter = { vendor: info?.vendor ?? '', architecture: info?.architecture ?? '', device: info?.device ?? '', description: info?.description ?? '' };
    report.gpu.features = [...adapter.features].sort();
  } catch (e) {
    report.gpu.reason = `requestAdapter() failed: ${message(e)}`;
  }
}

async function runConformance(requiredOps: readonly string[]): Promise<ParityConformance | null> {
  if (conformanceMode === 'none') return null;
  const t0 = performance.now();
  const testing = await import('@tubelet/core/testing');
  const have = new Set(kernelsOf(backendName));
  const b = getBackend(backendName) as Backend;
  const hasKernel = (op: string) => have.has(op) || !!b.kernel?.(op);
  let ops: string[];
  if (conformanceMode === 'models') ops = requiredOps.filter(hasKernel);
  else if (conformanceMode === 'all') ops = [...new Set(testing.conformanceCases().map((c) => c.op))].filter(hasKernel);
  else ops = conformanceMode.split(',').map((s) => s.trim()).filter(Boolean);
  ops = [...new Set(ops)].sort();
  const dtypes = (params.get('dtypes')?.split(',') ?? [...testing.DEFAULT_CONFORMANCE_DTYPES]) as string[];
  const opSet = new Set(ops);
  const cases = testing.selectConformanceCases({ dtypes: dtypes as never }).filter((c) => opSet.has(c.op) && (c.kind === 'op' || c.ops.every(hasKernel)));
  const out: ParityConformance = { mode: conformanceMode, ops, dtypes, total: cases.length, passed: 0, failed: 0, perOp: {}, failures: [], ms: 0 };
  report.conformance = out;
  for (const c of cases) {
    const tc = performance.now();
    const r = await testing.runConformanceCase(c, backendName);
    const per = (out.perOp[c.op] ??= { total: 0, passed: 0, ms: 0 });
    per.ms += performance.now() - tc;
    per.total++;
    if (r.ok) {
      out.passed++;
      per.passed++;
    } else {
      out.failed++;
      out.failures.push({ name: c.name, op: c.op, ok: false, maxAbsErr: r.maxAbsErr, message: r.message });
    }
    if ((out.passed + out.failed) % 20 === 0) renderConformance(out, true);
  }
  out.ms = performance.now() - t0;
  return out;
}

// ------------------------------------------------------------------------------------------------
// rendering

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function row(cells: (string | [string, string])[], header = false): HTMLTableRowElement {
  const tr = el('tr');
  for (const c of cells) {
    const [text, cls] = typeof c === 'string' ? [c, ''] : c;
    tr.appendChild(el(header ? 'th' : 'td', text, cls || undefined));
  }
  return tr;
}

const fmt = (x: number) => (Number.isFinite(x) ? x.toExponential(2) : String(x));
const ms = (x: number) => (Number.isFinite(x) ? `${x.toFixed(0)} ms` : '—');

function renderDevice(): void {
  const t = document.getElementById('device')!;
  t.replaceChildren();
  const g = report.gpu;
  t.appendChild(row(['backend under test', report.backend]));
  t.appendChild(row(['navigator.gpu', [g.navigatorGpu ? 'present' : 'absent', g.navigatorGpu ? 'ok' : 'no']]));
  const a = g.adapter;
  t.appendChild(row(['adapter', [g.adapterFound && a ? [a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' / ') || 'found' : `none${g.reason ? `: ${g.reason}` : ''}`, g.adapterFound ? 'ok' : 'no']]));
  if (report.webgpuSource) t.appendChild(row(['webgpu device from', report.webgpuSource]));
  t.appendChild(row(['webgpu kernels', `${report.webgpuKernels.length} ops`]));
  if (report.gpuErrors !== null) t.appendChild(row(['uncaptured GPU errors', [String(report.gpuErrors) + (report.lastGpuError ? ` (last: ${report.lastGpuError})` : ''), report.gpuErrors ? 'no' : 'ok']]));
  t.appendChild(row(['browser', report.userAgent]));
}

function renderModels(): void {
  const div = document.getElementById('models')!;
  div.replaceChildren();
  const summary = el('table');
  summary.appendChild(row(['model', 'backend', 'result', 'worst max|err| / max(1,max|ref|)', 'load', 'forward + readback: 1st / 2nd', 'live tensors before → after', 'ops without a kernel'], true));
  for (const m of report.models) {
    const result: [string, string] = m.ok ? ['pass', 'ok'] : m.error ? ['error', 'no'] : m.outputs.length ? ['FAIL', 'no'] : ['running…', 'muted'];
    summary.appendChild(
      row([
        m.name,
        m.outputBackends.length ? m.outputBackends.join(', ') : m.backend,
        result,
        m.outputs.length ? `${fmt(m.worstRel)} (${m.worstOutput})` : '—',
        ms(m.loadMs),
        `${ms(m.forwardMs)} / ${ms(m.warmForwardMs)}${m.deterministic === false ? ' (2nd differs!)' : ''}`,
        m.memoryBefore && m.memoryAfter ? `${m.memoryBefore.numTensors} → ${m.memoryAfter.numTensors}` : '—',
        !m.requiredOps.length ? '—' : [m.missingOps.length ? m.missingOps.join(', ') : `none (of ${m.requiredOps.length} ops)`, m.missingOps.length ? 'no' : 'ok'],
      ]),
    );
  }
  div.appendChild(summary);
  for (const m of report.models) {
    if (m.error) div.appendChild(el('pre', `${m.name}: ${m.error}`, 'no'));
    if (!m.outputs.length) continue;
    div.appendChild(el('h3', `${m.name}: ${m.outputs.length} outputs vs ${m.files.join(' + ')}`));
    const t = el('table');
    t.appendChild(row(['output', 'shape', 'max|ours − ref|', 'bound', 'max|ref|', 'ok'], true));
    for (const o of m.outputs) {
      const tr = row([o.name, `[${o.shape.join(', ')}]`, fmt(o.maxAbsErr), fmt(o.bound), o.maxRef.toFixed(3), [o.ok ? 'yes' : 'NO', o.ok ? 'ok' : 'no']]);
      for (const i of [2, 3, 4]) tr.children[i]!.className = 'num';
      t.appendChild(tr);
    }
    div.appendChild(t);
  }
}

function renderConformance(c: ParityConformance | null, running = false): void {
  const div = document.getElementById('conformance')!;
  div.replaceChildren();
  if (!c) {
    div.appendChild(el('p', conformanceMode === 'none' ? 'not run (conformance=none)' : 'not run', 'muted'));
    return;
  }
  const head = `${c.passed} / ${c.total} cases pass${running ? ' so far…' : ''}${c.failed ? `, ${c.failed} fail` : ''} on ${report.backend} — ops: ${c.mode}, dtypes ${c.dtypes.join(', ')}${running ? '' : ` (${ms(c.ms)})`}`;
  div.appendChild(el('p', head, c.failed ? 'no' : running ? 'muted' : 'ok'));
  const t = el('table');
  t.appendChild(row(['op', 'cases', 'passed', 'time'], true));
  for (const op of Object.keys(c.perOp).sort()) {
    const p = c.perOp[op]!;
    t.appendChild(row([op, String(p.total), [String(p.passed), p.passed === p.total ? 'ok' : 'no'], ms(p.ms)]));
  }
  div.appendChild(t);
  if (c.failures.length) div.appendChild(el('pre', c.failures.map((f) => `${f.name}: ${f.message}`).join('\n'), 'no'));
}

function renderStatus(): void {
  const s = document.getElementById('status')!;
  const sum = document.getElementById('summary')!;
  if (report.status === 'running') return;
  document.body.dataset.status = report.status;
  const modelsOk = report.models.length > 0 && report.models.every((m) => m.ok);
  const confOk = !report.conformance || report.conformance.failed === 0;
  const allOk = report.status === 'done' && modelsOk && confOk && !report.gpuErrors;
  s.textContent = allOk ? 'PASS' : 'FAIL';
  s.className = allOk ? 'ok' : 'no';
  const parts = report.models.map((m) => `${m.name} ${m.ok ? 'pass' : 'FAIL'}`);
  if (report.conformance) parts.push(`conformance ${report.conformance.passed}/${report.conformance.total}`);
  sum.textContent = `${parts.join(' · ')} · ${ms(report.totalMs)}`;
}

function renderAll(): void {
  renderDevice();
  renderModels();
  renderConformance(report.conformance);
  renderStatus();
  const err = document.getElementById('error')!;
  err.hidden = !report.error;
  err.textContent = report.error ?? '';
}

// ------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  registerWebGpuBackend();
  report.webgpuKernels = kernelsOf('webgpu');
  await probeGpu();
  renderDevice();
  try {
    await setBackend(backendName);
  } catch (e) {
    if (backendName === 'webgpu') report.gpu.reason ??= message(e);
    throw new Error(`backend '${backendName}' unavailable: ${message(e)}`);
  }
  const gpuBackend = backendName === 'webgpu' ? (getBackend('webgpu') as unknown as WebGpuBackend) : null;
  if (gpuBackend) report.webgpuSource = gpuBackend.source;
  renderDevice();

  const runners: Record<ModelCase, () => Promise<ParityModelResult>> = { 'uniformer-video_tiny': runUniformer, 'vivit-m1_tubelet_token': runVivit };
  for (const name of MODEL_CASES) {
    if (modelFilter && !modelFilter.includes(name)) continue;
    const p = runners[name]();
    renderModels();
    await p;
    renderModels();
  }
  report.conformance = await runConformance([...new Set(report.models.flatMap((m) => m.requiredOps))]);
  if (gpuBackend) {
    await gpuBackend.sync();
    report.gpuErrors = gpuBackend.stats().gpuErrors;
    report.lastGpuError = gpuBackend.lastGpuError;
  }
}

const started = performance.now();
main()
  .catch((e: unknown) => {
    report.error = e instanceof Error ? `${e.message}${e.stack ? `\n${e.stack}` : ''}` : String(e);
  })
  .finally(() => {
    report.totalMs = performance.now() - started;
    // status last: a test waiting for it sees the finished report and the finished page
    report.status = report.error ? 'error' : 'done';
    renderAll();
  });
