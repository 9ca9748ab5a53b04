import { describe, expect, it } from 'vitest';
import { type InterpolateArgs, f16BitsToF32, f32ToF16Bits, gridSample, interpolate, tensor } from '../src/index';
import { registerResampleKernels } from '../src/cpu/kernels/resample';
import { expectAllClose, lcg, prod, rand } from './helpers';

registerResampleKernels();

const next = lcg(12345);
const randn = (n: number, lo = -1, hi = 1) => rand(next, n, lo, hi);

// ---------------------------------------------------------------------------------------------
// Independent float64 references written from the PyTorch definitions (naive loops)

/** The source-per-destination ratio torch uses (area_pixel_compute_scale). */
function torchScale(inS: number, outS: number, alignCorners: boolean, sf: number | undefined): number {
  if (alignCorners) return outS > 1 ? (inS - 1) / (outS - 1) : 0;
  return sf !== undefined ? 1 / sf : inS / outS;
}

/** Per-axis taps [index, weight][] for output coordinate `d` of one axis. */
function taps(mode: 'nearest' | 'linear' | 'bicubic', d: number, inS: number, outS: number, alignCorners: boolean, sf?: number): [number, number][] {
  const scale = torchScale(inS, outS, alignCorners, sf);
  if (mode === 'nearest') {
    // torch nearest_idx: shortcuts for out == in and out == 2 in; otherwise floor in float32
    if (outS === inS) return [[d, 1]];
    if (outS === 2 * inS) return [[Math.floor(d / 2), 1]];
    return [[Math.min(Math.floor(Math.fround(d * Math.fround(scale))), inS - 1), 1]];
  }
  if (mode === 'linear') {
    if (outS === inS) return [[d, 1]];
    const src = alignCorners ? d * scale : Math.max((d + 0.5) * scale - 0.5, 0);
    const i0 = Math.floor(src);
    const l = src - i0;
    return [
      [i0, 1 - l],
      [Math.min(i0 + 1, inS - 1), l],
    ];
  }
  // bicubic, Keys kernel with A = -0.75, source not clamped, taps clamped to the border
  const src = alignCorners ? d * scale : (d + 0.5) * scale - 0.5;
  const i = Math.floor(src);
  const A = -0.75;
  const W = (x: number) => {
    const t = Math.abs(x);
    if (t <= 1) return (A + 2) * t ** 3 - (A + 3) * t ** 2 + 1;
    if (t < 2) return A * t ** 3 - 5 * A * t ** 2 + 8 * A * t - 4 * A;
    return 0;
  };
  const out: [number, number][] = [];
  for (let k = -1; k <= 2; k++) out.push([Math.min(Math.max(i + k, 0), inS - 1), W(src - (i + k))]);
  return out;
}

function refInterpolate(x: Float32Array, shape: number[], mode: 'nearest' | 'linear' | 'bicubic', size: number[], alignCorners = false, sf?: number[]): Float64Array {
  const inSp = shape.slice(2);
  const d = inSp.length;
  const planes = shape[0]! * shape[1]!;
  const out = new Float64Array(planes * prod(size));
  const inStr = inSp.map((_, i) => prod(inSp.slice(i + 1)));
  const o = new Array<number>(d).fill(0);
  let q = 0;
  for (let p = 0; p < planes; p++) {
    for (let flat = 0; flat < prod(size); flat++) {
      let r = flat;
      for (let i = d - 1; i >= 0; i--) {
        o[i] = r % size[i]!;
        r = Math.floor(r / size[i]!);
      }
      const perAxis = o.map((v, i) => taps(mode, v, inSp[i]!, size[i]!, alignCorners, sf?.[i]));
      // sum over the cartesian product of the per-axis taps
      let acc = 0;
      const rec = (axis: number, off: number, w: number): void => {
        if (axis === d) {
          acc += w * x[p * prod(inSp) + off]!;
          return;
        }
        for (const [idx, wt] of perAxis[axis]!) rec(axis + 1, off + idx * inStr[axis]!, w * wt);
      };
      rec(0, 0, 1);
      out[q++] = acc;
    }
  }
  return out;
}

function reflectRef(v: number, lo: number, hi: number): number {
  // reflect into [lo, hi] by mirroring repeatedly
  if (lo === hi) return 0;
  const span = hi - lo;
  let t = Math.abs(v - lo) % (2 * span);
  if (t > span) t = 2 * span - t;
  return lo + t;
}

