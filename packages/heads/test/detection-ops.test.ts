/**
 * Every detection op vector of the parity set (copied to fixtures/detection): roi_align, nms /
 * batched nms, box coder, anchors, mask paste, FPN, the det resize rule and pixel example — at the
 * README's tolerances, on cpu. Shapes and cases come from the files.
 */
import { boxDecode, boxEncode, memory, nms, pasteMasks, rawToTensor, roiAlign, tensor } from '@tubelet/core';
import { conformanceCases } from '@tubelet/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Fpn,
  MMDET_PIPELINE,
  anchorSpecs,
  batchedNms,
  cv2ResizeLinear,
  levelAnchors,
  mmdetBaseAnchors,
  preprocessDetectionImage,
  rescaleSize,
  splitDetectorStateDict,
  tvBaseAnchors,
} from '../src/index';
import { EMBEDDED, embeddedFromFixtures } from './fixtures/detection/gen-conformance';
import { FIXTURE_DIR, compare, fixture, values } from './fixtures/detection/helpers';

let live = 0;
beforeAll(() => {
  live = memory('cpu').numTensors;
});
afterAll(() => {
  expect(memory('cpu').numTensors).toBe(live);
});

describe('roi_align vectors', () => {
  const fx = fixture('ops_roi_align_s0');
  const cases = fx.config.cases as { name: string; aligned: boolean; output_size: number[]; sampling_ratio: number; spatial_scale: number }[];
  it('lists its cases', () => expect(cases.length).toBeGreaterThanOrEqual(8));
  for (const c of cases) {
    it(`${c.name}: aligned=${c.aligned} sr=${c.sampling_ratio} out=${c.output_size} scale=${c.spatial_scale}`, async () => {
      const x = fx.tensor('input');
      const rois = fx.tensor('rois');
      const y = roiAlign(x, rois, { outputSize: c.output_size, spatialScale: c.spatial_scale, samplingRatio: c.sampling_ratio, aligned: c.aligned });
      expect(y.shape).toEqual(fx.raw(c.name).shape);
      expect(compare(await values(y), fx.f32(c.name), 1e-4, 1e-4).excess).toBeLessThanOrEqual(0);
      [x, rois, y].forEach((t) => t.dispose());
    });
  }
});

describe('nms / batched_nms vectors (exact keep lists)', () => {
  const fx = fixture('ops_nms_s0');
  const cases = fx.config.cases as { name: string; boxes: string; scores: string; idxs?: string; iou_threshold: number }[];
  for (const c of cases) {
    it(`${c.name}`, async () => {
      const boxes = fx.tensor(c.boxes);
      const scores = fx.tensor(c.scores);
      const want = fx.ints(c.name);
      if (c.idxs) {
        const ids = Int32Array.from(fx.ints(c.idxs));
        // the core op's class-wise mode, and both libraries' batched_nms (coordinate trick / per class)
        const cls = tensor(ids, [ids.length]);
        const k = await nms(boxes, scores, { iouThreshold: c.iou_threshold, classes: cls });
        expect(await values(k)).toEqual(want);
        expect(Array.from(await batchedNms(boxes, scores, ids, c.iou_threshold, 'mmdet'))).toEqual(want);
        expect(Array.from(await batchedNms(boxes, scores, ids, c.iou_threshold, 'torchvision'))).toEqual(want);
        [cls, k].forEach((t) => t.dispose());
      } else {
        const k = await nms(boxes, scores, { iouThreshold: c.iou_threshold });
        expect(await values(k)).toEqual(want);
        k.dispose();
      }
      [boxes, scores].forEach((t) => t.dispose());
    });
  }
});

