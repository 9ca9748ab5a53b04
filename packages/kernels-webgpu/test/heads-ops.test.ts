/**
 * webgpu kernels of the pose / detection-head ops (warpAffine, boxDecode, boxEncode, gridAnchors,
 * pasteMasks) against the cpu reference kernels on random inputs: bit-exact where the cpu is
 * exact (uint8 and float 'opencv' warps, anchors, every box coordinate not passing through exp /
 * log, mmdet pastes, paste binary decisions), within a few float32 ulps elsewhere; plus a
 * 20-iteration leak check and a GPU error check. (The conformance suite runs the official vectors.)
 */
import { expectSteadyState, rng, setupWebGpu } from './helpers';
import { type Tensor, boxDecode, boxEncode, f16BitsToF32, f32ToF16Bits, gridAnchors, pasteMasks, removeBackend, tensor, warpAffine } from '@tubelet/core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { WebGpuBackend } from '../src/index';

const { backend: gpu } = await setupWebGpu();
const be = gpu as WebGpuBackend;
afterAll(() => removeBackend('webgpu'));

const owned: Tensor[] = [];
const keep = <T extends Tensor>(t: T): T => {
  owned.push(t);
  return t;
};
type Dt = 'float32' | 'uint8' | 'float16';
const on = (backend: 'cpu' | 'webgpu', data: ArrayLike<number>, shape: number[], dtype: Dt = 'float32'): Tensor => {
  const arr = dtype === 'uint8' ? Uint8Array.from(data) : dtype === 'float16' ? Uint16Array.from(data) : Float32Array.from(data);
  return keep(tensor(arr as Float32Array, shape, { backend, dtype }));
};
const read = async (t: Tensor): Promise<number[]> => Array.from((await keep(t).data()) as ArrayLike<number>);

/** Runs `f` on cpu and webgpu tensors holding the same inputs; returns both outputs. */
async function both(inputs: { data: ArrayLike<number>; shape: number[]; dtype?: Dt }[], f: (...xs: Tensor[]) => Tensor): Promise<{ cpu: number[]; gpu: number[]; shape: readonly number[] }> {
  const c = f(...inputs.map((i) => on('cpu', i.data, i.shape, i.dtype)));
  const g = f(...inputs.map((i) => on('webgpu', i.data, i.shape, i.dtype)));
  expect(g.shape).toEqual(c.shape);
  return { cpu: await read(c), gpu: await read(g), shape: c.shape };
}

/** Same bits (NaN == NaN, +0 != -0). */
function expectBitExact(got: number[], want: number[], what: string): void {
  expect(got.length).toBe(want.length);
  let bad = 0;
  let first = -1;
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) {
      if (first < 0) first = i;
      bad++;
    }
  }
  expect(bad, `${what}: ${bad} mismatches, first at ${first}: gpu ${got[first]} vs cpu ${want[first]}`).toBe(0);
}

/** |got − want| <= abs + rel·|want| everywhere (NaN only where the cpu has NaN). */
function expectClose(got: number[], want: number[], abs: number, rel: number, what: string): void {
  expect(got.length).toBe(want.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (Number.isNaN(w) || Number.isNaN(g)) {
      expect(Number.isNaN(g), `${what}[${i}]: gpu ${g} vs cpu ${w}`).toBe(Number.isNaN(w));
      continue;
    }
    const ex = Math.abs(g - w) / (abs + rel * Math.abs(w));
    if (ex > worst) {
      worst = ex;
      at = i;
    }
  }
  expect(worst, `${what}: worst at ${at}: gpu ${got[at]} vs cpu ${want[at]}`).toBeLessThanOrEqual(1);
}

afterEach(() => {
  for (const t of owned.splice(0)) if (!t.isDisposed) t.dispose();
});

// ---- random inputs -----------------------------------------------------------------------------

