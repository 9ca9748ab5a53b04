/**
 * CPU kernels for the box / anchor / mask-paste ops of ../../ops/detection (boxDecode, boxEncode,
 * gridAnchors, pasteMasks).
 *
 * Every step is rounded to float32 in the order the reference code (mmdet 2.11 / torchvision 0.14 /
 * torch 1.13 CPU kernels) evaluates it — Math.fround of a double result is the exact float32 result
 * for + − × ÷ — so clamps, clips and thresholds downstream see the reference's values; only exp/log
 * may differ from torch's by an ulp.
 */
import type { BoxCoderAttrs, GridAnchorsAttrs, PasteMasksAttrs } from '../../ops/detection';
import { alloc, cpuKernel } from '../backend';

const f = Math.fround;

function decode(boxes: Float32Array, deltas: Float32Array, o: Float32Array, K: number, C: number, a: BoxCoderAttrs): void {
  const r = f(a.maxRatio);
  const clip = a.maxShape;
  const maxW = clip ? f(clip[1]) : 0;
  const maxH = clip ? f(clip[0]) : 0;
  const clampX = (v: number) => (clip ? (v < 0 ? 0 : v > maxW ? maxW : v) : v);
  const clampY = (v: number) => (clip ? (v < 0 ? 0 : v > maxH ? maxH : v) : v);
  const mm = a.style === 'mmdet';
  const [s0, s1, s2, s3] = a.stds.map(f) as [number, number, number, number];
  const [m0, m1, m2, m3] = a.means.map(f) as [number, number, number, number];
  const [w0, w1, w2, w3] = a.weights.map(f) as [number, number, number, number];
  for (let k = 0; k < K; k++) {
    const x1 = boxes[4 * k]!;
    const y1 = boxes[4 * k + 1]!;
    const x2 = boxes[4 * k + 2]!;
    const y2 = boxes[4 * k + 3]!;
    const pw = f(x2 - x1);
    const ph = f(y2 - y1);
    const px = mm ? f(f(x1 + x2) * 0.5) : f(x1 + f(0.5 * pw));
    const py = mm ? f(f(y1 + y2) * 0.5) : f(y1 + f(0.5 * ph));
    for (let c = 0; c < C; c++) {
      const i = (k * C + c) * 4;
      let dx: number, dy: number, dw: number, dh: number;
      if (mm) {
        dx = f(f(deltas[i]! * s0) + m0);
        dy = f(f(deltas[i + 1]! * s1) + m1);
        dw = f(f(deltas[i + 2]! * s2) + m2);
        dh = f(f(deltas[i + 3]! * s3) + m3);
        // torch clamp(min, max): NaN stays NaN
        dw = dw < -r ? -r : dw > r ? r : dw;
        dh = dh < -r ? -r : dh > r ? r : dh;
        const gw = f(pw * f(Math.exp(dw)));
        const gh = f(ph * f(Math.exp(dh)));
        const gx = f(px + f(pw * dx));
        const gy = f(py + f(ph * dy));
        const hw = f(gw * 0.5);
        const hh = f(gh * 0.5);
        o[i] = clampX(f(gx - hw));
        o[i + 1] = clampY(f(gy - hh));
        o[i + 2] = clampX(f(gx + hw));
        o[i + 3] = clampY(f(gy + hh));
      } else {
        dx = f(deltas[i]! / w0);
        dy = f(deltas[i + 1]! / w1);
        dw = f(deltas[i + 2]! / w2);
        dh = f(deltas[i + 3]! / w3);
        dw = dw > r ? r : dw;
        dh = dh > r ? r : dh;
        const cx = f(f(dx * pw) + px);
        const cy = f(f(dy * ph) + py);
        const hw = f(0.5 * f(f(Math.exp(dw)) * pw));
        const hh = f(0.5 * f(f(Math.exp(dh)) * ph));
        o[i] = clampX(f(cx - hw));
        o[i + 1] = clampY(f(cy - hh));
        o[i + 2] = clampX(f(cx + hw));
        o[i + 3] = clampY(f(cy + hh));
      }
    }
  }
}