function refGridSample(x: Float32Array, shape: number[], grid: Float32Array, gShape: number[], mode: 'bilinear' | 'nearest', padding: 'zeros' | 'border' | 'reflection', alignCorners: boolean): Float64Array {
  const [N, C, H, W] = shape as [number, number, number, number];
  const [, Ho, Wo] = gShape as [number, number, number, number];
  const out = new Float64Array(N * C * Ho * Wo);
  const coord = (g: number, S: number) => {
    let c = alignCorners ? ((g + 1) / 2) * (S - 1) : ((g + 1) * S - 1) / 2;
    if (padding === 'border') c = Math.min(Math.max(c, 0), S - 1);
    if (padding === 'reflection') {
      c = alignCorners ? reflectRef(c, 0, S - 1) : reflectRef(c, -0.5, S - 0.5);
      c = Math.min(Math.max(c, 0), S - 1);
    }
    return c;
  };
  const at = (n: number, c: number, yy: number, xx: number) => (yy >= 0 && yy < H && xx >= 0 && xx < W ? x[((n * C + c) * H + yy) * W + xx]! : 0);
  const rhe = (v: number) => {
    const f = Math.floor(v);
    const diff = v - f;
    if (diff > 0.5) return f + 1;
    if (diff < 0.5) return f;
    return f % 2 === 0 ? f : f + 1;
  };
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let i = 0; i < Ho; i++)
        for (let j = 0; j < Wo; j++) {
          const g = 2 * ((n * Ho + i) * Wo + j);
          const ix = coord(grid[g]!, W);
          const iy = coord(grid[g + 1]!, H);
          let v: number;
          if (mode === 'nearest') v = at(n, c, rhe(iy), rhe(ix));
          else {
            const x0 = Math.floor(ix);
            const y0 = Math.floor(iy);
            const fx = ix - x0;
            const fy = iy - y0;
            v = (1 - fy) * ((1 - fx) * at(n, c, y0, x0) + fx * at(n, c, y0, x0 + 1)) + fy * ((1 - fx) * at(n, c, y0 + 1, x0) + fx * at(n, c, y0 + 1, x0 + 1));
          }
          out[((n * C + c) * Ho + i) * Wo + j] = v;
        }
  return out;
}

const run = (x: Float32Array, shape: number[], args: InterpolateArgs) => interpolate(tensor(x, shape), args).dataSync() as Float32Array;

// ---------------------------------------------------------------------------------------------

