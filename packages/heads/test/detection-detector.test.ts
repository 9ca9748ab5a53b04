/**
 * The detector API end to end on a tiny UniFormer + heads config (random weights): createDetector,
 * detect() results (labels, boxes in original pixels, region masks equal to the full-image masks),
 * options, strict checkpoint loading from backbone./neck./rpn_head./roi_head. state dicts, no leaks;
 * and the named configs of the published UniFormer Mask R-CNN models (shapes only, no weights).
 */
import { type StateDict, dispose, memory, tensor, tensorsToStateDict } from '@tubelet/core';
import { createUniformer } from '@tubelet/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  COCO80_CATEGORY_IDS,
  COCO80_LABELS,
  type DetectorConfigInput,
  type Detector,
  MaskRcnnHeadsModule,
  UNIFORMER_MASKRCNN_HEADS,
  createDetector,
  detectorConfigNames,
  maskToImage,
  preprocessDetectionImage,
  resolveDetectorConfig,
  runHeads,
} from '../src/index';

const TINY: DetectorConfigInput = {
  name: 'tiny-test',
  backbone: { kind: 'dense', depth: [1, 1, 4, 1], embedDim: [16, 32, 48, 64], headDim: 16, stage3: 'hybrid', windowSize: 4 },
  heads: { inChannels: [16, 32, 48, 64], fpnChannels: 16, rpnChannels: 16, fcChannels: 32, maskChannels: 16, numMaskConvs: 2 },
  pipeline: { scale: [160, 96] },
};

/** A 90x60 RGB test card: gradient background, a bright rectangle and a dark disc. */
function testImage(w = 90, h = 60): { data: Uint8Array; width: number; height: number } {
  const d = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = 3 * (y * w + x);
      let v = [(x * 255) / w, (y * 255) / h, 128];
      if (x > 10 && x < 40 && y > 8 && y < 30) v = [250, 240, 30];
      if ((x - 65) ** 2 + (y - 40) ** 2 < 150) v = [20, 30, 90];
      d.set(v.map(Math.round), i);
    }
  }
  return { data: d, width: w, height: h };
}

describe('detector (tiny config, random weights)', () => {
  let det: Detector;
  let start = 0;
  const img = testImage();

  beforeAll(async () => {
    start = memory('cpu').numTensors;
    det = await createDetector(TINY, { seed: 7, backend: 'cpu' });
  });
  afterAll(() => {
    det?.dispose();
    expect(memory('cpu').numTensors, 'live tensors after dispose()').toBe(start);
  });

  it('detect(): labelled detections in original-image pixels, score order, region masks; no tensors left behind', async () => {
    const before = memory('cpu');
    const r = await det.detectDetailed(img, { minScore: 0.02, maxDetections: 6 });
    expect(memory('cpu')).toEqual(before);
    const d = r.detections;
    expect(d.length).toBe(6);
    expect(r.meta.oriShape).toEqual([60, 90]);
    expect(r.meta.imgShape).toEqual([96, 144]);
    expect(r.meta.padShape).toEqual([96, 160]);
    for (let i = 0; i < d.length; i++) {
      const x = d[i]!;
      expect(x.label).toBe(COCO80_LABELS[x.classId]);
      if (i > 0) expect(x.score).toBeLessThanOrEqual(d[i - 1]!.score);
      // boxes were mapped back: test-scale box / scale factor, within the original image (decode clips at test scale)
      expect(x.box.x1).toBeCloseTo(r.raw.boxesTestScale[4 * i]! / r.meta.scaleFactor[0], 4);
      expect(x.box.y2).toBeCloseTo(r.raw.boxesTestScale[4 * i + 3]! / r.meta.scaleFactor[1], 4);
      expect(x.box.x2).toBeLessThanOrEqual(90 + 1e-3);
      expect(x.box.y2).toBeLessThanOrEqual(60 + 1e-3);
      const m = x.mask!;
      expect(m.data.length).toBe(m.width * m.height);
      expect(m.x).toBeGreaterThanOrEqual(0);
      expect(m.x + m.width).toBeLessThanOrEqual(90);
    }
  });

  it('the region masks equal the full-image pasted masks (mask.bin) of the same detections', async () => {
    const opts = { minScore: 0.02, maxDetections: 4 };
    const dets = await det.detect(img, opts);
    const pp = preprocessDetectionImage(img, det.config.pipeline);
    const x = tensor(pp.data, pp.shape);
    const feats = det.backbone.forward(x);
    const r = await runHeads(det.heads, feats, pp.meta, { record: new Set(['mask.bin', 'det.boxes']), rcnn: { scoreThr: 0.02, maxPerImg: 4 } });
    const bin = (await r.outputs.get('mask.bin')!.data()) as Float32Array;
    const boxes = (await r.outputs.get('det.boxes')!.data()) as Float32Array;
    dets.forEach((d, n) => {
      expect([d.box.x1, d.box.y1, d.box.x2, d.box.y2]).toEqual(Array.from(boxes.subarray(4 * n, 4 * n + 4)));
      const full = maskToImage(d.mask!, 90, 60);
      expect(Array.from(full)).toEqual(Array.from(bin.subarray(n * 90 * 60, (n + 1) * 90 * 60)));
    });
    dispose([x, feats, r.outputs, r.masks?.probs]);
  });

  it('options: maxDetections 0, masks off, minScore above every score; BGR input', async () => {
    expect(await det.detect(img, { maxDetections: 0 })).toEqual([]);
    const noMask = await det.detect(img, { minScore: 0.02, maxDetections: 2, masks: false });
    expect(noMask).toHaveLength(2);
    expect(noMask[0]!.mask).toBeUndefined();
    expect(await det.detect(img, { minScore: 0.999 })).toEqual([]);
    const bgr = img.data.slice();
    for (let i = 0; i < bgr.length; i += 3) [bgr[i], bgr[i + 2]] = [img.data[i + 2]!, img.data[i]!];
    const a = await det.detect(img, { minScore: 0.02, maxDetections: 3, masks: false });
    const b = await det.detect({ ...img, data: bgr, channelOrder: 'bgr' }, { minScore: 0.02, maxDetections: 3, masks: false });
    expect(b).toEqual(a);
  });

  it('bad input gets a clear error', async () => {
    await expect(det.detect({ data: new Uint8Array(5), width: 2, height: 2 })).rejects.toThrow(/5 bytes for a 2x2 RGB image/);
    await expect(det.detect(img, { maxDetections: -1 })).rejects.toThrow(/maxDetections must be a non-negative integer/);
  });

  it('loads an mmdet-layout state dict (backbone. / neck. / rpn_head. / roi_head.) and reproduces the seeded detector', async () => {
    const sd: StateDict = new Map();
    for (const [k, v] of await tensorsToStateDict(det.backbone.namedTensors())) sd.set(`backbone.${k}`, v);
    for (const [k, v] of await tensorsToStateDict(det.heads.namedTensors())) sd.set(k, v);
    const loaded = await createDetector(TINY, { weights: sd });
    expect(await loaded.detect(img, { minScore: 0.02, maxDetections: 3 })).toEqual(await det.detect(img, { minScore: 0.02, maxDetections: 3 }));
    loaded.dispose();
    const bad = new Map(sd);
    bad.delete('roi_head.mask_head.conv_logits.bias');
    bad.set('roi_head.bbox_head.extra', sd.get('roi_head.mask_head.conv_logits.weight')!);
    await expect(createDetector(TINY, { weights: bad })).rejects.toThrow(/missing keys: roi_head\.mask_head\.conv_logits\.bias; unexpected keys: roi_head\.bbox_head\.extra/);
    const stray = new Map(sd);
    stray.set('ema.x', sd.get('rpn_head.rpn_cls.bias')!);
    await expect(createDetector(TINY, { weights: stray })).rejects.toThrow(/keys outside backbone\.\/neck\.\/rpn_head\.\/roi_head\.: ema\.x/);
    await expect(createDetector(TINY, {})).rejects.toThrow(/pass \{ weights \}/);
  });
});

