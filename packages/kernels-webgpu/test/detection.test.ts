/**
 * webgpu roiAlign / nms: the conformance suite for both ops (float16 opted in), the official
 * torchvision 0.14 vectors (test/fixtures/ops_{roi_align,nms}_s0.safetensors: unmodified copies of
 * ../shared/parity/heads, sha256 checked below; roi_align within 1e-4 + 1e-4·|b|, nms keep lists
 * exact), equality with the cpu reference (RPN-like 1000+ proposals, IoUs exactly at the
 * threshold, NaN / signed-zero scores, degenerate boxes, random RoIs in every mode), both division
 * paths of the kernels, the WGSL correctly rounded division, and a 50-iteration leak check.
 */
import { expectSteadyState, ownedTensors, rng, setupWebGpu } from './helpers';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Tensor, f16BitsToF32, f32ToF16Bits, nms, removeBackend, roiAlign, tensor } from '@tubelet/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WebGpuBackend } from '../src/index';
import { f32Below, setDetectionExactMode } from '../src/kernels/detection';
import { WGSL_EXACT } from '../src/kernels/resample';

const { backend: gpu } = await setupWebGpu();
const be = gpu as WebGpuBackend;
afterAll(() => removeBackend('webgpu'));



// ---- helpers ---------------------------------------------------------------------------------

/** A tiny safetensors reader (F32 / I64), local to this test. */
interface StEntry {
  shape: number[];
  data: Float32Array | BigInt64Array;
}
function readSafetensors(name: string): { get(key: string): StEntry; config: any } {
  const buf = readFileSync(fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url)));
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, any>;
  const config = JSON.parse(header.__metadata__?.config ?? '{}');
  delete header.__metadata__;
  return {
    config,
    get(key) {
      const h = header[key];
      if (!h) throw new Error(`${name}: no tensor '${key}'`);
      const [s, e] = h.data_offsets as [number, number];
      const bytes = new Uint8Array(buf.subarray(8 + n + s, 8 + n + e));
      const data = h.dtype === 'F32' ? new Float32Array(bytes.buffer) : h.dtype === 'I64' ? new BigInt64Array(bytes.buffer) : null;
      if (!data) throw new Error(`${name}: unsupported dtype ${h.dtype}`);
      return { shape: h.shape, data };
    },
  };
}

const { on, keepT, disposeAll } = ownedTensors();
afterEach(() => {
  disposeAll();
  setDetectionExactMode('auto');
});

async function keepList(t: Tensor): Promise<number[]> {
  expect(t.dtype).toBe('int32');
  const v = Array.from((await t.data()) as Int32Array);
  expect(t.shape).toEqual([v.length]);
  return v;
}

interface NmsInput {
  boxes: Float32Array;
  scores: Float32Array;
  classes?: Int32Array | BigInt64Array;
}

/** nms on cpu and on webgpu with the same inputs; returns both keep lists. */
async function nmsBoth(inp: NmsInput, args: { iouThreshold: number; maxOutput?: number }): Promise<{ cpu: number[]; gpu: number[] }> {
  const K = inp.scores.length;
  const run = async (backend: 'cpu' | 'webgpu') => {
    const classes = inp.classes ? on(backend, inp.classes, [K], inp.classes instanceof BigInt64Array ? 'int64' : 'int32') : null;
    const r = keepT(await nms(on(backend, inp.boxes, [K, 4]), on(backend, inp.scores, [K]), { ...args, classes }));
    expect(r.backend).toBe(backend);
    return keepList(r);
  };
  return { cpu: await run('cpu'), gpu: await run('webgpu') };
}

/** RPN-like proposals: jittered anchors of 3 scales × 3 ratios over a 64×64 image, clustered around objects. */
function rpnBoxes(K: number, seed: number, scoreLevels = 0): NmsInput {
  const r = rng(seed);
  const boxes = new Float32Array(4 * K);
  const scores = new Float32Array(K);
  const objects = Array.from({ length: 12 }, () => [r() * 60, r() * 60, 4 + r() * 24, 4 + r() * 24] as const);
  for (let i = 0; i < K; i++) {
    const [cx, cy, w, h] = objects[Math.floor(r() * objects.length)]!;
    const x = cx + (r() - 0.5) * w * 0.6;
    const y = cy + (r() - 0.5) * h * 0.6;
    const bw = w * (0.6 + r() * 0.8);
    const bh = h * (0.6 + r() * 0.8);
    boxes.set([x - bw / 2, y - bh / 2, x + bw / 2, y + bh / 2], 4 * i);
    const s = 1 / (1 + Math.exp(-(r() * 8 - 4)));
    scores[i] = scoreLevels > 0 ? Math.round(s * scoreLevels) / scoreLevels : s; // quantised: many ties
  }
  return { boxes, scores };
}

