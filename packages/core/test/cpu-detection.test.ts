import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type Tensor, f32ToF16Bits, f16BitsToF32, nms, roiAlign, tensor } from '../src/index';
import { type RawTensor, parseSafetensors } from '../src/checkpoint/index';
import { registerDetectionKernels } from '../src/cpu/kernels/detection';

registerDetectionKernels();

/** A torchvision-vector fixture from fixtures/heads: its tensors by name, and the `config` metadata (JSON) parsed. */
function readFixture(name: string): { get(key: string): RawTensor; config: any } {
  const bytes = new Uint8Array(readFileSync(fileURLToPath(new URL(`./fixtures/heads/${name}`, import.meta.url))));
  const { tensors, metadata } = parseSafetensors(bytes, { source: name });
  return {
    config: JSON.parse(metadata.config ?? '{}'),
    get(key) {
      const t = tensors.get(key);
      if (!t) throw new Error(`${name}: no tensor '${key}'`);
      return t;
    },
  };
}

const f32of = (t: Tensor) => t.dataSync() as Float32Array;
const f16of = (t: Tensor) => Float32Array.from(t.dataSync() as Uint16Array, f16BitsToF32);
const idxOf = (t: Tensor) => Array.from(t.dataSync() as Int32Array);
const f32t = (e: RawTensor) => tensor(e.data as Float32Array, e.shape, { backend: 'cpu' });

// ---------------------------------------------------------------------------------------------

describe('roiAlign (cpu) vs torchvision vectors', () => {
  const st = readFixture('ops_roi_align_s0.safetensors');
  const cases = st.config.cases as { name: string; aligned: boolean; output_size: number[]; sampling_ratio: number; spatial_scale: number }[];

  it('the fixture lists cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(8);
  });

  for (const c of cases) {
    it(`${c.name}: aligned=${c.aligned} sr=${c.sampling_ratio} out=${c.output_size} scale=${c.spatial_scale}`, () => {
      const x = f32t(st.get('input'));
      const rois = f32t(st.get('rois'));
      const ref = st.get(c.name);
      const y = roiAlign(x, rois, { outputSize: c.output_size, spatialScale: c.spatial_scale, samplingRatio: c.sampling_ratio, aligned: c.aligned });
      expect(y.shape).toEqual(ref.shape);
      const got = f32of(y);
      const want = ref.data as Float32Array;
      let worst = 0;
      for (let i = 0; i < want.length; i++) {
        const err = Math.abs(got[i]! - want[i]!) - (1e-4 + 1e-4 * Math.abs(want[i]!));
        worst = Math.max(worst, err);
      }
      if (process.env.TUBELET_REPORT) {
        let maxAbs = 0;
        for (let i = 0; i < want.length; i++) maxAbs = Math.max(maxAbs, Math.abs(got[i]! - want[i]!));
        console.log(`${c.name} max|a-b| = ${maxAbs.toExponential(2)}`);
      }
      expect(worst).toBeLessThanOrEqual(0);
    });
  }

  it('float16 inputs: computed through float32 and rounded once to half', () => {
    const c = cases[0]!;
    const xi = st.get('input').data as Float32Array;
    const ri = st.get('rois').data as Float32Array;
    const x16 = tensor(Uint16Array.from(xi, f32ToF16Bits), st.get('input').shape, { backend: 'cpu' });
    // rois are rounded to half too (x and rois share a dtype), so compare with the float32
    // kernel run on the same half-rounded values
    const r16 = tensor(Uint16Array.from(ri, f32ToF16Bits), st.get('rois').shape, { backend: 'cpu' });
    const r16f = f16of(r16);
    const y = roiAlign(x16, r16, { outputSize: c.output_size, spatialScale: c.spatial_scale, samplingRatio: c.sampling_ratio, aligned: c.aligned });
    expect(y.dtype).toBe('float16');
    // reference: float32 kernel on the half-rounded inputs
    const y32 = f32of(roiAlign(tensor(f16of(x16), st.get('input').shape), tensor(r16f, st.get('rois').shape), {
      outputSize: c.output_size,
      spatialScale: c.spatial_scale,
      samplingRatio: c.sampling_ratio,
      aligned: c.aligned,
    }));
    const got = f16of(y);
    for (let i = 0; i < got.length; i++) expect(Math.abs(got[i]! - y32[i]!)).toBeLessThanOrEqual(1e-3 + 1e-3 * Math.abs(y32[i]!));
  });
});