function encode(boxes: Float32Array, targets: Float32Array, o: Float32Array, K: number, a: BoxCoderAttrs): void {
  const mm = a.style === 'mmdet';
  const s = a.stds.map(f);
  const m = a.means.map(f);
  const w = a.weights.map(f);
  for (let k = 0; k < K; k++) {
    const j = 4 * k;
    const [p0, p1, p2, p3] = [boxes[j]!, boxes[j + 1]!, boxes[j + 2]!, boxes[j + 3]!];
    const [g0, g1, g2, g3] = [targets[j]!, targets[j + 1]!, targets[j + 2]!, targets[j + 3]!];
    const pw = f(p2 - p0);
    const ph = f(p3 - p1);
    const gw = f(g2 - g0);
    const gh = f(g3 - g1);
    if (mm) {
      const px = f(f(p0 + p2) * 0.5);
      const py = f(f(p1 + p3) * 0.5);
      const gx = f(f(g0 + g2) * 0.5);
      const gy = f(f(g1 + g3) * 0.5);
      const d = [f(f(gx - px) / pw), f(f(gy - py) / ph), f(Math.log(f(gw / pw))), f(Math.log(f(gh / ph)))];
      for (let c = 0; c < 4; c++) o[j + c] = f(f(d[c]! - m[c]!) / s[c]!);
    } else {
      const px = f(p0 + f(0.5 * pw));
      const py = f(p1 + f(0.5 * ph));
      const gx = f(g0 + f(0.5 * gw));
      const gy = f(g1 + f(0.5 * gh));
      o[j] = f(f(w[0]! * f(gx - px)) / pw);
      o[j + 1] = f(f(w[1]! * f(gy - py)) / ph);
      o[j + 2] = f(w[2]! * f(Math.log(f(gw / pw))));
      o[j + 3] = f(w[3]! * f(Math.log(f(gh / ph))));
    }
  }
}

function anchors(base: Float32Array, o: Float32Array, a: GridAnchorsAttrs): void {
  const A = base.length / 4;
  const [H, W] = a.size;
  const [sy, sx] = a.stride;
  let q = 0;
  for (let y = 0; y < H; y++) {
    const ty = f(y * sy);
    for (let x = 0; x < W; x++) {
      const tx = f(x * sx);
      for (let k = 0; k < A; k++) {
        o[q++] = f(base[4 * k]! + tx);
        o[q++] = f(base[4 * k + 1]! + ty);
        o[q++] = f(base[4 * k + 2]! + tx);
        o[q++] = f(base[4 * k + 3]! + ty);
      }
    }
  }
}

/** Normalised grid coordinate of pixel centre c for the box edge pair (lo, hi), as mmdet: ±inf → 0. */
function gridCoord(c: number, lo: number, hi: number): number {
  const g = f(f(f(f(f(c + 0.5) - lo) / f(hi - lo)) * 2) - 1);
  return g === Infinity || g === -Infinity ? 0 : g;
}

/**
 * torch's vectorised CPU grid_sample (bilinear, zeros padding, align_corners=False) at one point of
 * an [Mh, Mw] plane: ix = (gx + 1)·(Mw/2) − 0.5; out-of-range corners contribute 0.
 */
function sampleBilinear(m: Float32Array, off: number, Mh: number, Mw: number, sxw: number, syh: number, gx: number, gy: number): number {
  const ix = f(f(f(gx + 1) * sxw) - 0.5);
  const iy = f(f(f(gy + 1) * syh) - 0.5);
  if (ix !== ix || iy !== iy) return 0;
  const xw = Math.floor(ix);
  const yn = Math.floor(iy);
  const w = f(ix - xw);
  const e = f(1 - w);
  const n = f(iy - yn);
  const s = f(1 - n);
  const inX0 = xw >= 0 && xw < Mw;
  const inX1 = xw + 1 >= 0 && xw + 1 < Mw;
  const inY0 = yn >= 0 && yn < Mh;
  const inY1 = yn + 1 >= 0 && yn + 1 < Mh;
  const nw = inX0 && inY0 ? m[off + yn * Mw + xw]! : 0;
  const ne = inX1 && inY0 ? m[off + yn * Mw + xw + 1]! : 0;
  const sw = inX0 && inY1 ? m[off + (yn + 1) * Mw + xw]! : 0;
  const se = inX1 && inY1 ? m[off + (yn + 1) * Mw + xw + 1]! : 0;
  return f(f(f(f(nw * f(s * e)) + f(ne * f(s * w))) + f(sw * f(n * e))) + f(se * f(n * w)));
}