/** K xyxy boxes in a ~[−50, 450] × [−50, 350] field, widths 0.5 … 200, a few degenerate ones. */
function randomBoxes(K: number, seed: number): number[] {
  const r = rng(seed);
  const out: number[] = [];
  for (let k = 0; k < K; k++) {
    const x = r() * 500 - 50;
    const y = r() * 400 - 50;
    const w = k % 97 === 5 ? 0 : 0.5 + r() * 200;
    const h = k % 89 === 7 ? 0 : 0.5 + r() * 200;
    out.push(Math.fround(x), Math.fround(y), Math.fround(x + w), Math.fround(y + h));
  }
  return out;
}

/** mmpose get_affine_transform-like forward matrix: box (cx, cy, bw, bh) rotated by `rot`° to out [W, H]. */
function cropMatrix(cx: number, cy: number, bw: number, bh: number, rot: number, W: number, H: number): number[] {
  const t = (rot * Math.PI) / 180;
  const sx = W / bw;
  const sy = H / bh;
  const c = Math.cos(t);
  const s = Math.sin(t);
  // out = R·S·(p − centre) + out centre
  const a = c * sx;
  const b = -s * sy;
  const d = s * sx;
  const e = c * sy;
  return [a, b, W / 2 - a * cx - b * cy, d, e, H / 2 - d * cx - e * cy];
}

