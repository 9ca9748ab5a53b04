/**
 * `tubelet pose` (runPose): a real COCO image with its person detections, a tiny random-weight
 * TopDown model, skeleton PNG, JSON, COCO keypoint evaluation; the `tubelet run --arch
 * uniformer-pose` library side against the official pose_tiny vectors; skeleton drawing.
 */
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { memory, parseSafetensors, rawToTensor } from '@tubelet/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageIdFromName, poseModelFromOfficial, poseRunOutputs, readDetections, runPose } from '../src/commands/pose';
import { decodeImage } from '../src/media/index';
import { Canvas } from '../src/render/canvas';
import { decodePng } from '../src/render/png';
import { CENTER_COLOR, LEFT_COLOR, RIGHT_COLOR, drawSkeletons, keypointColor, limbColor } from '../src/render/skeleton';

const FIX = fileURLToPath(new URL('./fixtures/pose/', import.meta.url));
const HEADS_FIX = fileURLToPath(new URL('../../../packages/heads/test/fixtures/pose/', import.meta.url));
const IMG = join(FIX, '000000040083.jpg');
const DETS = join(FIX, 'dets_40083.json');
const GT = join(FIX, 'gt_40083.json');

const TINY = { backbone: { depth: [1, 1, 1, 1], embedDim: [16, 32, 48, 64], headDim: 16 }, head: { deconvFilters: [32, 32, 32], deconvKernels: [4, 4, 4] }, imageSize: [96, 128] };

let dir = '';
let tinyJson = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tubelet-pose-'));
  tinyJson = join(dir, 'tiny.json');
  writeFileSync(tinyJson, JSON.stringify(TINY));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('tubelet pose', () => {
  it('poses for every detection of a COCO image, a skeleton PNG, JSON and COCO keypoint AP', async () => {
    const out = join(dir, 'skeleton.png');
    const lines: string[] = [];
    const r = await runPose({ images: [IMG], model: tinyJson, seed: 0, boxes: DETS, out, json: true, cocoEval: GT }, (l) => lines.push(l));
    const im = r.images[0]!;
    expect(im).toMatchObject({ imageId: 40083, width: 500, height: 333, boxes: 26, out });
    expect(im.poses.length).toBeGreaterThan(0);
    expect(im.poses.length).toBeLessThanOrEqual(26);
    expect(r.weights).toBe('random');
    // every keypoint lies in its padded crop: centre ± scale·200/2 (mmpose decode maps heatmap cells there)
    for (const p of im.poses) {
      expect(p.keypoints).toHaveLength(17);
      for (const k of p.keypoints) {
        expect(Math.abs(k.x - p.center[0])).toBeLessThanOrEqual((p.scale[0] * 200) / 2 + 1e-3);
        expect(Math.abs(k.y - p.center[1])).toBeLessThanOrEqual((p.scale[1] * 200) / 2 + 1e-3);
      }
    }
    // JSON on stdout
    const j = JSON.parse(lines.join('\n')) as { images: { imageId: number; poses: { keypoints: { name: string }[] }[] }[]; cocoEval: { stats: number[] } };
    expect(j.images[0]!.imageId).toBe(40083);
    expect(j.images[0]!.poses[0]!.keypoints[0]!.name).toBe('nose');
    expect(r.cocoEval!.stats).toHaveLength(10);
    expect(r.cocoEval!.imgIds).toEqual([40083]);
    // the overlay: same size; the last keypoint drawn (on top of everything) has its side's colour
    expect(existsSync(out)).toBe(true);
    const png = decodePng(new Uint8Array(readFileSync(out)));
    expect([png.width, png.height]).toEqual([500, 333]);
    const last = im.poses[im.poses.length - 1]!;
    const k = last.keypoints.map((kp, i) => ({ kp, i })).reverse().find(({ kp }) => kp.x >= 0 && kp.y >= 0 && kp.x < 500 && kp.y < 333)!;
    const at = (Math.floor(k.kp.y) * 500 + Math.floor(k.kp.x)) * 3;
    expect([png.data[at], png.data[at + 1], png.data[at + 2]]).toEqual([...keypointColor(k.i)]);
    const orig = await decodeImage(IMG);
    let changed = 0;
    for (let i = 0; i < orig.data.length; i++) if (orig.data[i] !== png.data[i]) changed++;
    expect(changed).toBeGreaterThan(1000);
  });

  it('human-readable summary, box threshold, several images into a folder; memory back to start', async () => {
    const copy = join(dir, '000000040083.jpg');
    copyFileSync(IMG, copy);
    const before = memory().numTensors;
    const lines: string[] = [];
    const r = await runPose({ images: [IMG, copy], model: tinyJson, seed: 1, boxes: DETS, boxThr: 0.9, out: join(dir, 'many') }, (l) => lines.push(l));
    expect(memory().numTensors).toBe(before);
    expect(r.images.map((i) => i.boxes)).toEqual([3, 3]);
    expect(r.images.map((i) => i.out)).toEqual([join(dir, 'many', '000000040083.pose.png'), join(dir, 'many', '000000040083.pose.png')]);
    expect(lines[0]).toMatch(/000000040083\.jpg: \d poses? from 3 boxes \(500x333, [\d.]+ s\) → /);
    expect(lines.some((l) => /^ {2}score \d\.\d{3} box \[/.test(l))).toBe(true);
  });

  it('clear errors: unknown model, no weights, bad --out, detections of several images for an unnamed file', async () => {
    await expect(runPose({ images: [IMG], model: 'uniformer-z-pose', seed: 0 }, () => {})).rejects.toThrow(/unknown --model 'uniformer-z-pose' \(pose configs: uniformer-s-coco-pose-256x192/);
    await expect(runPose({ images: [IMG], model: tinyJson }, () => {})).rejects.toThrow(/give --weights .* or --seed N/);
    await expect(runPose({ images: [IMG], model: tinyJson, seed: 0, out: join(dir, 'x.jpg') }, () => {})).rejects.toThrow(/--out must be a \.png file/);
    await expect(runPose({ images: [IMG], model: tinyJson, weights: join(dir, 'nope.pth') }, () => {})).rejects.toThrow(/cannot read --weights .*no such file/);
    const anon = join(dir, 'photo.jpg');
    copyFileSync(IMG, anon);
    await expect(runPose({ images: [anon], model: tinyJson, seed: 0, boxes: DETS }, () => {})).rejects.toThrow(/detections for 2 images; cannot tell which belong to 'photo\.jpg'/);
    const r = await runPose({ images: [anon], model: tinyJson, seed: 0, boxes: DETS, imageId: 785 }, () => {});
    expect(r.images[0]!.boxes).toBe(2);
    expect(readDetections(GT)).toHaveLength(3); // a ground-truth file's annotations serve as boxes too
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ boxes: [] }));
    expect(() => readDetections(bad)).toThrow(/must be a COCO detection results list/);
    writeFileSync(bad, JSON.stringify([{ image_id: 1, bbox: [1, 2, 'x', 4] }]));
    expect(() => readDetections(bad)).toThrow(/entry 0 has no bbox \[x, y, w, h\] of finite numbers/);
    expect(imageIdFromName('/a/000000000785.jpg')).toBe(785);
    expect(imageIdFromName('/a/photo.jpg')).toBeNull();
  });
});

