/**
 * `tubelet classify`, driven as a subprocess of the BUILT bin (pnpm build first) on the shipped clip, a still
 * image and a folder of frames, with the official-code tiny UniFormer parity configs and weights (no
 * full-size forwards here). The top-k logits are checked against an independent computation through the
 * library (per-view, unbatched, summed in float64), downloads against a real HTTP server on 127.0.0.1.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Tensor, loadStateDict, tensor } from '@tubelet/core';
import { configFromOfficial, loadUniformer, loadVivit } from '@tubelet/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, probeMedia, readFrames } from '../src/media';
import { dmvrClipViews, imagenetInput, slowfastClipViews } from '../src/preprocess';
import { BIN, type Run, relErr, run as runBin } from './helpers';

const CLIP = fileURLToPath(new URL('../assets/vtest-clip.mp4', import.meta.url));
const FIX = fileURLToPath(new URL('../../../packages/models/test/fixtures/uniformer/', import.meta.url));
const VIDEO_CFG = join(FIX, 'video_tiny.io.safetensors');
const VIDEO_W = join(FIX, 'video_tiny.weights.safetensors');
const IMAGE_CFG = join(FIX, 'image_tiny.io.safetensors');
const IMAGE_W = join(FIX, 'image_tiny.weights.safetensors');
// a tiny ViViT Model 1 (HF layout) whose vector file holds its config (metadata), weights and io tensors
const VIVIT = fileURLToPath(new URL('../../../packages/models/test/fixtures/vivit/m1_tubelet_token.safetensors', import.meta.url));

let dir = '';
let cache = '';

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return runBin(['classify', ...args], { timeout: 60_000, env: { ...process.env, TUBELET_CACHE_DIR: cache, NO_COLOR: '1', ...env } });
}

interface Result {
  input: { kind: string; width: number; height: number; frames: number };
  model: { name: string; family: string; kind: string; classes: number };
  weights: { kind: string; source: string | null; path: string | null; seed: number | null };
  backend: string;
  views: { clips: number; crops: number; count: number; official: string; aggregate: string; frameIndices: number[][]; inputShape: number[]; batch: number };
  labels: string | null;
  topk: { rank: number; classId: number; label: string; logit: number; probability: number }[];
  timings: { decodeMs: number; preprocessMs: number; loadMs: number; forwardMs: number; totalMs: number; perViewMs: number[] };
}

async function json(args: string[], env?: NodeJS.ProcessEnv): Promise<{ r: Run; j: Result }> {
  const r = await run([...args, '--json'], env);
  expect(r.stderr, r.stderr).not.toMatch(/internal error/);
  expect(r.code, r.stderr).toBe(0);
  return { r, j: JSON.parse(r.stdout) as Result };
}

/** One clear line on stderr and a non-zero exit (download progress lines, when there was a download, aside). */
async function fails(args: string[], code: number, pattern: RegExp, env?: NodeJS.ProcessEnv): Promise<void> {
  const r = await run(args, env);
  expect(r.code, r.stderr).toBe(code);
  const lines = r.stderr
    .trim()
    .split('\n')
    .filter((l) => !/^download(ing|ed) \S+ \(?[\d.]+ MB/.test(l));
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^tubelet: /);
  expect(lines[0]).toMatch(pattern);
  expect(r.stdout).toBe('');
}

// the tiny video config as a JSON file in the official constructor names, with 8×4 dense sampling so that
// the clips of a 64-frame video differ (the vectors' own config would default to 8×8: one 64-frame span)
let video84 = '';
let still = '';
let frames = '';

