import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type Rle,
  bbIou,
  frPyObjects,
  rleArea,
  rleDecode,
  rleEncode,
  rleFrBbox,
  rleFrPoly,
  rleFrString,
  rleFromJson,
  rleIou,
  rleMerge,
  rleToBbox,
  rleToJson,
  rleToString,
  segmentationToRle,
} from '../src/index';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/coco/${name}`, import.meta.url), 'utf8'));

function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomMask(r: () => number, h: number, w: number, kind: number): Uint8Array {
  const m = new Uint8Array(h * w);
  if (kind === 0) return m;
  if (kind === 1) return m.fill(1);
  if (kind === 2) {
    // a blob: runs spanning columns
    const x0 = Math.floor(r() * w);
    const y0 = Math.floor(r() * h);
    const x1 = x0 + Math.floor(r() * (w - x0));
    const y1 = y0 + Math.floor(r() * (h - y0));
    for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) m[y * w + x] = 1;
    return m;
  }
  const p = r();
  for (let i = 0; i < m.length; i++) m[i] = r() < p ? 1 : 0;
  return m;
}

/** pixels (row-major indices) of a decoded mask */
const pixels = (rle: Rle) => [...rleDecode(rle)].flatMap((v, i) => (v ? [`${i % rle.w},${Math.floor(i / rle.w)}`] : []));

describe('RLE encode / decode / string form', () => {
  it('encodes column-major with a leading zero run, like pycocotools', () => {
    // 2x3 row-major:  1 0 1
    //                 1 1 0   → columns [1,1] [0,1] [1,0] → 1 1 0 1 1 0 → runs 0,2,1,2,1
    const rle = rleEncode([1, 0, 1, 1, 1, 0], 2, 3);
    expect(Array.from(rle.counts)).toEqual([0, 2, 1, 2, 1]);
    expect(rleArea(rle)).toBe(4);
    expect(Array.from(rleDecode(rle))).toEqual([1, 0, 1, 1, 1, 0]);
    expect(Array.from(rleDecode(rle, 'col'))).toEqual([1, 1, 0, 1, 1, 0]);
    expect(Array.from(rleEncode([1, 1, 0, 1, 1, 0], 2, 3, 'col').counts)).toEqual([0, 2, 1, 2, 1]);
  });

  it('writes and reads the 6-bit LEB128-like strings (hand-worked values)', () => {
    const cases: [number[], string][] = [
      [[3, 2, 1], '321'],
      [[5, 10, 5, 2], '5:5H'], // 4th count stored as 2-10 = -8: 0b11000 → 'H', sign bit set, no continuation
      [[100], 'T3'], // 100 = 4 + 3*32: 4|0x20 → 'T', then 3
      [[0, 1, 2, 3, 4, 5, 6, 7], '01222222'],
      [[0, 1000000], '0Pb`n0'],
    ];
    for (const [counts, s] of cases) {
      const n = counts.reduce((a, b) => a + b, 0);
      const rle = rleFromJson({ size: [n, 1], counts });
      expect(rleToString(rle)).toBe(s);
      expect(Array.from(rleFrString(s, n, 1).counts)).toEqual(counts);
    }
  });

  it('round-trips random masks, all-zero, all-one and 1×1 through counts and strings', () => {
    const r = rng(1);
    const shapes: [number, number][] = [
      [1, 1],
      [1, 7],
      [7, 1],
      [2, 2],
      [13, 17],
      [64, 48],
      [200, 3],
    ];
    let n = 0;
    for (const [h, w] of shapes)
      for (let kind = 0; kind < 4; kind++)
        for (let rep = 0; rep < 5; rep++) {
          const m = randomMask(r, h, w, kind);
          const rle = rleEncode(m, h, w);
          expect(rleDecode(rle)).toEqual(m);
          expect(rle.counts.reduce((a, b) => a + b, 0)).toBe(h * w);
          for (let j = 1; j < rle.counts.length; j++) expect(rle.counts[j]).toBeGreaterThan(0);
          const js = rleToJson(rle);
          expect(js.size).toEqual([h, w]);
          const back = rleFromJson(js);
          expect(back.counts).toEqual(rle.counts);
          expect(rleDecode(back)).toEqual(m);
          n++;
        }
    expect(n).toBe(140);
    expect(Array.from(rleEncode(new Uint8Array(6), 2, 3).counts)).toEqual([6]);
    expect(Array.from(rleEncode(new Uint8Array(6).fill(1), 2, 3).counts)).toEqual([0, 6]);
    expect(Array.from(rleEncode([1], 1, 1).counts)).toEqual([0, 1]);
    expect(rleToString(rleEncode([0], 1, 1))).toBe('1');
  });
});