describe('interpolate (cpu): closed-form cases', () => {
  it('nearest 2x upsample of [[1,2],[3,4]]', () => {
    const y = interpolate(tensor([1, 2, 3, 4], [1, 1, 2, 2]), { scaleFactor: 2 });
    expect(y.shape).toEqual([1, 1, 4, 4]);
    expect(Array.from(y.dataSync() as Float32Array)).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
    expect(Array.from(run(Float32Array.of(1, 2, 3, 4), [1, 1, 2, 2], { size: [4, 4] }))).toEqual(Array.from(y.dataSync() as Float32Array));
  });

  it('nearest downsample and non-integer ratios use floor(dst * in/out)', () => {
    expect(Array.from(run(Float32Array.of(1, 2, 3, 4), [1, 1, 4], { size: 2 }))).toEqual([1, 3]);
    // 5 -> 3: floor(d * 5/3) = 0, 1, 3
    expect(Array.from(run(Float32Array.of(0, 1, 2, 3, 4), [1, 1, 5], { size: 3 }))).toEqual([0, 1, 3]);
    // 3 -> 7: floor(d * 3/7) = 0,0,0,1,1,2,2
    expect(Array.from(run(Float32Array.of(0, 1, 2), [1, 1, 3], { size: 7 }))).toEqual([0, 0, 0, 1, 1, 2, 2]);
  });

  it('nearest with out == in is a copy even when the given scaleFactor is not 1 (torch nearest_idx)', () => {
    const x = Float32Array.from({ length: 10 }, (_, i) => i);
    // floor(10 * 1.05) = 10; floor(9 / 1.05) would be 8, torch copies
    expect(Array.from(run(x, [1, 1, 10], { scaleFactor: 1.05 }))).toEqual(Array.from(x));
    // linear has the same out == in shortcut (compute_source_index_and_lambda)
    expect(Array.from(run(x, [1, 1, 10], { mode: 'linear', scaleFactor: 1.05 }))).toEqual(Array.from(x));
  });

  it('nearest with out == 2·in repeats each input twice whatever the given scaleFactor (torch nearest_idx)', () => {
    const x = Float32Array.from({ length: 20 }, (_, i) => i);
    // floor(20 * 2.04) = 40; floor(38 / 2.04) = 18 but torch uses 38 >> 1 = 19
    const y = run(x, [1, 1, 20], { scaleFactor: 2.04 });
    expect(Array.from(y)).toEqual(Array.from({ length: 40 }, (_, i) => i >> 1));
  });

  it('linear alignCorners=false: 2 -> 4 gives half-pixel values [1, 1.25, 1.75, 2]', () => {
    expect(Array.from(run(Float32Array.of(1, 2), [1, 1, 2], { mode: 'linear', size: 4 }))).toEqual([1, 1.25, 1.75, 2]);
    // bilinear: the same along both axes
    const y = run(Float32Array.of(1, 2, 3, 4), [1, 1, 2, 2], { mode: 'bilinear', scaleFactor: 2 });
    expectAllClose(y, [1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4], 1e-7);
  });

  it('bilinear / trilinear alignCorners=true reproduce a linear ramp exactly', () => {
    const [H, W] = [3, 5];
    const x = new Float32Array(H * W);
    for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) x[i * W + j] = 4 * i + j;
    const [oH, oW] = [5, 9];
    const y = run(x, [1, 1, H, W], { mode: 'bilinear', size: [oH, oW], alignCorners: true });
    const want: number[] = [];
    for (let i = 0; i < oH; i++) for (let j = 0; j < oW; j++) want.push((4 * i * (H - 1)) / (oH - 1) + (j * (W - 1)) / (oW - 1));
    expectAllClose(y, want, 1e-6);
    const x3 = new Float32Array(2 * 3 * 4);
    for (let d = 0; d < 2; d++) for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) x3[(d * 3 + i) * 4 + j] = 100 * d + 10 * i + j;
    const y3 = run(x3, [1, 1, 2, 3, 4], { mode: 'trilinear', size: [3, 5, 7], alignCorners: true });
    const w3: number[] = [];
    for (let d = 0; d < 3; d++) for (let i = 0; i < 5; i++) for (let j = 0; j < 7; j++) w3.push(100 * (d / 2) + 10 * (i * 2) / 4 + (j * 3) / 6);
    expectAllClose(y3, w3, 1e-5);
  });

  it('linear downsampling: 4 -> 2 with and without alignCorners', () => {
    const x = Float32Array.of(1, 2, 3, 4);
    expect(Array.from(run(x, [1, 1, 4], { mode: 'linear', size: 2 }))).toEqual([1.5, 3.5]);
    expect(Array.from(run(x, [1, 1, 4], { mode: 'linear', size: 2, alignCorners: true }))).toEqual([1, 4]);
    expect(Array.from(run(x, [1, 1, 4], { mode: 'linear', size: 1, alignCorners: true }))).toEqual([1]);
  });

  it('size 7 from 5 and scaleFactor 1.5 map coordinates differently (5/7 vs 2/3)', () => {
    const x = Float32Array.of(0, 1, 2, 3, 4);
    const bySize = run(x, [1, 1, 5], { mode: 'linear', size: 7 });
    const bySf = run(x, [1, 1, 5], { mode: 'linear', scaleFactor: 1.5 });
    expect(bySf.length).toBe(7);
    // src = (d + 0.5) * scale - 0.5, clamped to [0, 4]
    expectAllClose(bySize, [0, 0.5714285714, 1.2857142857, 2, 2.7142857143, 3.4285714286, 4], 1e-6);
    expectAllClose(bySf, [0, 0.5, 1.1666666667, 1.8333333333, 2.5, 3.1666666667, 3.8333333333], 1e-6);
    // recomputeScaleFactor maps with in/out like the size path
    expectAllClose(run(x, [1, 1, 5], { mode: 'linear', scaleFactor: 1.5, recomputeScaleFactor: true }), bySize, 0);
    // alignCorners=true ignores the given scale: both paths agree
    expectAllClose(run(x, [1, 1, 5], { mode: 'linear', scaleFactor: 1.5, alignCorners: true }), run(x, [1, 1, 5], { mode: 'linear', size: 7, alignCorners: true }), 0);
  });

  it('bicubic of a constant image is the constant', () => {
    const y = run(new Float32Array(3 * 4).fill(2.5), [1, 1, 3, 4], { mode: 'bicubic', size: [7, 5] });
    expectAllClose(y, new Array(35).fill(2.5), 1e-6);
    const y2 = run(new Float32Array(3 * 4).fill(-1), [1, 1, 3, 4], { mode: 'bicubic', size: [2, 9], alignCorners: true });
    expectAllClose(y2, new Array(18).fill(-1), 1e-6);
  });

  it('bicubic 4x4 -> 8x8 matches hand-derived Keys weights (A = -0.75)', () => {
    // src = d/2 - 0.25: even d -> t = 0.75, odd d -> t = 0.25. W(0.25) = 0.87890625,
    // W(0.75) = 0.26171875, W(1.25) = -0.10546875, W(1.75) = -0.03515625; taps clamped at the border.
    const M = [
      [1.10546875, -0.10546875, 0, 0],
      [0.7734375, 0.26171875, -0.03515625, 0],
      [0.2265625, 0.87890625, -0.10546875, 0],
      [-0.10546875, 0.87890625, 0.26171875, -0.03515625],
      [-0.03515625, 0.26171875, 0.87890625, -0.10546875],
      [0, -0.10546875, 0.87890625, 0.2265625],
      [0, -0.03515625, 0.26171875, 0.7734375],
      [0, 0, -0.10546875, 1.10546875],
    ];
    const x = Float32Array.from({ length: 16 }, (_, i) => ((i * 7) % 5) - 1.5 + i / 8);
    const want: number[] = [];
    for (let i = 0; i < 8; i++)
      for (let j = 0; j < 8; j++) {
        let s = 0;
        for (let a = 0; a < 4; a++) for (let b = 0; b < 4; b++) s += M[i]![a]! * M[j]![b]! * x[a * 4 + b]!;
        want.push(s);
      }
    expectAllClose(run(x, [1, 1, 4, 4], { mode: 'bicubic', scaleFactor: 2 }), want, 1e-6);
  });

  it('bicubic overshoots at a step (the result is not clamped)', () => {
    const y = run(Float32Array.of(0, 0, 1, 1), [1, 1, 1, 4], { mode: 'bicubic', size: [1, 8] });
    expect(Math.min(...y)).toBeLessThan(0);
    expect(Math.max(...y)).toBeGreaterThan(1);
  });
});

