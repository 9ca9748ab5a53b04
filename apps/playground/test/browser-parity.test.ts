/**
 * The browser check of issue 5: parity.html, built by Vite and served from 127.0.0.1, runs a tiny
 * UniFormer and a tiny ViViT in headless Chromium (playwright-core, /usr/bin/chromium with
 * --enable-unsafe-webgpu: SwiftShader where there is no GPU) and compares their outputs with the
 * official vectors (packages/models/test/fixtures) at max|ours − ref| ≤ 1e-4·max(1, max|ref|) —
 * on `webgpu`, and on `cpu` as the control. The webgpu page also runs the core conformance cases
 * of the ops the two models use.
 *
 * Skips (printing why) only where no Chromium is installed and TUBELET_REQUIRE_WEBGPU is not set;
 * scripts/test.sh sets it wherever SwiftShader is installed, so CI must run it.
 * TUBELET_PARITY_SCREENSHOTS=<dir> saves a full-page screenshot of each run there.
 */
import { createReadStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ParityReport } from '../src/parity';
import { FIXTURES_DIR, PARITY_FIXTURES } from '../vite.config';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');
const CHROMIUM = process.env.TUBELET_CHROMIUM ?? '/usr/bin/chromium';
const REQUIRED = process.env.TUBELET_REQUIRE_WEBGPU === '1';
/** The flags of shared/tooling-notes.md (headless Chromium 156 with WebGPU on SwiftShader). */
const CHROMIUM_ARGS = ['--enable-unsafe-webgpu', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
/** Generous: alone the webgpu page takes ~30 s on 2 cores, but CI runs other packages' tests beside it. */
const PAGE_TIMEOUT_MS = 150_000;

const MIME: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.map': 'application/json', '.svg': 'image/svg+xml' };

/** dist/ at the root, the three vector files under /fixtures/ (straight from packages/models), nothing else. */
function startServer(): Promise<Server> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    let file: string | null = null;
    if (path.startsWith('/fixtures/')) {
      const rel = path.slice('/fixtures/'.length);
      if ((PARITY_FIXTURES as readonly string[]).includes(rel)) file = join(FIXTURES_DIR, rel);
    } else {
      const f = normalize(join(DIST, path === '/' ? 'index.html' : path));
      if (f.startsWith(DIST + sep) && existsSync(f) && statSync(f).isFile()) file = f;
    }
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}`);
      return;
    }
    res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream', 'content-length': statSync(file).size, 'cache-control': 'no-store' });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

/** Builds dist/ unless it is there and newer than the page and the packages it bundles (turbo normally built it already). */
async function ensureBuilt(): Promise<void> {
  const out = join(DIST, 'parity.html');
  const inputs = [
    join(ROOT, 'parity.html'),
    join(ROOT, 'index.html'),
    join(ROOT, 'vite.config.ts'),
    join(ROOT, 'src/parity.ts'),
    join(ROOT, 'src/main.ts'),
    ...['core', 'models', 'kernels-webgpu'].map((p) => join(ROOT, `../../packages/${p}/dist/index.js`)),
  ];
  if (existsSync(out)) {
    const built = statSync(out).mtimeMs;
    if (inputs.every((f) => !existsSync(f) || statSync(f).mtimeMs <= built)) return;
  }
  const { build } = await import('vite');
  await build({ root: ROOT, configFile: join(ROOT, 'vite.config.ts'), logLevel: 'warn' });
}

const skipReason = existsSync(CHROMIUM) ? null : `no Chromium at ${CHROMIUM} (apt-get install chromium libvulkan1; see scripts/bootstrap.sh)`;
if (skipReason && !REQUIRED) console.warn(`browser parity check skipped: ${skipReason}`);

let server: Server;
let browser: Browser;
let base: string;
type PageRun = { report: ParityReport; console: string[]; wallMs: number };
/** One page load per query, shared by the tests that look at it (a failed load is not retried). */
const runs = new Map<string, Promise<PageRun>>();
const summary: string[] = [];

/** Opens parity.html with `query` and waits for window.__parity to finish. */
function runPage(query: string): Promise<PageRun> {
  let run = runs.get(query);
  if (!run) runs.set(query, (run = loadPage(query)));
  return run;
}

async function loadPage(query: string): Promise<PageRun> {
  const t0 = Date.now();
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const log: string[] = [];
  page.on('console', (m) => log.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
  try {
    await page.goto(`${base}/parity.html?${query}`);
    try {
      await page.waitForFunction(() => window.__parity !== undefined && window.__parity.status !== 'running', undefined, { timeout: PAGE_TIMEOUT_MS, polling: 250 });
    } catch (e) {
      const partial = await page.evaluate(() => JSON.stringify(window.__parity ?? null)).catch(() => 'unavailable');
      throw new Error(`parity.html?${query} did not finish in ${PAGE_TIMEOUT_MS} ms: ${(e as Error).message}\npartial report: ${partial}\nconsole:\n${log.join('\n')}`);
    }
    const report = (await page.evaluate(() => window.__parity)) as ParityReport;
    const dir = process.env.TUBELET_PARITY_SCREENSHOTS;
    if (dir) {
      mkdirSync(dir, { recursive: true });
      await page.screenshot({ path: join(dir, `parity-${new URLSearchParams(query).get('backend')}.png`), fullPage: true });
    }
    const run = { report, console: log, wallMs: Date.now() - t0 };
    summary.push(describeRun(query, run));
    return run;
  } finally {
    await page.close();
  }
}

function describeRun(query: string, { report, wallMs }: { report: ParityReport; wallMs: number }): string {
  const a = report.gpu.adapter;
  const lines = [`  parity.html?${query}: ${report.status}, ${wallMs} ms in all (page ${report.totalMs.toFixed(0)} ms); adapter: ${report.gpu.adapterFound && a ? `${a.vendor}/${a.architecture}` : `none (${report.gpu.reason})`}`];
  for (const m of report.models) {
    lines.push(
      `    ${m.name} on ${m.outputBackends.join(',') || m.backend}: ${m.ok ? 'pass' : 'FAIL'}` +
        (m.error ? ` — ${m.error}` : `, ${m.outputs.length} outputs, worst ${m.worstRel.toExponential(2)} (${m.worstOutput}), load ${m.loadMs.toFixed(0)} ms, forward+readback ${m.forwardMs.toFixed(0)} ms (2nd: ${m.warmForwardMs.toFixed(0)} ms)`),
    );
  }
  const c = report.conformance;
  if (c) lines.push(`    conformance (${c.ops.length} ops: ${c.ops.join(' ')}): ${c.passed}/${c.total} pass in ${c.ms.toFixed(0)} ms (slowest: ${Object.entries(c.perOp).sort((a, b) => b[1].ms - a[1].ms).slice(0, 3).map(([op, p]) => `${op} ${p.ms.toFixed(0)} ms`).join(', ')})${c.failed ? `; failing: ${c.failures.map((f) => f.name).join(', ')}` : ''}`);
  if (report.error) lines.push(`    error: ${report.error.split('\n')[0]}`);
  return lines.join('\n');
}

/** Details for an assertion message. */
function explain(report: ParityReport): string {
  return JSON.stringify({ error: report.error, gpu: report.gpu, models: report.models.map((m) => ({ name: m.name, ok: m.ok, error: m.error, missingOps: m.missingOps, outputBackends: m.outputBackends, bad: m.outputs.filter((o) => !o.ok) })) }, null, 1);
}

function expectModelsMatch(report: ParityReport, backend: string): void {
  expect(report.status, explain(report)).toBe('done');
  expect(report.error).toBeNull();
  expect(report.models.map((m) => m.name)).toEqual(['uniformer-video_tiny', 'vivit-m1_tubelet_token']);
  for (const m of report.models) {
    expect(m.error, `${m.name}: ${m.error}`).toBeNull();
    expect(m.missingOps, `${m.name}: ops with no ${backend} kernel`).toEqual([]);
    // the model ran on the backend under test, not on a fallback
    expect(m.outputBackends, m.name).toEqual([backend]);
    const bad = m.outputs.filter((o) => !o.ok).map((o) => `${o.name}: max err ${o.maxAbsErr} > ${o.bound}`);
    expect(bad, m.name).toEqual([]);
    expect(m.ok).toBe(true);
    expect(m.deterministic, `${m.name}: a second forward gave other outputs`).toBe(true);
    // every tensor the run created was freed
    expect(m.memoryAfter?.numTensors, `${m.name}: live tensors after the run`).toBe(m.memoryBefore?.numTensors);
  }
  const [uni, vivit] = report.models;
  // logits plus intermediates of every stage / layer
  expect(uni!.outputs.map((o) => o.name)).toEqual(expect.arrayContaining(['logits', 'pooled', 'stage1', 'stage4', 'patch_embed1', 'blocks3.1']));
  expect(uni!.outputs.length).toBe(16);
  expect(vivit!.outputs.map((o) => o.name)).toEqual(expect.arrayContaining(['logits', 'pooled', 'patch_embeddings', 'hidden_states.1', 'last_hidden_state']));
  expect(vivit!.outputs.length).toBe(7);
}

describe.skipIf(!!skipReason && !REQUIRED)('browser parity check: parity.html in headless Chromium', () => {
  beforeAll(async () => {
    if (skipReason) throw new Error(`TUBELET_REQUIRE_WEBGPU=1 but ${skipReason}`);
    await ensureBuilt();
    server = await startServer();
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    if (summary.length) console.log(`browser parity (Chromium ${browser?.version() ?? '?'}):\n${summary.join('\n')}`);
  });

  it('serves the page and the vectors from 127.0.0.1', async () => {
    for (const f of PARITY_FIXTURES) {
      const res = await fetch(`${base}/fixtures/${f}`);
      expect(res.status, f).toBe(200);
      expect(Number(res.headers.get('content-length')), f).toBe(statSync(join(FIXTURES_DIR, f)).size);
      await res.arrayBuffer();
    }
    expect((await fetch(`${base}/parity.html`)).status).toBe(200);
    expect((await fetch(`${base}/vite.config.ts`)).status).toBe(404); // dist/ only
  });

  it('cpu (control): both tiny models match the vectors in the browser', async () => {
    const { report } = await runPage('backend=cpu&conformance=none');
    // WebGPU is there even when the cpu backend is under test
    expect(report.gpu.navigatorGpu).toBe(true);
    expectModelsMatch(report, 'cpu');
  }, 180_000);

  it('webgpu: navigator.gpu and an adapter exist, and both tiny models match the vectors on webgpu', async () => {
    const { report } = await runPage('backend=webgpu&conformance=models');
    expect(report.gpu.navigatorGpu, report.gpu.reason ?? '').toBe(true);
    expect(report.gpu.adapterFound, report.gpu.reason ?? '').toBe(true);
    expect(report.webgpuSource).toBe('navigator');
    expectModelsMatch(report, 'webgpu');
    expect(report.gpuErrors, report.lastGpuError ?? '').toBe(0);
  }, 180_000);

  it('webgpu: the conformance cases of the ops the models use pass in the browser', async () => {
    const { report } = await runPage('backend=webgpu&conformance=models');
    const c = report.conformance;
    expect(c, explain(report)).not.toBeNull();
    // the subset is what the models need, and every op of it has a webgpu kernel
    const needed = [...new Set(report.models.flatMap((m) => m.requiredOps))].sort();
    expect(c!.ops).toEqual(needed.filter((op) => report.webgpuKernels.includes(op)));
    expect(c!.ops.length).toBeGreaterThanOrEqual(10);
    expect(c!.total).toBeGreaterThan(0);
    expect(c!.failures.map((f) => `${f.name}: ${f.message}`)).toEqual([]);
    expect(c!.passed).toBe(c!.total);
  }, 180_000);
});