beforeAll(async () => {
  if (!existsSync(BIN)) throw new Error(`build the CLI first (pnpm build): ${BIN} is missing`);
  dir = await mkdtemp(join(tmpdir(), 'tubelet-classify-'));
  cache = join(dir, 'cache');
  video84 = join(dir, 'video_tiny_8x4.json');
  await writeFile(
    video84,
    JSON.stringify({ kind: 'video', depth: [1, 1, 2, 1], embed_dim: [16, 32, 48, 64], head_dim: 16, num_classes: 7, input_shape: [1, 3, 8, 64, 64], preprocess: { samplingRate: 4 } }),
  );
  still = join(dir, 'still.png');
  frames = join(dir, 'frames');
  await mkdir(frames);
  execFileSync('ffmpeg', ['-v', 'error', '-i', CLIP, '-vf', 'select=eq(n\\,10)', '-frames:v', '1', '-y', still]);
  execFileSync('ffmpeg', ['-v', 'error', '-i', CLIP, '-frames:v', '24', '-q:v', '3', join(frames, 'img_%05d.jpg')]);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('tubelet classify: video', () => {
  it('classifies the shipped clip: JSON shape, determinism, and the top-k logits of an independent computation', async () => {
    const args = [CLIP, '--config', video84, '--weights', VIDEO_W, '--views', '3x3', '--batch', '2', '--topk', '5', '--backend', 'cpu'];
    const [{ r, j }, { j: again }] = await Promise.all([json(args), json(args)]);
    // progress per batch on stderr (9 views in batches of 2), no warning (weights given)
    expect(r.stderr).toMatch(/views 1-2\/9/);
    expect(r.stderr).toMatch(/view 9\/9 \(clip 3\/3, crop 3\/3\)/);
    expect(r.stderr).not.toMatch(/WARNING/);

    expect(j.input).toMatchObject({ kind: 'video', width: 426, height: 320, frames: 64 });
    expect(j.model).toMatchObject({ family: 'uniformer', kind: 'video', classes: 7 });
    expect(j.weights).toMatchObject({ kind: 'checkpoint', source: VIDEO_W, seed: null });
    expect(j.backend).toBe('cpu');
    expect(j.views).toMatchObject({ clips: 3, crops: 3, count: 9, official: '4x1', aggregate: 'sum', inputShape: [9, 3, 8, 64, 64], batch: 2 });
    expect(j.labels).toBeNull();
    // slowfast dense sampling, 8 frames at rate 8·4: span 32 of 64 → starts 0, 16, 32; trunc(linspace(s, s+31, 8))
    const first = [0, 4, 8, 13, 17, 22, 26, 31];
    expect(j.views.frameIndices).toEqual([first, first.map((i) => i + 16), first.map((i) => i + 32)]);
    expect(j.topk).toHaveLength(5);
    expect(j.topk.map((t) => t.rank)).toEqual([1, 2, 3, 4, 5]);
    for (const t of j.topk) expect(t.label).toBe(`class ${t.classId}`);
    for (let i = 1; i < 5; i++) expect(j.topk[i]!.logit).toBeLessThanOrEqual(j.topk[i - 1]!.logit);
    const p = j.topk.map((t) => t.probability);
    expect(p.every((x) => x > 0 && x <= 1)).toBe(true);
    expect(p.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1 + 1e-6);
    for (const k of ['decodeMs', 'preprocessMs', 'loadMs', 'forwardMs', 'totalMs'] as const) expect(j.timings[k]).toBeGreaterThanOrEqual(0);
    expect(j.timings.perViewMs).toHaveLength(9);
    // deterministic: same classes and bit-identical logits
    expect(again.topk).toEqual(j.topk);

    // independent: decode those frames, preprocess each clip's 3 crops, run each view alone, sum in float64
    const info = await probeMedia(CLIP);
    const model = await loadUniformer(configFromOfficial(JSON.parse(await readFile(video84, 'utf8')), 'video'), { weights: VIDEO_W });
    const sum = new Float64Array(7);
    for (const idx of j.views.frameIndices) {
      const clip = await readFrames(info, idx);
      for (const view of slowfastClipViews(clip, 3, { shortSide: 64, cropSize: 64 })) {
        const x = tensor(view, [1, 3, 8, 64, 64]);
        const y = model.forward(x) as Tensor;
        const v = (await y.data()) as Float32Array;
        for (let c = 0; c < 7; c++) sum[c] += v[c]!;
        x.dispose();
        y.dispose();
      }
    }
    model.dispose();
    const order = [...sum.keys()].sort((a, b) => sum[b]! - sum[a]!);
    expect(j.topk.map((t) => t.classId)).toEqual(order.slice(0, 5));
    expect(relErr(j.topk.map((t) => t.logit), order.slice(0, 5).map((c) => sum[c]!))).toBeLessThanOrEqual(1e-4);
    // and the probabilities are the softmax of the aggregated logits
    const m = Math.max(...sum);
    const z = [...sum].reduce((a, b) => a + Math.exp(b - m), 0);
    expect(relErr(p, order.slice(0, 5).map((c) => Math.exp(sum[c]! - m) / z))).toBeLessThanOrEqual(1e-5);
  });

  it('prints top-k, the pipeline and the time per stage; a label map of another size falls back to class ids', async () => {
    const r = await run([CLIP, '--config', VIDEO_CFG, '--weights', VIDEO_W, '--views', '1x1', '--topk', '3', '--labels', 'kinetics400']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^input {4}.*vtest-clip\.mp4 \(video 426x320, 64 frames at 10 fps, h264\)/m);
    expect(r.stdout).toMatch(/^model {4}custom \(video_tiny\.io\.safetensors\) \(uniformer, 7 classes\) on cpu/m);
    expect(r.stdout).toMatch(/^pipeline uniformer-kinetics 8x8/m);
    expect(r.stdout).toMatch(/^views {4}1 clip × 1 crop = 1 \(official test: 4x1\), logits summed; frames 0,9,18,27,36,45,54,63$/m);
    expect(r.stdout).toMatch(/^top-3:\n {3}1\. class \d/m);
    expect(r.stdout).toMatch(/^time {5}decode \d+\.\d\d s · preprocess \d+\.\d\d s · load \d+\.\d\d s · forward \d+\.\d\d s · total/m);
    expect(r.stderr).toMatch(/note: the kinetics400 label map has 400 names but the model has 7 classes/);
  });

  it('without --weights: seeded random weights with a loud one-line warning, reproducible per seed', async () => {
    const args = [CLIP, '--config', VIDEO_CFG, '--views', '1x1', '--backend', 'cpu'];
    const [a, b, c] = await Promise.all([json(args), json(args), json([...args, '--seed', '7'])]);
    const warn = a.r.stderr.split('\n').filter((l) => /WARNING/.test(l));
    expect(warn).toHaveLength(1);
    expect(warn[0]).toMatch(/^tubelet: WARNING: no --weights given: these are SEEDED RANDOM weights \(seed 0\), NOT a trained model/);
    expect(a.j.weights).toMatchObject({ kind: 'random', seed: 0, source: null });
    expect(b.j.topk).toEqual(a.j.topk);
    expect(c.j.weights.seed).toBe(7);
    expect(c.j.topk.map((t) => t.logit)).not.toEqual(a.j.topk.map((t) => t.logit));
    const text = await run(args);
    expect(text.stdout).toMatch(/^weights {2}RANDOM \(seed 0\)/m);
    expect(text.stdout).toMatch(/the weights are random unless --weights is given/);
  });

  it('classifies a folder of frames', async () => {
    const { j } = await json([frames, '--config', VIDEO_CFG, '--weights', VIDEO_W, '--views', '2x1', '--backend', 'cpu']);
    expect(j.input).toMatchObject({ kind: 'frames', frames: 24, width: 426, height: 320 });
    expect(j.views.count).toBe(2);
    // 8×8 dense on 24 frames: the span (64) is longer than the video → indices clamp at the last frame
    expect(j.views.frameIndices[0]).toEqual([0, 9, 18, 23, 23, 23, 23, 23]);
  });
});

describe('tubelet classify: ViViT', () => {
  it('4 clips × 3 crops, DMVR preprocessing, logits averaged: equal to the library view by view', async () => {
    const { j } = await json([CLIP, '--config', VIVIT, '--weights', VIVIT, '--backend', 'cpu', '--topk', '3']);
    expect(j.model).toMatchObject({ family: 'vivit', kind: 'video', classes: 5 });
    expect(j.views).toMatchObject({ clips: 4, crops: 3, count: 12, official: '4x3', aggregate: 'mean', inputShape: [12, 3, 8, 32, 32] });
    // 8 frames at stride 2 (a 16-frame span), 4 clips spread over the 64 frames (tf.linspace starts 0, 16, 32, 48)
    expect(j.views.frameIndices).toEqual([0, 16, 32, 48].map((s) => Array.from({ length: 8 }, (_, i) => s + 2 * i)));
    const { stateDict, metadata } = await loadStateDict(VIVIT);
    const weights = new Map([...stateDict].filter(([k]) => !k.startsWith('input') && !k.startsWith('output')));
    const model = await loadVivit(JSON.parse(metadata!.config!) as Record<string, unknown>, { weights });
    const info = await probeMedia(CLIP);
    const sum = new Float64Array(5);
    for (const idx of j.views.frameIndices) {
      // DMVR: resize_smallest(floor(32·256/224) = 36), 3 crops of 32, x·2/255 − 1
      for (const view of dmvrClipViews(await readFrames(info, idx), 3, { minResize: 36, cropSize: 32 })) {
        const x = tensor(view, [1, 3, 8, 32, 32]);
        const y = model.forward(x);
        const v = (await y.data()) as Float32Array;
        for (let c = 0; c < 5; c++) sum[c] += v[c]! / 12;
        x.dispose();
        y.dispose();
      }
    }
    model.dispose();
    const order = [...sum.keys()].sort((a, b) => sum[b]! - sum[a]!).slice(0, 3);
    expect(j.topk.map((t) => t.classId)).toEqual(order);
    expect(relErr(j.topk.map((t) => t.logit), order.map((c) => sum[c]!))).toBeLessThanOrEqual(1e-4);
  });
});

describe('tubelet classify: image', () => {
  it('classifies a still image with an image model: ImageNet bicubic pipeline, one view, equal to the library', async () => {
    const { j } = await json([still, '--config', IMAGE_CFG, '--weights', IMAGE_W, '--topk', '4', '--backend', 'cpu']);
    expect(j.input).toMatchObject({ kind: 'image', width: 426, height: 320, frames: 1 });
    expect(j.model).toMatchObject({ kind: 'image', classes: 10 });
    expect(j.views).toMatchObject({ count: 1, clips: 1, crops: 1, inputShape: [1, 3, 64, 64] });
    // DeiT eval at img_size 64: short side int(64·256/224) = 73, centre crop 64, ImageNet mean/std
    const x = imagenetInput(await decodeImage(still), { resize: 73, cropSize: 64 });
    const model = await loadUniformer(configFromOfficial(JSON.parse('{"depth":[2,1,2,1],"embed_dim":[16,32,48,64],"head_dim":16,"num_classes":10,"img_size":64}'), 'image'), { weights: IMAGE_W });
    const xt = tensor(x.data, x.shape);
    const y = model.forward(xt) as Tensor;
    const ref = Array.from((await y.data()) as Float32Array);
    model.dispose();
    xt.dispose();
    y.dispose();
    const order = [...ref.keys()].sort((a, b) => ref[b]! - ref[a]!).slice(0, 4);
    expect(j.topk.map((t) => t.classId)).toEqual(order);
    expect(relErr(j.topk.map((t) => t.logit), order.map((c) => ref[c]!))).toBeLessThanOrEqual(1e-5);
  });

  it('refuses --views other than 1x1 for an image model', async () => {
    await fails([still, '--config', IMAGE_CFG, '--views', '4x1', '--backend', 'cpu'], 2, /is an image model .*--views applies to video models/);
  });
});

describe('tubelet classify: weights from a URL', () => {
  let server: Server;
  let base = '';
  const hits = new Map<string, number>();
  let body: Buffer;
  let sha = '';

  beforeAll(async () => {
    body = await readFile(VIDEO_W);
    sha = createHash('sha256').update(body).digest('hex');
    server = createServer((req, res) => {
      const path = req.url ?? '';
      hits.set(path, (hits.get(path) ?? 0) + 1);
      if (path !== '/w/video_tiny.safetensors') {
        res.writeHead(404).end('not found');
        return;
      }
      res.writeHead(200, { 'content-length': body.length, 'content-type': 'application/octet-stream' });
      res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  it('downloads once with --sha256, verifies, caches, and gives the same result as the local file', async () => {
    const url = `${base}/w/video_tiny.safetensors`;
    const args = [CLIP, '--config', VIDEO_CFG, '--views', '1x1', '--backend', 'cpu'];
    const first = await json([...args, '--weights', url, '--sha256', sha]);
    expect(hits.get('/w/video_tiny.safetensors')).toBe(1);
    expect(first.j.weights.source).toBe(url);
    expect(first.j.weights.path?.startsWith(cache)).toBe(true);
    expect(await readFile(first.j.weights.path!)).toEqual(body);
    const second = await json([...args, '--weights', url, '--sha256', sha]);
    expect(hits.get('/w/video_tiny.safetensors')).toBe(1); // reused from the cache
    const local = await json([...args, '--weights', VIDEO_W]);
    expect(second.j.topk).toEqual(first.j.topk);
    expect(local.j.topk).toEqual(first.j.topk);
  });

  it('a wrong hash or a missing file is one line and exit 1', async () => {
    const args = [CLIP, '--config', VIDEO_CFG, '--views', '1x1', '--backend', 'cpu'];
    await fails([...args, '--weights', `${base}/w/video_tiny.safetensors`, '--sha256', '0'.repeat(64)], 1, /sha256 mismatch/, { TUBELET_CACHE_DIR: join(dir, 'cache-2') });
    await fails([...args, '--weights', `${base}/w/nope.safetensors`], 1, /HTTP 404/);
    await fails([...args, '--weights', VIDEO_W, '--sha256', '0'.repeat(64)], 1, /sha256 mismatch for --weights/);
  });
});

describe('tubelet classify: user errors are one line with a non-zero exit', () => {
  const tiny = ['--config', VIDEO_CFG, '--weights', VIDEO_W, '--backend', 'cpu'];

  it('unreadable, missing or truncated inputs', async () => {
    const junk = join(dir, 'junk.mp4');
    await writeFile(junk, 'this is not a video');
    await fails([junk, ...tiny], 1, /cannot read video or image '.*junk\.mp4': (Invalid data found|moov atom not found)/);
    await fails([join(dir, 'missing.mp4'), ...tiny], 1, /cannot read '.*missing\.mp4': no such file or directory/);
    const cut = join(dir, 'cut.mp4');
    await writeFile(cut, (await readFile(CLIP)).subarray(0, 5000));
    const r = await run([cut, ...tiny]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    const empty = join(dir, 'empty');
    await mkdir(empty);
    await fails([empty, ...tiny], 1, /the folder has no image files/);
  });

  it('unknown model, a non-classifier, no model', async () => {
    await fails([CLIP, '--model', 'uniformer-s-k400-9x9'], 2, /unknown model 'uniformer-s-k400-9x9'; did you mean uniformer-s-k400-8x8/);
    await fails([CLIP, '--model', 'uniformer-s-coco-maskrcnn'], 2, /is a detection model, not a classifier/);
    await fails([CLIP], 2, /--model is required/);
    await fails([CLIP, '--model', 'uniformer-s-k400-8x8', '--config', VIDEO_CFG], 2, /not both/);
  });

  it('weights for another model', async () => {
    // 2-D image weights for the video model, and tiny weights for UniFormer-S (fails before any forward)
    await fails([CLIP, '--config', VIDEO_CFG, '--weights', IMAGE_W, '--backend', 'cpu'], 1, /the weights '.*image_tiny\.weights\.safetensors' are for another model, not custom \(video_tiny\.io\.safetensors\): .*shape mismatches/);
    await fails([CLIP, '--model', 'uniformer-s-k400-8x8', '--views', '1x1', '--weights', VIDEO_W, '--backend', 'cpu'], 1, /are for another model, not uniformer-s-k400-8x8: .*missing keys.*checkpoint embed_dim \[16,32,48,64\] vs config \[64,128,320,512\]/);
    const notCkpt = join(dir, 'notes.pth');
    await writeFile(notCkpt, 'not a checkpoint');
    await fails([CLIP, ...tiny.slice(0, 2), '--weights', notCkpt], 1, /cannot read the weights '.*notes\.pth': .*unrecognized checkpoint format/);
    await fails([CLIP, ...tiny.slice(0, 2), '--weights', join(dir, 'absent.pth')], 1, /cannot read --weights '.*absent\.pth': no such file/);
  });

  it('unknown or unavailable backend', async () => {
    await fails([CLIP, '--config', VIDEO_CFG, '--backend', 'tpu'], 2, /unknown backend 'tpu' \(one of: auto, cpu/);
  });

  it('bad --views, --topk, --sha256 (usage errors: exit 2)', async () => {
    await fails([CLIP, ...tiny, '--views', '4x2'], 2, /bad --views '4x2': 2 crops; expected CLIPSxCROPS/);
    await fails([CLIP, ...tiny, '--views', 'banana'], 2, /bad --views 'banana'/);
    await fails([CLIP, ...tiny, '--views', '0x1'], 2, /bad --views '0x1'/);
    await fails([CLIP, ...tiny, '--topk', '0'], 2, /bad --topk '0'/);
    await fails([CLIP, '--config', VIDEO_CFG, '--sha256', 'abc'], 2, /--sha256 checks the file given with --weights/);
    await fails([CLIP, ...tiny, '--frobnicate'], 2, /Unknown option '--frobnicate'/);
  });

  it('ffmpeg missing: the clear message', async () => {
    const bare = join(dir, 'no-ffmpeg');
    await mkdir(bare, { recursive: true });
    await fails([CLIP, ...tiny], 1, /^tubelet: ffmpeg is not installed: apt-get install ffmpeg$/, { PATH: bare });
    await fails([CLIP, ...tiny], 1, /ffmpeg is not installed/, { TUBELET_FFMPEG: join(bare, 'ffmpeg') });
  });

  it('is listed in the help, with its own --help', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^tubelet classify <video \| image \| folder of frames \| URL> --model NAME/);
  });
});
