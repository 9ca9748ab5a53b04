/** createPoseEstimator / estimatePoses: the whole top-down pipeline, its API, bookkeeping and errors (tiny official weights). */
import { type StateDict, memory, tensor } from '@tubelet/core';
import { configFromOfficial } from '@tubelet/models';
import { describe, expect, it } from 'vitest';
import { COCO_KEYPOINT_NAMES, TopDownPose, boxToCenterScale, createPoseEstimator, oksIou, parsePersonBox, rescorePose } from '../src/index';
import { readPoseFixture } from './pose-helpers';

const io = readPoseFixture('pose_tiny.io.safetensors');
const w = readPoseFixture('pose_tiny.weights.safetensors');
const meta = io.config as { head: { num_joints: number; deconv_filters: number[]; deconv_kernels: number[] } };
const CONFIG = {
  backbone: configFromOfficial(io.config),
  head: { numJoints: meta.head.num_joints, deconvFilters: meta.head.deconv_filters, deconvKernels: meta.head.deconv_kernels, finalConvKernel: 1 as const },
  imageSize: [96, 128] as [number, number],
};

/** A 200×160 RGB test picture: smooth gradients plus a bright blob, so crops differ. */
function picture(width = 200, height = 160) {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = 3 * (y * width + x);
      const blob = Math.exp(-((x - 120) ** 2 + (y - 70) ** 2) / 300) * 200;
      data[i] = (x * 255) / width;
      data[i + 1] = Math.min(255, (y * 255) / height + blob);
      data[i + 2] = ((x + y) * 7) % 256;
    }
  }
  return { data, width, height };
}