describe('interpolate (cpu) vs float64 naive references', () => {
  interface Case {
    mode: 'nearest' | 'linear' | 'bicubic';
    shape: number[];
    size?: number[];
    sf?: number[];
    ac?: boolean;
  }
  const cases: Case[] = [
    { mode: 'nearest', shape: [2, 3, 7], size: [12] },
    { mode: 'nearest', shape: [2, 3, 7], size: [3] },
    { mode: 'nearest', shape: [1, 2, 5, 6], size: [9, 4] },
    { mode: 'nearest', shape: [1, 2, 5, 6], sf: [1.7, 0.6] },
    { mode: 'nearest', shape: [1, 2, 3, 4, 5], size: [5, 2, 8] },
    { mode: 'nearest', shape: [1, 2, 3, 4, 5], sf: [2, 2, 2] },
    { mode: 'linear', shape: [2, 3, 7], size: [12] },
    { mode: 'linear', shape: [2, 3, 7], size: [12], ac: true },
    { mode: 'linear', shape: [2, 3, 7], sf: [0.55] },
    { mode: 'linear', shape: [1, 2, 5, 6], size: [9, 4] },
    { mode: 'linear', shape: [1, 2, 5, 6], size: [9, 4], ac: true },
    { mode: 'linear', shape: [1, 2, 5, 6], sf: [1.7, 0.6] },
    { mode: 'linear', shape: [1, 2, 5, 6], size: [1, 1], ac: true },
    { mode: 'linear', shape: [1, 2, 3, 4, 5], size: [5, 2, 8] },
    { mode: 'linear', shape: [1, 2, 3, 4, 5], size: [5, 2, 8], ac: true },
    { mode: 'linear', shape: [1, 2, 3, 4, 5], sf: [1.5, 2.25, 0.8] },
    { mode: 'bicubic', shape: [1, 2, 5, 6], size: [9, 4] },
    { mode: 'bicubic', shape: [1, 2, 5, 6], size: [9, 4], ac: true },
    { mode: 'bicubic', shape: [2, 1, 4, 7], sf: [1.7, 0.6] },
    { mode: 'bicubic', shape: [2, 1, 4, 7], sf: [3, 3], ac: true },
  ];
  for (const c of cases) {
    it(`${c.mode} ${JSON.stringify(c.shape)} ${c.size ? `size ${c.size}` : `scaleFactor ${c.sf}`}${c.ac ? ' alignCorners' : ''}`, () => {
      const x = randn(prod(c.shape), -2, 2);
      const inSp = c.shape.slice(2);
      const size = c.size ?? inSp.map((s, i) => Math.floor(s * c.sf![i]!));
      const args: InterpolateArgs = { mode: c.mode, alignCorners: c.mode === 'nearest' ? undefined : (c.ac ?? false) };
      if (c.size) args.size = c.size;
      else args.scaleFactor = c.sf;
      const y = interpolate(tensor(x, c.shape), args);
      expect(y.shape).toEqual([...c.shape.slice(0, 2), ...size]);
      expectAllClose(y.dataSync() as Float32Array, refInterpolate(x, c.shape, c.mode, size, c.ac ?? false, c.size ? undefined : c.sf), 2e-5);
    });
  }

  it('float16: nearest is exact, bilinear / bicubic within half precision', () => {
    const shape = [1, 2, 5, 6];
    const x32 = randn(prod(shape), -2, 2);
    const x16 = Uint16Array.from(x32, f32ToF16Bits);
    const xr = Float32Array.from(x16, f16BitsToF32); // the values the half tensor holds
    const t = tensor(x16, shape);
    expect(t.dtype).toBe('float16');
    const near = interpolate(t, { size: [9, 4] });
    expect(near.dtype).toBe('float16');
    expect(Array.from(near.dataSync() as Uint16Array, f16BitsToF32)).toEqual(Array.from(refInterpolate(xr, shape, 'nearest', [9, 4])));
    for (const mode of ['linear', 'bicubic'] as const) {
      const y = interpolate(t, { mode, size: [9, 11], alignCorners: mode === 'bicubic' });
      expect(y.dtype).toBe('float16');
      expectAllClose(Array.from(y.dataSync() as Uint16Array, f16BitsToF32), refInterpolate(xr, shape, mode, [9, 11], mode === 'bicubic'), 2e-3, 1e-3);
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('gridSample (cpu)', () => {
  const identityGrid = (N: number, H: number, W: number, alignCorners: boolean) => {
    const g = new Float32Array(N * H * W * 2);
    const norm = (i: number, S: number) => (alignCorners ? (S > 1 ? (2 * i) / (S - 1) - 1 : 0) : (2 * i + 1) / S - 1);
    for (let n = 0; n < N; n++)
      for (let i = 0; i < H; i++)
        for (let j = 0; j < W; j++) {
          g[2 * ((n * H + i) * W + j)] = norm(j, W);
          g[2 * ((n * H + i) * W + j) + 1] = norm(i, H);
        }
    return tensor(g, [N, H, W, 2]);
  };

  it('an identity grid reproduces the input (alignCorners true and false, bilinear and nearest)', () => {
    const shape = [2, 3, 5, 7];
    const x = randn(prod(shape));
    for (const alignCorners of [true, false])
      for (const mode of ['bilinear', 'nearest'] as const) {
        const y = gridSample(tensor(x, shape), identityGrid(2, 5, 7, alignCorners), { mode, alignCorners });
        expect(y.shape).toEqual(shape);
        expectAllClose(y.dataSync() as Float32Array, x, 1e-6);
      }
  });

  // row [0, 10, 20, 30] (H = 1): hand-computed x coordinates
  const row = () => tensor([0, 10, 20, 30], [1, 1, 1, 4]);
  const at = (gx: number[], gy = 0) => tensor(gx.flatMap((v) => [v, gy]), [1, 1, gx.length, 2]);
  const sample = (gx: number[], args: Parameters<typeof gridSample>[2]) => Array.from(gridSample(row(), at(gx), args).dataSync() as Float32Array);

  it('zeros padding: outside samples give 0, partly outside ones fade', () => {
    // alignCorners=false: ix = ((g+1)*4-1)/2 -> g=1.5: 4.5 (outside), g=0.9: 3.3 -> 0.7*30, g=-3: outside
    expectAllClose(sample([1.5, 0.9, -3, 0], { alignCorners: false }), [0, 21, 0, 15], 1e-5);
    // alignCorners=true: ix = (g+1)*1.5 -> g=1: 3 -> 30, g=1.2: 3.3 -> 0.7*30
    expectAllClose(sample([1, 1.2, -1], { alignCorners: true }), [30, 21, 0], 1e-5);
    // and the y direction (H = 1): y outside [-1, 1] maps outside the single row
    expectAllClose(Array.from(gridSample(row(), at([0], 3), {}).dataSync() as Float32Array), [0], 0);
  });

  it('border padding clamps the coordinate', () => {
    expectAllClose(sample([1.5, 0.9, -3, 0], { paddingMode: 'border' }), [30, 30, 0, 15], 1e-5);
    expectAllClose(sample([5, -5], { paddingMode: 'border', alignCorners: true }), [30, 0], 1e-5);
  });

  it('reflection padding mirrors at the edges (alignCorners false: about -0.5 / W-0.5; true: about 0 / W-1)', () => {
    // false: g=1.5 -> 4.5 -> reflect about 3.5 -> 2.5 -> 25; g=-1.5 -> -1.5 -> reflect about -0.5 -> 0.5 -> 5
    expectAllClose(sample([1.5, -1.5, 0.9], { paddingMode: 'reflection' }), [25, 5, 30], 1e-5);
    // true: g=1.5 -> 3.75 -> reflect about 3 -> 2.25 -> 22.5; g=-1.4 -> -0.6 -> 0.6 -> 6; g=3.5 -> 6.75 -> 0.75 (two flips) -> 7.5
    expectAllClose(sample([1.5, -1.4, 3.5], { paddingMode: 'reflection', alignCorners: true }), [22.5, 6, 7.5], 1e-5);
  });

  it('nearest rounds half to even', () => {
    // alignCorners=false: g=-0.5 -> 0.5 -> 0, g=0 -> 1.5 -> 2, g=0.5 -> 2.5 -> 2, g=0.25 -> 2.0 -> 2
    expect(sample([-0.5, 0, 0.5, 0.25], { mode: 'nearest' })).toEqual([0, 20, 20, 20]);
  });

  const combos: ['bilinear' | 'nearest', 'zeros' | 'border' | 'reflection', boolean][] = [];
  for (const m of ['bilinear', 'nearest'] as const) for (const p of ['zeros', 'border', 'reflection'] as const) for (const ac of [false, true]) combos.push([m, p, ac]);
  for (const [mode, paddingMode, alignCorners] of combos) {
    it(`random grid vs float64 reference: ${mode} ${paddingMode} alignCorners=${alignCorners}`, () => {
      const shape = [2, 3, 6, 5];
      const gShape = [2, 4, 7, 2];
      const x = randn(prod(shape), -2, 2);
      const g = randn(prod(gShape), -1.6, 1.6);
      const y = gridSample(tensor(x, shape), tensor(g, gShape), { mode, paddingMode, alignCorners });
      expect(y.shape).toEqual([2, 3, 4, 7]);
      expectAllClose(y.dataSync() as Float32Array, refGridSample(x, shape, g, gShape, mode, paddingMode, alignCorners), 2e-5);
    });
  }

  it('float16 input and grid', () => {
    const shape = [1, 2, 6, 5];
    const gShape = [1, 3, 4, 2];
    const x = Float32Array.from(Uint16Array.from(randn(prod(shape), -2, 2), f32ToF16Bits), f16BitsToF32);
    const g = Float32Array.from(Uint16Array.from(randn(prod(gShape), -1.2, 1.2), f32ToF16Bits), f16BitsToF32);
    const y = gridSample(tensor(Uint16Array.from(x, f32ToF16Bits), shape), tensor(Uint16Array.from(g, f32ToF16Bits), gShape), { paddingMode: 'border' });
    expect(y.dtype).toBe('float16');
    expectAllClose(Array.from(y.dataSync() as Uint16Array, f16BitsToF32), refGridSample(x, shape, g, gShape, 'bilinear', 'border', false), 2e-3, 1e-3);
  });
});
