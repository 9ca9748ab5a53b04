/**
 * COCO detection, instance segmentation and keypoint evaluation with the semantics of
 * pycocotools' COCOeval (evaluate → accumulate → summarize), reimplemented from the algorithm.
 */
import { COCO, type CocoAnnotation, type CocoDataset, type CocoResult } from './coco';
import { EPS, linspace, pairwiseSum, stableArgsort } from './numeric';
import { type Rle, bbIou, rleIou } from './rle';

export type IouType = 'bbox' | 'segm' | 'keypoints';

/** The 17 COCO person keypoint sigmas (nose, eyes, ears, shoulders, elbows, wrists, hips, knees, ankles). */
export const COCO_KEYPOINT_SIGMAS: readonly number[] = [0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89].map((s) => s / 10.0);

/** Evaluation parameters with pycocotools' defaults for the iouType. */
export class CocoEvalParams {
  imgIds: number[] = [];
  catIds: number[] = [];
  /** [.5:.05:.95] as numpy's linspace makes them (the 0.9 entry is 0.8999999999999999) */
  iouThrs: number[];
  /** [0:.01:1] */
  recThrs: number[];
  maxDets: number[];
  areaRng: [number, number][];
  areaRngLbl: string[];
  useCats = true;
  kptOksSigmas: number[] = [...COCO_KEYPOINT_SIGMAS];
  readonly iouType: IouType;

  constructor(iouType: IouType = 'segm') {
    this.iouType = iouType;
    this.iouThrs = linspace(0.5, 0.95, Math.round((0.95 - 0.5) / 0.05) + 1);
    this.recThrs = linspace(0.0, 1.0, Math.round((1.0 - 0.0) / 0.01) + 1);
    if (iouType === 'segm' || iouType === 'bbox') {
      this.maxDets = [1, 10, 100];
      this.areaRng = [
        [0 ** 2, 1e5 ** 2],
        [0 ** 2, 32 ** 2],
        [32 ** 2, 96 ** 2],
        [96 ** 2, 1e5 ** 2],
      ];
      this.areaRngLbl = ['all', 'small', 'medium', 'large'];
    } else if (iouType === 'keypoints') {
      this.maxDets = [20];
      this.areaRng = [
        [0 ** 2, 1e5 ** 2],
        [32 ** 2, 96 ** 2],
        [96 ** 2, 1e5 ** 2],
      ];
      this.areaRngLbl = ['all', 'medium', 'large'];
    } else throw new Error(`CocoEvalParams: iouType not supported: ${String(iouType)}`);
  }
}

/** Per image, category and area range matching (pycocotools' evalImgs entries). */
export interface EvalImg {
  imageId: number;
  categoryId: number;
  aRng: [number, number];
  maxDet: number;
  dtIds: number[];
  gtIds: number[];
  /** [T×D] matched gt id, 0 when unmatched */
  dtMatches: Float64Array;
  /** [T×G] matched dt id, 0 when unmatched */
  gtMatches: Float64Array;
  dtScores: number[];
  /** [G] */
  gtIgnore: Uint8Array;
  /** [T×D] */
  dtIgnore: Uint8Array;
}

/** Accumulated curves: precision and scores are [T,R,K,A,M], recall [T,K,A,M], row-major; -1 where there is no ground truth. */
export interface CocoEvalResult {
  counts: [number, number, number, number, number];
  precision: Float64Array;
  recall: Float64Array;
  scores: Float64Array;
}

/** An annotation prepared for evaluation. */
interface PAnn {
  id: number;
  imageId: number;
  categoryId: number;
  area: number;
  iscrowd: boolean;
  ignore: boolean;
  score: number;
  bbox: number[];
  rle?: Rle;
  keypoints?: number[];
}

/** IoU / OKS between an image's detections (score order) and ground truths (dataset order). */
export interface CocoIouMatrix {
  D: number;
  G: number;
  /** row-major D×G */
  data: Float64Array;
}

const key = (img: number, cat: number) => `${img}\u0000${cat}`;
const uniqueSorted = (a: readonly number[]) => [...new Set(a)].sort((x, y) => x - y);

/**
 * COCO evaluation as pycocotools' COCOeval:
 * `const E = new COCOeval(gt, gt.loadRes(results), 'bbox'); E.evaluate(); E.accumulate(); E.summarize()` → `E.stats`.
 */