describe('roiAlign (cpu) closed-form cases', () => {
  it('a constant map gives the constant inside, and 0 for a roi entirely outside', () => {
    const x = tensor(new Float32Array(2 * 6 * 8).fill(3), [1, 2, 6, 8]);
    const rois = tensor([0, 1, 1, 5, 4, 0, 100, 100, 120, 130], [2, 5]);
    const y = f32of(roiAlign(x, rois, { outputSize: 2, samplingRatio: 2, aligned: true }));
    expect(Array.from(y.subarray(0, 8))).toEqual(new Array(8).fill(3));
    expect(Array.from(y.subarray(8))).toEqual(new Array(8).fill(0));
  });

  it('aligned=true: 1×1 output of a 1-px box centred on a linear ramp samples the pixel centre', () => {
    // value = 10*y + x; box [2,1]-[3,2] covers pixel (y=1, x=2): aligned shifts by -0.5 so the
    // sample at the bin centre is exactly (1, 2)
    const H = 4;
    const W = 5;
    const v = new Float32Array(H * W);
    for (let y = 0; y < H; y++) for (let xx = 0; xx < W; xx++) v[y * W + xx] = 10 * y + xx;
    const y = f32of(roiAlign(tensor(v, [1, 1, H, W]), tensor([0, 2, 1, 3, 2], [1, 5]), { outputSize: 1, samplingRatio: 1, aligned: true }));
    expect(y[0]).toBeCloseTo(12, 6);
    // aligned=false: no shift, sample at (1.5, 2.5)
    const y2 = f32of(roiAlign(tensor(v, [1, 1, H, W]), tensor([0, 2, 1, 3, 2], [1, 5]), { outputSize: 1, samplingRatio: 1, aligned: false }));
    expect(y2[0]).toBeCloseTo(17.5, 6);
  });

  it('samples at exactly y = -1 or y = H are kept (clamped to the border), beyond them dropped', () => {
    // aligned=false, one sample at the roi centre; the map is 5 everywhere, H = 4
    const x = tensor(new Float32Array(4 * 6).fill(5), [1, 1, 4, 6]);
    const centreY = [-1, -1.125, 4, 4.125];
    const rois = tensor(centreY.flatMap((cy) => [0, 1, cy - 0.5, 2, cy + 0.5]), [4, 5]);
    expect(Array.from(f32of(roiAlign(x, rois, { outputSize: 1, samplingRatio: 1, aligned: false })))).toEqual([5, 0, 5, 0]);
    // the same along x (W = 6)
    const centreX = [-1, -1.125, 6, 6.125];
    const rx = tensor(centreX.flatMap((cx) => [0, cx - 0.5, 1, cx + 0.5, 2]), [4, 5]);
    expect(Array.from(f32of(roiAlign(x, rx, { outputSize: 1, samplingRatio: 1, aligned: false })))).toEqual([5, 0, 5, 0]);
  });

  it('an out-of-range batch index throws', () => {
    const x = tensor(new Float32Array(16), [1, 1, 4, 4]);
    expect(() => roiAlign(x, tensor([1, 0, 0, 2, 2], [1, 5]), { outputSize: 1 })).toThrow(/batch index/);
  });
});

// ---------------------------------------------------------------------------------------------