describe('RLE area / bbox / merge / IoU against brute force', () => {
  const r = rng(2);
  const cases: { h: number; w: number; masks: Uint8Array[] }[] = [];
  for (let i = 0; i < 60; i++) {
    const h = 1 + Math.floor(r() * 30);
    const w = 1 + Math.floor(r() * 30);
    cases.push({ h, w, masks: Array.from({ length: 2 + (i % 3) }, (_, j) => randomMask(r, h, w, (i + j) % 4)) });
  }

  it('area and toBbox', () => {
    for (const { h, w, masks } of cases)
      for (const m of masks) {
        const rle = rleEncode(m, h, w);
        expect(rleArea(rle)).toBe(m.reduce((a, b) => a + b, 0));
        let [x0, y0, x1, y1] = [Infinity, Infinity, -1, -1];
        m.forEach((v, i) => {
          if (!v) return;
          const x = i % w;
          const y = Math.floor(i / w);
          x0 = Math.min(x0, x);
          y0 = Math.min(y0, y);
          x1 = Math.max(x1, x);
          y1 = Math.max(y1, y);
        });
        expect(rleToBbox(rle)).toEqual(x1 < 0 ? [0, 0, 0, 0] : [x0, y0, x1 - x0 + 1, y1 - y0 + 1]);
      }
  });

  it('merge (union and intersection)', () => {
    for (const { h, w, masks } of cases) {
      const rles = masks.map((m) => rleEncode(m, h, w));
      const uni = masks.reduce((a, b) => a.map((v, i) => v | b[i]!));
      const inter = masks.reduce((a, b) => a.map((v, i) => v & b[i]!));
      expect(rleDecode(rleMerge(rles))).toEqual(uni);
      expect(rleDecode(rleMerge(rles, true))).toEqual(inter);
      expect(rleMerge(rles).counts).toEqual(rleEncode(uni, h, w).counts);
    }
    expect(rleMerge([])).toEqual({ h: 0, w: 0, counts: new Uint32Array(0) });
    const mismatch = rleMerge([rleEncode([1], 1, 1), rleEncode([1, 1], 1, 2)]);
    expect([mismatch.h, mismatch.w, mismatch.counts.length]).toEqual([0, 0, 0]);
  });

  it('IoU with the crowd rule (intersection over the detection area)', () => {
    for (const { h, w, masks } of cases) {
      const rles = masks.map((m) => rleEncode(m, h, w));
      const crowd = masks.map((_, j) => j % 2);
      const o = rleIou(rles, rles, crowd);
      const n = masks.length;
      for (let d = 0; d < n; d++)
        for (let g = 0; g < n; g++) {
          const A = masks[d]!;
          const B = masks[g]!;
          let i = 0;
          let u = 0;
          for (let k = 0; k < A.length; k++) {
            i += A[k]! & B[k]!;
            u += A[k]! | B[k]!;
          }
          const ad = A.reduce((a, b) => a + b, 0);
          const expected = i === 0 ? 0 : crowd[g] ? i / ad : i / u;
          expect(o[d * n + g]).toBe(expected);
        }
    }
    // different sizes → -1 (when the boxes overlap)
    expect(Array.from(rleIou([rleEncode([1, 1, 1, 1], 2, 2)], [rleEncode([1, 1, 1], 1, 3)]))).toEqual([-1]);
  });

  it('box IoU with the crowd rule', () => {
    const o = bbIou(
      [
        [0, 0, 10, 10],
        [5, 0, 10, 10],
      ],
      [
        [0, 0, 10, 10],
        [5, 0, 10, 10],
        [20, 20, 5, 5],
      ],
      [0, 1, 0],
    );
    expect(Array.from(o)).toEqual([1, 0.5, 0, 50 / 150, 1, 0]);
  });
});

