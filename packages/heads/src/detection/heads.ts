/**
 * The Mask R-CNN head stack on backbone features: FPN → RPN proposals → RoI box head → class-wise
 * NMS → mask head → paste-back, with mmdet 2.11 semantics (default) or torchvision 0.14's.
 *
 * Every stage is also callable on its own (`boxDetections` from proposals and logits, `maskStage`
 * from detections), and `runHeads` can record the named intermediates the parity vectors store
 * (fpn.p2 … mask.bin).
 */
import {
  type Tensor,
  boxDecode,
  cast,
  gather,
  greaterEqual,
  mul,
  pasteMasks,
  reshape,
  sigmoid,
  softmax,
  tensor,
} from '@tubelet/core';
import { anchorSpecs, levelAnchors } from './anchors';
import type { DetectionMode, MaskRcnnHeadsConfig, RcnnTestConfig } from './config';
import { type MaskRcnnHeadsModule } from './modules';
import { batchedNms } from './nms';
import { extractRoiFeatures, inferredScales, mapRoiLevels, roiAlignSpec } from './roi';
import { rpnProposals } from './rpn';
import { Bag, f32, f32Data, onBackendWith } from './util';

/** mmdet img_meta of one image (all [h, w]); scaleFactor = float32 [w_scale, h_scale, w_scale, h_scale]. */
export interface ImageMeta {
  oriShape: readonly [number, number];
  imgShape: readonly [number, number];
  padShape: readonly [number, number];
  scaleFactor: readonly [number, number, number, number];
}

/** Detections of one image, in NMS order (score descending). */
export interface Detections {
  /** [N·4] xyxy in original-image pixels. */
  boxes: Float32Array;
  /** [N·4] the same boxes at test scale (before rescaling). */
  boxesTestScale: Float32Array;
  scores: Float32Array;
  /** 0-based labels (mmdet order). */
  labels: Int32Array;
  /** Row of the proposal each detection came from. */
  srcRoi: Int32Array;
}

/** Records named tensors (clones share storage, so the originals can be freed). */
export class OutputRecorder {
  readonly outputs = new Map<string, Tensor>();
  constructor(
    private readonly want: ReadonlySet<string> | 'all' | undefined,
    private readonly backend?: string,
  ) {}
  wants(name: string): boolean {
    return this.want === 'all' || (this.want?.has(name) ?? false);
  }
  put(name: string, t: Tensor): void {
    if (!this.wants(name)) return;
    this.outputs.get(name)?.dispose();
    this.outputs.set(name, t.clone());
  }
  /** Host values; `int64` stores integers as int64 (what the vectors use for labels / levels / indices). */
  putHost(name: string, data: Float32Array | Int32Array, shape: number[], int64 = false): void {
    if (!this.wants(name)) return;
    this.outputs.get(name)?.dispose();
    const t = int64 ? tensor(BigInt64Array.from(data, (v) => BigInt(v)), shape, { backend: this.backend }) : tensor(data, shape, { backend: this.backend });
    this.outputs.set(name, t);
  }
  dispose(): void {
    for (const t of this.outputs.values()) t.dispose();
    this.outputs.clear();
  }
}

/**
 * Box head post-processing of one image (mmdet BBoxHead.get_bboxes + multiclass_nms, or torchvision
 * RoIHeads.postprocess_detections + transform.postprocess): softmax over classes + 1, class-specific
 * decoding (stds 0.1/0.1/0.2/0.2, clip to imgShape), rescale to the original image, score > scoreThr,
 * class-wise NMS, first maxPerImg. `proposals` [K·4] host xyxy, `clsScore` [K, classes + 1]
 * (background last), `bboxPred` [K, 4·classes]. Inputs are not disposed.
 */
