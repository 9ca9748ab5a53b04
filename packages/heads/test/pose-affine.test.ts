/** Box → center/scale → affine matrix → OpenCV fixed-point crop → normalised input (pose_affine_s0, pose_decode_s0 cs tables). */
import { memory, tensor, warpAffine } from '@tubelet/core';
import { describe, expect, it } from 'vitest';
import { PoseEstimator, TopDownPose, boxToCenterScale, getAffineTransform, invertAffine } from '../src/index';
import { maxDiff, readPoseFixture, rows } from './pose-helpers';

const aff = readPoseFixture('pose_affine_s0.safetensors');
const crops = aff.config.crops as { name: string; box_xywh: [number, number, number, number]; out_wh: [number, number]; rot: number; full: boolean }[];
const imgRaw = aff.get('image_rgb_hwc');
const imageU8 = Uint8Array.from(imgRaw.data as Float32Array);

describe('pose_affine_s0', () => {
  it('the fixture image is uint8 RGB', () => {
    expect(imgRaw.shape).toEqual([120, 100, 3]);
    expect((imgRaw.data as Float32Array).every((v, i) => v === imageU8[i])).toBe(true);
  });

  for (const c of crops) {
    it(`crop ${c.name} (${c.out_wh.join('×')}, rot ${c.rot}°): center/scale exact, M and M_inv ≤ 1e-4, cv2 crop bit-exact`, () => {
      const cs = boxToCenterScale(c.box_xywh, c.out_wh);
      expect(cs.center).toEqual(Array.from(aff.f32(`${c.name}.center`)));
      expect(cs.scale).toEqual(Array.from(aff.f32(`${c.name}.scale`)));
      const M = getAffineTransform(cs.center, cs.scale, c.rot, c.out_wh);
      const Minv = getAffineTransform(cs.center, cs.scale, c.rot, c.out_wh, true);
      expect(maxDiff(M, aff.f32(`${c.name}.M`)).max).toBeLessThan(1e-4);
      expect(maxDiff(Minv, aff.f32(`${c.name}.M_inv`)).max).toBeLessThan(1e-4);
      expect(maxDiff(invertAffine(M), Minv).max).toBeLessThan(1e-9);
      const img = tensor(imageU8, [120, 100, 3], { dtype: 'uint8' });
      const out = warpAffine(img, M, { size: c.out_wh });
      const ref = aff.f32(`${c.name}.crop_uint8_hwc`);
      expect(out.shape).toEqual([c.out_wh[1], c.out_wh[0], 3]);
      const d = maxDiff(out.dataSync() as Float32Array, ref);
      expect(d.bad, `${d.bad} pixels differ (max ${d.max})`).toBe(0);
      img.dispose();
      out.dispose();
    });
  }

  it("crop a: the 'exact' float warp equals crop_exact_float_hwc (≤ 1e-3) and differs from cv2 by ≤ 8 levels (mean ≤ 0.5)", () => {
    const c = crops.find((k) => k.name === 'a')!;
    const cs = boxToCenterScale(c.box_xywh, c.out_wh);
    const M = getAffineTransform(cs.center, cs.scale, 0, c.out_wh);
    const img = tensor(Float32Array.from(imageU8), [120, 100, 3]);
    const out = warpAffine(img, M, { size: c.out_wh, mode: 'exact' });
    const got = out.dataSync() as Float32Array;
    expect(maxDiff(got, aff.f32('a.crop_exact_float_hwc')).max).toBeLessThanOrEqual(1e-3);
    const cv = aff.f32('a.crop_uint8_hwc');
    let sum = 0;
    for (let i = 0; i < cv.length; i++) sum += Math.abs(got[i]! - cv[i]!);
    expect(maxDiff(got, cv).max).toBeLessThanOrEqual(8);
    expect(sum / cv.length).toBeLessThanOrEqual(0.5);
    img.dispose();
    out.dispose();
  });

  it('crop a: the normalised CHW input (ToTensor + NormalizeTensor) matches a.input_chw', () => {
    const c = crops.find((k) => k.name === 'a')!;
    const model = new TopDownPose({ backbone: { depth: [1, 1, 1, 1], embedDim: [8, 16, 16, 16], headDim: 8 }, head: { deconvFilters: [8], deconvKernels: [4] }, imageSize: c.out_wh });
    const est = new PoseEstimator(model);
    const img = tensor(imageU8, [120, 100, 3], { dtype: 'uint8' });
    const before = memory().numTensors;
    const x = est.crops(img, [boxToCenterScale(c.box_xywh, c.out_wh)]);
    expect(x.shape).toEqual([1, 3, 256, 192]);
    const d = maxDiff(x.dataSync() as Float32Array, aff.f32('a.input_chw'), 1e-6, 1e-6);
    expect(d.bad, `max ${d.max}`).toBe(0);
    x.dispose();
    expect(memory().numTensors).toBe(before);
    img.dispose();
  });

  it('several crops at once give [K, H, W, C], each equal to its single crop', () => {
    const img = tensor(imageU8, [120, 100, 3], { dtype: 'uint8' });
    const small = crops.filter((c) => c.out_wh[0] === 48);
    const mats = small.map((c) => {
      const cs = boxToCenterScale(c.box_xywh, c.out_wh);
      return getAffineTransform(cs.center, cs.scale, c.rot, c.out_wh);
    });
    const out = warpAffine(img, mats, { size: [48, 64] });
    expect(out.shape).toEqual([small.length, 64, 48, 3]);
    const all = out.dataSync() as Float32Array;
    small.forEach((c, i) => {
      const ref = aff.f32(`${c.name}.crop_uint8_hwc`);
      expect(maxDiff(all.subarray(i * ref.length, (i + 1) * ref.length), ref).max).toBe(0);
    });
    img.dispose();
    out.dispose();
  });
});

describe('pose_decode_s0 box → center/scale tables', () => {
  const dec = readPoseFixture('pose_decode_s0.safetensors');
  const boxes = rows(dec.f32('cs.boxes_xywh'), 4) as [number, number, number, number][];
  for (const [name, size] of [
    ['cs_256x192', [192, 256]],
    ['cs_384x288', [288, 384]],
  ] as const) {
    it(`${name}: float32-exact`, () => {
      const got = boxes.map((b) => boxToCenterScale(b, size));
      expect(got.map((g) => g.center)).toEqual(rows(dec.f32(`${name}.center`), 2));
      expect(got.map((g) => g.scale)).toEqual(rows(dec.f32(`${name}.scale`), 2));
    });
  }
});