describe('box coder vectors', () => {
  const fx = fixture('ops_box_coder_s0');
  const [mh, mw] = fx.config.max_shape_hw as [number, number];
  const RCNN = { stds: [0.1, 0.1, 0.2, 0.2] };
  const cases: [string, 'decode' | 'encode', Record<string, unknown>][] = [
    ['decode.std1.clip', 'decode', { maxShape: [mh, mw] }],
    ['decode.std1.noclip', 'decode', {}],
    ['decode.std_rcnn.clip', 'decode', { ...RCNN, maxShape: [mh, mw] }],
    ['tv.decode.w1', 'decode', { style: 'torchvision' }],
    ['tv.decode.w10_10_5_5', 'decode', { style: 'torchvision', weights: [10, 10, 5, 5] }],
    ['encode.std1', 'encode', {}],
    ['encode.std_rcnn', 'encode', RCNN],
    ['tv.encode.w10_10_5_5', 'encode', { style: 'torchvision', weights: [10, 10, 5, 5] }],
  ];
  it('covers every output of the file', () => {
    const outs = [...fx.tensors.keys()].filter((k) => k.startsWith('decode.') || k.startsWith('encode.') || k.startsWith('tv.'));
    expect(outs.sort()).toEqual(cases.map((c) => c[0]).sort());
  });
  for (const [name, kind, attrs] of cases) {
    it(`${name}`, async () => {
      const p = fx.tensor('proposals');
      const other = fx.tensor(kind === 'decode' ? 'deltas' : 'gt');
      const y = kind === 'decode' ? boxDecode(p, other, attrs) : boxEncode(p, other, attrs);
      expect(y.shape).toEqual(fx.raw(name).shape);
      const c = compare(await values(y), fx.f32(name), 1e-4, 1e-5);
      expect(c.excess, `max |diff| ${c.maxAbs}`).toBeLessThanOrEqual(0);
      [p, other, y].forEach((t) => t.dispose());
    });
  }
});

describe('anchor vectors', () => {
  const fx = fixture('ops_anchors_s0');
  const cfg = fx.config;
  for (const mode of ['mmdet', 'torchvision'] as const) {
    const pre = mode === 'mmdet' ? 'mmdet' : 'tv';
    it(`${mode}: base anchors and every level (exact float32 op order)`, async () => {
      const specs = anchorSpecs(mode, cfg.featmap_sizes, cfg.pad_shape, cfg.strides, cfg.ratios, cfg.scales);
      for (let l = 0; l < specs.length; l++) {
        const base = mode === 'mmdet' ? mmdetBaseAnchors(cfg.strides[l], cfg.ratios, cfg.scales) : tvBaseAnchors(cfg.strides[l] * cfg.scales[0], cfg.ratios);
        expect(Array.from(base), `${pre}.base.${l}`).toEqual(Array.from(fx.f32(`${pre}.base.${l}`)));
        const a = await levelAnchors(specs[l]!);
        expect(a.shape).toEqual(fx.raw(`${pre}.anchors.${l}`).shape);
        expect(compare(await values(a), fx.f32(`${pre}.anchors.${l}`), 0, 0).maxAbs, `${pre}.anchors.${l}`).toBe(0);
        a.dispose();
      }
    });
  }
});

describe('mask paste vectors', () => {
  const fx = fixture('ops_mask_paste_s0');
  const [H, W] = fx.config.img_hw as [number, number];
  for (const [mode, key] of [
    ['mmdet', 'mmdet.pasted_prob'],
    ['mmdet-cpu', 'mmdet.pasted_prob_cpu_path'],
    ['torchvision', 'tv.pasted_prob'],
  ] as const) {
    it(`${mode} (${key})`, async () => {
      const m = fx.tensor('masks');
      const b = fx.tensor('boxes');
      const p = pasteMasks(m, b, { size: [H, W], mode });
      const got = await values(p);
      expect(compare(got, fx.f32(key), 1e-4, 0).excess).toBeLessThanOrEqual(0);
      if (mode !== 'torchvision') {
        // binary masks equal except where the reference probability is within 1e-4 of 0.5
        const ref = fx.f32(key);
        const bin = fx.f32('mmdet.bin');
        for (let i = 0; i < got.length; i++) if (Math.abs(ref[i]! - 0.5) > 1e-4) expect(got[i]! >= 0.5 ? 1 : 0).toBe(bin[i]);
      }
      [m, b, p].forEach((t) => t.dispose());
    });
  }
});

describe('FPN vectors (regular and odd sizes: nearest upsampling with size mismatch)', () => {
  const fx = fixture('ops_fpn_s0');
  const fpn = new Fpn(fx.config.in_channels, fx.config.out_channels);
  beforeAll(() => fpn.loadWeights(new Map([...splitDetectorStateDict(fx.tensors).heads].map(([k, v]) => [k.slice('neck.'.length), rawToTensor(v)]))));
  afterAll(() => fpn.dispose());
  for (const set of ['a', 'b']) {
    it(`set ${set}: P2..P6`, async () => {
      const ins = ['c2', 'c3', 'c4', 'c5'].map((c) => fx.tensor(`${set}.in.${c}`));
      const outs = fpn.forward(ins);
      expect(outs).toHaveLength(fx.config.num_outs);
      for (let i = 0; i < outs.length; i++) {
        const key = `${set}.out.p${i + 2}`;
        expect(outs[i]!.shape, key).toEqual(fx.raw(key).shape);
        expect(compare(await values(outs[i]!), fx.f32(key), 1e-4, 1e-4).excess, key).toBeLessThanOrEqual(0);
      }
      [...ins, ...outs].forEach((t) => t.dispose());
    });
  }
});

