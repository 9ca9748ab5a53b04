/** TopDownSimpleHead, flip test and decoding against pose_head_s0; decoding edge cases of pose_decode_s0; OKS helpers. */
import { type Tensor, memory, rawToTensor } from '@tubelet/core';
import { afterAll, describe, expect, it } from 'vitest';
import { TopDownSimpleHead, boxToCenterScale, flipBackHeatmaps, flipTestHeatmaps, gaussianKernel, keypointsFromHeatmaps, oksIou, oksNms, rescorePose } from '../src/index';
import { maxDiff, readPoseFixture, rows } from './pose-helpers';

const report: string[] = [];
afterAll(() => console.log(`pose parity:\n  ${report.join('\n  ')}`));

const HM_TOL = { abs: 1e-4, rel: 1e-4 };

describe('pose_head_s0: TopDownSimpleHead + flip test + decode', () => {
  const f = readPoseFixture('pose_head_s0.safetensors');
  const dims = (f.config as { dims: { in_channels: number; deconv_filters: number; num_deconv_layers: number; deconv_kernel: number; out_channels: number } }).dims;
  const head = new TopDownSimpleHead({
    inChannels: dims.in_channels,
    numJoints: dims.out_channels,
    deconvFilters: new Array(dims.num_deconv_layers).fill(dims.deconv_filters),
    deconvKernels: new Array(dims.num_deconv_layers).fill(dims.deconv_kernel),
    finalConvKernel: 1,
  });
  const weights = new Map<string, Tensor>();
  for (const [k, v] of f.tensors) if (k.startsWith('weights.keypoint_head.')) weights.set(k.slice('weights.keypoint_head.'.length), rawToTensor(v));
  head.loadWeights(weights);
  const x = rawToTensor(f.get('x'));
  const xf = rawToTensor(f.get('x_flipped_img'));
  const before = memory();
  const hm = head.forward(x);
  const raw = head.forward(xf);
  const { back, average } = flipTestHeatmaps(hm, raw);
  const hmShape = f.get('heatmaps').shape;

  it('state dict keys are the mmpose keypoint_head keys', () => {
    const want = [...f.tensors.keys()].filter((k) => k.startsWith('weights.keypoint_head.')).map((k) => k.slice('weights.keypoint_head.'.length));
    expect([...head.parameterShapes().keys()]).toEqual(want);
    expect([...head.stateDictShapes().keys()].filter((k) => k.endsWith('num_batches_tracked'))).toEqual(['deconv_layers.1.num_batches_tracked', 'deconv_layers.4.num_batches_tracked', 'deconv_layers.7.num_batches_tracked']);
  });

  for (const [name, get] of [
    ['heatmaps', () => hm],
    ['heatmaps_flipped_raw', () => raw],
    ['heatmaps_flip_back_shifted', () => back],
    ['heatmaps_flip_avg', () => average],
  ] as const) {
    it(`${name} within 1e-4 + 1e-4·|ref|`, () => {
      const t = get();
      expect(t.shape).toEqual(hmShape);
      const d = maxDiff(t.dataSync() as Float32Array, f.f32(name), HM_TOL.abs, HM_TOL.rel);
      report.push(`pose_head_s0 ${name}: max |Δ| ${d.max.toExponential(2)}`);
      expect(d.bad, `${d.bad} values outside, max ${d.max}`).toBe(0);
    });
  }

  it('flip back + shift of the STORED raw maps reproduces the stored flip_back_shifted exactly', () => {
    const r = rawToTensor(f.get('heatmaps_flipped_raw'));
    const b = flipBackHeatmaps(r);
    expect(maxDiff(b.dataSync() as Float32Array, f.f32('heatmaps_flip_back_shifted')).max).toBe(0);
    const noShift = flipBackHeatmaps(r, { shift: false });
    const bd = b.dataSync() as Float32Array;
    const nd = noShift.dataSync() as Float32Array;
    const W = hmShape[3]!;
    // shifted column c+1 == unshifted column c; column 0 keeps its value
    expect(bd[1]).toBe(nd[0]);
    expect(bd[0]).toBe(nd[0]);
    expect(bd[W - 1]).toBe(nd[W - 2]);
    for (const t of [r, b, noShift]) t.dispose();
  });

  it('boxes → center/scale (float32-exact)', () => {
    const size = (f.config as { image_size_wh: [number, number] }).image_size_wh;
    const cs = rows(f.f32('boxes_xywh'), 4).map((b) => boxToCenterScale(b as [number, number, number, number], size));
    expect(cs.map((c) => c.center)).toEqual(rows(f.f32('center'), 2));
    expect(cs.map((c) => c.scale)).toEqual(rows(f.f32('scale'), 2));
  });

  const center = f.f32('center');
  const scale = f.f32('scale');
  const decodeCheck = (label: string, maps: Float32Array, post: 'default' | 'unbiased', refName: string, tolPx: number, kernel = 11) => {
    const d = keypointsFromHeatmaps(maps, hmShape, center, scale, { postProcess: post, kernel });
    const p = maxDiff(d.preds, f.f32(`decode.${refName}.preds`));
    const m = maxDiff(d.maxvals, f.f32(`decode.${refName}.maxvals`));
    report.push(`pose_head_s0 decode ${label}: preds max |Δ| ${p.max.toExponential(2)} px, maxvals ${m.max.toExponential(2)}`);
    expect(p.max).toBeLessThanOrEqual(tolPx);
    expect(m.max).toBeLessThanOrEqual(1e-5);
    return p.max;
  };

  it('decode (default) of the STORED flip-test average: ≤ 1e-3 px, maxvals ≤ 1e-5', () => {
    decodeCheck('default (stored maps)', f.f32('heatmaps_flip_avg'), 'default', 'default', 1e-3);
  });

  it('decode (default) of the STORED heatmaps without flip test matches noflip_default', () => {
    decodeCheck('noflip default (stored maps)', f.f32('heatmaps'), 'default', 'noflip_default', 1e-3);
  });

  it('decode (default) of OUR flip-test average: ≤ 1e-3 px', () => {
    decodeCheck('default (our maps)', average.dataSync() as Float32Array, 'default', 'default', 1e-3);
  });

  it('DARK (unbiased) of the stored average — informative (README: near-singular Hessians on random maps): all but one keypoint ≤ 1e-3 px, all ≤ 1 px', () => {
    decodeCheck('unbiased (stored maps, informative)', f.f32('heatmaps_flip_avg'), 'unbiased', 'unbiased', 1);
    const d = keypointsFromHeatmaps(f.f32('heatmaps_flip_avg'), hmShape, center, scale, { postProcess: 'unbiased', kernel: 11 });
    const ref = f.f32('decode.unbiased.preds');
    const far = [...d.preds].map((v, i) => Math.abs(v - ref[i]!)).filter((e) => e > 1e-3).length;
    expect(far).toBeLessThanOrEqual(2); // one keypoint (x and y) with a ~35-px Newton step off a near-singular Hessian
  });

  it('every intermediate was freed except the four results', () => {
    for (const t of [hm, raw, back, average]) t.dispose();
    expect(memory()).toEqual(before);
    for (const t of [x, xf]) t.dispose();
    head.dispose();
  });
});

