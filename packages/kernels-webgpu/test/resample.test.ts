/**
 * webgpu interpolate / gridSample: the conformance suite for both ops (float16 opted in), and
 * equality with the cpu reference over modes, dims, sizes / scale factors, alignCorners and
 * padding modes (nearest modes bit-exact, round-half-even ties included), float16, and a
 * 50-iteration leak check.
 */
import { expectSteadyState, ownedTensors, rng, setupWebGpu } from './helpers';
import { type Tensor, f16BitsToF32, f32ToF16Bits, gridSample, interpolate, removeBackend, tensor } from '@tubelet/core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { WebGpuBackend } from '../src/index';

const { backend: gpu } = await setupWebGpu();
const be = gpu as WebGpuBackend;
afterAll(() => removeBackend('webgpu'));



// ---- helpers ---------------------------------------------------------------------------------

const { on, keepT, disposeAll } = ownedTensors();
afterEach(disposeAll);

/** Runs `f` on cpu and webgpu copies of the same float32 inputs; returns both outputs as float32 arrays. */
async function both(inputs: { data: Float32Array; shape: number[] }[], f: (...xs: Tensor[]) => Tensor, dtype: 'float32' | 'float16' = 'float32') {
  const mk = (backend: 'cpu' | 'webgpu') =>
    inputs.map((i) => (dtype === 'float16' ? on(backend, Uint16Array.from(i.data, f32ToF16Bits), i.shape, 'float16') : on(backend, i.data, i.shape)));
  const c = keepT(f(...mk('cpu')));
  const g = keepT(f(...mk('webgpu')));
  expect(g.backend).toBe('webgpu');
  expect(g.shape).toEqual(c.shape);
  expect(g.dtype).toBe(dtype);
  const host = (t: Tensor, v: unknown) => (dtype === 'float16' ? Float32Array.from(v as Uint16Array, f16BitsToF32) : (v as Float32Array));
  return { cpu: host(c, c.dataSync()), gpu: host(g, await g.data()), shape: c.shape };
}

/** Max |a - b| - (abs + rel·|b|) (<= 0: within tolerance); NaN where exactly one side is NaN. */
function excess(a: Float32Array, b: Float32Array, abs: number, rel: number): number {
  let worst = -Infinity;
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i]!) !== Number.isNaN(b[i]!)) return NaN;
    const d = Math.abs(a[i]! - b[i]!);
    if (!Number.isNaN(d)) worst = Math.max(worst, d - (abs + rel * Math.abs(b[i]!)));
  }
  return worst;
}

function randn(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => r() * 4 - 2);
}

// ---- tests -----------------------------------------------------------------------------------