export async function boxDetections(
  proposals: Float32Array,
  clsScore: Tensor,
  bboxPred: Tensor,
  meta: ImageMeta,
  cfg: Pick<MaskRcnnHeadsConfig, 'bboxStds' | 'numClasses' | 'mode'> & { rcnn: RcnnTestConfig },
): Promise<Detections> {
  const mode = cfg.mode;
  const K = proposals.length / 4;
  const C = cfg.numClasses;
  if (clsScore.rank !== 2 || clsScore.shape[0] !== K || clsScore.shape[1] !== C + 1) throw new Error(`boxDetections: cls_score must be [${K}, ${C + 1}], got ${clsScore.describe()}`);
  if (bboxPred.rank !== 2 || bboxPred.shape[0] !== K || bboxPred.shape[1] !== 4 * C) throw new Error(`boxDetections: bbox_pred must be [${K}, ${4 * C}], got ${bboxPred.describe()}`);
  const bag = new Bag();
  try {
    const backend = clsScore.backend;
    let logits = clsScore;
    if (mode === 'mmdet') {
      // test_mixins quirk: RoIs whose y2 == 0 (batch padding) get a zero cls_score row
      const zeroRows: number[] = [];
      for (let k = 0; k < K; k++) if (proposals[4 * k + 3] === 0) zeroRows.push(k);
      if (zeroRows.length) {
        const m = new Float32Array(K).fill(1);
        for (const k of zeroRows) m[k] = 0;
        logits = bag.add(mul(clsScore, bag.add(tensor(m, [K, 1], { backend }))));
      }
    }
    const scores = await f32Data(bag.add(softmax(logits, -1)));
    const rois = bag.add(tensor(proposals, [K, 4], { backend }));
    const [sy0, sx0] = [meta.imgShape[0], meta.imgShape[1]];
    const decoded = bag.add(
      await onBackendWith('boxDecode', [rois, bboxPred], ([r, d]) =>
        boxDecode(r!, d!, mode === 'mmdet' ? { stds: cfg.bboxStds, maxShape: [sy0, sx0] } : { style: 'torchvision', weights: cfg.bboxStds.map((s) => 1 / s), maxShape: [sy0, sx0] }),
      ),
    );
    const boxes = await f32Data(decoded);
    const thr = cfg.rcnn.scoreThr;
    const candBoxes: number[] = [];
    const candScores: number[] = [];
    const candLabels: number[] = [];
    const candRoi: number[] = [];
    for (let k = 0; k < K; k++) {
      for (let c = 0; c < C; c++) {
        const s = scores[k * (C + 1) + c]!;
        if (!(s > thr)) continue;
        const j = (k * C + c) * 4;
        const b = [boxes[j]!, boxes[j + 1]!, boxes[j + 2]!, boxes[j + 3]!];
        if (mode === 'torchvision' && !(f32(b[2]! - b[0]!) >= 1e-2 && f32(b[3]! - b[1]!) >= 1e-2)) continue;
        candBoxes.push(...b);
        candScores.push(s);
        candLabels.push(c);
        candRoi.push(k);
      }
    }
    // mmdet rescales before NMS (boxes / scale_factor); torchvision after, by ori / img per axis
    const sf = meta.scaleFactor.map(f32);
    const rw = f32(f32(meta.oriShape[1]) / f32(meta.imgShape[1]));
    const rh = f32(f32(meta.oriShape[0]) / f32(meta.imgShape[0]));
    const testScale = Float32Array.from(candBoxes);
    const nmsBoxes = mode === 'mmdet' ? testScale.map((v, i) => f32(v / sf[i % 4]!)) : testScale;
    const M = candScores.length;
    const bt = bag.add(tensor(nmsBoxes, [M, 4], { backend }));
    const st = bag.add(tensor(Float32Array.from(candScores), [M], { backend }));
    let keep = await batchedNms(bt, st, Int32Array.from(candLabels, (l) => (mode === 'mmdet' ? l : l + 1)), cfg.rcnn.iouThreshold, mode);
    if (keep.length > cfg.rcnn.maxPerImg) keep = keep.slice(0, cfg.rcnn.maxPerImg);
    const N = keep.length;
    const out: Detections = {
      boxes: new Float32Array(N * 4),
      boxesTestScale: new Float32Array(N * 4),
      scores: new Float32Array(N),
      labels: new Int32Array(N),
      srcRoi: new Int32Array(N),
    };
    keep.forEach((i, n) => {
      for (let j = 0; j < 4; j++) {
        out.boxesTestScale[4 * n + j] = testScale[4 * i + j]!;
        out.boxes[4 * n + j] = mode === 'mmdet' ? nmsBoxes[4 * i + j]! : f32(testScale[4 * i + j]! * (j % 2 === 0 ? rw : rh));
      }
      out.scores[n] = candScores[i]!;
      out.labels[n] = candLabels[i]!;
      out.srcRoi[n] = candRoi[i]!;
    });
    return out;
  } finally {
    bag.dispose();
  }
}