describe('pose_decode_s0: decoding edge cases (stored heatmaps, unchanged)', () => {
  const f = readPoseFixture('pose_decode_s0.safetensors');
  const maps = f.f32('heatmaps');
  const shape = f.get('heatmaps').shape;
  const center = f.f32('center');
  const scale = f.f32('scale');
  for (const [name, post, kernel, tolPx] of [
    ['default', 'default', 11, 1e-3],
    ['none', 'none', 11, 1e-3],
    ['unbiased_k11', 'unbiased', 11, 1e-2],
    ['unbiased_k17', 'unbiased', 17, 1e-2],
  ] as const) {
    it(`${name}: preds ≤ ${tolPx} px, maxvals ≤ 1e-5`, () => {
      const d = keypointsFromHeatmaps(maps, shape, center, scale, { postProcess: post, kernel });
      const p = maxDiff(d.preds, f.f32(`${name}.preds`));
      const m = maxDiff(d.maxvals, f.f32(`${name}.maxvals`));
      report.push(`pose_decode_s0 ${name}: preds max |Δ| ${p.max.toExponential(2)} px, maxvals ${m.max.toExponential(2)}`);
      expect(p.max, `worst at ${p.firstBad}`).toBeLessThanOrEqual(tolPx);
      expect(m.max).toBeLessThanOrEqual(1e-5);
    });
  }

  it('all-negative / all-zero channels decode to (-1, -1) mapped to the image; the input is not modified', () => {
    const copy = maps.slice();
    const d = keypointsFromHeatmaps(maps, shape, center, scale);
    expect(maps.every((v, i) => Object.is(v, copy[i]))).toBe(true);
    const [, K, H, W] = shape as [number, number, number, number];
    for (const k of [6, 7]) {
      expect([d.heatmapCoords[2 * k], d.heatmapCoords[2 * k + 1]]).toEqual([-1, -1]);
      const sx = Math.fround(scale[0]! * 200);
      expect(d.preds[2 * k]).toBeCloseTo(-sx / W + center[0]! - sx / 2, 3);
    }
    expect(K).toBe(17);
    expect(H * W).toBe(64 * 48);
  });

  it('OKS: rescoring, oks_iou and OKS-NMS keep', () => {
    const kpts = rows(f.f32('oks.keypoints'), 51);
    const boxScores = Array.from(f.f32('oks.box_scores'));
    const areas = Array.from(f.f32('oks.areas'));
    const rescored = kpts.map((k, i) => rescorePose(k, boxScores[i]!));
    expect(maxDiff(rescored, f.f32('oks.rescored')).max).toBeLessThan(1e-6);
    const ious = oksIou(kpts[0]!, kpts.slice(1), areas[0]!, areas.slice(1));
    expect(maxDiff(ious, f.f32('oks.iou_row0')).max).toBeLessThan(1e-6);
    const keep = oksNms(kpts.map((k, i) => ({ keypoints: k, score: rescored[i]!, area: areas[i]! })), 0.9);
    expect(keep).toEqual(Array.from(f.get('oks.nms_keep_0.9').data as BigInt64Array, Number));
  });

  it('OKS-NMS visits equal scores as numpy argsort()[::-1] (later index first) and suppresses OKS > thr only', () => {
    const k = new Array(51).fill(0).map((_, i) => (i % 3 === 2 ? 1 : i));
    const far = k.map((v, i) => (i % 3 === 2 ? 1 : v + 1000));
    expect(oksNms([{ keypoints: k, score: 0.5, area: 100 }, { keypoints: k, score: 0.5, area: 100 }, { keypoints: far, score: 0.5, area: 100 }])).toEqual([2, 1]);
    expect(oksNms([])).toEqual([]);
  });

  it("OpenCV's Gaussian kernel (k 11: σ 2) sums to 1 and is symmetric", () => {
    const g = gaussianKernel(11);
    expect(g.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(g[0]).toBe(g[10]);
    expect(g[5]! / g[3]!).toBeCloseTo(Math.exp(4 / 8), 5);
  });
});
