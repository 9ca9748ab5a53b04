/**
 * The whole Mask R-CNN head stack against `maskrcnn_mmdet_s0` and `maskrcnn_tv_s0` (FPN → RPN →
 * RoI box head → NMS → mask head → paste-back on stored backbone features), end to end and stage by
 * stage from each stage's stored inputs, at the parity README's tolerances: identical proposal and
 * detection sets and order; boxes ≤ 1e-3 px, scores ≤ 1e-5, mask probabilities ≤ 1e-4, binary masks
 * equal except where the reference probability is within 1e-4 of 0.5.
 */
import { type Tensor, dispose, memory } from '@tubelet/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type HeadsResult,
  type ImageMeta,
  MaskRcnnHeadsModule,
  OutputRecorder,
  applyHeadsWeights,
  boxDetections,
  detectFromProposals,
  headsConfigFromVectorConfig,
  mapRoiLevels,
  maskStage,
  pasteFull,
  rpnProposals,
  runHeads,
  runMaskRcnnHeads,
  splitDetectorStateDict,
} from '../src/index';
import { type Fixture, compare, fixture, values } from './fixtures/detection/helpers';

/** Per-output tolerance [abs, rel] of the README; undefined = exact. */
function tolerance(name: string): [number, number] | undefined {
  if (/^(rpn\.proposal_levels|roi\.levels|det\.labels|det\.src_roi)$/.test(name)) return undefined;
  if (name.startsWith('det.boxes')) return [1e-3, 0];
  if (name === 'det.scores') return [1e-5, 0];
  if (name === 'mask.pasted_prob' || name === 'mask.probs28') return [1e-4, 0];
  if (name.startsWith('anchors.') || name === 'rpn.proposals' || name === 'mask.rois' || name === 'mask.paste_boxes') return [1e-4, 1e-5];
  if (name === 'rpn.proposal_scores') return [1e-5, 0];
  return [1e-4, 1e-4]; // features, logits (fpn.*, rpn.cls/reg, roi.*, mask.roi_feats, mask.logits_sel)
}

async function expectOutput(fx: Fixture, name: string, t: Tensor | undefined, report?: Map<string, number>): Promise<void> {
  expect(t, `${name} was not produced`).toBeDefined();
  const ref = fx.raw(name);
  expect(t!.shape, name).toEqual(ref.shape);
  const got = await values(t!);
  const want = fx.ints(name);
  if (name === 'mask.bin') {
    const prob = fx.f32('mask.pasted_prob');
    let flipped = 0;
    for (let i = 0; i < want.length; i++) {
      if (got[i] === want[i]) continue;
      flipped++;
      expect(Math.abs(prob[i]! - 0.5), `${name}[${i}] differs with reference probability ${prob[i]}`).toBeLessThanOrEqual(1e-4);
    }
    report?.set(name, flipped);
    return;
  }
  const tol = tolerance(name);
  if (!tol) {
    expect(got, name).toEqual(want);
    report?.set(name, 0);
    return;
  }
  const c = compare(got, want, tol[0], tol[1]);
  report?.set(name, c.maxAbs);
  expect(c.excess, `${name}: max |diff| ${c.maxAbs} (worst at ${c.at}: ${got[c.at]} vs ${want[c.at]})`).toBeLessThanOrEqual(0);
}

function metaOf(fx: Fixture): ImageMeta {
  const m = fx.config.meta;
  return { oriShape: m.ori_shape, imgShape: m.img_shape, padShape: m.pad_shape, scaleFactor: m.scale_factor };
}

const IN = ['in.c2', 'in.c3', 'in.c4', 'in.c5'];