/** Boxes on a quarter-pixel grid, small integers: many IoUs exactly at 1/2, 1/3, 1/4, 2/3 ... */
function latticeBoxes(K: number, seed: number): NmsInput {
  const r = rng(seed);
  const boxes = new Float32Array(4 * K);
  const scores = new Float32Array(K);
  for (let i = 0; i < K; i++) {
    const x = Math.floor(r() * 12) / 2;
    const y = Math.floor(r() * 12) / 2;
    const w = 1 + Math.floor(r() * 8) / 2;
    const h = 1 + Math.floor(r() * 8) / 2;
    boxes.set([x, y, x + w, y + h], 4 * i);
    scores[i] = Math.floor(r() * 16) / 16;
  }
  return { boxes, scores };
}

/** max |a - b| - (abs + rel·|b|) over all elements (<= 0: within tolerance), and max |a - b|. */
function excess(a: ArrayLike<number>, b: ArrayLike<number>, abs: number, rel: number): { worst: number; maxAbs: number } {
  expect(a.length).toBe(b.length);
  let worst = -Infinity;
  let maxAbs = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (Number.isNaN(a[i]!) !== Number.isNaN(b[i]!)) return { worst: Infinity, maxAbs: NaN };
    if (Number.isNaN(d)) continue;
    worst = Math.max(worst, d - (abs + rel * Math.abs(b[i]!)));
    maxAbs = Math.max(maxAbs, d);
  }
  return { worst, maxAbs };
}

// ---- tests -----------------------------------------------------------------------------------