export class COCOeval {
  readonly cocoGt: COCO;
  readonly cocoDt: COCO;
  params: CocoEvalParams;
  evalImgs: (EvalImg | null)[] = [];
  eval: CocoEvalResult | null = null;
  stats: number[] = [];
  /** the printed summary lines, as pycocotools prints them */
  summaryLines: string[] = [];
  ious = new Map<string, CocoIouMatrix | null>();
  private gts = new Map<string, PAnn[]>();
  private dts = new Map<string, PAnn[]>();
  private paramsEval: CocoEvalParams | null = null;

  constructor(cocoGt: COCO, cocoDt: COCO, iouType: IouType = 'segm') {
    this.cocoGt = cocoGt;
    this.cocoDt = cocoDt;
    this.params = new CocoEvalParams(iouType);
    this.params.imgIds = [...cocoGt.getImgIds()].sort((a, b) => a - b);
    this.params.catIds = [...cocoGt.getCatIds()].sort((a, b) => a - b);
  }

  private prepare(): void {
    const p = this.params;
    const pick = (coco: COCO) => coco.loadAnns(p.useCats ? coco.getAnnIds({ imgIds: p.imgIds, catIds: p.catIds }) : coco.getAnnIds({ imgIds: p.imgIds }));
    const conv = (coco: COCO, a: CocoAnnotation, isGt: boolean): PAnn => {
      if (a.area === undefined && isGt) throw new Error(`COCOeval: ground-truth annotation ${a.id} has no area`);
      const iscrowd = !!a.iscrowd;
      let ignore = iscrowd;
      if (p.iouType === 'keypoints' && isGt) ignore = numKeypoints(a) === 0 || ignore;
      const pa: PAnn = {
        id: a.id,
        imageId: a.image_id,
        categoryId: a.category_id,
        area: a.area ?? NaN,
        iscrowd,
        ignore,
        score: a.score ?? NaN,
        bbox: a.bbox ?? [],
        keypoints: a.keypoints,
      };
      if (p.iouType === 'segm') pa.rle = coco.annToRLE(a);
      return pa;
    };
    this.gts = new Map();
    this.dts = new Map();
    for (const a of pick(this.cocoGt)) push(this.gts, key(a.image_id, a.category_id), conv(this.cocoGt, a, true));
    for (const a of pick(this.cocoDt)) push(this.dts, key(a.image_id, a.category_id), conv(this.cocoDt, a, false));
    this.evalImgs = [];
    this.eval = null;
  }

  private group(map: Map<string, PAnn[]>, imgId: number, catId: number, concatCats: boolean): PAnn[] {
    if (!concatCats) return map.get(key(imgId, catId)) ?? [];
    return this.params.catIds.flatMap((c) => map.get(key(imgId, c)) ?? []);
  }

  /** Runs per-image evaluation (fills `ious` and `evalImgs`). */
  evaluate(): void {
    const p = this.params;
    p.imgIds = uniqueSorted(p.imgIds);
    if (p.useCats) p.catIds = uniqueSorted(p.catIds);
    p.maxDets = [...p.maxDets].sort((a, b) => a - b);
    this.prepare();
    const catIds = p.useCats ? p.catIds : [-1];
    this.ious = new Map();
    for (const imgId of p.imgIds)
      for (const catId of catIds) this.ious.set(key(imgId, catId), p.iouType === 'keypoints' ? this.computeOks(imgId, catId) : this.computeIoU(imgId, catId));
    const maxDet = p.maxDets[p.maxDets.length - 1]!;
    this.evalImgs = [];
    for (const catId of catIds) for (const aRng of p.areaRng) for (const imgId of p.imgIds) this.evalImgs.push(this.evaluateImg(imgId, catId, aRng, maxDet));
    this.paramsEval = cloneParams(p);
  }

  private sortedDts(dt: PAnn[]): PAnn[] {
    return stableArgsort(dt.map((d) => -d.score)).map((i) => dt[i]!);
  }