export interface MaskStageResult {
  /** [N, Mh, Mw] sigmoid probabilities of each detection's class channel. */
  probs: Tensor;
  /** [N·4] the boxes masks are pasted at, in original-image pixels (mmdet: (det·sf)/sf). */
  pasteBoxes: Float32Array;
}

/**
 * Mask head on detections (mmdet simple_test_mask + FCNMaskHead.get_seg_masks up to the paste; or
 * torchvision's mask branch): mask RoIs at test scale (mmdet: det·scale_factor; torchvision: the
 * test-scale detections), RoIAlign on P2..P5, the mask head, the label's channel, sigmoid.
 */
export function maskStage(module: MaskRcnnHeadsModule, feats: readonly Tensor[], det: Detections, meta: ImageMeta, rec?: OutputRecorder): MaskStageResult {
  const cfg = module.config;
  const mode = cfg.mode;
  const N = det.labels.length;
  const bag = new Bag();
  try {
    const sf = meta.scaleFactor.map(f32);
    const rois = mode === 'mmdet' ? det.boxes.map((v, i) => f32(v * sf[i % 4]!)) : det.boxesTestScale.slice();
    const pasteBoxes = mode === 'mmdet' ? rois.map((v, i) => f32(v / sf[i % 4]!)) : det.boxes.slice();
    rec?.putHost('mask.rois', rois, [N, 4]);
    rec?.putHost('mask.paste_boxes', pasteBoxes, [N, 4]);
    const P = feats.slice(0, 4);
    const levels = mapRoiLevels(rois, P.length, mode, cfg.finestScale);
    const scales = mode === 'mmdet' ? cfg.strides.slice(0, 4).map((s) => 1 / s) : inferredScales(P, meta.imgShape);
    const roiFeats = bag.add(extractRoiFeatures(P, rois, levels, roiAlignSpec(mode, cfg.maskRoiSize, scales)));
    rec?.put('mask.roi_feats', roiFeats);
    const logits = bag.add(module.roi_head.mask_head.forward(roiFeats));
    const [, C, Mh, Mw] = logits.shape as [number, number, number, number];
    const flat = bag.add(reshape(logits, [N * C, Mh * Mw]));
    const idx = bag.add(tensor(Int32Array.from(det.labels, (l, n) => n * C + l), [N], { backend: logits.backend }));
    const sel = bag.add(reshape(bag.add(gather(flat, idx)), [N, Mh, Mw]));
    rec?.put('mask.logits_sel', sel);
    const probs = sigmoid(sel);
    rec?.put('mask.probs28', probs);
    return { probs, pasteBoxes };
  } finally {
    bag.dispose();
  }
}

/** Full-image pasted probabilities [N, H, W] and binary masks (float 0/1) of a mask stage result. Inputs are not disposed. */
export async function pasteFull(m: MaskStageResult, meta: ImageMeta, mode: DetectionMode, thr: number): Promise<{ prob: Tensor; bin: Tensor }> {
  const N = m.probs.shape[0]!;
  const boxes = tensor(m.pasteBoxes, [N, 4], { backend: m.probs.backend });
  try {
    const prob = await onBackendWith('pasteMasks', [m.probs, boxes], ([p, b]) => pasteMasks(p!, b!, { size: meta.oriShape, mode: mode === 'mmdet' ? 'mmdet' : 'torchvision' }));
    const ge = greaterEqual(prob, thr);
    const bin = cast(ge, 'float32');
    ge.dispose();
    return { prob, bin };
  } finally {
    boxes.dispose();
  }
}

/** A binary mask covering part of the original image: `data[r·width + c]` is pixel (x + c, y + r); outside it the mask is 0. */
export interface MaskRegion {
  x: number;
  y: number;
  width: number;
  height: number;
  /** 0/1 bytes, row-major. */
  data: Uint8Array;
}

