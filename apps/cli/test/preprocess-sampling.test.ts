import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  PreprocessError,
  aggregateViewLogits,
  parseViews,
  roundHalfEven,
  ssv2SegmentIndices,
  tfLinspaceF32,
  torchLinspaceF32,
  uniformerClipIndices,
  vivitClipIndices,
  vivitSampleFramesUniformly,
} from '../src/preprocess';
import { fmaf } from '../src/preprocess/float32';

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe('float32 helpers', () => {
  it('roundHalfEven rounds ties to even like numpy', () => {
    expect([0.5, 1.5, 2.5, 3.5, -0.5, -1.5, 2.4, 2.6, 24.5, 7].map(roundHalfEven)).toEqual([0, 2, 2, 4, 0, -2, 2, 3, 24, 7]);
  });

  it('fmaf is a correctly rounded fused multiply-add', () => {
    // a*b = 2^-24·(1 - 2^-46): the exact sum 1 + 2^-23 + 2^-24 - 2^-70 is just below the float32 midpoint
    // 1 + 3·2^-24, but rounds to that midpoint in float64, and then ties-to-even would go up
    const a = Math.fround(2 ** -24 * (1 + 2 ** -23));
    const b = Math.fround(1 - 2 ** -23);
    const c = Math.fround(1 + 2 ** -23);
    expect(Math.fround(a * b + c)).toBe(1 + 2 ** -22);
    expect(fmaf(a, b, c)).toBe(1 + 2 ** -23);
    expect(fmaf(-a, b, -c)).toBe(-(1 + 2 ** -23));
    // plain products/sums
    expect(fmaf(3, 4, 5)).toBe(17);
    expect(fmaf(Math.fround(0.1), 10, -1)).toBe(Math.fround(Math.fround(0.1) * 10 - 1));
  });
});

describe('UniFormer Kinetics sampling (torch.linspace, truncation)', () => {
  it('reproduces torch 1.13 float32 linspace bit for bit (cases where the naive formula is an ulp off)', () => {
    // from torch.linspace(start, end, steps).numpy().view(uint32), x86 AVX2 build
    const torch: Record<string, number[]> = {
      '242,273,8': [1131544576, 1131834807, 1132125038, 1132415269, 1132583790, 1132728905, 1132874021, 1133019136],
      '0,63,16': [0, 1082549862, 1090938470, 1095342489, 1099327078, 1101529088, 1103731097, 1105933106, 1107715687, 1108816692, 1109917696, 1111018701, 1112119706, 1113220711, 1114321716, 1115422720],
      '10,73,16': [1092616192, 1097020211, 1100165939, 1102367948, 1104569958, 1106771968, 1108135116, 1109236121, 1110337127, 1111438132, 1112539136, 1113640141, 1114741146, 1115763508, 1116314010, 1116864512],
      '5,132,32': [
        1084227584, 1091669091, 1095964870, 1099584148, 1101732038, 1103879928, 1106027817, 1107735981, 1108809926, 1109883871, 1110957816, 1112031760, 1113105705, 1114179650, 1115253594, 1116006202, 1116543174,
        1117080146, 1117617119, 1118154091, 1118691064, 1119228036, 1119765008, 1120301980, 1120838953, 1121375925, 1121912898, 1122449870, 1122986842, 1123523815, 1124060787, 1124335616,
      ],
    };
    for (const [k, want] of Object.entries(torch)) {
      const [s, e, n] = k.split(',').map(Number) as [number, number, number];
      expect(bits(torchLinspaceF32(s, e, n)), k).toEqual(want);
    }
    expect(Array.from(torchLinspaceF32(3, 9, 1))).toEqual([3]);
  });

  it('gives the spec §9 example: 16x4 on 64 frames', () => {
    expect(uniformerClipIndices(64, 16, 4, 1)).toEqual([[0, 4, 8, 12, 16, 21, 25, 29, 33, 37, 42, 46, 50, 54, 58, 63]]);
    expect(uniformerClipIndices(64, 8, 8, 1)).toEqual([[0, 9, 18, 27, 36, 45, 54, 63]]);
  });

  it('spreads multiple clips by floor(delta/(clips-1)) and centres one clip', () => {
    const c = uniformerClipIndices(300, 16, 4, 4); // delta 236 -> starts 0, 78, 156, 234
    expect(c.map((x) => x[0])).toEqual([0, 78, 156, 234]);
    expect(c.map((x) => x[15])).toEqual([63, 141, 219, 297]);
    expect(uniformerClipIndices(300, 16, 4, 1)[0]![0]).toBe(118);
    for (const clip of c) expect(clip).toHaveLength(16);
  });

  it('clamps to the video when it is shorter than a clip', () => {
    const [c] = uniformerClipIndices(40, 16, 4, 1);
    expect(c![0]).toBe(0);
    expect(c!.at(-1)).toBe(39);
    expect(c!.filter((i) => i === 39).length).toBeGreaterThan(1);
    expect(uniformerClipIndices(1, 16, 4, 4).flat().every((i) => i === 0)).toBe(true);
  });
});