describe('named configs of the published UniFormer Mask R-CNN models', () => {
  it('S and B, 1x and 3x, hybrid window 14, with the official mmdet key names and shapes', () => {
    expect(detectorConfigNames()).toEqual(['uniformer-s-maskrcnn-1x', 'uniformer-s-maskrcnn-3x', 'uniformer-b-maskrcnn-1x', 'uniformer-b-maskrcnn-3x']);
    for (const name of detectorConfigNames()) {
      const c = resolveDetectorConfig(name);
      const bb = createUniformer(c.backbone);
      expect(bb.config.kind).toBe('dense');
      expect(bb.config.stage3).toBe('hybrid');
      expect(bb.config.windowSize).toBe(14);
      expect(bb.config.depth).toEqual(name.includes('-s-') ? [3, 4, 8, 3] : [5, 8, 20, 7]);
      expect(c.pipeline).toEqual({ scale: [1333, 800], padDivisor: 32, mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375] });
      expect(c.heads).toBe(UNIFORMER_MASKRCNN_HEADS);
    }
    const shapes = new MaskRcnnHeadsModule(UNIFORMER_MASKRCNN_HEADS).stateDictShapes();
    const want: Record<string, number[]> = {
      'neck.lateral_convs.0.conv.weight': [256, 64, 1, 1],
      'neck.lateral_convs.3.conv.weight': [256, 512, 1, 1],
      'neck.fpn_convs.2.conv.weight': [256, 256, 3, 3],
      'rpn_head.rpn_conv.weight': [256, 256, 3, 3],
      'rpn_head.rpn_cls.weight': [3, 256, 1, 1],
      'rpn_head.rpn_reg.weight': [12, 256, 1, 1],
      'roi_head.bbox_head.shared_fcs.0.weight': [1024, 12544],
      'roi_head.bbox_head.shared_fcs.1.weight': [1024, 1024],
      'roi_head.bbox_head.fc_cls.weight': [81, 1024],
      'roi_head.bbox_head.fc_reg.weight': [320, 1024],
      'roi_head.mask_head.convs.3.conv.weight': [256, 256, 3, 3],
      'roi_head.mask_head.upsample.weight': [256, 256, 2, 2],
      'roi_head.mask_head.conv_logits.weight': [80, 256, 1, 1],
      'roi_head.mask_head.conv_logits.bias': [80],
    };
    for (const [k, s] of Object.entries(want)) expect(shapes.get(k), k).toEqual(s);
    expect(shapes.size).toBe(16 + 6 + 8 + 12);
  });

  it('ships the COCO-80 label names and category ids', () => {
    expect(COCO80_LABELS).toHaveLength(80);
    expect([COCO80_LABELS[0], COCO80_LABELS[16], COCO80_LABELS[39], COCO80_LABELS[56], COCO80_LABELS[79]]).toEqual(['person', 'dog', 'bottle', 'chair', 'toothbrush']);
    expect(COCO80_CATEGORY_IDS).toHaveLength(80);
    expect([COCO80_CATEGORY_IDS[0], COCO80_CATEGORY_IDS[11], COCO80_CATEGORY_IDS[79]]).toEqual([1, 13, 90]);
  });
});