/** Expands a region mask to a full width × height 0/1 image. */
export function maskToImage(m: MaskRegion, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height);
  for (let r = 0; r < m.height; r++) {
    const y = m.y + r;
    if (y < 0 || y >= height) continue;
    for (let c = 0; c < m.width; c++) {
      const x = m.x + c;
      if (x >= 0 && x < width && m.data[r * m.width + c]) out[y * width + x] = 1;
    }
  }
  return out;
}

/**
 * Binary masks of each detection as regions of the original image, identical to the full-image
 * masks. mmdet: the CPU paste path's region [floor(x0) − 1, ceil(x1) + 1) × … (outside it the mask is
 * 0), pasted with the box translated by the region's integer origin (exact in float32);
 * torchvision: the whole image pasted per detection, then cropped to the pasted rectangle.
 */
export async function pasteRegions(m: MaskStageResult, meta: ImageMeta, mode: DetectionMode, thr: number): Promise<MaskRegion[]> {
  const N = m.probs.shape[0]!;
  const [H, W] = meta.oriShape;
  const out: MaskRegion[] = [];
  const bag = new Bag();
  try {
    const [, Mh, Mw] = m.probs.shape as [number, number, number];
    const backend = m.probs.backend;
    for (let n = 0; n < N; n++) {
      const [x0, y0, x1, y1] = [m.pasteBoxes[4 * n]!, m.pasteBoxes[4 * n + 1]!, m.pasteBoxes[4 * n + 2]!, m.pasteBoxes[4 * n + 3]!];
      let rx: number, ry: number, rw: number, rh: number;
      let box: Float32Array;
      let size: [number, number];
      if (mode === 'mmdet') {
        rx = Math.max(Math.floor(x0) - 1, 0);
        ry = Math.max(Math.floor(y0) - 1, 0);
        rw = Math.min(Math.ceil(x1) + 1, W) - rx;
        rh = Math.min(Math.ceil(y1) + 1, H) - ry;
        if (!(rw > 0 && rh > 0)) {
          out.push({ x: Math.min(rx, W), y: Math.min(ry, H), width: 0, height: 0, data: new Uint8Array(0) });
          continue;
        }
        box = Float32Array.from([f32(x0 - rx), f32(y0 - ry), f32(x1 - rx), f32(y1 - ry)]);
        size = [rh, rw];
      } else {
        box = Float32Array.from([x0, y0, x1, y1]);
        size = [H, W];
        rx = 0;
        ry = 0;
        rw = W;
        rh = H;
      }
      const one = bag.add(gather(m.probs, bag.add(tensor(Int32Array.of(n), [1], { backend }))));
      const bt = bag.add(tensor(box, [1, 4], { backend }));
      const prob = bag.add(await onBackendWith('pasteMasks', [bag.add(reshape(one, [1, Mh, Mw])), bt], ([p, b]) => pasteMasks(p!, b!, { size, mode: mode === 'mmdet' ? 'mmdet' : 'torchvision' })));
      const v = await f32Data(prob);
      if (mode === 'mmdet') {
        const data = new Uint8Array(rw * rh);
        for (let i = 0; i < data.length; i++) data[i] = v[i]! >= thr ? 1 : 0;
        out.push({ x: rx, y: ry, width: rw, height: rh, data });
      } else {
        // crop to the rows / columns with any foreground
        let xa = W, xb = -1, ya = H, yb = -1;
        for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if (v[y * W + x]! >= thr) {
          if (x < xa) xa = x;
          if (x > xb) xb = x;
          if (y < ya) ya = y;
          if (y > yb) yb = y;
        }
        if (xb < 0) {
          out.push({ x: 0, y: 0, width: 0, height: 0, data: new Uint8Array(0) });
          continue;
        }
        const cw = xb - xa + 1;
        const ch = yb - ya + 1;
        const data = new Uint8Array(cw * ch);
        for (let r = 0; r < ch; r++) for (let c = 0; c < cw; c++) data[r * cw + c] = v[(ya + r) * W + xa + c]! >= thr ? 1 : 0;
        out.push({ x: xa, y: ya, width: cw, height: ch, data });
      }
      bag.dispose();
    }
    return out;
  } finally {
    bag.dispose();
  }
}

