/**
 * CPU kernels for detection ops: `roiAlign` (torchvision / mmcv RoIAlign, average mode) and
 * `nms` (greedy NMS, optionally class-wise).
 *
 * Both mirror torchvision 0.14's CPU kernels (roi_align_kernel.cpp, nms_kernel.cpp): sampling
 * coordinates, bilinear weights and IoUs are computed with float32 rounding at every step, so
 * the discontinuous decisions (a sample falling outside [-1, H], IoU > threshold) are taken on
 * the same values as the reference; RoIAlign sums are accumulated in float64.
 */
import type { NmsAttrs, RoiAlignAttrs } from '../../ops/vision';
import { OpError } from '../../op';
import { alloc, cpuKernel } from '../backend';

const f32 = Math.fround;

// ---------------------------------------------------------------------------------------------
// roiAlign

function roiAlignKernel(x: Float32Array, rois: Float32Array, o: Float32Array, shape: readonly number[], K: number, a: RoiAlignAttrs): void {
  const [N, C, H, W] = [shape[0]!, shape[1]!, shape[2]!, shape[3]!];
  const [oh, ow] = [a.outputSize[0]!, a.outputSize[1]!];
  const bins = oh * ow;
  const plane = H * W;
  const scale = f32(a.spatialScale);
  const offset = a.aligned ? 0.5 : 0;
  // per-RoI sample table (4 offsets + 4 weights per sample), grown as needed, shared by all channels
  let pos = new Int32Array(0);
  let wts = new Float64Array(0);
  for (let k = 0; k < K; k++) {
    const r = 5 * k;
    const b = Math.trunc(rois[r]!);
    if (!(b >= 0 && b < N)) throw new OpError('roiAlign', `roi ${k} has batch index ${rois[r]}, outside [0, ${N})`);
    const startW = f32(f32(rois[r + 1]! * scale) - offset);
    const startH = f32(f32(rois[r + 2]! * scale) - offset);
    const endW = f32(f32(rois[r + 3]! * scale) - offset);
    const endH = f32(f32(rois[r + 4]! * scale) - offset);
    let rw = f32(endW - startW);
    let rh = f32(endH - startH);
    if (!a.aligned) {
      rw = Math.max(rw, 1);
      rh = Math.max(rh, 1);
    }
    const binH = f32(rh / oh);
    const binW = f32(rw / ow);
    const gh = Math.max(a.samplingRatio > 0 ? a.samplingRatio : Math.ceil(binH), 0);
    const gw = Math.max(a.samplingRatio > 0 ? a.samplingRatio : Math.ceil(binW), 0);
    const per = gh * gw;
    const inv = 1 / Math.max(per, 1);
    const nSamples = bins * per;
    if (pos.length < 4 * nSamples) {
      pos = new Int32Array(4 * nSamples);
      wts = new Float64Array(4 * nSamples);
    }
    let s = 0;
    for (let ph = 0; ph < oh; ph++) {
      for (let pw = 0; pw < ow; pw++) {
        for (let iy = 0; iy < gh; iy++) {
          const yy = f32(f32(startH + f32(ph * binH)) + f32(f32((iy + 0.5) * binH) / gh));
          for (let ix = 0; ix < gw; ix++, s += 4) {
            let xx = f32(f32(startW + f32(pw * binW)) + f32(f32((ix + 0.5) * binW) / gw));
            let y = yy;
            if (y < -1 || y > H || xx < -1 || xx > W || Number.isNaN(y) || Number.isNaN(xx)) {
              pos[s] = pos[s + 1] = pos[s + 2] = pos[s + 3] = 0;
              wts[s] = wts[s + 1] = wts[s + 2] = wts[s + 3] = 0;
              continue;
            }
            if (y <= 0) y = 0;
            if (xx <= 0) xx = 0;
            let yLow = Math.trunc(y);
            let xLow = Math.trunc(xx);
            let yHigh: number;
            let xHigh: number;
            if (yLow >= H - 1) {
              yHigh = yLow = H - 1;
              y = yLow;
            } else yHigh = yLow + 1;
            if (xLow >= W - 1) {
              xHigh = xLow = W - 1;
              xx = xLow;
            } else xHigh = xLow + 1;
            const ly = f32(y - yLow);
            const lx = f32(xx - xLow);
            const hy = f32(1 - ly);
            const hx = f32(1 - lx);
            pos[s] = yLow * W + xLow;
            pos[s + 1] = yLow * W + xHigh;
            pos[s + 2] = yHigh * W + xLow;
            pos[s + 3] = yHigh * W + xHigh;
            wts[s] = f32(hy * hx);
            wts[s + 1] = f32(hy * lx);
            wts[s + 2] = f32(ly * hx);
            wts[s + 3] = f32(ly * lx);
          }
        }
      }
    }
    for (let c = 0; c < C; c++) {
      const base = (b * C + c) * plane;
      const ob = (k * C + c) * bins;
      let t = 0;
      for (let q = 0; q < bins; q++) {
        let acc = 0;
        for (let e = 0; e < per; e++, t += 4) {
          acc += wts[t]! * x[base + pos[t]!]! + wts[t + 1]! * x[base + pos[t + 1]!]! + wts[t + 2]! * x[base + pos[t + 2]!]! + wts[t + 3]! * x[base + pos[t + 3]!]!;
        }
        o[ob + q] = acc * inv;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// nms

/**
 * Visiting order: score descending, ties by lower index (torch's stable descending sort; NaN
 * scores sort first, as torch treats NaN as the largest value).
 */
function scoreOrder(scores: Float32Array): Int32Array {
  const order = new Int32Array(scores.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  order.sort((i, j) => {
    const a = scores[i]!;
    const b = scores[j]!;
    if (a > b) return -1;
    if (a < b) return 1;
    const na = a !== a;
    const nb = b !== b;
    if (na !== nb) return na ? -1 : 1;
    return i - j;
  });
  return order;
}

/**
 * Greedy suppression over seq[start..end) (already in visiting order), float32 arithmetic as
 * torchvision's nms_kernel: IoU = inter / (area_i + area_j - inter), suppress when > thr (two
 * zero-area boxes give NaN: not suppressed). Marks kept boxes in `kept`; stops after `limit`.
 */
function greedy(
  boxes: Float32Array,
  areas: Float32Array,
  seq: Int32Array,
  start: number,
  end: number,
  thr: number,
  suppressed: Uint8Array,
  kept: Uint8Array,
  limit: number,
): number {
  let n = 0;
  for (let a = start; a < end && n < limit; a++) {
    const i = seq[a]!;
    if (suppressed[i]) continue;
    kept[i] = 1;
    n++;
    const ix1 = boxes[4 * i]!;
    const iy1 = boxes[4 * i + 1]!;
    const ix2 = boxes[4 * i + 2]!;
    const iy2 = boxes[4 * i + 3]!;
    const iarea = areas[i]!;
    for (let b = a + 1; b < end; b++) {
      const j = seq[b]!;
      if (suppressed[j]) continue;
      const xx1 = Math.max(ix1, boxes[4 * j]!);
      const yy1 = Math.max(iy1, boxes[4 * j + 1]!);
      const xx2 = Math.min(ix2, boxes[4 * j + 2]!);
      const yy2 = Math.min(iy2, boxes[4 * j + 3]!);
      const w = Math.max(0, f32(xx2 - xx1));
      const h = Math.max(0, f32(yy2 - yy1));
      const inter = f32(w * h);
      const ovr = f32(inter / f32(f32(iarea + areas[j]!) - inter));
      if (ovr > thr) suppressed[j] = 1;
    }
  }
  return n;
}

function nmsKernel(boxes: Float32Array, scores: Float32Array, classes: Int32Array | BigInt64Array | null, a: NmsAttrs): Int32Array {
  const K = scores.length;
  const limit = a.maxOutput < 0 ? K : a.maxOutput;
  const order = scoreOrder(scores);
  const areas = new Float32Array(K);
  for (let i = 0; i < K; i++) areas[i] = f32(boxes[4 * i + 2]! - boxes[4 * i]!) * f32(boxes[4 * i + 3]! - boxes[4 * i + 1]!);
  const suppressed = new Uint8Array(K);
  const kept = new Uint8Array(K);
  if (!classes) {
    greedy(boxes, areas, order, 0, K, a.iouThreshold, suppressed, kept, limit);
  } else {
    // class-wise: group the visiting order by class (stable), run greedy NMS inside each group
    const cls = new Float64Array(K);
    for (let i = 0; i < K; i++) cls[i] = Number(classes[i]!);
    const rank = new Int32Array(K);
    for (let r = 0; r < K; r++) rank[order[r]!] = r;
    const seq = order.slice().sort((i, j) => cls[i]! - cls[j]! || rank[i]! - rank[j]!);
    for (let s = 0; s < K; ) {
      let e = s + 1;
      while (e < K && cls[seq[e]!] === cls[seq[s]!]) e++;
      greedy(boxes, areas, seq, s, e, a.iouThreshold, suppressed, kept, K);
      s = e;
    }
  }
  let n = 0;
  for (let r = 0; r < K && n < limit; r++) if (kept[order[r]!]) n++;
  const keep = new Int32Array(n);
  for (let r = 0, m = 0; m < n; r++) if (kept[order[r]!]) keep[m++] = order[r]!;
  return keep;
}

export function registerDetectionKernels(): void {
  cpuKernel<RoiAlignAttrs>('roiAlign', (ins, a, outs, ctx) => {
    const o = alloc(outs[0]!) as Float32Array;
    if (o.length === 0) return [o];
    roiAlignKernel(ins[0] as Float32Array, ins[1] as Float32Array, o, ctx.inputs[0]!.shape, ctx.inputs[1]!.shape[0]!, a);
    return [o];
  });

  cpuKernel<NmsAttrs>('nms', (ins, a, outs) => {
    const keep = nmsKernel(ins[0] as Float32Array, ins[1] as Float32Array, ins[2] as Int32Array | BigInt64Array | null, a);
    outs[0]!.shape = [keep.length];
    return [keep];
  });
}