describe('polygon rasterisation (rleFrPoly)', () => {
  it('a 2×2 square [1,3]×[1,3] covers pixels 1..2 in both axes (pixel i spans [i, i+1))', () => {
    const rle = rleFrPoly([1, 1, 3, 1, 3, 3, 1, 3], 5, 5);
    expect(pixels(rle).sort()).toEqual(['1,1', '1,2', '2,1', '2,2']);
    expect(Array.from(rle.counts)).toEqual([6, 2, 3, 2, 12]);
    expect(rleToString(rle)).toBe('62309');
    // the same box through frBbox
    expect(rleFrBbox([1, 1, 2, 2], 5, 5).counts).toEqual(rle.counts);
  });

  it('a triangle (0,0),(4,0),(0,4) keeps the pixels whose centre is strictly inside x+y<4', () => {
    // centres (x+.5, y+.5): x+y+1 < 4 → x+y ≤ 2: 3+2+1 pixels; column 3 gets two boundaries at row 0 that cancel
    const rle = rleFrPoly([0, 0, 4, 0, 0, 4], 5, 5);
    expect(pixels(rle).sort()).toEqual(['0,0', '0,1', '0,2', '1,0', '1,1', '2,0'].sort());
    expect(Array.from(rle.counts)).toEqual([0, 3, 2, 2, 3, 1, 14]);
    expect(rleArea(rle)).toBe(6);
  });

  it('centres on the left/top edge are out, on the right/bottom edge in', () => {
    // square [0.5, 2.5]²: centres 0.5 lie on the left/top edges (out), 2.5 on the right/bottom (in)
    const rle = rleFrPoly([0.5, 0.5, 2.5, 0.5, 2.5, 2.5, 0.5, 2.5], 5, 5);
    expect(pixels(rle).sort()).toEqual(['1,1', '1,2', '2,1', '2,2']);
  });

  it('clips to the image and reproduces maskApi.c on 150 random polygons and 30 boxes', () => {
    const ref = fixture('maskapi_reference.json') as {
      polygons: { h: number; w: number; xy: number[]; counts: string }[];
      boxes: { h: number; w: number; bbox: number[]; counts: string }[];
    };
    expect(ref.polygons.length).toBe(150);
    for (const p of ref.polygons) expect(rleToString(rleFrPoly(p.xy, p.h, p.w))).toBe(p.counts);
    for (const b of ref.boxes) expect(rleToString(rleFrBbox(b.bbox, b.h, b.w))).toBe(b.counts);
    const outside = rleFrPoly([-5, -5, 20, -5, 20, 20, -5, 20], 4, 3);
    expect(rleArea(outside)).toBe(12);
  });

  it('matches maskApi.c for encode, area, toBbox, merge and IoU on reference masks', () => {
    const ref = fixture('maskapi_reference.json') as {
      ops: { h: number; w: number; masks: string[]; strings: string[]; areas: number[]; bboxes: number[][]; union: string; inter: string; crowd: number[]; iou: number[][] }[];
    };
    for (const op of ref.ops) {
      const rles = op.masks.map((s) => rleEncode(Array.from(s, Number), op.h, op.w));
      expect(rles.map(rleToString)).toEqual(op.strings);
      expect(rles.map(rleArea)).toEqual(op.areas);
      expect(rles.map(rleToBbox)).toEqual(op.bboxes);
      expect(rleToString(rleMerge(rles))).toBe(op.union);
      expect(rleToString(rleMerge(rles, true))).toBe(op.inter);
      const o = rleIou(rles, rles, op.crowd);
      const n = rles.length;
      expect(Array.from({ length: n }, (_, d) => Array.from(o.subarray(d * n, d * n + n)))).toEqual(op.iou);
    }
  });

  it('reads segmentations as annToRLE: polygons merged at the image size, RLE objects at their own', () => {
    const polys = [
      [0, 0, 2, 0, 2, 2, 0, 2],
      [3, 3, 5, 3, 5, 5, 3, 5],
    ];
    const rle = segmentationToRle(polys, 6, 6);
    expect(rleArea(rle)).toBe(8);
    const uncompressed = { size: [6, 6], counts: Array.from(rle.counts) };
    expect(segmentationToRle(uncompressed, 99, 99).counts).toEqual(rle.counts);
    expect(segmentationToRle(rleToJson(rle), 99, 99).counts).toEqual(rle.counts);
    // a list of 4-number entries is read as boxes, as pycocotools' frPyObjects does
    expect(frPyObjects([[1, 1, 2, 2]], 5, 5)[0]!.counts).toEqual(rleFrPoly([1, 1, 3, 1, 3, 3, 1, 3], 5, 5).counts);
    expect(rleArea(segmentationToRle([], 4, 4))).toBe(0);
  });
});
