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

/**
 * One axis of one RoI: for every output bin p, the input lines its samples touch
 * (start[p] .. start[p] + count[p] - 1) and the summed bilinear weight of each line
 * (w[off[p] ..]). A sample's weight is (line weight along y) × (line weight along x), and a
 * sample is dropped when y or x is outside [-1, size], so the 2-D average factorises into one
 * table per axis.
 */
class AxisTable {
  start: Int32Array;
  count: Int32Array;
  off: Int32Array;
  w = new Float64Array(64);
  /** per-sample scratch: low line (-1 = dropped) and the weight of the line above it */
  low = new Int32Array(16);
  frac = new Float64Array(16);
  constructor(pooled: number) {
    this.start = new Int32Array(pooled);
    this.count = new Int32Array(pooled);
    this.off = new Int32Array(pooled);
  }
}

/**
 * Sample coordinates and the torchvision bilinear_interpolate clamping in float32, as
 * roi_align_kernel.cpp: c = start + p·bin + (i + .5)·bin / grid; dropped if c < -1 or c > size;
 * c <= 0 -> 0; low = (int)c; low >= size-1 -> low = high = size-1 (weight all on it).
 */
function fillAxis(t: AxisTable, start: number, bin: number, grid: number, pooled: number, size: number): void {
  if (t.low.length < grid) {
    t.low = new Int32Array(grid);
    t.frac = new Float64Array(grid);
  }
  const { low, frac } = t;
  let used = 0;
  for (let p = 0; p < pooled; p++) {
    const base = f32(start + f32(p * bin));
    let lo = size;
    let hi = -1;
    for (let i = 0; i < grid; i++) {
      let c = f32(base + f32(f32((i + 0.5) * bin) / grid));
      if (!(c >= -1 && c <= size)) {
        low[i] = -1; // dropped (also NaN)
        continue;
      }
      if (c <= 0) c = 0;
      let l = Math.trunc(c);
      if (l >= size - 1) {
        l = size - 1;
        c = l;
      }
      low[i] = l;
      frac[i] = f32(c - l);
      if (l < lo) lo = l;
      const h = l < size - 1 ? l + 1 : l;
      if (h > hi) hi = h;
    }
    const n = hi >= lo ? hi - lo + 1 : 0;
    t.start[p] = n > 0 ? lo : 0;
    t.count[p] = n;
    t.off[p] = used;
    if (used + n > t.w.length) {
      const w = new Float64Array(Math.max(2 * t.w.length, used + n));
      w.set(t.w.subarray(0, used));
      t.w = w;
    }
    const w = t.w;
    w.fill(0, used, used + n);
    for (let i = 0; i < grid; i++) {
      const l = low[i]!;
      if (l < 0) continue;
      const fr = frac[i]!;
      w[used + l - lo] += f32(1 - fr);
      if (l < size - 1) w[used + l + 1 - lo] += fr; // at the last line fr is 0
    }
    used += n;
  }
}

function roiAlignKernel(x: Float32Array, rois: Float32Array, o: Float32Array, shape: readonly number[], K: number, a: RoiAlignAttrs): void {
  const [N, C, H, W] = [shape[0]!, shape[1]!, shape[2]!, shape[3]!];
  const [oh, ow] = [a.outputSize[0]!, a.outputSize[1]!];
  const bins = oh * ow;
  const plane = H * W;
  const scale = f32(a.spatialScale);
  const offset = a.aligned ? 0.5 : 0;
  const ty = new AxisTable(oh);
  const tx = new AxisTable(ow);
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
    // torchvision divides by max(gh·gw, 1) whether or not the samples were dropped
    const inv = 1 / Math.max(gh * gw, 1);
    fillAxis(ty, startH, binH, gh, oh, H);
    fillAxis(tx, startW, binW, gw, ow, W);
    const { start: ys, count: yn, off: yo, w: yw } = ty;
    const { start: xs, count: xn, off: xo, w: xw } = tx;
    for (let c = 0; c < C; c++) {
      const base = (b * C + c) * plane;
      let q = (k * C + c) * bins;
      for (let ph = 0; ph < oh; ph++) {
        const nr = yn[ph]!;
        const rowBase = base + ys[ph]! * W;
        const ro = yo[ph]!;
        for (let pw = 0; pw < ow; pw++, q++) {
          const nc = xn[pw]!;
          const cs = xs[pw]!;
          const co = xo[pw]!;
          let acc = 0;
          for (let i = 0; i < nr; i++) {
            const rb = rowBase + i * W + cs;
            let s = 0;
            for (let j = 0; j < nc; j++) s += xw[co + j]! * x[rb + j]!;
            acc += yw[ro + i]! * s;
          }
          o[q] = acc * inv;
        }
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