export interface RunHeadsOptions {
  /** Names of the intermediates to return (the vectors' names: fpn.p2 … mask.bin), or 'all'. */
  record?: ReadonlySet<string> | 'all';
  /** Run the mask branch (default true). */
  masks?: boolean;
  /** Overrides of the RCNN test config (score threshold, detections kept). */
  rcnn?: Partial<RcnnTestConfig>;
}

export interface HeadsResult {
  detections: Detections;
  /** The mask branch output (absent with masks: false); owned by the caller. */
  masks?: MaskStageResult;
  /** Recorded intermediates; owned by the caller. */
  outputs: Map<string, Tensor>;
}

/** Every name runHeads can record, for `record: 'all'`-style listings. */
export const HEAD_OUTPUT_NAMES: readonly string[] = [
  'fpn.p2', 'fpn.p3', 'fpn.p4', 'fpn.p5', 'fpn.p6',
  'rpn.cls.0', 'rpn.reg.0', 'anchors.0', 'rpn.cls.1', 'rpn.reg.1', 'anchors.1', 'rpn.cls.2', 'rpn.reg.2', 'anchors.2',
  'rpn.cls.3', 'rpn.reg.3', 'anchors.3', 'rpn.cls.4', 'rpn.reg.4', 'anchors.4',
  'rpn.proposals', 'rpn.proposal_scores', 'rpn.proposal_levels',
  'roi.levels', 'roi.feats', 'roi.feats_first16', 'roi.cls_score', 'roi.bbox_pred', 'roi.bbox_pred_first200',
  'det.boxes', 'det.scores', 'det.labels', 'det.src_roi', 'det.boxes_test_scale',
  'mask.rois', 'mask.paste_boxes', 'mask.roi_feats', 'mask.logits_sel', 'mask.probs28', 'mask.pasted_prob', 'mask.bin',
];

/**
 * Runs the whole head stack on backbone features C2..C5 ([1, C_i, H_i, W_i]) of one image. Inputs are
 * not disposed; everything returned is owned by the caller.
 */
export async function runHeads(module: MaskRcnnHeadsModule, feats: readonly Tensor[], meta: ImageMeta, opts: RunHeadsOptions = {}): Promise<HeadsResult> {
  const cfg = module.config;
  const mode = cfg.mode;
  if (feats.length !== 4) throw new Error(`Mask R-CNN heads: expected the 4 backbone maps C2..C5, got ${feats.length}`);
  if (feats[0]!.shape[0] !== 1) throw new Error(`Mask R-CNN heads: one image at a time, got batch ${feats[0]!.shape[0]}`);
  const backend = feats[0]!.backend;
  const rec = new OutputRecorder(opts.record, backend);
  const bag = new Bag();
  let masks: MaskStageResult | undefined;
  try {
    const P = bag.addAll(module.neck.forward(feats));
    P.forEach((p, i) => rec.put(`fpn.p${i + 2}`, p));
    const cls: Tensor[] = [];
    const reg: Tensor[] = [];
    P.forEach((p, l) => {
      const [c, r] = module.rpn_head.forward(p);
      cls.push(bag.add(c));
      reg.push(bag.add(r));
      rec.put(`rpn.cls.${l}`, c);
      rec.put(`rpn.reg.${l}`, r);
    });
    const specs = anchorSpecs(mode, P.map((p) => p.shape.slice(2)), meta.padShape, cfg.strides, cfg.anchorRatios, cfg.anchorScales);
    const anchors: Tensor[] = [];
    for (let l = 0; l < specs.length; l++) {
      const a = bag.add(await levelAnchors(specs[l]!, backend));
      anchors.push(a);
      rec.put(`anchors.${l}`, a);
    }
    const props = await rpnProposals(cls, reg, anchors, meta.imgShape, cfg.rpn, mode);
    bag.add(props.boxes);
    bag.add(props.scores);
    const K = props.levels.length;
    rec.put('rpn.proposals', props.boxes);
    rec.put('rpn.proposal_scores', props.scores);
    rec.putHost('rpn.proposal_levels', props.levels, [K], true);

    const proposals = await f32Data(props.boxes);
    const det = await detectFromProposals(module, P, proposals, meta, { rec, rcnn: opts.rcnn });
    if ((opts.masks ?? true) && det.labels.length > 0) {
      masks = maskStage(module, P, det, meta, rec);
      if (rec.wants('mask.pasted_prob') || rec.wants('mask.bin')) {
        const { prob, bin } = await pasteFull(masks, meta, mode, cfg.rcnn.maskThrBinary);
        rec.put('mask.pasted_prob', prob);
        rec.put('mask.bin', bin);
        prob.dispose();
        bin.dispose();
      }
    } else if (opts.masks ?? true) {
      // no detections: empty mask outputs of the right shapes
      const M = 2 * cfg.maskRoiSize;
      const [H, W] = meta.oriShape;
      const empty: [string, number[]][] = [
        ['mask.rois', [0, 4]],
        ['mask.paste_boxes', [0, 4]],
        ['mask.roi_feats', [0, cfg.fpnChannels, cfg.maskRoiSize, cfg.maskRoiSize]],
        ['mask.logits_sel', [0, M, M]],
        ['mask.probs28', [0, M, M]],
        ['mask.pasted_prob', [0, H, W]],
        ['mask.bin', [0, H, W]],
      ];
      for (const [k, shape] of empty) rec.putHost(k, new Float32Array(0), shape);
    }
    return { detections: det, ...(masks ? { masks } : {}), outputs: rec.outputs };
  } catch (e) {
    rec.dispose();
    masks?.probs.dispose();
    throw e;
  } finally {
    bag.dispose();
  }
}