describe('nms (cpu) vs torchvision vectors', () => {
  const st = readFixture('ops_nms_s0.safetensors');
  const cases = st.config.cases as { name: string; boxes: string; scores: string; idxs?: string; iou_threshold: number }[];

  it('the fixture lists cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(8);
  });

  for (const c of cases) {
    it(`${c.name} (thr ${c.iou_threshold}${c.idxs ? ', class-wise' : ''})`, async () => {
      const boxes = f32t(st.get(c.boxes));
      const scores = f32t(st.get(c.scores));
      const classes = c.idxs ? tensor(st.get(c.idxs).data as BigInt64Array, st.get(c.idxs).shape, { dtype: 'int64' }) : null;
      const keep = await nms(boxes, scores, { iouThreshold: c.iou_threshold, classes });
      expect(keep.dtype).toBe('int32');
      const want = Array.from(st.get(c.name).data as BigInt64Array, Number);
      expect(idxOf(keep)).toEqual(want);
      expect(keep.shape).toEqual([want.length]);
      // int32 classes give the same result
      if (c.idxs) {
        const cls32 = tensor(Int32Array.from(st.get(c.idxs).data as BigInt64Array, Number), st.get(c.idxs).shape);
        expect(idxOf(await nms(boxes, scores, { iouThreshold: c.iou_threshold, classes: cls32 }))).toEqual(want);
      }
      // maxOutput keeps a prefix
      const k = Math.max(1, Math.floor(want.length / 3));
      const capped = await nms(boxes, scores, { iouThreshold: c.iou_threshold, classes, maxOutput: k });
      expect(idxOf(capped)).toEqual(want.slice(0, k));
    });
  }
});

describe('nms (cpu) semantics', () => {
  it('ties in score visit the lower index first; IoU exactly at the threshold is not suppressed', async () => {
    // boxes 0 and 1 identical, same score: 0 is kept, 1 suppressed. box 2 has IoU exactly 0.5 with 0.
    const boxes = tensor([0, 0, 10, 10, 0, 0, 10, 10, 0, 0, 10, 5], [3, 4]);
    const scores = tensor([0.5, 0.5, 0.4]);
    expect(idxOf(await nms(boxes, scores, { iouThreshold: 0.5 }))).toEqual([0, 2]);
    expect(idxOf(await nms(boxes, scores, { iouThreshold: 0.49 }))).toEqual([0]);
  });

  it('two zero-area boxes never suppress each other (IoU NaN)', async () => {
    const boxes = tensor([5, 5, 5, 5, 5, 5, 5, 5], [2, 4]);
    expect(idxOf(await nms(boxes, tensor([0.9, 0.8]), { iouThreshold: 0.1 }))).toEqual([0, 1]);
  });

  it('class-wise NMS equals the union of per-class NMS runs, in score order', async () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const K = 200;
    const b = new Float32Array(4 * K);
    const s = new Float32Array(K);
    const cl = new Int32Array(K);
    for (let i = 0; i < K; i++) {
      const x = rnd() * 50;
      const y = rnd() * 50;
      b.set([x, y, x + 5 + rnd() * 20, y + 5 + rnd() * 20], 4 * i);
      s[i] = Math.round(rnd() * 20) / 20;
      cl[i] = Math.floor(rnd() * 4);
    }
    const keep = idxOf(await nms(tensor(b, [K, 4]), tensor(s), { iouThreshold: 0.4, classes: tensor(cl) }));
    const union: number[] = [];
    for (let c = 0; c < 4; c++) {
      const idx = Array.from({ length: K }, (_, i) => i).filter((i) => cl[i] === c);
      const bb = new Float32Array(idx.flatMap((i) => Array.from(b.subarray(4 * i, 4 * i + 4))));
      const ss = Float32Array.from(idx, (i) => s[i]!);
      const k = idxOf(await nms(tensor(bb, [idx.length, 4]), tensor(ss), { iouThreshold: 0.4 }));
      for (const j of k) union.push(idx[j]!);
    }
    union.sort((i, j) => s[j]! - s[i]! || i - j);
    expect(keep).toEqual(union);
  });

  it('empty input gives an empty result', async () => {
    const keep = await nms(tensor(new Float32Array(0), [0, 4]), tensor(new Float32Array(0), [0]), { iouThreshold: 0.5 });
    expect(keep.shape).toEqual([0]);
  });
});