describe('tubelet run --arch uniformer-pose (library side): official pose_tiny vectors', () => {
  it('heatmap, heatmap_flip_test, decode_preds, decode_boxes from the io file (center/scale read from it) within 1e-4·max(1, max|ref|)', async () => {
    const io = parseSafetensors(new Uint8Array(readFileSync(join(HEADS_FIX, 'pose_tiny.io.safetensors'))));
    const w = parseSafetensors(new Uint8Array(readFileSync(join(HEADS_FIX, 'pose_tiny.weights.safetensors'))));
    const cfg = JSON.parse(io.metadata.config!) as Record<string, unknown>;
    const input = io.tensors.get('input')!;
    const model = poseModelFromOfficial(cfg, { inputShape: input.shape, weights: w.tensors });
    const x = rawToTensor(input);
    const before = memory();
    const names = ['heatmap', 'heatmap_flipped_input_raw', 'heatmap_flip_test', 'decode_preds', 'decode_boxes', 'backbone_out'];
    const got = await poseRunOutputs(model, x, { outputs: names, center: io.tensors.get('center')!.data as Float32Array, scale: io.tensors.get('scale')!.data as Float32Array });
    for (const n of names) {
      const ref = io.tensors.get(n)!.data as Float32Array;
      const ours = got.get(n)!.dataSync() as Float32Array;
      let d = 0;
      let m = 0;
      for (let i = 0; i < ref.length; i++) {
        d = Math.max(d, Math.abs(ours[i]! - ref[i]!));
        m = Math.max(m, Math.abs(ref[i]!));
      }
      expect(d / Math.max(1, m), n).toBeLessThanOrEqual(1e-4);
    }
    for (const t of got.values()) t.dispose();
    expect(memory()).toEqual(before);
    const all = await poseRunOutputs(model, x, { outputs: 'all' });
    expect([...all.keys()]).toEqual(model.outputNames());
    for (const t of all.values()) t.dispose();
    await expect(poseRunOutputs(model, x, { outputs: ['heatmapz'] })).rejects.toThrow(/unknown output heatmapz; this model has: .*heatmap_flip_test/);
    x.dispose();
    model.dispose();
  });
});

describe('skeleton drawing', () => {
  it('limbs and dots by side, skipping keypoints at or below the threshold', () => {
    expect(limbColor(5, 7)).toEqual(LEFT_COLOR);
    expect(limbColor(6, 8)).toEqual(RIGHT_COLOR);
    expect(limbColor(5, 6)).toEqual(CENTER_COLOR);
    expect(keypointColor(0)).toEqual(CENTER_COLOR);
    const c = new Canvas(100, 100);
    const keypoints = Array.from({ length: 17 }, (_, i) => ({ x: 10 + 4 * i, y: 50, score: i === 3 ? 0.1 : 0.9 }));
    const n = drawSkeletons(c, [{ keypoints, box: { xMin: 5, yMin: 5, xMax: 95, yMax: 95 }, score: 0.5 }], { radius: 1, thickness: 1 });
    expect(n.keypoints).toBe(16);
    expect(n.limbs).toBe(19 - 2); // [1, 3] and [3, 5] touch keypoint 3
    expect(c.get(10 + 4 * 16, 50)).toEqual([...keypointColor(16)]);
    expect(c.get(10 + 4 * 3, 50)).not.toEqual([...keypointColor(3)]);
    const none = new Canvas(10, 10);
    expect(drawSkeletons(none, [{ keypoints: [{ x: 1, y: 1, score: 0.2 }] }], { keypointThreshold: 0.3 })).toEqual({ keypoints: 0, limbs: 0 });
    expect(none.data.every((v) => v === 0)).toBe(true);
  });
});