describe.skipIf(!gpu)('detection kernels on webgpu', () => {
  beforeAll(() => {
    expect(be.stats().gpuErrors).toBe(0);
  });

  describe('official torchvision 0.14 vectors (test/fixtures, copied from parity/heads)', () => {
    it('the fixtures are unmodified copies of the parity files', () => {
      const sha = (name: string) => createHash('sha256').update(readFileSync(fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url)))).digest('hex');
      expect(sha('ops_roi_align_s0.safetensors')).toBe('14f5f9c70daed10dbf0321f752b0895e07855ae4780d8d4c4e5a7951915840f2');
      expect(sha('ops_nms_s0.safetensors')).toBe('bfaea408cf2287669539802ec33056d5fe4089a45968151029f2ed1cb22b0a09');
    });

    const ra = readSafetensors('ops_roi_align_s0.safetensors');
    const raCases = ra.config.cases as { name: string; aligned: boolean; output_size: number[]; sampling_ratio: number; spatial_scale: number }[];

    it('roi_align: 8 cases within 1e-4 + 1e-4·|b|', async () => {
      expect(raCases.length).toBe(8);
      const x = on('webgpu', ra.get('input').data as Float32Array, ra.get('input').shape);
      const rois = on('webgpu', ra.get('rois').data as Float32Array, ra.get('rois').shape);
      const report: string[] = [];
      for (const mode of ['auto', 'always'] as const) {
        setDetectionExactMode(mode);
        for (const c of raCases) {
          const ref = ra.get(c.name);
          const y = keepT(roiAlign(x, rois, { outputSize: c.output_size, spatialScale: c.spatial_scale, samplingRatio: c.sampling_ratio, aligned: c.aligned }));
          expect(y.shape).toEqual(ref.shape);
          const { worst, maxAbs } = excess((await y.data()) as Float32Array, ref.data as Float32Array, 1e-4, 1e-4);
          report.push(`${mode} ${c.name}: max|gpu-ref| ${maxAbs.toExponential(2)}`);
          expect(worst, `${c.name} (${mode})`).toBeLessThanOrEqual(0);
        }
      }
      console.info(`[kernels-webgpu] roi_align vs torchvision:\n  ${report.join('\n  ')}`);
    });

    const nm = readSafetensors('ops_nms_s0.safetensors');
    const nmCases = nm.config.cases as { name: string; boxes: string; scores: string; idxs?: string; iou_threshold: number }[];

    it('nms / batched_nms: 8 exact keep lists (int64 and int32 classes), maxOutput keeps a prefix', async () => {
      expect(nmCases.length).toBe(8);
      for (const mode of ['auto', 'always'] as const) {
        setDetectionExactMode(mode);
        for (const c of nmCases) {
          const b = nm.get(c.boxes);
          const s = nm.get(c.scores);
          const want = Array.from(nm.get(c.name).data as BigInt64Array, Number);
          const boxes = on('webgpu', b.data as Float32Array, b.shape);
          const scores = on('webgpu', s.data as Float32Array, s.shape);
          const cls64 = c.idxs ? on('webgpu', nm.get(c.idxs).data as BigInt64Array, nm.get(c.idxs).shape, 'int64') : null;
          expect(await keepList(keepT(await nms(boxes, scores, { iouThreshold: c.iou_threshold, classes: cls64 }))), `${c.name} (${mode})`).toEqual(want);
          if (c.idxs) {
            const cls32 = on('webgpu', Int32Array.from(nm.get(c.idxs).data as BigInt64Array, Number), nm.get(c.idxs).shape, 'int32');
            expect(await keepList(keepT(await nms(boxes, scores, { iouThreshold: c.iou_threshold, classes: cls32 })))).toEqual(want);
          }
          const k = Math.max(1, Math.floor(want.length / 3));
          expect(await keepList(keepT(await nms(boxes, scores, { iouThreshold: c.iou_threshold, classes: cls64, maxOutput: k })))).toEqual(want.slice(0, k));
        }
      }
    });
  });

  describe('nms equals the cpu reference', () => {
    it('RPN-like: 1000 proposals, IoU 0.7, and with maxOutput 300', async () => {
      const inp = rpnBoxes(1000, 11);
      const r = await nmsBoth(inp, { iouThreshold: 0.7 });
      expect(r.cpu.length).toBeGreaterThan(50);
      expect(r.cpu.length).toBeLessThan(1000);
      expect(r.gpu).toEqual(r.cpu);
      const capped = await nmsBoth(inp, { iouThreshold: 0.7, maxOutput: 300 });
      expect(capped.gpu).toEqual(capped.cpu);
    });

    it('1000 proposals with tied (quantised) scores, class-wise over 8 classes (int64 and int32), maxOutput 100', async () => {
      const inp = rpnBoxes(1000, 12, 20);
      const r = rng(5);
      const cls = Int32Array.from({ length: 1000 }, () => Math.floor(r() * 8));
      for (const classes of [cls, BigInt64Array.from(cls, (v) => BigInt(v) - 3n)]) {
        const all = await nmsBoth({ ...inp, classes }, { iouThreshold: 0.5 });
        expect(all.gpu).toEqual(all.cpu);
        const capped = await nmsBoth({ ...inp, classes }, { iouThreshold: 0.5, maxOutput: 100 });
        expect(capped.gpu).toEqual(capped.cpu);
      }
    });

    it('2100 boxes (66 mask words per row; several scan strides)', async () => {
      const inp = rpnBoxes(2100, 13);
      const r = await nmsBoth(inp, { iouThreshold: 0.6 });
      expect(r.gpu).toEqual(r.cpu);
    });

    it('lattice boxes with IoUs exactly at the threshold (1/2, 1/3, 1/4, 2/3, 0.7), both division paths', async () => {
      for (const mode of ['auto', 'always'] as const) {
        setDetectionExactMode(mode);
        for (const [seed, thr] of [
          [1, 0.5],
          [2, 1 / 3],
          [3, 0.25],
          [4, 2 / 3],
          [5, 0.7],
          [6, 0.1],
        ] as const) {
          const inp = latticeBoxes(300, seed);
          const r = await nmsBoth(inp, { iouThreshold: thr });
          expect(r.gpu, `seed ${seed} thr ${thr} (${mode})`).toEqual(r.cpu);
        }
      }
    });

    it('NaN and signed-zero scores, zero-area and inverted boxes, thresholds 0 and >= 1', async () => {
      const r = rng(9);
      const K = 200;
      const boxes = new Float32Array(4 * K);
      const scores = new Float32Array(K);
      for (let i = 0; i < K; i++) {
        const x = r() * 20;
        const y = r() * 20;
        const kind = i % 10;
        const w = kind === 0 ? 0 : kind === 1 ? -2 : 1 + r() * 6;
        const h = kind === 2 ? 0 : 1 + r() * 6;
        boxes.set([x, y, x + w, y + h], 4 * i);
        scores[i] = i % 17 === 0 ? NaN : i % 13 === 0 ? -0 : i % 11 === 0 ? 0 : Math.round(r() * 10) / 10;
      }
      for (const thr of [0.5, 0, 1, 1.5, -0.5]) {
        const res = await nmsBoth({ boxes, scores }, { iouThreshold: thr });
        expect(res.gpu, `thr ${thr}`).toEqual(res.cpu);
      }
    });

    it('maxOutput 0 and empty inputs give empty int32 results', async () => {
      const boxes = on('webgpu', [0, 0, 1, 1, 0, 0, 1, 1], [2, 4]);
      const scores = on('webgpu', [0.5, 0.6], [2]);
      expect(await keepList(keepT(await nms(boxes, scores, { iouThreshold: 0.5, maxOutput: 0 })))).toEqual([]);
      expect(await keepList(keepT(await nms(on('webgpu', [], [0, 4]), on('webgpu', [], [0]), { iouThreshold: 0.5 })))).toEqual([]);
    });

    it('f32Below: the largest float32 <= the float64 threshold', () => {
      expect(f32Below(0.5)).toBe(0.5);
      expect(f32Below(0.7)).toBe(Math.fround(0.7)); // fround(0.7) = 0.699999988 < 0.7
      expect(f32Below(0.3)).toBeLessThan(Math.fround(0.3)); // fround(0.3) = 0.300000012 > 0.3: one below
      for (const t of [0.7, 0.3, 1 / 3, 2 / 3, 0.1, -0.3, 1e-40, -1e-40]) {
        const b = f32Below(t);
        expect(Math.fround(b)).toBe(b);
        expect(b).toBeLessThanOrEqual(t);
        // the next float32 up is above t
        const f = new Float32Array([b]);
        const u = new Uint32Array(f.buffer);
        if (b > 0) u[0]! += 1;
        else if (Object.is(b, -0) || b === 0) u[0] = 1;
        else u[0]! -= 1;
        expect(f[0]!).toBeGreaterThan(t);
      }
      expect(f32Below(Infinity)).toBe(Infinity);
      expect(Number.isNaN(f32Below(NaN))).toBe(true);
    });
  });

  describe('roiAlign equals the cpu reference', () => {
    /** Random rois over a [N, C, H, W] map: inside, partly outside, tiny, large, inverted. */
    function randomRois(K: number, N: number, H: number, W: number, scale: number, seed: number): Float32Array {
      const r = rng(seed);
      const rois = new Float32Array(5 * K);
      for (let k = 0; k < K; k++) {
        const x1 = (r() * (W + 4) - 2) / scale;
        const y1 = (r() * (H + 4) - 2) / scale;
        const kind = k % 7;
        const w = (kind === 0 ? r() * 0.8 : kind === 1 ? -r() * 2 : kind === 2 ? W * 1.5 : r() * W) / scale;
        const h = (kind === 3 ? r() * 0.8 : kind === 2 ? H * 1.2 : r() * H) / scale;
        // quarter-pixel coordinates half of the time: samples land on -1 / H and on bin edges
        const q = (v: number) => (k % 2 ? Math.round(v * 4) / 4 : v);
        rois.set([Math.floor(r() * N), q(x1), q(y1), q(x1 + w), q(y1 + h)], 5 * k);
      }
      return rois;
    }

    it('random rois, every mode (aligned / legacy, adaptive / fixed grids), both division paths, within 1e-5', async () => {
      const [N, C, H, W] = [2, 3, 13, 17];
      const r = rng(3);
      const xv = Float32Array.from({ length: N * C * H * W }, () => r() * 4 - 2);
      const rois = randomRois(40, N, H, W, 0.5, 4);
      const xc = on('cpu', xv, [N, C, H, W]);
      const rc = on('cpu', rois, [40, 5]);
      const xg = on('webgpu', xv, [N, C, H, W]);
      const rg = on('webgpu', rois, [40, 5]);
      let maxAbs = 0;
      for (const mode of ['auto', 'always'] as const) {
        setDetectionExactMode(mode);
        for (const aligned of [true, false]) {
          for (const samplingRatio of [0, 1, 2, 3]) {
            for (const outputSize of [[7, 7], [3, 5], [1, 1]]) {
              const args = { outputSize, spatialScale: 0.5, samplingRatio, aligned };
              const want = keepT(roiAlign(xc, rc, args)).dataSync() as Float32Array;
              const got = (await keepT(roiAlign(xg, rg, args)).data()) as Float32Array;
              const e = excess(got, want, 1e-5, 1e-5);
              maxAbs = Math.max(maxAbs, e.maxAbs);
              expect(e.worst, `${JSON.stringify(args)} (${mode})`).toBeLessThanOrEqual(0);
            }
          }
        }
      }
      console.info(`[kernels-webgpu] roiAlign webgpu vs cpu (random rois): max |diff| ${maxAbs.toExponential(2)}`);
    });

    it('samples exactly at y = -1 or y = H (x = -1 or W) are kept, beyond them dropped', async () => {
      const x = on('webgpu', new Float32Array(4 * 6).fill(5), [1, 1, 4, 6]);
      const centreY = [-1, -1.125, 4, 4.125];
      const ry = on('webgpu', centreY.flatMap((cy) => [0, 1, cy - 0.5, 2, cy + 0.5]), [4, 5]);
      const centreX = [-1, -1.125, 6, 6.125];
      const rx = on('webgpu', centreX.flatMap((cx) => [0, cx - 0.5, 1, cx + 0.5, 2]), [4, 5]);
      for (const mode of ['auto', 'always'] as const) {
        setDetectionExactMode(mode);
        for (const rois of [ry, rx]) {
          expect(Array.from((await keepT(roiAlign(x, rois, { outputSize: 1, samplingRatio: 1, aligned: false })).data()) as Float32Array)).toEqual([5, 0, 5, 0]);
        }
      }
      // the same with a sampling grid of 3: (i + .5)·bin / 3 is not exact in float32
      const rois3 = on('webgpu', [0, 1, -1.5, 2, 1.5, 0, 1, 2.5, 2, 5.5], [2, 5]);
      const want = keepT(roiAlign(on('cpu', new Float32Array(4 * 6).fill(5), [1, 1, 4, 6]), on('cpu', [0, 1, -1.5, 2, 1.5, 0, 1, 2.5, 2, 5.5], [2, 5]), { outputSize: 1, samplingRatio: 3, aligned: false })).dataSync();
      expect(Array.from((await keepT(roiAlign(x, rois3, { outputSize: 1, samplingRatio: 3, aligned: false })).data()) as Float32Array)).toEqual(Array.from(want as Float32Array));
    });

    it('float16: computed in float32 from the half values and rounded once (as cpu)', async () => {
      const [N, C, H, W] = [1, 4, 9, 11];
      const r = rng(21);
      const xh = Uint16Array.from({ length: N * C * H * W }, () => f32ToF16Bits(r() * 8 - 4));
      const rois = Uint16Array.from(randomRois(9, N, H, W, 1, 22), f32ToF16Bits);
      const args = { outputSize: [5, 4], spatialScale: 1, samplingRatio: 0, aligned: true };
      const want = keepT(roiAlign(on('cpu', xh, [N, C, H, W], 'float16'), on('cpu', rois, [9, 5], 'float16'), args));
      const got = keepT(roiAlign(on('webgpu', xh, [N, C, H, W], 'float16'), on('webgpu', rois, [9, 5], 'float16'), args));
      expect(got.dtype).toBe('float16');
      const g = Array.from((await got.data()) as Uint16Array, f16BitsToF32);
      const w = Array.from(want.dataSync() as Uint16Array, f16BitsToF32);
      // one half-ulp of rounding apart at most (float32 vs float64 sums before the rounding)
      expect(excess(g, w, 1e-3, 1e-3).worst).toBeLessThanOrEqual(0);
    });

    it('a roi with a batch index outside [0, N) gives NaN (the cpu backend throws)', async () => {
      const x = on('webgpu', new Float32Array(16).fill(1), [1, 1, 4, 4]);
      const y = (await keepT(roiAlign(x, on('webgpu', [1, 0, 0, 2, 2, 0, 0, 0, 2, 2, -1, 0, 0, 2, 2], [3, 5]), { outputSize: 1 })).data()) as Float32Array;
      expect(Number.isNaN(y[0]!)).toBe(true);
      expect(y[1]).toBe(1);
      expect(Number.isNaN(y[2]!)).toBe(true);
    });
  });

  describe('exact float32 arithmetic in WGSL', () => {
    it('div_refine from starts 3 ulps off gives the correctly rounded quotient (= Math.fround(a / b))', async () => {
      const r = rng(77);
      const n = 4096;
      const a = new Float32Array(n);
      const b = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const k = i % 4;
        if (k === 0) {
          a[i] = (r() - 0.5) * Math.exp((r() - 0.5) * 30);
          b[i] = (r() - 0.5) * Math.exp((r() - 0.5) * 30);
        } else if (k === 1) {
          // quotient next to a short binary fraction (ties and near-ties)
          b[i] = Math.fround(1 + Math.floor(r() * 200)) / 8;
          a[i] = Math.fround(b[i]! * (Math.floor(r() * 64) / 16));
        } else if (k === 2) {
          a[i] = Math.floor(r() * 64) / 4;
          b[i] = 1 + Math.floor(r() * 63) / 4;
        } else {
          // exact midpoints between two float32 quotients: x = (q + half ulp)·y with y = 3·2^e
          const y = Math.fround(3 * 2 ** Math.floor(r() * 8 - 4));
          const q = 1 + Math.floor(r() * 2 ** 20) * 2 ** -23;
          const x = (q + 2 ** -24) * y;
          a[i] = Math.fround(x) === x ? x : 1;
          b[i] = Math.fround(x) === x ? y : 3;
        }
      }
      const program = be.program('test/div_refine', () => ({
        key: 'test/div_refine',
        workgroupSize: 64,
        bindings: [
          { name: 'A', type: 'f32', access: 'read' },
          { name: 'B', type: 'f32', access: 'read' },
          { name: 'Y', type: 'f32', access: 'read_write' },
        ],
        uniforms: [
          { name: 'size', type: 'u32' },
          { name: 'zero', type: 'u32' },
          { name: 'steps', type: 'i32' },
        ],
        header: WGSL_EXACT,
        main: `
  if (idx >= u.size) { return; }
  let a = A[idx];
  let b = B[idx];
  if (!div_ok(a, b)) { Y[idx] = a / b; return; }
  let x = select(a, -a, b < 0.0);
  let y = abs(b);
  var q = x / y;
  for (var s = 0; s < abs(u.steps); s++) { q = select(next_down(q), next_up(q), u.steps > 0); }
  Y[idx] = div_refine(x, y, q);`,
      }));
      const ha = be.write(a, 'float32', [n]);
      const hb = be.write(b, 'float32', [n]);
      try {
        for (const steps of [0, 3, -3, 1, -1]) {
          const hy = be.allocate(4 * n);
          be.dispatch(program, [ha.buffer, hb.buffer, hy.buffer], { size: n, zero: 0, steps }, [Math.ceil(n / 64), 1, 1]);
          const got = (await be.read(hy, 'float32', n)) as Float32Array;
          be.release(hy);
          let bad = 0;
          for (let i = 0; i < n; i++) if (!Object.is(got[i], Math.fround(a[i]! / b[i]!))) bad++;
          expect(bad, `start ${steps} ulps off`).toBe(0);
        }
      } finally {
        be.release(ha);
        be.release(hb);
      }
    });
  });

  describe('memory', () => {
    it('50 iterations of roiAlign + nms leave live tensors, bytes and the buffer pool where they were', async () => {
      const r = rng(31);
      const xv = Float32Array.from({ length: 2 * 4 * 16 * 16 }, () => r());
      const inp = rpnBoxes(300, 32);
      const rois = randomRois5(20, 2, 16, 16);
      const step = async () => {
        const x = tensor(xv, [2, 4, 16, 16], { backend: 'webgpu' });
        const ro = tensor(rois, [20, 5], { backend: 'webgpu' });
        const b = tensor(inp.boxes, [300, 4], { backend: 'webgpu' });
        const s = tensor(inp.scores, [300], { backend: 'webgpu' });
        const y = roiAlign(x, ro, { outputSize: 7, spatialScale: 1, samplingRatio: 0 });
        const k = await nms(b, s, { iouThreshold: 0.5 });
        await y.data();
        await k.data();
        for (const t of [x, ro, b, s, y, k]) t.dispose();
      };
      const st1 = await expectSteadyState(be, step, 50);
      expect(st1.gpuErrors).toBe(0);
    });
  });

  it('raised no GPU errors (shader compilation, validation) in this file', async () => {
    await be.sync();
    expect(be.stats().gpuErrors).toBe(0);
  });
});

/** Simple in-map rois for the memory test. */
function randomRois5(K: number, N: number, H: number, W: number): Float32Array {
  const r = rng(K);
  const out = new Float32Array(5 * K);
  for (let k = 0; k < K; k++) {
    const x = r() * W;
    const y = r() * H;
    out.set([Math.floor(r() * N), x, y, x + r() * W, y + r() * H], 5 * k);
  }
  return out;
}