describe('det resize (mmdet Resize keep_ratio + Normalize + Pad)', () => {
  const fx = fixture('ops_det_resize_s0');
  it('the size rule table (new size, pad, float32 scale factors)', () => {
    const cols = fx.config.table_columns as string[];
    const tab = fx.ints('table');
    const sf = fx.f32('table_scale_factor_wh');
    const n = cols.length;
    for (let r = 0; r < tab.length / n; r++) {
      const row = Object.fromEntries(cols.map((c, j) => [c, tab[r * n + j]!]));
      const s = rescaleSize(row.h!, row.w!, MMDET_PIPELINE.scale);
      expect([s.height, s.width], `row ${r}`).toEqual([row.new_h, row.new_w]);
      const img = { data: new Uint8Array(row.h! * row.w! * 3), width: row.w!, height: row.h! };
      if (row.h! * row.w! <= 1000 * 1000) {
        const meta = preprocessDetectionImage(img, MMDET_PIPELINE).meta;
        expect(meta.padShape, `row ${r}`).toEqual([row.pad_h, row.pad_w]);
        expect(meta.scaleFactor.slice(0, 2), `row ${r}`).toEqual([sf[2 * r], sf[2 * r + 1]]);
      }
    }
  });

  it('pixel example: cv2 INTER_LINEAR uint8 resize bit-exact, normalised + padded input', () => {
    const px = fx.config.pixel_example;
    const [h, w] = px.input_hw as [number, number];
    const [nh, nw] = px.resized_hw as [number, number];
    const bgr = Uint8Array.from(fx.f32('pix.input_bgr_hwc'));
    expect(rescaleSize(h, w, px.img_scale)).toEqual({ height: nh, width: nw });
    const resized = cv2ResizeLinear(bgr, h, w, 3, nh, nw);
    expect(compare(resized, fx.f32('pix.resized_bgr_hwc_uint8'), 0, 0).maxAbs).toBe(0);
    const pp = preprocessDetectionImage({ data: bgr, width: w, height: h, channelOrder: 'bgr' }, { ...MMDET_PIPELINE, scale: px.img_scale });
    expect(pp.shape).toEqual([1, ...fx.raw('pix.normalized_padded_chw').shape]);
    // float32 as mmcv: (x − mean)·(1/std); at most an ulp from the reference
    expect(compare(pp.data, fx.f32('pix.normalized_padded_chw'), 1e-6, 0).excess).toBeLessThanOrEqual(0);
    // RGB input gives the same tensor
    const rgb = bgr.slice();
    for (let i = 0; i < rgb.length; i += 3) [rgb[i], rgb[i + 2]] = [bgr[i + 2]!, bgr[i]!];
    expect(preprocessDetectionImage({ data: rgb, width: w, height: h }, { ...MMDET_PIPELINE, scale: px.img_scale }).data).toEqual(pp.data);
  });

  it('rejects a wrong buffer size with a clear error', () => {
    expect(() => preprocessDetectionImage({ data: new Uint8Array(10), width: 4, height: 4 }, MMDET_PIPELINE)).toThrow(/10 bytes for a 4x4 RGB image \(expected 48/);
  });
});

describe('core conformance data of the detection ops', () => {
  it('the embedded official tensors equal the fixture files', () => {
    const cases = conformanceCases().filter((c) => ['boxDecode', 'boxEncode', 'gridAnchors', 'pasteMasks'].includes(c.op));
    expect(cases.filter((c) => c.source === 'official').length).toBe(13);
    // every embedded tensor appears in some case, bit for bit equal to the fixture
    const all = cases.flatMap((c) => [...(c.kind === 'op' ? c.inputs : []), ...c.expected]).filter((t) => t !== null);
    for (const key of Object.keys(EMBEDDED)) {
      const want = embeddedFromFixtures(FIXTURE_DIR, key);
      const hit = all.some((t) => t!.shape.join() === want.shape.join() && Buffer.from((t!.data as Float32Array).buffer).equals(Buffer.from(want.data.buffer)));
      expect(hit, key).toBe(true);
    }
  });
});
