import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COCO, COCO_KEYPOINT_SIGMAS, COCOeval, type CocoAnnotation, type CocoDataset, type CocoResult, CocoEvalParams, type IouType, cocoEvaluate } from '../src/index';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/coco/${name}`, import.meta.url), 'utf8'));
const ONE_TP = 1 / (1 + 2 ** -52); // pycocotools' precision for 1 tp, 0 fp: tp / (tp + fp + eps) = 0.9999999999999998

function run(gt: CocoDataset, results: CocoResult[], iouType: IouType, setup?: (E: COCOeval) => void) {
  const coco = new COCO(structuredClone(gt));
  const E = new COCOeval(coco, coco.loadRes(results), iouType);
  setup?.(E);
  E.evaluate();
  E.accumulate();
  return { stats: E.summarize(), E };
}

const box = (image_id: number, bbox: number[], score: number, category_id = 1): CocoResult => ({ image_id, category_id, score, bbox });
const gtBox = (id: number, image_id: number, bbox: number[], extra: Partial<CocoAnnotation> = {}): CocoAnnotation => ({
  id,
  image_id,
  category_id: 1,
  bbox,
  area: bbox[2]! * bbox[3]!,
  iscrowd: 0,
  ...extra,
});
const dataset = (anns: CocoAnnotation[], size = 200, cats = [1]): CocoDataset => ({
  images: [{ id: 1, width: size, height: size }],
  categories: cats.map((id) => ({ id, name: `c${id}` })),
  annotations: anns,
});

/** equal where the expectation is -1, 0 or exact; within 1e-14 elsewhere (means of 0.9999999999999998) */
function expectStats(actual: number[], expected: number[]) {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => (expected[i] === -1 || expected[i] === 0 ? expect(a).toBe(expected[i]) : expect(a).toBeCloseTo(expected[i]!, 14)));
}

describe('parameters', () => {
  it('uses numpy linspace thresholds (0.9 is 0.8999999999999999) and the standard area ranges', () => {
    const p = new CocoEvalParams('bbox');
    expect(p.iouThrs).toEqual([0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.8999999999999999, 0.95]);
    expect(p.recThrs.length).toBe(101);
    expect(p.recThrs[50]).toBe(0.5);
    expect(p.recThrs[7]).toBe(7 * 0.01);
    expect(p.maxDets).toEqual([1, 10, 100]);
    expect(p.areaRng).toEqual([
      [0, 1e10],
      [0, 1024],
      [1024, 9216],
      [9216, 1e10],
    ]);
    const k = new CocoEvalParams('keypoints');
    expect(k.maxDets).toEqual([20]);
    expect(k.areaRngLbl).toEqual(['all', 'medium', 'large']);
    expect(COCO_KEYPOINT_SIGMAS.length).toBe(17);
    expect(COCO_KEYPOINT_SIGMAS[0]).toBe(0.026000000000000002); // .26 / 10.0 as numpy computes it
  });
});

describe('ground truth fed back as predictions (test_coco.json: 4 images, 14 persons)', () => {
  const gt = fixture('test_coco.json') as CocoDataset;
  const anns = gt.annotations!;
  const areas = anns.map((a) => a.area!);
  const has = (lo: number, hi: number, list = areas) => list.some((a) => a >= lo && a <= hi);
  // expected: 1 where ground truth of that size exists, -1 where none; AR@1 is (#images with persons) / (#persons)
  const perImage = new Set(anns.map((a) => a.image_id)).size;
  const detExpected = [1, 1, 1, has(0, 1024) ? 1 : -1, has(1024, 9216) ? 1 : -1, has(9216, 1e10) ? 1 : -1, perImage / anns.length, 1, 1, has(0, 1024) ? 1 : -1, has(1024, 9216) ? 1 : -1, has(9216, 1e10) ? 1 : -1];

  it('reads the file as expected', () => {
    expect(gt.images.length).toBe(4);
    expect(anns.length).toBe(14);
    expect(detExpected).toEqual([1, 1, 1, 1, 1, 1, 4 / 14, 1, 1, 1, 1, 1]);
  });

  it('bbox: AP 1.0', () => {
    const res = anns.map((a) => box(a.image_id, a.bbox!, 1));
    const { stats } = run(gt, res, 'bbox');
    stats.forEach((s, i) => expect(s).toBeCloseTo(detExpected[i]!, 12));
    expect(stats[0]).toBe(1);
  });

  it('segm (polygons rasterised, one person in 4 parts): AP 1.0', () => {
    expect(anns.some((a) => Array.isArray(a.segmentation) && a.segmentation.length === 4)).toBe(true);
    // with bbox (area = w*h, as pycocotools' loadRes) and without (area from the mask)
    for (const withBox of [true, false]) {
      const res = anns.map((a) => ({ image_id: a.image_id, category_id: 1, score: 1, segmentation: a.segmentation, ...(withBox ? { bbox: a.bbox } : {}) }));
      const { stats } = run(gt, res, 'segm');
      stats.forEach((s, i) => expect(s).toBeCloseTo(detExpected[i]!, 12));
      expect(stats[0]).toBe(1);
    }
  });

  it('keypoints: AP 1.0 over the 12 persons with keypoints; the 2 without are ignored', () => {
    const withKp = anns.filter((a) => a.num_keypoints! > 0);
    expect(withKp.length).toBe(12);
    const kpAreas = withKp.map((a) => a.area!);
    const res = withKp.map((a) => ({ image_id: a.image_id, category_id: 1, score: 1, keypoints: a.keypoints! }));
    const { stats } = run(gt, res, 'keypoints');
    const m = has(1024, 9216, kpAreas) ? 1 : -1;
    const l = has(9216, 1e10, kpAreas) ? 1 : -1;
    expect(stats).toEqual([1, 1, 1, m, l, 1, 1, 1, m, l]);
    expect(stats).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
  });

  it('prints the summary as pycocotools does', () => {
    const { lines } = cocoEvaluate(gt, anns.map((a) => box(a.image_id, a.bbox!, 1)), 'bbox');
    expect(lines[0]).toBe(' Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 1.000');
    expect(lines[6]).toBe(' Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = 0.286');
    expect(lines[1]).toBe(' Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ] = 1.000');
    expect(lines[3]).toBe(' Average Precision  (AP) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = 1.000');
    expect(lines.length).toBe(12);
  });
});

describe('hand-built cases with closed-form AP', () => {
  it('one image, 2 GT, 3 detections TP/FP/TP: AP = (51 + 50·2/3)/101', () => {
    const gt = dataset([gtBox(1, 1, [0, 0, 10, 10]), gtBox(2, 1, [50, 50, 10, 10])]);
    const res = [box(1, [0, 0, 10, 10], 0.9), box(1, [20, 20, 10, 10], 0.8), box(1, [50, 50, 10, 10], 0.7)];
    const { stats, E } = run(gt, res, 'bbox');
    // recall [.5 .5 1], precision [1 .5 2/3] → envelope [1 2/3 2/3]; thresholds 0..0.50 → 1, 0.51..1 → 2/3
    const ap = (51 * ONE_TP + 50 * (2 / 3)) / 101;
    expect(stats[0]).toBeCloseTo(ap, 14);
    expect(stats[0]).toBeCloseTo(253 / 303, 14);
    expect(stats[1]).toBeCloseTo(ap, 14);
    expect(stats[3]).toBeCloseTo(ap, 14); // both GT are small (area 100)
    expect([stats[4], stats[5]]).toEqual([-1, -1]);
    expect(stats[6]).toBe(0.5); // AR@1: the first detection finds one of two
    expect([stats[7], stats[8], stats[9], stats[10], stats[11]]).toEqual([1, 1, 1, -1, -1]);
    const { precision, scores, counts } = E.eval!;
    const [, R, K, A, M] = counts;
    const at = (t: number, r: number, a = 0, m = 2) => (((t * R + r) * K + 0) * A + a) * M + m;
    expect(precision[at(0, 50)]).toBe(ONE_TP);
    expect(precision[at(0, 51)]).toBe(2 / 3);
    expect(scores[at(0, 51)]).toBe(0.7);
  });

  it('a detection at IoU exactly 0.7 is a TP up to the 0.70 threshold; at IoU 0.9 up to 0.90 (numpy 0.8999999999999999)', () => {
    const gt = dataset([gtBox(1, 1, [0, 0, 10, 10])]);
    const at07 = run(gt, [box(1, [0, 0, 10, 7], 1)], 'bbox').stats;
    expect(at07[0]).toBeCloseTo(0.5, 14); // 5 of 10 thresholds
    expect(at07[1]).toBeCloseTo(1, 14);
    expect(at07[2]).toBe(0);
    expect(at07[8]).toBe(0.5);
    const at09 = run(gt, [box(1, [0, 0, 10, 9], 1)], 'bbox').stats;
    expect(at09[0]).toBeCloseTo(0.9, 14);
    expect(at09[8]).toBeCloseTo(0.9, 15);
  });

  it('a crowd region absorbs duplicate detections (ignored, not false positives)', () => {
    const anns = [gtBox(1, 1, [0, 0, 10, 10]), gtBox(2, 1, [40, 40, 40, 40], { iscrowd: 1 })];
    const res = [box(1, [40, 40, 10, 10], 0.95), box(1, [50, 50, 10, 10], 0.9), box(1, [0, 0, 10, 10], 0.7), box(1, [0, 150, 10, 10], 0.6)];
    // crowd: both duplicates match the crowd (IoU = intersection / detection area = 1) and are ignored → TP then FP
    const crowd = run(dataset(anns), res, 'bbox');
    expect(crowd.stats[0]).toBeCloseTo(1, 14);
    expect(crowd.stats[8]).toBe(1);
    const m = crowd.E.evalImgs[0]!;
    expect(Array.from(m.dtMatches.subarray(0, 4))).toEqual([2, 2, 1, 0]);
    expect(Array.from(m.dtIgnore.subarray(0, 4))).toEqual([1, 1, 0, 0]);
    // the same region as a regular GT: the duplicates are FPs (IoU 100/1600) → FP FP TP FP, recall at most 1/2
    anns[1]!.iscrowd = 0;
    const plain = run(dataset(anns), res, 'bbox');
    expect(plain.stats[0]).toBeCloseTo((51 * (1 / 3)) / 101, 14);
    expect(plain.stats[8]).toBe(0.5);
  });

  it('area ranges: ground truth outside the range and unmatched detections outside it are ignored', () => {
    const anns = [gtBox(1, 1, [0, 0, 20, 20]), gtBox(2, 1, [100, 100, 100, 100])]; // small (400) and large (10000)
    const res = [
      box(1, [50, 0, 40, 40], 0.95), // medium, unmatched
      box(1, [100, 100, 100, 100], 0.9), // the large GT
      box(1, [0, 150, 10, 10], 0.85), // small, unmatched
      box(1, [0, 0, 20, 20], 0.8), // the small GT
    ];
    const { stats } = run(dataset(anns), res, 'bbox');
    // all:    FP TP FP TP → precision [0 .5 1/3 .5], envelope .5 everywhere
    // small:  (medium dt ignored) (dt on the large GT ignored) FP TP → .5
    // medium: no GT → -1;  large: TP, the rest ignored → 1 tp, 0 fp
    expectStats(stats, [0.5, 0.5, 0.5, 0.5, -1, 1, 0, 1, 1, 1, -1, 1]);
    expect([stats[0], stats[3]]).toEqual([0.5, 0.5]); // every precision is exactly 1/2 here
  });

  it('categories: a category without GT is left out of the mean, one without detections counts 0; useCats off pools them', () => {
    const anns = [gtBox(1, 1, [0, 0, 50, 50]), gtBox(2, 1, [100, 100, 50, 50], { category_id: 2 })];
    const res = [box(1, [0, 0, 50, 50], 0.9, 1), box(1, [100, 100, 50, 50], 0.8, 3)];
    const gt = dataset(anns, 200, [1, 2, 3]);
    const byCat = run(gt, res, 'bbox');
    expect(byCat.stats[0]).toBeCloseTo(ONE_TP / 2, 15); // cat 1: ~1, cat 2: 0, cat 3: no GT (-1, left out)
    const pooled = run(gt, res, 'bbox', (E) => (E.params.useCats = false));
    expect(pooled.stats[0]).toBe(1);
  });

  it('maxDets keeps the highest-scoring detections per image', () => {
    const anns = Array.from({ length: 3 }, (_, i) => gtBox(i + 1, 1, [i * 60, 0, 50, 50]));
    const res = [box(1, [0, 0, 50, 50], 0.5), box(1, [60, 0, 50, 50], 0.7), box(1, [120, 0, 50, 50], 0.6), box(1, [0, 100, 5, 5], 0.9)];
    const { stats } = run(dataset(anns), res, 'bbox', (E) => (E.params.maxDets = [1, 2, 100]));
    expect(stats[6]).toBe(0); // the top detection is the FP
    expect(stats[7]).toBeCloseTo(1 / 3, 15); // FP + TP
    expect(stats[8]).toBe(1);
  });
});

describe('keypoints (OKS)', () => {
  const sig = COCO_KEYPOINT_SIGMAS;
  const kpGt = (id: number, shiftVisible: number[] = []): CocoAnnotation => {
    const keypoints: number[] = [];
    for (let k = 0; k < 17; k++) keypoints.push(20 + 5 * k, 30 + 3 * k, shiftVisible.includes(k) ? 0 : 2);
    return { id, image_id: 1, category_id: 1, bbox: [10, 10, 120, 120], area: 10000, iscrowd: 0, keypoints, num_keypoints: 17 - shiftVisible.length };
  };
  const shifted = (g: CocoAnnotation, d: number, score = 1, far: number[] = []): CocoResult => ({
    image_id: 1,
    category_id: 1,
    score,
    keypoints: g.keypoints!.flatMap((v, i) => (i % 3 === 0 ? [v + d + (far.includes(i / 3) ? 500 : 0)] : i % 3 === 1 ? [v] : [1])),
  });

  it('OKS = mean over labelled keypoints of exp(-d²/(2·area·(2σ)²))', () => {
    const g = kpGt(1, [3, 4]); // two keypoints unlabelled: their (wild) predictions do not count
    const coco = new COCO(dataset([g]));
    const E = new COCOeval(coco, coco.loadRes([shifted(g, 8, 1, [3, 4])]), 'keypoints');
    E.evaluate();
    const oks = E.ious.values().next().value!.data[0]!;
    const vis = [...Array(17).keys()].filter((k) => k !== 3 && k !== 4);
    const expected = vis.reduce((a, k) => a + Math.exp(-(8 * 8) / (2 * 10000 * (2 * sig[k]!) ** 2)), 0) / vis.length;
    expect(oks).toBeCloseTo(expected, 14);
  });

  it('AP counts the thresholds the OKS passes: shift 8 px at area 1e4 → OKS 0.734 → 5/10; shift 5 → 0.871 → 8/10', () => {
    const g = kpGt(1);
    const s8 = run(dataset([g]), [shifted(g, 8)], 'keypoints').stats;
    expect(s8[0]).toBeCloseTo(0.5 * ONE_TP, 15);
    expect(s8[1]).toBeCloseTo(1, 14);
    expect(s8[2]).toBe(0);
    expect(s8[5]).toBe(0.5);
    const s5 = run(dataset([g]), [shifted(g, 5)], 'keypoints').stats;
    expect(s5[0]).toBeCloseTo(0.8 * ONE_TP, 15);
  });

  it('a GT without keypoints is ignored, and detections inside its doubled box are ignored with it', () => {
    const g = kpGt(1);
    const empty: CocoAnnotation = { id: 2, image_id: 1, category_id: 1, bbox: [150, 150, 20, 20], area: 400, iscrowd: 0, keypoints: new Array(51).fill(0), num_keypoints: 0 };
    const inBox: CocoResult = { image_id: 1, category_id: 1, score: 0.99, keypoints: Array.from({ length: 17 }, () => [160, 165, 1]).flat() };
    const { stats, E } = run(dataset([g, empty], 300), [inBox, shifted(g, 0, 0.5)], 'keypoints');
    expect(stats[0]).toBeCloseTo(1, 14); // the higher-scored detection on the keypoint-less person is neither TP nor FP
    const m = E.evalImgs[0]!;
    expect(Array.from(m.gtIgnore)).toEqual([0, 1]);
    expect([m.dtIgnore[0], m.dtMatches[0]]).toEqual([1, 2]);
  });
});

describe('matches the COCO API evaluator (cocoeval.py + maskApi.c) exactly', () => {
  const ref = fixture('cocoeval_reference.json') as {
    gt: CocoDataset;
    results: Record<string, CocoResult[]>;
    expected: Record<string, { stats: number[]; recall: number[] }>;
  };
  const types: Record<string, IouType> = { bbox: 'bbox', segm: 'segm', segm_bb: 'segm', keypoints: 'keypoints' };

  it('real person detections (test_coco_det_AP_H_56.json) as bbox results', () => {
    const exp = ref.expected['test_coco_det_AP_H_56/bbox']!;
    const { stats, E } = run(fixture('test_coco.json'), fixture('test_coco_det_AP_H_56.json'), 'bbox');
    expect(stats).toEqual(exp.stats);
    expect(Array.from(E.eval!.recall)).toEqual(exp.recall);
    expect(stats[0]).toBeCloseTo(0.7891214003991492, 15);
  });

  for (const name of Object.keys(types))
    for (const useCats of [1, 0])
      it(`synthetic set with crowds and 3 categories: ${name}, useCats ${useCats}`, () => {
        const exp = ref.expected[`${name}/useCats${useCats}`]!;
        const { stats, E } = run(ref.gt, ref.results[name]!, types[name]!, (e) => (e.params.useCats = !!useCats));
        expect(stats).toEqual(exp.stats);
        expect(Array.from(E.eval!.recall)).toEqual(exp.recall);
      });
});

describe('loadRes', () => {
  const gt = dataset([gtBox(1, 1, [0, 0, 10, 10])], 20);
  const coco = new COCO(gt);

  it('bbox results: ids 1.., area w·h, box polygon as segmentation, input untouched', () => {
    const input = [box(1, [1, 2, 3, 4], 0.5)];
    const r = coco.loadRes(input);
    const a = r.loadAnns([1])[0]!;
    expect([a.id, a.area, a.iscrowd]).toEqual([1, 12, 0]);
    expect(a.segmentation).toEqual([[1, 2, 1, 6, 4, 6, 4, 2]]);
    expect(input[0]).not.toHaveProperty('id');
  });

  it('segm results: area and bbox from the RLE; keypoint results: extent of all points', () => {
    const seg = coco.loadRes([{ image_id: 1, category_id: 1, score: 1, segmentation: { size: [20, 20], counts: [22, 3, 17, 3, 355] } }]).loadAnns([1])[0]!;
    expect([seg.area, seg.bbox]).toEqual([6, [1, 2, 2, 3]]);
    const kp = coco.loadRes([{ image_id: 1, category_id: 1, score: 1, keypoints: [5, 6, 2, 0, 0, 0, 9, 12, 1] }]).loadAnns([1])[0]!;
    expect([kp.area, kp.bbox]).toEqual([108, [0, 0, 9, 12]]);
  });

  it('rejects results for images outside the ground truth', () => {
    expect(() => coco.loadRes([box(7, [0, 0, 1, 1], 1)])).toThrow(/do not correspond/);
  });
});