for (const name of ['maskrcnn_mmdet_s0', 'maskrcnn_tv_s0']) {
  describe(name, () => {
    const fx = fixture(name);
    const cfg = headsConfigFromVectorConfig(fx.config);
    const module = new MaskRcnnHeadsModule(cfg);
    const meta = metaOf(fx);
    let feats: Tensor[] = [];
    let result: HeadsResult | null = null;
    let start = 0;

    beforeAll(async () => {
      start = memory('cpu').numTensors;
      applyHeadsWeights(module, splitDetectorStateDict(fx.tensors).heads);
      feats = IN.map((k) => fx.tensor(k));
      result = await runHeads(module, feats, meta, { record: 'all' });
    });

    afterAll(() => {
      if (result) {
        dispose(result.outputs);
        result.masks?.probs.dispose();
      }
      dispose(feats);
      module.dispose();
      expect(memory('cpu').numTensors, 'live tensors after the stack').toBe(start);
    });

    it(`the config is the vectors' (${fx.config.mode} mode)`, () => {
      expect(cfg.mode).toBe(fx.config.mode === 'tv' ? 'torchvision' : 'mmdet');
      expect(cfg.fpnChannels).toBe(fx.config.dims.fpn_out);
      expect(cfg.rpn.nmsPre).toBe(fx.config.test_cfg.rpn.nms_pre);
    });

    it('end to end: every stored output at its tolerance', async () => {
      const stored = [...fx.tensors.keys()].filter((k) => !k.startsWith('weights.') && !k.startsWith('in.'));
      expect(stored.length).toBeGreaterThan(30);
      const report = new Map<string, number>();
      for (const k of stored) await expectOutput(fx, k, result!.outputs.get(k), report);
      if (process.env.TUBELET_REPORT) console.log(name, Object.fromEntries(report));
      // identical proposal and detection sets and order
      expect(result!.outputs.get('rpn.proposals')!.shape[0]).toBe(fx.raw('rpn.proposals').shape[0]);
      expect(Array.from(result!.detections.labels)).toEqual(fx.ints('det.labels'));
      expect(Array.from(result!.detections.srcRoi)).toEqual(fx.ints('det.src_roi'));
    });

    it('stage: proposals from the stored rpn.cls / rpn.reg / anchors', async () => {
      const levels = [0, 1, 2, 3, 4];
      const cls = levels.map((l) => fx.tensor(`rpn.cls.${l}`));
      const reg = levels.map((l) => fx.tensor(`rpn.reg.${l}`));
      const anchors = levels.map((l) => fx.tensor(`anchors.${l}`));
      const p = await rpnProposals(cls, reg, anchors, meta.imgShape, cfg.rpn, cfg.mode);
      await expectOutput(fx, 'rpn.proposals', p.boxes);
      await expectOutput(fx, 'rpn.proposal_scores', p.scores);
      expect(Array.from(p.levels)).toEqual(fx.ints('rpn.proposal_levels'));
      dispose([cls, reg, anchors, p.boxes, p.scores]);
    });

    it('stage: RoI levels, box head and detections from the stored proposals and FPN maps', async () => {
      const proposals = fx.f32('rpn.proposals');
      expect(Array.from(mapRoiLevels(proposals, 4, cfg.mode, cfg.finestScale))).toEqual(fx.ints('roi.levels'));
      const P = ['p2', 'p3', 'p4', 'p5'].map((p) => fx.tensor(`fpn.${p}`));
      const rec = new OutputRecorder(new Set(['roi.feats_first16', 'roi.cls_score', 'roi.bbox_pred', 'roi.bbox_pred_first200', 'det.boxes', 'det.scores', 'det.labels', 'det.src_roi']));
      await detectFromProposals(module, P, proposals, meta, { rec });
      for (const k of ['roi.feats_first16', 'roi.cls_score', 'roi.bbox_pred_first200', 'det.boxes', 'det.scores', 'det.labels', 'det.src_roi']) await expectOutput(fx, k, rec.outputs.get(k));
      // detections from the stored cls_score (and our bbox_pred, whose first 200 rows were checked)
      const cls = fx.tensor('roi.cls_score');
      const det = await boxDetections(proposals, cls, rec.outputs.get('roi.bbox_pred')!, meta, cfg);
      expect(Array.from(det.labels)).toEqual(fx.ints('det.labels'));
      expect(Array.from(det.srcRoi)).toEqual(fx.ints('det.src_roi'));
      expect(compare(det.boxes, fx.f32('det.boxes'), 1e-3, 0).excess).toBeLessThanOrEqual(0);
      expect(compare(det.scores, fx.f32('det.scores'), 1e-5, 0).excess).toBeLessThanOrEqual(0);
      if (fx.has('det.boxes_test_scale')) expect(compare(det.boxesTestScale, fx.f32('det.boxes_test_scale'), 1e-3, 0).excess).toBeLessThanOrEqual(0);
      cls.dispose();
      rec.dispose();
      dispose(P);
    });

    it('stage: masks from the stored detections and FPN maps', async () => {
      const P = ['p2', 'p3', 'p4', 'p5'].map((p) => fx.tensor(`fpn.${p}`));
      const boxes = fx.f32('det.boxes');
      const det = {
        boxes,
        boxesTestScale: fx.has('det.boxes_test_scale') ? fx.f32('det.boxes_test_scale') : boxes.map((v, i) => Math.fround(v * meta.scaleFactor[i % 4]!)),
        scores: fx.f32('det.scores'),
        labels: Int32Array.from(fx.ints('det.labels')),
        srcRoi: Int32Array.from(fx.ints('det.src_roi')),
      };
      const rec = new OutputRecorder('all');
      const m = maskStage(module, P, det, meta, rec);
      const { prob, bin } = await pasteFull(m, meta, cfg.mode, cfg.rcnn.maskThrBinary);
      for (const k of ['mask.rois', 'mask.paste_boxes', 'mask.roi_feats', 'mask.logits_sel', 'mask.probs28']) if (fx.has(k)) await expectOutput(fx, k, rec.outputs.get(k));
      await expectOutput(fx, 'mask.pasted_prob', prob);
      await expectOutput(fx, 'mask.bin', bin);
      dispose([P, m.probs, prob, bin]);
      rec.dispose();
    });

    it('runMaskRcnnHeads (what `tubelet run --arch maskrcnn-heads` calls): default and named outputs', async () => {
      const inputs = new Map(IN.map((k) => [k, fx.tensor(k)] as const));
      const out = await runMaskRcnnHeads(fx.config, fx.tensors, inputs);
      expect([...out.keys()]).toEqual(['det.boxes', 'det.scores', 'det.labels', 'mask.bin']);
      for (const [k, t] of out) await expectOutput(fx, k, t);
      dispose(out);
      const two = await runMaskRcnnHeads(fx.config, fx.tensors, inputs, { outputs: ['fpn.p6', 'rpn.proposal_levels'] });
      expect([...two.keys()]).toEqual(['fpn.p6', 'rpn.proposal_levels']);
      expect(two.get('rpn.proposal_levels')!.dtype).toBe('int64');
      dispose(two);
      await expect(runMaskRcnnHeads(fx.config, fx.tensors, inputs, { outputs: ['det.nope'] })).rejects.toThrow(/unknown output det\.nope/);
      const rnd = await runMaskRcnnHeads(fx.config, undefined, inputs, { seed: 1, outputs: ['fpn.p2'] });
      expect(rnd.get('fpn.p2')!.shape).toEqual(fx.raw('fpn.p2').shape);
      dispose(rnd);
      await expect(runMaskRcnnHeads(fx.config, undefined, inputs)).rejects.toThrow(/give weights .* or a seed/);
      await expect(runMaskRcnnHeads(fx.config, fx.tensors, new Map([...inputs].slice(0, 3)))).rejects.toThrow(/input 'in\.c5' is missing/);
      dispose(inputs);
    });
  });
}