describe('createPoseEstimator / estimatePoses', () => {
  it('poses with COCO keypoint names, rescored scores and boxes; equal to the model run by hand; memory back to start', async () => {
    const est = await createPoseEstimator(CONFIG, { weights: w.tensors, batchSize: 2 });
    const img = picture();
    const boxes = [
      { bbox: [100, 40, 50, 70], score: 0.9 },
      [10, 20, 60, 100, 0.6] as const,
      { x: 150, y: 100, width: 40, height: 50, score: 0.3 },
    ];
    const before = memory();
    const poses = await est.estimatePoses(img, { boxes, nms: false });
    expect(memory()).toEqual(before);
    expect(poses).toHaveLength(3);
    for (const p of poses) {
      expect(p.keypoints.map((k) => k.name)).toEqual([...COCO_KEYPOINT_NAMES]);
      expect(p.score).toBeCloseTo(rescorePose(p.keypoints.flatMap((k) => [k.x, k.y, k.score]), p.boxScore), 12);
    }
    // sorted by score, boxes carried through
    expect(poses.map((p) => p.score)).toEqual([...poses.map((p) => p.score)].sort((a, b) => b - a));
    const first = poses.find((p) => p.boxIndex === 0)!;
    expect(first.box).toEqual({ xMin: 100, yMin: 40, xMax: 150, yMax: 110, width: 50, height: 70 });
    expect(first.boxScore).toBe(0.9);

    // the same numbers by hand: crop → forwardOutputs(decode_preds) with the boxes' center/scale
    const cs = boxes.map((b, i) => boxToCenterScale(parsePersonBox(b, i).xywh, CONFIG.imageSize));
    const image = tensor(img.data, [img.height, img.width, 3], { dtype: 'uint8' });
    const x = est.crops(image, cs);
    const got = await est.model.forwardOutputs(x, { outputs: ['decode_preds'], center: cs.flatMap((c) => c.center), scale: cs.flatMap((c) => c.scale) });
    const dp = got.get('decode_preds')!.dataSync() as Float32Array;
    for (const p of poses) {
      p.keypoints.forEach((k, j) => {
        const o = 3 * (p.boxIndex * 17 + j);
        expect([k.x, k.y, k.score]).toEqual([dp[o], dp[o + 1], dp[o + 2]]);
      });
    }
    for (const t of [image, x, ...got.values()]) t.dispose();

    // OKS-NMS: the same box twice gives identical poses (OKS 1 > 0.9) → one is dropped
    const dup = await est.estimatePoses(img, { boxes: [boxes[0]!, boxes[0]!, boxes[1]!] });
    expect(dup).toHaveLength(2);
    expect(oksIou(dup[0]!.keypoints.flatMap((k) => [k.x, k.y, k.score]), [dup[1]!.keypoints.flatMap((k) => [k.x, k.y, k.score])], dup[0]!.area, [dup[1]!.area])[0]).toBeLessThanOrEqual(0.9);
    expect(memory()).toEqual(before);

    // no boxes: the whole image; threshold drops boxes; rescore off keeps the box score
    const whole = await est.estimatePoses(img);
    expect(whole).toHaveLength(1);
    expect(whole[0]!.box).toMatchObject({ xMin: 0, yMin: 0, width: 200, height: 160 });
    expect(await est.estimatePoses(img, { boxes, boxScoreThreshold: 0.95 })).toEqual([]);
    const raw = await est.estimatePoses(img, { boxes: [boxes[2]!], rescore: false, flipTest: false });
    expect(raw[0]!.score).toBe(0.3);
    expect(memory()).toEqual(before);

    const weights = memory().numTensors;
    est.dispose();
    expect(memory().numTensors).toBeLessThan(weights);
    await expect(est.estimatePoses(img)).rejects.toThrow(/disposed/);
  });

  it("keypoints land where the heatmaps say: constant heatmaps (zero weights, final bias 1) put every keypoint at its crop's top-left corner", async () => {
    const shapes = new TopDownPose(CONFIG).stateDictShapes();
    const sd: StateDict = new Map();
    for (const [k, shape] of shapes) {
      if (k.endsWith('num_batches_tracked')) continue;
      const n = shape.reduce((a, b) => a * b, 1);
      sd.set(k, { dtype: 'F32', shape, data: new Float32Array(n).fill(k === 'keypoint_head.final_layer.bias' || k.endsWith('running_var') ? 1 : 0) });
    }
    const est = await createPoseEstimator(CONFIG, { weights: sd });
    const boxes = [
      [20, 30, 40, 100, 0.8],
      [120, 10, 70, 50, 0.7],
    ] as const;
    const poses = await est.estimatePoses(picture(), { boxes, nms: false });
    for (const p of poses) {
      const { center, scale } = boxToCenterScale(parsePersonBox(boxes[p.boxIndex]!).xywh, CONFIG.imageSize);
      const x0 = Math.fround(center[0] - Math.fround(Math.fround(scale[0] * 200) * 0.5));
      const y0 = Math.fround(center[1] - Math.fround(Math.fround(scale[1] * 200) * 0.5));
      for (const k of p.keypoints) expect([k.x, k.y, k.score]).toEqual([x0, y0, 1]);
      expect(p.score).toBeCloseTo(p.boxScore, 6); // every keypoint scores 1 > 0.2
    }
    // box 0 is taller than 3:4, so the crop is widened around its centre: corner left of the box
    const p0 = poses.find((p) => p.boxIndex === 0)!;
    expect(p0.keypoints[0]!.x).toBeCloseTo(40 - (100 * 0.75 * 1.25) / 2, 4);
    expect(p0.keypoints[0]!.y).toBeCloseTo(80 - (100 * 1.25) / 2, 4);
    est.dispose();
  });

  it('rejects bad images and boxes with a clear message', async () => {
    const est = await createPoseEstimator(CONFIG, { seed: 1 });
    await expect(est.estimatePoses({ data: new Uint8Array(10), width: 4, height: 4 })).rejects.toThrow(/10 bytes, expected width·height·3 = 48/);
    await expect(est.estimatePoses({ data: new Uint8Array(48), width: 4, height: 4 }, { boxes: [[1, 2, 3] as never] })).rejects.toThrow(/box 0: expected \[x, y, w, h\]/);
    await expect(est.estimatePoses({ data: new Uint8Array(48), width: 4, height: 4 }, { boxes: [[1, 2, NaN, 3]] })).rejects.toThrow(/finite/);
    est.dispose();
    await expect(createPoseEstimator('uniformer-q-pose', { seed: 0 })).rejects.toThrow(/unknown pose config/);
  });
});