function pasteMmdet(masks: Float32Array, boxes: Float32Array, o: Float32Array, N: number, Mh: number, Mw: number, H: number, W: number, region: boolean): void {
  const sxw = f(Mw / 2);
  const syh = f(Mh / 2);
  const gx = new Float32Array(W);
  for (let k = 0; k < N; k++) {
    const [x0, y0, x1, y1] = [boxes[4 * k]!, boxes[4 * k + 1]!, boxes[4 * k + 2]!, boxes[4 * k + 3]!];
    let xa = 0;
    let ya = 0;
    let xb = W;
    let yb = H;
    if (region) {
      // int32 of clamp(floor(min) - 1, min=0) and clamp(ceil(max) + 1, max=size), as _do_paste_mask(skip_empty=True)
      xa = Math.max(Math.floor(x0) - 1, 0);
      ya = Math.max(Math.floor(y0) - 1, 0);
      xb = Math.min(Math.ceil(x1) + 1, W);
      yb = Math.min(Math.ceil(y1) + 1, H);
      if (!(xa < xb && ya < yb)) continue; // empty (also NaN boxes)
    }
    for (let x = xa; x < xb; x++) gx[x] = gridCoord(x, x0, x1);
    const off = k * Mh * Mw;
    const plane = k * H * W;
    for (let y = ya; y < yb; y++) {
      const gy = gridCoord(y, y0, y1);
      const row = plane + y * W;
      for (let x = xa; x < xb; x++) o[row + x] = sampleBilinear(masks, off, Mh, Mw, sxw, syh, gx[x]!, gy);
    }
  }
}

/** torch upsample (linear, align_corners=False, no scale factor) source indices and weights for one axis. */
function linearAxis(inSize: number, outSize: number): { i0: Int32Array; i1: Int32Array; l0: Float32Array; l1: Float32Array } {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const l0 = new Float32Array(outSize);
  const l1 = new Float32Array(outSize);
  const ratio = f(inSize / outSize);
  for (let d = 0; d < outSize; d++) {
    if (inSize === outSize) {
      i0[d] = i1[d] = d;
      l0[d] = 1;
      l1[d] = 0;
      continue;
    }
    let src = f(ratio * (d + 0.5) - 0.5);
    if (src < 0) src = 0;
    const a = Math.trunc(src);
    i0[d] = a;
    i1[d] = a + (a < inSize - 1 ? 1 : 0);
    const lam = Math.min(Math.max(f(src - a), 0), 1);
    l1[d] = lam;
    l0[d] = f(1 - lam);
  }
  return { i0, i1, l0, l1 };
}