describe('UniFormer Something-Something sampling (sth.py)', () => {
  it('uses round-half-even on seg*i and a per-clip offset', () => {
    // n=50: seg = 49/16 = 3.0625, offset = int(3.0625/2) = 1; seg*8 = 24.5 -> 24 (half-even), seg*4 = 12.25 -> 12
    const [c] = ssv2SegmentIndices(50, 16, 1);
    const want = Array.from({ length: 16 }, (_, i) => roundHalfEven(3.0625 * i) + 1 + 1 - 1);
    expect(c).toEqual(want);
    expect(c![8]).toBe(25); // 1-based 26: int(round(24.5)) = 24, + 1 + 1
    expect(c![0]).toBe(1);
    // two clips: offsets int(seg/3 * 1) = 1 and int(seg/3 * 2) = 2
    const two = ssv2SegmentIndices(50, 16, 2);
    expect(two[0]![0]).toBe(1);
    expect(two[1]![0]).toBe(2);
  });

  it('stays inside short videos', () => {
    const [c] = ssv2SegmentIndices(5, 16, 1);
    expect(Math.max(...c!)).toBeLessThanOrEqual(4);
    expect(Math.min(...c!)).toBeGreaterThanOrEqual(0);
  });
});

describe('ViViT sampling', () => {
  it('DMVR linspace clips: float32 linspace offsets truncated, stride 2', () => {
    expect(Array.from(tfLinspaceF32(0, 236, 4))).toEqual([0, Math.fround(Math.fround(236 / 3)), Math.fround(Math.fround(236 / 3) * 2), 236]);
    const c = vivitClipIndices(300, 32, 2, 4);
    expect(c.map((x) => x[0])).toEqual([0, 78, 157, 236]);
    expect(c[3]!.at(-1)).toBe(298);
    expect(c[1]!.slice(0, 4)).toEqual([78, 80, 82, 84]);
  });

  it('one clip is DMVR middle sampling; short videos wrap around (DMVR repeats the sequence)', () => {
    expect(vivitClipIndices(300, 32, 2, 1)[0]![0]).toBe(118);
    const [w] = vivitClipIndices(50, 32, 2, 1);
    expect(w!.slice(0, 3)).toEqual([0, 2, 4]);
    expect(w!.slice(24, 28)).toEqual([48, 0, 2, 4]);
    expect(vivitClipIndices(50, 32, 2, 4).every((clip) => clip[0] === 0)).toBe(true);
  });

  it('in-model sample_frames_uniformly: banker rounding, n+1 quirk, float32 arange (vivit.md §2.2)', () => {
    expect(vivitSampleFramesUniformly(6, 3)).toEqual([2, 3, 4]);
    expect(vivitSampleFramesUniformly(10, 3)).toEqual([2, 5, 8]);
    expect(vivitSampleFramesUniformly(8, 2)).toEqual([3, 5, 7]);
    expect(vivitSampleFramesUniformly(12, 6)).toEqual([2, 3, 5, 7, 9, 10, 11]);
    expect(vivitSampleFramesUniformly(13, 11)).toEqual([1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12]);
    expect(vivitSampleFramesUniformly(4, 9)).toEqual([0, 1, 2, 3]);
    expect(vivitSampleFramesUniformly(32, 16)).toHaveLength(16);
  });

  const table = '/work/shared/parity/vivit/frame_sampling_indices.json';
  it.skipIf(!existsSync(table))('matches the exhaustive parity table (T <= 64)', () => {
    const t = JSON.parse(readFileSync(table, 'utf8')).table as Record<string, number[]>;
    let n = 0;
    for (const [k, want] of Object.entries(t)) {
      const [T, m] = k.split(',').map(Number) as [number, number];
      expect(vivitSampleFramesUniformly(T, m), k).toEqual(want);
      n++;
    }
    expect(n).toBeGreaterThan(1000);
  });
});

describe('--views parsing and aggregation', () => {
  it('parses CLIPSxCROPS', () => {
    expect(parseViews('4x1')).toEqual({ clips: 4, crops: 1 });
    expect(parseViews('1x3')).toEqual({ clips: 1, crops: 3 });
    expect(parseViews(' 4×3 ')).toEqual({ clips: 4, crops: 3 });
    expect(parseViews('2X3')).toEqual({ clips: 2, crops: 3 });
  });

  it('rejects bad values with one clear line', () => {
    for (const bad of ['', '4', 'x3', '4x2', '0x1', '65x1', '4x1x1', 'ax3', '-1x3', '4x0']) {
      let err: unknown;
      try {
        parseViews(bad);
      } catch (e) {
        err = e;
      }
      expect(err, bad).toBeInstanceOf(PreprocessError);
      expect((err as Error).message).toMatch(/^bad --views '.*': .*CLIPSxCROPS/);
      expect((err as Error).message).not.toMatch(/\n/);
    }
  });

  it('sums (UniFormer) or averages (ViViT) view logits', () => {
    const l = Float32Array.from([1, 2, 3, 3, 2, 1]);
    expect(Array.from(aggregateViewLogits(l, 2, 3, 'sum'))).toEqual([4, 4, 4]);
    expect(Array.from(aggregateViewLogits(l, 2, 3, 'mean'))).toEqual([2, 2, 2]);
    expect(() => aggregateViewLogits(l, 4, 3, 'sum')).toThrow(PreprocessError);
  });
});