describe.skipIf(!gpu)('resample kernels on webgpu equal the cpu reference', () => {
  it('interpolate nearest, 1–3 d, sizes and scale factors (the `scales` attr, out == in copy, out == 2·in): bit-exact', async () => {
    const cases: [number[], Record<string, unknown>][] = [
      [[2, 3, 7], { size: 13 }],
      [[2, 3, 7], { size: 14 }],
      [[2, 3, 7], { size: 7 }],
      [[1, 2, 5], { scaleFactor: 1.7 }],
      [[1, 2, 5], { scaleFactor: 1.7, recomputeScaleFactor: true }],
      [[1, 2, 9, 6], { size: [4, 13] }],
      [[1, 2, 9, 6], { scaleFactor: [0.6, 2.3] }],
      [[2, 1, 5, 6], { size: [10, 6] }],
      [[1, 2, 3, 5, 4], { size: [7, 10, 3] }],
      [[1, 1, 3, 4, 5], { scaleFactor: [2, 1.5, 0.75] }],
    ];
    for (const [shape, args] of cases) {
      const x = randn(shape.reduce((a, b) => a * b), shape.length);
      const r = await both([{ data: x, shape }], (t) => interpolate(t, { mode: 'nearest', ...args }));
      expect(Array.from(r.gpu), `${JSON.stringify(shape)} ${JSON.stringify(args)}`).toEqual(Array.from(r.cpu));
    }
  });

  it('interpolate linear 1–3 d and bicubic, half-pixel and alignCorners, up and down: within 1e-6', async () => {
    const cases: [number[], Record<string, unknown>][] = [
      [[2, 3, 6], { mode: 'linear', size: 11 }],
      [[2, 3, 6], { mode: 'linear', size: 6 }],
      [[2, 3, 9], { mode: 'linear', scaleFactor: 0.37 }],
      [[1, 2, 5, 7], { mode: 'bilinear', size: [9, 3] }],
      [[1, 2, 5, 7], { mode: 'bilinear', size: [5, 13] }],
      [[1, 2, 5, 7], { mode: 'bilinear', scaleFactor: [1.5, 2.25] }],
      [[1, 2, 3, 4, 5], { mode: 'trilinear', size: [5, 7, 3] }],
      [[1, 1, 4, 4, 4], { mode: 'trilinear', scaleFactor: 1.6 }],
      [[1, 2, 6, 5], { mode: 'bicubic', size: [11, 8] }],
      [[1, 2, 6, 5], { mode: 'bicubic', size: [3, 4] }],
      [[2, 1, 7, 9], { mode: 'bicubic', scaleFactor: [1.3, 0.7] }],
      [[1, 1, 1, 5], { mode: 'bicubic', size: [3, 9] }],
    ];
    for (const [shape, args] of cases) {
      for (const alignCorners of [false, true]) {
        const x = randn(shape.reduce((a, b) => a * b), shape.length + 7);
        const r = await both([{ data: x, shape }], (t) => interpolate(t, { ...args, alignCorners }));
        expect(excess(r.gpu, r.cpu, 1e-6, 1e-6), `${JSON.stringify(shape)} ${JSON.stringify(args)} ac=${alignCorners}`).toBeLessThanOrEqual(0);
      }
    }
  });

  it('bicubic keeps a constant map constant and copies an identity resize exactly', async () => {
    const c = on('webgpu', new Float32Array(5 * 6).fill(7.25), [1, 1, 5, 6]);
    for (const size of [[9, 11], [3, 4], [17, 5]]) {
      for (const alignCorners of [false, true]) {
        expect(new Set((await keepT(interpolate(c, { mode: 'bicubic', size, alignCorners })).data()) as Float32Array)).toEqual(new Set([7.25]));
      }
    }
    const x = randn(30, 3);
    const y = (await keepT(interpolate(on('webgpu', x, [1, 1, 5, 6]), { mode: 'bicubic', size: [5, 6], alignCorners: true })).data()) as Float32Array;
    expect(Array.from(y)).toEqual(Array.from(x));
  });

  it('float16: nearest bit-exact, linear / bicubic within one half-precision rounding', async () => {
    const x = randn(2 * 3 * 5 * 6, 5);
    const shape = [2, 3, 5, 6];
    const n = await both([{ data: x, shape }], (t) => interpolate(t, { mode: 'nearest', size: [7, 11] }), 'float16');
    expect(Array.from(n.gpu)).toEqual(Array.from(n.cpu));
    for (const mode of ['bilinear', 'bicubic'] as const) {
      const r = await both([{ data: x, shape }], (t) => interpolate(t, { mode, size: [9, 4] }), 'float16');
      expect(excess(r.gpu, r.cpu, 1e-3, 1e-3)).toBeLessThanOrEqual(0);
    }
    // odd element count: the last word holds one value
    const odd = await both([{ data: randn(7, 1), shape: [1, 1, 7] }], (t) => interpolate(t, { mode: 'linear', size: 9 }), 'float16');
    expect(excess(odd.gpu, odd.cpu, 1e-3, 1e-3)).toBeLessThanOrEqual(0);
  });

  it('gridSample, every mode × padding × alignCorners, grids inside, outside and on half-pixel ties: nearest bit-exact, bilinear within 1e-6', async () => {
    const [N, C, H, W] = [2, 3, 5, 7];
    const [Ho, Wo] = [6, 9];
    const x = randn(N * C * H * W, 8);
    const r = rng(9);
    const grids = [
      // uniform over [-1.6, 1.6]
      Float32Array.from({ length: N * Ho * Wo * 2 }, () => r() * 3.2 - 1.6),
      // multiples of 1/14 and 1/10: source coordinates on exact half pixels (round-half-even ties)
      Float32Array.from({ length: N * Ho * Wo * 2 }, (_, i) => (i % 2 ? Math.round(r() * 20 - 10) / 5 : Math.round(r() * 28 - 14) / 7)),
      // far outside: several reflections
      Float32Array.from({ length: N * Ho * Wo * 2 }, () => r() * 30 - 15),
    ];
    for (const g of grids) {
      for (const mode of ['bilinear', 'nearest'] as const) {
        for (const paddingMode of ['zeros', 'border', 'reflection'] as const) {
          for (const alignCorners of [false, true]) {
            const res = await both(
              [
                { data: x, shape: [N, C, H, W] },
                { data: g, shape: [N, Ho, Wo, 2] },
              ],
              (t, gr) => gridSample(t, gr, { mode, paddingMode, alignCorners }),
            );
            const label = `${mode} ${paddingMode} ac=${alignCorners}`;
            if (mode === 'nearest') expect(Array.from(res.gpu), label).toEqual(Array.from(res.cpu));
            else expect(excess(res.gpu, res.cpu, 1e-6, 1e-6), label).toBeLessThanOrEqual(0);
          }
        }
      }
    }
  });

  it('gridSample float16 and a 1-pixel-wide map (reflection over a zero span)', async () => {
    const r = rng(4);
    const g = Float32Array.from({ length: 1 * 4 * 5 * 2 }, () => r() * 3 - 1.5);
    const res = await both(
      [
        { data: randn(2 * 3 * 4, 2), shape: [1, 2, 3, 4] },
        { data: g, shape: [1, 4, 5, 2] },
      ],
      (t, gr) => gridSample(t, gr, { paddingMode: 'reflection' }),
      'float16',
    );
    expect(excess(res.gpu, res.cpu, 1e-3, 1e-3)).toBeLessThanOrEqual(0);
    for (const alignCorners of [false, true]) {
      const one = await both(
        [
          { data: randn(3, 3), shape: [1, 1, 3, 1] },
          { data: g, shape: [1, 4, 5, 2] },
        ],
        (t, gr) => gridSample(t, gr, { paddingMode: 'reflection', alignCorners, mode: 'nearest' }),
      );
      expect(Array.from(one.gpu)).toEqual(Array.from(one.cpu));
    }
  });

  it('50 iterations of interpolate + gridSample leave live tensors, bytes and the buffer pool where they were', async () => {
    const xv = randn(2 * 3 * 8 * 8, 1);
    const gv = randn(2 * 5 * 5 * 2, 2);
    const step = async () => {
      const x = tensor(xv, [2, 3, 8, 8], { backend: 'webgpu' });
      const g = tensor(gv, [2, 5, 5, 2], { backend: 'webgpu' });
      const a = interpolate(x, { mode: 'bilinear', size: [13, 5] });
      const b = interpolate(x, { mode: 'bicubic', scaleFactor: 1.5 });
      const c = gridSample(x, g, { paddingMode: 'reflection' });
      await c.data();
      for (const t of [x, g, a, b, c]) t.dispose();
    };
    await expectSteadyState(be, step, 50);
  });

  it('raised no GPU errors (shader compilation, validation) in this file', async () => {
    await be.sync();
    expect(be.stats().gpuErrors).toBe(0);
  });
});