  /** IoU (bbox or segm) between the image's detections (score order, at most maxDets[-1]) and ground truths. */
  computeIoU(imgId: number, catId: number): CocoIouMatrix | null {
    const p = this.params;
    const gt = this.group(this.gts, imgId, catId, !p.useCats);
    let dt = this.group(this.dts, imgId, catId, !p.useCats);
    if (gt.length === 0 && dt.length === 0) return null;
    dt = this.sortedDts(dt);
    const maxDet = p.maxDets[p.maxDets.length - 1]!;
    if (dt.length > maxDet) dt = dt.slice(0, maxDet);
    if (dt.length === 0 || gt.length === 0) return null;
    const iscrowd = gt.map((g) => (g.iscrowd ? 1 : 0));
    let data: Float64Array;
    if (p.iouType === 'segm') data = rleIou(dt.map((d) => d.rle!), gt.map((g) => g.rle!), iscrowd);
    else if (p.iouType === 'bbox') data = bbIou(dt.map((d) => d.bbox), gt.map((g) => g.bbox), iscrowd);
    else throw new Error('COCOeval: unknown iouType for iou computation');
    return { D: dt.length, G: gt.length, data };
  }

  /** Object keypoint similarity between the image's detections and ground truths (pycocotools' computeOks). */
  computeOks(imgId: number, catId: number): CocoIouMatrix | null {
    const p = this.params;
    // pycocotools indexes by (imgId, catId) here even when useCats is off (catId -1: no ground truth)
    const gts = this.gts.get(key(imgId, catId)) ?? [];
    let dts = this.sortedDts(this.dts.get(key(imgId, catId)) ?? []);
    const maxDet = p.maxDets[p.maxDets.length - 1]!;
    if (dts.length > maxDet) dts = dts.slice(0, maxDet);
    if (gts.length === 0 || dts.length === 0) return null;
    const sigmas = p.kptOksSigmas;
    const k = sigmas.length;
    const vars = sigmas.map((s) => (s * 2) * (s * 2));
    const D = dts.length;
    const G = gts.length;
    const data = new Float64Array(D * G);
    const e = new Float64Array(k);
    for (let j = 0; j < G; j++) {
      const gt = gts[j]!;
      const g = gt.keypoints ?? new Array<number>(3 * k).fill(0);
      let k1 = 0;
      for (let i = 0; i < k; i++) if (g[3 * i + 2]! > 0) k1++;
      const bb = gt.bbox;
      const x0 = bb[0]! - bb[2]!;
      const x1 = bb[0]! + bb[2]! * 2;
      const y0 = bb[1]! - bb[3]!;
      const y1 = bb[1]! + bb[3]! * 2;
      const denom = gt.area + EPS;
      for (let i = 0; i < D; i++) {
        const d = dts[i]!.keypoints ?? [];
        let n = 0;
        for (let q = 0; q < k; q++) {
          const xd = d[3 * q]!;
          const yd = d[3 * q + 1]!;
          let dx: number;
          let dy: number;
          if (k1 > 0) {
            if (!(g[3 * q + 2]! > 0)) continue;
            dx = xd - g[3 * q]!;
            dy = yd - g[3 * q + 1]!;
          } else {
            dx = Math.max(0, x0 - xd) + Math.max(0, xd - x1);
            dy = Math.max(0, y0 - yd) + Math.max(0, yd - y1);
          }
          const ee = (dx * dx + dy * dy) / vars[q]! / denom / 2;
          e[n++] = Math.exp(-ee);
        }
        data[i * G + j] = pairwiseSum(e, 0, n) / n;
      }
    }
    return { D, G, data };
  }