/**
 * RoI box stage from proposals [K·4] (host): level mapping, RoIAlign 7×7 on P2..P5, the box head, then
 * boxDetections. Records roi.* and det.* when asked.
 */
export async function detectFromProposals(
  module: MaskRcnnHeadsModule,
  feats: readonly Tensor[],
  proposals: Float32Array,
  meta: ImageMeta,
  opts: { rec?: OutputRecorder; rcnn?: Partial<RcnnTestConfig> } = {},
): Promise<Detections> {
  const cfg = module.config;
  const mode = cfg.mode;
  const rec = opts.rec;
  const K = proposals.length / 4;
  const bag = new Bag();
  try {
    const P = feats.slice(0, 4);
    const levels = mapRoiLevels(proposals, P.length, mode, cfg.finestScale);
    rec?.putHost('roi.levels', levels, [K], true);
    const scales = mode === 'mmdet' ? cfg.strides.slice(0, 4).map((s) => 1 / s) : inferredScales(P, meta.imgShape);
    const roiFeats = bag.add(extractRoiFeatures(P, proposals, levels, roiAlignSpec(mode, cfg.roiSize, scales)));
    rec?.put('roi.feats', roiFeats);
    if (rec?.wants('roi.feats_first16')) rec.put('roi.feats_first16', bag.add(gather(roiFeats, bag.add(tensor(Int32Array.from({ length: Math.min(16, K) }, (_, i) => i), [Math.min(16, K)], { backend: roiFeats.backend })))));
    const [clsScore, bboxPred] = module.roi_head.bbox_head.forward(roiFeats);
    bag.add(clsScore);
    bag.add(bboxPred);
    rec?.put('roi.cls_score', clsScore);
    rec?.put('roi.bbox_pred', bboxPred);
    if (rec?.wants('roi.bbox_pred_first200')) rec.put('roi.bbox_pred_first200', bag.add(gather(bboxPred, bag.add(tensor(Int32Array.from({ length: Math.min(200, K) }, (_, i) => i), [Math.min(200, K)], { backend: bboxPred.backend })))));
    const det = await boxDetections(proposals, clsScore, bboxPred, meta, { ...cfg, rcnn: { ...cfg.rcnn, ...(opts.rcnn ?? {}) } });
    recordDetections(det, rec);
    return det;
  } finally {
    bag.dispose();
  }
}

function recordDetections(det: Detections, rec?: OutputRecorder): void {
  if (!rec) return;
  const N = det.labels.length;
  rec.putHost('det.boxes', det.boxes, [N, 4]);
  rec.putHost('det.boxes_test_scale', det.boxesTestScale, [N, 4]);
  rec.putHost('det.scores', det.scores, [N]);
  rec.putHost('det.labels', det.labels, [N], true);
  rec.putHost('det.src_roi', det.srcRoi, [N], true);
}