function pasteTorchvision(masks: Float32Array, boxes: Float32Array, o: Float32Array, N: number, Mh: number, Mw: number, H: number, W: number): void {
  // expand_masks(padding=1): zero border, scale = (M + 2) / M with M = the mask width
  const Ph = Mh + 2;
  const Pw = Mw + 2;
  const scale = f((Mw + 2) / Mw);
  const padded = new Float32Array(Ph * Pw);
  for (let k = 0; k < N; k++) {
    padded.fill(0);
    for (let r = 0; r < Mh; r++) padded.set(masks.subarray(k * Mh * Mw + r * Mw, k * Mh * Mw + (r + 1) * Mw), (r + 1) * Pw + 1);
    const [bx0, by0, bx1, by1] = [boxes[4 * k]!, boxes[4 * k + 1]!, boxes[4 * k + 2]!, boxes[4 * k + 3]!];
    // expand_boxes
    const wh = f(f(f(bx1 - bx0) * 0.5) * scale);
    const hh = f(f(f(by1 - by0) * 0.5) * scale);
    const xc = f(f(bx1 + bx0) * 0.5);
    const yc = f(f(by1 + by0) * 0.5);
    const X0 = Math.trunc(f(xc - wh));
    const X1 = Math.trunc(f(xc + wh));
    const Y0 = Math.trunc(f(yc - hh));
    const Y1 = Math.trunc(f(yc + hh));
    if (![X0, X1, Y0, Y1].every(Number.isFinite)) continue;
    // paste_mask_in_image
    const w = Math.max(X1 - X0 + 1, 1);
    const h = Math.max(Y1 - Y0 + 1, 1);
    const xa = Math.max(X0, 0);
    const xb = Math.min(X1 + 1, W);
    const ya = Math.max(Y0, 0);
    const yb = Math.min(Y1 + 1, H);
    if (!(xa < xb && ya < yb)) continue;
    const ax = linearAxis(Pw, w);
    const ay = linearAxis(Ph, h);
    const plane = k * H * W;
    for (let y = ya; y < yb; y++) {
      const ry = y - Y0;
      const r0 = ay.i0[ry]! * Pw;
      const r1 = ay.i1[ry]! * Pw;
      const h0 = ay.l0[ry]!;
      const h1 = ay.l1[ry]!;
      for (let x = xa; x < xb; x++) {
        const rx = x - X0;
        const c0 = ax.i0[rx]!;
        const c1 = ax.i1[rx]!;
        const w0 = ax.l0[rx]!;
        const w1 = ax.l1[rx]!;
        const t0 = f(f(padded[r0 + c0]! * w0) + f(padded[r0 + c1]! * w1));
        const t1 = f(f(padded[r1 + c0]! * w0) + f(padded[r1 + c1]! * w1));
        o[plane + y * W + x] = f(f(t0 * h0) + f(t1 * h1));
      }
    }
  }
}

let registered = false;
/** Registers the cpu kernels of boxDecode, boxEncode, gridAnchors and pasteMasks (idempotent). */
export function registerBoxKernels(): void {
  if (registered) return;
  registered = true;

  cpuKernel<BoxCoderAttrs>('boxDecode', (ins, a, outs, ctx) => {
    const o = alloc(outs[0]!) as Float32Array;
    const [K, C4] = ctx.inputs[1]!.shape as [number, number];
    decode(ins[0] as Float32Array, ins[1] as Float32Array, o, K, C4 / 4, a);
    return [o];
  });

  cpuKernel<BoxCoderAttrs>('boxEncode', (ins, a, outs, ctx) => {
    const o = alloc(outs[0]!) as Float32Array;
    encode(ins[0] as Float32Array, ins[1] as Float32Array, o, ctx.inputs[0]!.shape[0]!, a);
    return [o];
  });

  cpuKernel<GridAnchorsAttrs>('gridAnchors', (ins, a, outs) => {
    const o = alloc(outs[0]!) as Float32Array;
    anchors(ins[0] as Float32Array, o, a);
    return [o];
  });

  cpuKernel<PasteMasksAttrs>('pasteMasks', (ins, a, outs, ctx) => {
    const o = alloc(outs[0]!) as Float32Array;
    const [N, Mh, Mw] = ctx.inputs[0]!.shape as [number, number, number];
    const [H, W] = a.size;
    if (N === 0) return [o];
    if (a.mode === 'torchvision') pasteTorchvision(ins[0] as Float32Array, ins[1] as Float32Array, o, N, Mh, Mw, H, W);
    else pasteMmdet(ins[0] as Float32Array, ins[1] as Float32Array, o, N, Mh, Mw, H, W, a.mode === 'mmdet-cpu');
    return [o];
  });
}