  /** Matches one image's detections to ground truths in one category and area range (pycocotools' evaluateImg). */
  evaluateImg(imgId: number, catId: number, aRng: [number, number], maxDet: number): EvalImg | null {
    const p = this.params;
    let gt = this.group(this.gts, imgId, catId, !p.useCats);
    let dt = this.group(this.dts, imgId, catId, !p.useCats);
    if (gt.length === 0 && dt.length === 0) return null;
    const gIgn = gt.map((g) => (g.ignore || g.area < aRng[0] || g.area > aRng[1] ? 1 : 0));
    const gtind = stableArgsort(gIgn);
    gt = gtind.map((i) => gt[i]!);
    dt = this.sortedDts(dt).slice(0, maxDet);
    const iscrowd = gt.map((g) => g.iscrowd);
    const ious = this.ious.get(key(imgId, catId)) ?? null;
    const T = p.iouThrs.length;
    const G = gt.length;
    const D = dt.length;
    const gtm = new Float64Array(T * G);
    const dtm = new Float64Array(T * D);
    const gtIg = Uint8Array.from(gtind.map((i) => gIgn[i]!));
    const dtIg = new Uint8Array(T * D);
    if (ious) {
      const iou = (d: number, g: number) => ious.data[d * ious.G + gtind[g]!]!;
      for (let tind = 0; tind < T; tind++) {
        const t = p.iouThrs[tind]!;
        for (let dind = 0; dind < D; dind++) {
          let best = Math.min(t, 1 - 1e-10);
          let m = -1;
          for (let gind = 0; gind < G; gind++) {
            // already matched and not a crowd: skip
            if (gtm[tind * G + gind]! > 0 && !iscrowd[gind]) continue;
            // matched to a regular gt and reached the ignored ones: stop
            if (m > -1 && gtIg[m] === 0 && gtIg[gind] === 1) break;
            const v = iou(dind, gind);
            if (v < best) continue;
            best = v;
            m = gind;
          }
          if (m === -1) continue;
          dtIg[tind * D + dind] = gtIg[m]!;
          dtm[tind * D + dind] = gt[m]!.id;
          gtm[tind * G + m] = dt[dind]!.id;
        }
      }
    }
    // unmatched detections outside the area range are ignored
    for (let dind = 0; dind < D; dind++) {
      const a = dt[dind]!.area;
      const out = a < aRng[0] || a > aRng[1];
      if (!out) continue;
      for (let tind = 0; tind < T; tind++) if (dtm[tind * D + dind] === 0) dtIg[tind * D + dind] = 1;
    }
    return {
      imageId: imgId,
      categoryId: catId,
      aRng,
      maxDet,
      dtIds: dt.map((d) => d.id),
      gtIds: gt.map((g) => g.id),
      dtMatches: dtm,
      gtMatches: gtm,
      dtScores: dt.map((d) => d.score),
      gtIgnore: gtIg,
      dtIgnore: dtIg,
    };
  }

  /** Precision at the recall thresholds (monotone envelope), recall and scores for every setting. */
  accumulate(): CocoEvalResult {
    if (!this.paramsEval) throw new Error('COCOeval: run evaluate() first');
    const p = this.params;
    const pe = this.paramsEval;
    const catIdsP = p.useCats ? p.catIds : [-1];
    const T = p.iouThrs.length;
    const R = p.recThrs.length;
    const K = p.useCats ? p.catIds.length : 1;
    const A = p.areaRng.length;
    const M = p.maxDets.length;
    const precision = new Float64Array(T * R * K * A * M).fill(-1);
    const recall = new Float64Array(T * K * A * M).fill(-1);
    const scores = new Float64Array(T * R * K * A * M).fill(-1);
    const setK = new Set(pe.useCats ? pe.catIds : [-1]);
    const setA = new Set(pe.areaRng.map((a) => `${a[0]},${a[1]}`));
    const setM = new Set(pe.maxDets);
    const setI = new Set(pe.imgIds);
    const kList = catIdsP.map((k, n) => (setK.has(k) ? n : -1)).filter((n) => n >= 0);
    const mList = p.maxDets.filter((m) => setM.has(m));
    const aList = p.areaRng.map((a, n) => (setA.has(`${a[0]},${a[1]}`) ? n : -1)).filter((n) => n >= 0);
    const iList = p.imgIds.map((i, n) => (setI.has(i) ? n : -1)).filter((n) => n >= 0);
    const I0 = pe.imgIds.length;
    const A0 = pe.areaRng.length;
    const pidx = (t: number, r: number, k: number, a: number, m: number) => (((t * R + r) * K + k) * A + a) * M + m;
    kList.forEach((k0, k) => {
      const Nk = k0 * A0 * I0;
      aList.forEach((a0, a) => {
        const Na = a0 * I0;
        mList.forEach((maxDet, m) => {
          const E = iList.map((i) => this.evalImgs[Nk + Na + i]).filter((e): e is EvalImg => !!e);
          if (E.length === 0) return;
          const dtScores: number[] = [];
          for (const e of E) for (let i = 0; i < Math.min(maxDet, e.dtScores.length); i++) dtScores.push(e.dtScores[i]!);
          const inds = stableArgsort(dtScores.map((s) => -s));
          const nd = dtScores.length;
          // [T × nd] matches and ignores in the concatenated order, then sorted
          const dtmCat = new Float64Array(T * nd);
          const dtIgCat = new Uint8Array(T * nd);
          let off = 0;
          for (const e of E) {
            const D = e.dtScores.length;
            const n = Math.min(maxDet, D);
            for (let t = 0; t < T; t++)
              for (let i = 0; i < n; i++) {
                dtmCat[t * nd + off + i] = e.dtMatches[t * D + i]!;
                dtIgCat[t * nd + off + i] = e.dtIgnore[t * D + i]!;
              }
            off += n;
          }
          let npig = 0;
          for (const e of E) for (const g of e.gtIgnore) if (g === 0) npig++;
          if (npig === 0) return;
          const dtScoresSorted = inds.map((i) => dtScores[i]!);
          const rc = new Float64Array(nd);
          const pr = new Array<number>(nd);
          for (let t = 0; t < T; t++) {
            let tp = 0;
            let fp = 0;
            for (let j = 0; j < nd; j++) {
              const src = t * nd + inds[j]!;
              const matched = dtmCat[src] !== 0;
              const ign = dtIgCat[src] !== 0;
              if (matched && !ign) tp++;
              if (!matched && !ign) fp++;
              rc[j] = tp / npig;
              pr[j] = tp / (fp + tp + EPS);
            }
            recall[(((t * K + k) * A + a) * M) + m] = nd ? rc[nd - 1]! : 0;
            for (let i = nd - 1; i > 0; i--) if (pr[i]! > pr[i - 1]!) pr[i - 1] = pr[i]!;
            // np.searchsorted(rc, recThrs, side='left'); thresholds past the last recall stay 0
            let pi = 0;
            for (let ri = 0; ri < R; ri++) {
              const thr = p.recThrs[ri]!;
              while (pi < nd && rc[pi]! < thr) pi++;
              const q = pi < nd ? pr[pi]! : 0;
              const ss = pi < nd ? dtScoresSorted[pi]! : 0;
              precision[pidx(t, ri, k, a, m)] = q;
              scores[pidx(t, ri, k, a, m)] = ss;
            }
          }
        });
      });
    });
    this.eval = { counts: [T, R, K, A, M], precision, recall, scores };
    return this.eval;
  }