describe('heads weights are loaded strictly', () => {
  it('names missing, unexpected and mis-shaped keys', () => {
    const fx = fixture('maskrcnn_mmdet_s0');
    const module = new MaskRcnnHeadsModule(headsConfigFromVectorConfig(fx.config));
    const sd = new Map(splitDetectorStateDict(fx.tensors).heads);
    sd.delete('rpn_head.rpn_cls.bias');
    sd.set('roi_head.bbox_head.fc_cls.weight', { ...sd.get('roi_head.bbox_head.fc_cls.weight')!, shape: [80, 64] });
    sd.set('roi_head.extra.weight', sd.get('rpn_head.rpn_cls.weight')!);
    expect(() => applyHeadsWeights(module, sd, { source: 'ckpt.pth' })).toThrow(
      /ckpt\.pth: state dict does not match the model — missing keys: rpn_head\.rpn_cls\.bias; unexpected keys: roi_head\.extra\.weight; shape mismatches: roi_head\.bbox_head\.fc_cls\.weight expects \[81, 64\] got \[80, 64\]/,
    );
    expect(module.isLoaded).toBe(false);
  });

  it('an empty image-level result: zero detections give empty outputs of the right shapes', async () => {
    const fx = fixture('maskrcnn_mmdet_s0');
    const start = memory('cpu').numTensors;
    const inputs = new Map(IN.map((k) => [k, fx.tensor(k)] as const));
    const out = await runMaskRcnnHeads({ ...fx.config, test_cfg: { ...fx.config.test_cfg, rcnn: { ...fx.config.test_cfg.rcnn, score_thr: 0.99 } } }, fx.tensors, inputs, {
      outputs: ['det.boxes', 'det.labels', 'mask.probs28', 'mask.bin'],
    });
    expect(out.get('det.boxes')!.shape).toEqual([0, 4]);
    expect(out.get('det.labels')!.shape).toEqual([0]);
    expect(out.get('mask.probs28')!.shape).toEqual([0, 28, 28]);
    expect(out.get('mask.bin')!.shape).toEqual([0, ...fx.config.meta.ori_shape]);
    dispose([out, inputs]);
    expect(memory('cpu').numTensors).toBe(start);
  });
});