if (!gpu) {
  describe('heads ops on webgpu', () => {
    it.skip('webgpu unavailable', () => undefined);
  });
} else {
  describe('warpAffine: webgpu vs cpu', () => {
    const H = 300;
    const W = 400;
    const C = 3;
    const r = rng(7);
    const img = Array.from({ length: H * W * C }, () => Math.floor(r() * 256));
    const mats = [
      cropMatrix(200, 150, 180, 240, 30, 192, 256), // rotated, inside
      cropMatrix(370, 40, 150, 200, -17, 96, 128), // partly outside (top right)
      cropMatrix(-30, 290, 120, 90, 0, 64, 48), // mostly outside
      [1, 0, -0.5, 0, 1, 0.25], // sub-pixel shift
      [0.73, 0.11, 3.3, -0.2, 1.37, -10.1], // generic shear / scale
    ];

    it('uint8: 300×400×3, rotation and partly-outside boxes, bit-exact', async () => {
      const { cpu, gpu: g, shape } = await both([{ data: img, shape: [H, W, C], dtype: 'uint8' }], (x) => warpAffine(x, mats.slice(0, 3).map((m) => m.slice()), { size: [192, 256] }));
      expect(shape).toEqual([3, 256, 192, 3]);
      expectBitExact(g, cpu, 'warp u8');
      // the partly-outside crop really does read the border
      expect(cpu.slice(256 * 192 * 3, 2 * 256 * 192 * 3).filter((v) => v === 0).length).toBeGreaterThan(1000);
    });

    it('uint8: single matrices, border value, inverse map, odd channel counts: bit-exact', async () => {
      const img1 = img.slice(0, 200 * 150 * 1);
      for (const [m, args, c] of [
        [mats[3]!, { size: [151, 97] as [number, number], borderValue: 77 }, 1],
        [mats[4]!, { size: [64, 200] as [number, number], inverse: true, borderValue: 255 }, 1],
        [mats[1]!, { size: [33, 17] as [number, number] }, 5],
      ] as const) {
        const data = c === 1 ? img1 : img.slice(0, 40 * 30 * c);
        const shape = c === 1 ? [150, 200, 1] : [30, 40, c];
        const { cpu, gpu: g } = await both([{ data, shape, dtype: 'uint8' }], (x) => warpAffine(x, m.slice(), args));
        expectBitExact(g, cpu, `warp u8 ${JSON.stringify(args)}`);
      }
    });

    it("float32 'opencv': bit-exact; float16 equal after rounding; 'exact': within float32 ulps", async () => {
      const fimg = img.map((v) => v / 7 - 11.3);
      const ms = mats.slice(0, 4).map((m) => m.slice());
      const f = await both([{ data: fimg, shape: [H, W, C] }], (x) => warpAffine(x, ms, { size: [96, 128], borderValue: -2.5 }));
      expectBitExact(f.gpu, f.cpu, 'warp f32 opencv');
      const h = await both([{ data: fimg.map((v) => f32ToF16Bits(v)), shape: [H, W, C], dtype: 'float16' }], (x) => warpAffine(x, ms, { size: [96, 128] }));
      expectBitExact(h.gpu.map(f16BitsToF32), h.cpu.map(f16BitsToF32), 'warp f16 opencv');
      const e = await both([{ data: fimg, shape: [H, W, C] }], (x) => warpAffine(x, ms, { size: [96, 128], mode: 'exact', borderValue: 1 }));
      expectClose(e.gpu, e.cpu, 1e-5, 1e-5, 'warp f32 exact');
    });
  });

  describe('box coders: webgpu vs cpu (500 boxes)', () => {
    const K = 500;
    const boxes = randomBoxes(K, 11);
    const r = rng(12);
    const C = 3;
    // deltas: mostly moderate, some large enough to hit the ±log(1000/16) clamp
    const deltas = Array.from({ length: K * 4 * C }, (_, i) => Math.fround((r() - 0.5) * (i % 13 === 0 ? 40 : 2)));
    const targets = randomBoxes(K, 13).map((v, i) => Math.fround(v + (i % 4 < 2 ? -5 : 5)));
    const styles = [
      { style: 'mmdet' as const },
      { style: 'mmdet' as const, means: [0.1, -0.2, 0.05, 0], stds: [0.1, 0.1, 0.2, 0.2] },
      { style: 'torchvision' as const },
      { style: 'torchvision' as const, weights: [10, 10, 5, 5] },
    ];

    it('boxDecode: every style, with and without maxShape clip', async () => {
      for (const s of styles) {
        for (const maxShape of [null, [300, 400] as [number, number]]) {
          const { cpu, gpu: g } = await both([{ data: boxes, shape: [K, 4] }, { data: deltas, shape: [K, 4 * C] }], (b, d) => boxDecode(b, d, { ...s, maxShape }));
          // exp is the only operation that is not exactly the cpu's (a few float32 ulps)
          expectClose(g, cpu, 1e-4, 2e-6, `decode ${JSON.stringify(s)} clip=${!!maxShape}`);
        }
      }
    });

    it('boxDecode: bit-exact when dw = dh = 0 (no exp rounding involved)', async () => {
      const d0 = deltas.map((v, i) => (i % 4 >= 2 ? 0 : v));
      for (const s of styles) {
        const means = s.style === 'mmdet' ? { means: [0.1, -0.2, 0, 0] } : {};
        const { cpu, gpu: g } = await both([{ data: boxes, shape: [K, 4] }, { data: d0, shape: [K, 4 * C] }], (b, d) => boxDecode(b, d, { ...s, ...means, maxShape: [300, 400] }));
        expectBitExact(g, cpu, `decode exact ${JSON.stringify(s)}`);
      }
    });

    it('boxEncode: dx, dy bit-exact, dw, dh within float32 ulps (log)', async () => {
      for (const s of styles) {
        const { cpu, gpu: g } = await both([{ data: boxes, shape: [K, 4] }, { data: targets, shape: [K, 4] }], (b, t) => boxEncode(b, t, s));
        const xy = (a: number[]) => a.filter((_, i) => i % 4 < 2);
        const wh = (a: number[]) => a.filter((_, i) => i % 4 >= 2);
        expectBitExact(xy(g), xy(cpu), `encode xy ${JSON.stringify(s)}`);
        expectClose(wh(g), wh(cpu), 1e-5, 1e-5, `encode wh ${JSON.stringify(s)}`);
      }
    });
  });

  describe('gridAnchors: webgpu vs cpu', () => {
    it('bit-exact, integer and non-float32 strides', async () => {
      const r = rng(21);
      const base = Array.from({ length: 9 * 4 }, () => Math.fround((r() - 0.5) * 300));
      for (const [size, stride] of [
        [[50, 68], [16, 16]],
        [[13, 17], [64, 59]],
        [[7, 11], [8.1, 0.3]],
        [[0, 5], [4, 4]],
      ] as const) {
        const { cpu, gpu: g, shape } = await both([{ data: base, shape: [9, 4] }], (b) => gridAnchors(b, { size, stride }));
        expect(shape).toEqual([size[0] * size[1] * 9, 4]);
        expectBitExact(g, cpu, `anchors ${size} ${stride}`);
      }
    });
  });

  describe('pasteMasks: webgpu vs cpu (20 masks)', () => {
    const N = 20;
    const [Mh, Mw] = [28, 28];
    const r = rng(41);
    const masks = Array.from({ length: N * Mh * Mw }, () => Math.fround(r()));
    // boxes over a 120×160 image: inside, partly outside, tiny, zero-width, wholly outside
    const boxes: number[] = [];
    for (let k = 0; k < N; k++) {
      const x = r() * 190 - 30;
      const y = r() * 150 - 30;
      const w = k === 3 ? 0 : k === 4 ? 0.3 : 2 + r() * 80;
      const h = k === 5 ? 0 : 2 + r() * 60;
      boxes.push(Math.fround(x), Math.fround(y), Math.fround(x + w), Math.fround(y + h));
    }
    boxes.push(...[500, 500, 520, 530]);
    boxes.splice(4 * N);

    for (const mode of ['mmdet', 'mmdet-cpu', 'torchvision'] as const) {
      it(`${mode}: binary decisions (> 0.5, pasted or not) identical, values ${mode === 'torchvision' ? 'within 2e-7' : 'bit-exact'}`, async () => {
        const { cpu, gpu: g, shape } = await both([{ data: masks, shape: [N, Mh, Mw] }, { data: boxes, shape: [N, 4] }], (m, b) => pasteMasks(m, b, { size: [120, 160], mode }));
        expect(shape).toEqual([N, 120, 160]);
        expectBitExact(g.map((v) => +(v > 0.5)), cpu.map((v) => +(v > 0.5)), `${mode} > 0.5`);
        expectBitExact(g.map((v) => +(v !== 0)), cpu.map((v) => +(v !== 0)), `${mode} pasted`);
        if (mode === 'torchvision') expectClose(g, cpu, 2e-7, 0, mode);
        else expectBitExact(g, cpu, mode);
      });
    }
  });

  describe('memory', () => {
    it('20 iterations of all five ops leave live tensors, bytes and the buffer pool where they were', async () => {
      const r = rng(5);
      const img = Uint8Array.from({ length: 60 * 80 * 3 }, () => Math.floor(r() * 256));
      const boxes = randomBoxes(50, 6);
      const deltas = Array.from({ length: 50 * 8 }, () => r() - 0.5);
      const masks = Float32Array.from({ length: 5 * 14 * 14 }, () => r());
      const step = async () => {
        const x = tensor(img, [60, 80, 3], { backend: 'webgpu', dtype: 'uint8' });
        const b = tensor(Float32Array.from(boxes), [50, 4], { backend: 'webgpu' });
        const d = tensor(Float32Array.from(deltas), [50, 8], { backend: 'webgpu' });
        const m = tensor(masks, [5, 14, 14], { backend: 'webgpu' });
        const b5 = tensor(Float32Array.from(boxes.slice(0, 20)), [5, 4], { backend: 'webgpu' });
        const outs = [
          warpAffine(x, [cropMatrix(40, 30, 50, 60, 20, 24, 32), [1, 0, 3, 0, 1, -2]], { size: [24, 32] }),
          boxDecode(b, d, { maxShape: [60, 80] }),
          boxEncode(b, b, { style: 'torchvision' }),
          gridAnchors(b5, { size: [6, 8], stride: 8 }),
          pasteMasks(m, b5, { size: [60, 80], mode: 'torchvision' }),
          pasteMasks(m, b5, { size: [60, 80], mode: 'mmdet-cpu' }),
        ];
        for (const o of outs) await o.data();
        for (const t of [x, b, d, m, b5, ...outs]) t.dispose();
      };
      const st1 = await expectSteadyState(be, step, 20);
      expect(st1.gpuErrors).toBe(0);
    });
  });

  it('raised no GPU errors (shader compilation, validation) in this file', async () => {
    await be.sync();
    expect(be.lastGpuError).toBeNull();
    expect(be.stats().gpuErrors).toBe(0);
  });
}