  /**
   * The standard summary: 12 numbers for bbox/segm (AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100,
   * ARs, ARm, ARl) or 10 for keypoints (AP, AP50, AP75, APm, APl, AR, AR50, AR75, ARm, ARl); -1
   * where no setting has ground truth. Also fills `summaryLines`.
   */
  summarize(): number[] {
    if (!this.eval) throw new Error('COCOeval: run accumulate() first');
    const p = this.params;
    this.summaryLines = [];
    const one = (ap: boolean, iouThr: number | null = null, areaRng = 'all', maxDets = 100): number => {
      const mean = this.summaryValue(ap, iouThr, areaRng, maxDets);
      const iouStr = iouThr === null ? `${p.iouThrs[0]!.toFixed(2)}:${p.iouThrs[p.iouThrs.length - 1]!.toFixed(2)}` : iouThr.toFixed(2);
      const title = ap ? 'Average Precision' : 'Average Recall';
      const type = ap ? '(AP)' : '(AR)';
      this.summaryLines.push(` ${title.padEnd(18)} ${type} @[ IoU=${iouStr.padEnd(9)} | area=${areaRng.padStart(6)} | maxDets=${String(maxDets).padStart(3)} ] = ${mean.toFixed(3)}`);
      return mean;
    };
    if (p.iouType === 'keypoints') {
      this.stats = [
        one(true, null, 'all', 20),
        one(true, 0.5, 'all', 20),
        one(true, 0.75, 'all', 20),
        one(true, null, 'medium', 20),
        one(true, null, 'large', 20),
        one(false, null, 'all', 20),
        one(false, 0.5, 'all', 20),
        one(false, 0.75, 'all', 20),
        one(false, null, 'medium', 20),
        one(false, null, 'large', 20),
      ];
    } else {
      const md = p.maxDets;
      this.stats = [
        one(true),
        one(true, 0.5, 'all', md[2]),
        one(true, 0.75, 'all', md[2]),
        one(true, null, 'small', md[2]),
        one(true, null, 'medium', md[2]),
        one(true, null, 'large', md[2]),
        one(false, null, 'all', md[0]),
        one(false, null, 'all', md[1]),
        one(false, null, 'all', md[2]),
        one(false, null, 'small', md[2]),
        one(false, null, 'medium', md[2]),
        one(false, null, 'large', md[2]),
      ];
    }
    return this.stats;
  }

  /**
   * Mean of the accumulated precision (ap) or recall over the settings selected by IoU threshold
   * (exact match; null: all), area label and maxDets, ignoring -1 entries (numpy's pairwise sum);
   * -1 when nothing is left.
   */
  summaryValue(ap: boolean, iouThr: number | null, areaRng: string, maxDets: number | undefined): number {
    const ev = this.eval;
    if (!ev) throw new Error('COCOeval: run accumulate() first');
    const p = this.params;
    const [T, R, K, A, M] = ev.counts;
    const aind = p.areaRngLbl.flatMap((l, i) => (l === areaRng ? [i] : []));
    const mind = p.maxDets.flatMap((m, i) => (m === maxDets ? [i] : []));
    const tsel = iouThr === null ? Array.from({ length: T }, (_, i) => i) : p.iouThrs.flatMap((t, i) => (t === iouThr ? [i] : []));
    // numpy's paired advanced indexing s[..., aind, mind]
    let pairs: [number, number][] = [];
    if (aind.length && mind.length) {
      if (aind.length === mind.length) pairs = aind.map((a, i) => [a, mind[i]!]);
      else if (aind.length === 1) pairs = mind.map((m) => [aind[0]!, m]);
      else if (mind.length === 1) pairs = aind.map((a) => [a, mind[0]!]);
      else throw new Error('COCOeval: area labels and maxDets select shapes that do not broadcast');
    }
    const vals: number[] = [];
    for (const t of tsel) {
      if (ap) {
        for (let r = 0; r < R; r++)
          for (let k = 0; k < K; k++)
            for (const [a, m] of pairs) {
              const v = ev.precision[(((t * R + r) * K + k) * A + a) * M + m]!;
              if (v > -1) vals.push(v);
            }
      } else {
        for (let k = 0; k < K; k++)
          for (const [a, m] of pairs) {
            const v = ev.recall[((t * K + k) * A + a) * M + m]!;
            if (v > -1) vals.push(v);
          }
      }
    }
    return vals.length === 0 ? -1 : pairwiseSum(vals) / vals.length;
  }
}

function numKeypoints(a: CocoAnnotation): number {
  if (typeof a.num_keypoints === 'number') return a.num_keypoints;
  const k = a.keypoints ?? [];
  let n = 0;
  for (let i = 2; i < k.length; i += 3) if (k[i]! > 0) n++;
  return n;
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}

function cloneParams(p: CocoEvalParams): CocoEvalParams {
  const q = new CocoEvalParams(p.iouType);
  q.imgIds = [...p.imgIds];
  q.catIds = [...p.catIds];
  q.iouThrs = [...p.iouThrs];
  q.recThrs = [...p.recThrs];
  q.maxDets = [...p.maxDets];
  q.areaRng = p.areaRng.map((a) => [a[0], a[1]] as [number, number]);
  q.areaRngLbl = [...p.areaRngLbl];
  q.useCats = p.useCats;
  q.kptOksSigmas = [...p.kptOksSigmas];
  return q;
}

export interface CocoEvaluateOptions {
  /** parameter overrides applied before evaluate() (e.g. imgIds, catIds, maxDets, useCats) */
  params?: Partial<Omit<CocoEvalParams, 'iouType'>>;
}

/**
 * One call: evaluate `results` (COCO results format) against `gt` for an iouType and return the
 * summary stats, the printed lines and the evaluator (for curves and per-image matches).
 */
export function cocoEvaluate(gt: COCO | CocoDataset, results: readonly CocoResult[], iouType: IouType, options: CocoEvaluateOptions = {}): { stats: number[]; lines: string[]; evaluator: COCOeval } {
  const cocoGt = gt instanceof COCO ? gt : new COCO(gt);
  const E = new COCOeval(cocoGt, cocoGt.loadRes(results), iouType);
  Object.assign(E.params, options.params ?? {});
  E.evaluate();
  E.accumulate();
  const stats = E.summarize();
  return { stats, lines: E.summaryLines, evaluator: E };
}
