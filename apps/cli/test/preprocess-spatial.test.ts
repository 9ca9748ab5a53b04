import { describe, expect, it } from 'vitest';
import {
  IMAGENET_NORM,
  PreprocessError,
  type RgbImage,
  UNIFORMER_VIDEO_NORM,
  VIVIT_NORM,
  buildVideoInput,
  dmvrClipViews,
  dmvrShortSideSize,
  floorCenterCropOffset,
  imagenetInput,
  normalizationLut,
  pilBicubicCoeffs,
  pilBicubicResize,
  slowfastClipViews,
  slowfastShortSideSize,
  tfBilinearResizeU8,
  torchBilinearPlane,
  torchvisionCenterCropOffset,
  torchvisionShortSideSize,
  uniformCropOffset,
  uniformCropOffsets,
  uniformerKineticsRecipe,
  uniformerSsv2Recipe,
  vivitRecipe,
} from '../src/preprocess';

/** Exact equality of large float arrays (vitest's deep equality is slow on 10^5+ elements). */
const sameArray = (a: Float32Array, b: Float32Array) => a.length === b.length && Buffer.compare(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), new Uint8Array(b.buffer, b.byteOffset, b.byteLength)) === 0;
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

/** A deterministic RGB test image. */
function pattern(width: number, height: number, seed = 0): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < 3; c++) data[(y * width + x) * 3 + c] = (x * 31 + y * 17 + c * 71 + x * y * 13 + seed * 29) % 256;
  return { width, height, data };
}

function resize(inH: number, inW: number, outH: number, outW: number, src: ArrayLike<number>): Float32Array {
  const out = new Float32Array(outH * outW);
  torchBilinearPlane(Float32Array.from(src), inH, inW, outH, outW, out);
  return out;
}

/** Naive float64 bilinear (align_corners=False, no antialias) straight from the definition; the source
 * scale is float32(in/out) as in ATen. */
function naiveBilinear(src: ArrayLike<number>, inH: number, inW: number, outH: number, outW: number): Float64Array {
  const out = new Float64Array(outH * outW);
  const coord = (o: number, inS: number, outS: number): [number, number, number] => {
    if (inS === outS) return [o, o, 0];
    const s = Math.max(Math.fround(inS / outS) * (o + 0.5) - 0.5, 0);
    const i0 = Math.floor(s);
    return [i0, Math.min(i0 + 1, inS - 1), s - i0];
  };
  for (let y = 0; y < outH; y++) {
    const [y0, y1, ly] = coord(y, inH, outH);
    for (let x = 0; x < outW; x++) {
      const [x0, x1, lx] = coord(x, inW, outW);
      const top = src[y0 * inW + x0]! * (1 - lx) + src[y0 * inW + x1]! * lx;
      const bot = src[y1 * inW + x0]! * (1 - lx) + src[y1 * inW + x1]! * lx;
      out[y * outW + x] = top * (1 - ly) + bot * ly;
    }
  }
  return out;
}

describe('torch bilinear (F.interpolate, align_corners=False)', () => {
  it('hand cases: ramp upsampling with edge clamping, 2x2 average, identity', () => {
    expect(Array.from(resize(1, 2, 1, 4, [0, 1]))).toEqual([0, 0.25, 0.75, 1]);
    expect(Array.from(resize(2, 2, 1, 1, [0, 1, 2, 3]))).toEqual([1.5]);
    expect(Array.from(resize(1, 4, 1, 2, [0, 10, 20, 30]))).toEqual([5, 25]);
    expect(Array.from(resize(2, 3, 2, 3, [1, 2, 3, 4, 5, 6]))).toEqual([1, 2, 3, 4, 5, 6]);
    // only the window is computed, at dstOffset
    const dst = new Float32Array(5).fill(-1);
    torchBilinearPlane(Float32Array.from([0, 10, 20, 30]), 1, 4, 1, 2, dst, 2, { y0: 0, x0: 1, height: 1, width: 1 });
    expect(Array.from(dst)).toEqual([-1, -1, 25, -1, -1]);
  });

  it('is bit-exact with torch 1.13 (x86) on small planes', () => {
    const src = (h: number, w: number) => Array.from({ length: h * w }, (_, i) => ((i * 37) % 101) / 10 - 5);
    // torch.nn.functional.interpolate(x, size, mode='bilinear', align_corners=False), x of shape [1,3,h,w]
    const down = [3218813748, 1057873376, 3219617654, 1025087893, 3222536190, 1077516697, 1057593749, 1060320050, 3209621231, 1076765216, 1052211050, 3198436406];
    expect(bits(resize(5, 7, 3, 4, src(5, 7)))).toEqual(down);
    const up = resize(4, 3, 9, 7, src(4, 3));
    expect(bits(up.subarray(0, 4))).toEqual([3231711232, 3230602737, 3224940426, 3215353446]);
  });

  it('agrees with a naive float64 implementation to float32 rounding', () => {
    let seed = 1;
    const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 8 - 4;
    for (const [h, w, oh, ow] of [
      [48, 64, 22, 29],
      [24, 32, 224, 298],
      [57, 31, 57, 30],
      [5, 9, 13, 2],
      [1, 1, 3, 3],
    ] as const) {
      const src = Float32Array.from({ length: h * w }, rnd);
      const ours = resize(h, w, oh, ow, src);
      const ref = naiveBilinear(src, h, w, oh, ow);
      let maxd = 0;
      for (let i = 0; i < ours.length; i++) maxd = Math.max(maxd, Math.abs(ours[i]! - ref[i]!));
      expect(maxd, `${h}x${w}->${oh}x${ow}`).toBeLessThan(4e-6);
    }
  });
});

describe('output sizes and crops', () => {
  it('short-side rules of slowfast, DMVR and torchvision', () => {
    expect(slowfastShortSideSize(576, 768, 224)).toEqual({ height: 224, width: 298 });
    expect(slowfastShortSideSize(768, 576, 224)).toEqual({ height: 298, width: 224 });
    expect(slowfastShortSideSize(224, 500, 224)).toEqual({ height: 224, width: 500 }); // short side already S: untouched
    expect(slowfastShortSideSize(320, 320, 224)).toEqual({ height: 224, width: 224 });
    expect(dmvrShortSideSize(576, 768, 256)).toEqual({ height: 256, width: 341 });
    expect(dmvrShortSideSize(320, 426, 256)).toEqual({ height: 256, width: 340 });
    expect(torchvisionShortSideSize(576, 768, 256)).toEqual({ height: 256, width: 341 });
    expect(torchvisionShortSideSize(500, 375, 256)).toEqual({ height: 341, width: 256 });
  });

  it('uniform_crop: ceil centre, 3 crops along the longer side', () => {
    expect(uniformCropOffset(224, 298, 224, 1)).toEqual({ y0: 0, x0: 37 });
    expect(uniformCropOffset(224, 299, 224, 1)).toEqual({ y0: 0, x0: 38 });
    expect(uniformCropOffsets(224, 298, 224, 3)).toEqual([
      { y0: 0, x0: 0 },
      { y0: 0, x0: 37 },
      { y0: 0, x0: 74 },
    ]);
    expect(uniformCropOffsets(299, 224, 224, 3)).toEqual([
      { y0: 0, x0: 0 },
      { y0: 38, x0: 0 },
      { y0: 75, x0: 0 },
    ]);
    expect(uniformCropOffsets(224, 224, 224, 3)).toEqual([
      { y0: 0, x0: 0 },
      { y0: 0, x0: 0 },
      { y0: 0, x0: 0 },
    ]);
    expect(() => uniformCropOffsets(224, 298, 224, 2)).toThrow(PreprocessError);
    expect(() => uniformCropOffset(200, 298, 224, 1)).toThrow(/cannot crop 224x224/);
    // DMVR single crop floors, torchvision rounds half to even
    expect(floorCenterCropOffset(256, 341, 224)).toEqual({ y0: 16, x0: 58 });
    expect(torchvisionCenterCropOffset(256, 341, 224)).toEqual({ y0: 16, x0: 58 });
    expect(torchvisionCenterCropOffset(256, 343, 224)).toEqual({ y0: 16, x0: 60 }); // 59.5 -> 60
    expect(uniformCropOffset(256, 341, 224, 1)).toEqual({ y0: 16, x0: 59 });
  });
});

describe('normalisation', () => {
  it('UniFormer video and ImageNet mean/std match torch float32 bit for bit', () => {
    const u = normalizationLut(UNIFORMER_VIDEO_NORM);
    // ((x/255) - 0.45) / 0.225 in torch float32 for x = 0, 1, 128, 254, 255
    expect([0, 1, 128, 254, 255].map((v) => bits(u[0]!.subarray(v, v + 1))[0])).toEqual([3221225472, 3221079265, 1047296704, 1075532856, 1075605960]);
    expect(u[0]).toEqual(u[2]);
    const im = normalizationLut(IMAGENET_NORM);
    const want = [
      [3221719997, 1033350962, 1074785821],
      [3221375268, 1045568328, 1075539383],
      [3219585033, 1054498108, 1076426179],
    ];
    for (let c = 0; c < 3; c++) expect([0, 128, 255].map((v) => bits(im[c]!.subarray(v, v + 1))[0])).toEqual(want[c]);
  });

  it('ViViT zero-centring maps 0..255 to -1..1', () => {
    const z = normalizationLut(VIVIT_NORM)[1]!;
    expect(z[0]).toBe(-1);
    expect(z[255]).toBe(1);
    expect(z[128]).toBeCloseTo(128 / 127.5 - 1, 6);
  });
});

describe('Pillow bicubic (antialiased on downscale)', () => {
  it('hand case: 2 -> 1 pixels is the rounded mean; constants stay constant', () => {
    const r = pilBicubicResize({ width: 2, height: 1, data: Uint8Array.from([0, 10, 255, 255, 20, 0]) }, 1, 1);
    expect(Array.from(r.data)).toEqual([128, 15, 128]);
    const flat = { width: 37, height: 23, data: new Uint8Array(37 * 23 * 3).fill(77) };
    const big = pilBicubicResize(flat, 90, 11);
    expect(big.data.every((v) => v === 77)).toBe(true);
  });

  it('coefficients: support scales with the downscale factor, a = -0.5 negative lobes', () => {
    const up = pilBicubicCoeffs(4, 8);
    expect(up.ksize).toBe(5); // support 2 -> ceil(2)*2+1
    const down = pilBicubicCoeffs(30, 10);
    expect(down.ksize).toBe(13); // support 2*3 = 6 -> 13 taps
    const row = Array.from(down.kk.subarray(5 * 13, 6 * 13));
    expect(row.some((k) => k < 0)).toBe(true);
    expect(Math.abs(row.reduce((a, b) => a + b, 0) - 2 ** 22)).toBeLessThan(13);
  });

  it('is bit-exact with Pillow 9.4 Image.resize(BICUBIC)', () => {
    // Image.fromarray(pattern(h, w)).resize((ow, oh), Image.BICUBIC)
    const cases: [number, number, number, number, number[]][] = [
      [9, 6, 5, 4, [20, 90, 167, 80, 159, 205, 158, 157, 63, 152, 75, 98, 178, 84, 167, 53, 129, 192, 144, 156, 107, 110, 64, 128, 104, 151, 108, 150, 156, 151, 98, 159, 114, 142, 72, 99, 88, 151, 140, 149, 112, 99, 117, 126, 148, 123, 190, 148, 112, 138, 104, 152, 109, 93, 130, 144, 118, 171, 116, 133]],
      [5, 5, 2, 5, [27, 98, 177, 97, 168, 151, 55, 134, 197, 155, 137, 102, 91, 154, 164, 124, 89, 99, 112, 121, 86, 76, 85, 149, 140, 149, 122, 134, 143, 118]],
    ];
    for (const [w, h, ow, oh, want] of cases) {
      expect(Array.from(pilBicubicResize(pattern(w, h), ow, oh).data), `${w}x${h}->${ow}x${oh}`).toEqual(want);
    }
    const up = pilBicubicResize(pattern(4, 3), 7, 9).data;
    expect(Array.from(up.subarray(0, 21))).toEqual([0, 67, 138, 6, 77, 148, 26, 97, 168, 43, 114, 184, 59, 130, 203, 80, 151, 240, 89, 160, 255]);
  });
});

describe('TF bilinear on uint8 (DMVR resize_smallest)', () => {
  it('half-pixel lerps, then truncation to uint8', () => {
    const img = { width: 2, height: 1, data: Uint8Array.from([0, 0, 0, 255, 100, 3]) };
    const r = tfBilinearResizeU8(img, 1, 4);
    // sources x = -0.25 (clamped), 0.25, 0.75, 1.25 (clamped): 0, 63.75, 191.25, 255 -> truncated
    expect(Array.from(r.data)).toEqual([0, 0, 0, 63, 25, 0, 191, 75, 2, 255, 100, 3]);
    const same = tfBilinearResizeU8(pattern(5, 4), 4, 5);
    expect(same.data).toEqual(pattern(5, 4).data);
  });
});

describe('pipelines', () => {
  const clip = (T: number, w: number, h: number) => Array.from({ length: T }, (_, t) => pattern(w, h, t));

  it('UniFormer clip views: normalise, torch-resize short side to 224, uniform crops; C,T,H,W', () => {
    const frames = clip(2, 80, 60);
    const views = slowfastClipViews(frames, 3);
    expect(views).toHaveLength(3);
    expect(views[0]).toHaveLength(3 * 2 * 224 * 224);
    // independent check of one value per view: naive resize of the normalised plane, crop offsets 0/37/74
    const { height: oh, width: ow } = slowfastShortSideSize(60, 80, 224);
    expect([oh, ow]).toEqual([224, 298]);
    const lut = normalizationLut(UNIFORMER_VIDEO_NORM);
    const c = 2;
    const t = 1;
    const plane = Float64Array.from({ length: 60 * 80 }, (_, i) => lut[c]![frames[t]!.data[i * 3 + c]!]!);
    const ref = naiveBilinear(plane, 60, 80, oh, ow);
    [0, 37, 74].forEach((x0, v) => {
      for (const [y, x] of [
        [0, 0],
        [100, 150],
        [223, 223],
      ] as const) {
        const got = views[v]![(c * 2 + t) * 224 * 224 + y * 224 + x]!;
        expect(Math.abs(got - ref[y * ow + x0 + x]!)).toBeLessThan(3e-6);
      }
    });
    expect(sameArray(slowfastClipViews(frames, 1)[0]!, views[1]!)).toBe(true);
  });

  it('ViViT clip views: DMVR resize to 256 (uint8), crops, x*2/255-1', () => {
    const frames = clip(2, 64, 48);
    const views = dmvrClipViews(frames, 3);
    expect(views).toHaveLength(3);
    const r = tfBilinearResizeU8(frames[1]!, 256, 341);
    const v = views[2]!; // right crop: x0 = 341-224 = 117, y0 = ceil(32/2) = 16
    const at = (c: number, y: number, x: number) => v[(c * 2 + 1) * 224 * 224 + y * 224 + x]!;
    expect(at(0, 0, 0)).toBe(Math.fround(Math.fround(r.data[(16 * 341 + 117) * 3]! * Math.fround(2 / 255)) - 1));
    expect(v.every((x) => x >= -1 && x <= 1)).toBe(true);
    // one crop: DMVR's floor centre (58), not uniform_crop's ceil (59)
    const one = dmvrClipViews(frames, 1)[0]!;
    expect(one[(0 * 2 + 1) * 224 * 224]).toBe(Math.fround(Math.fround(r.data[(16 * 341 + 58) * 3]! * Math.fround(2 / 255)) - 1));
  });

  it('recipes: official default views, aggregation and sampling', () => {
    const k = uniformerKineticsRecipe(16, 4);
    expect([k.defaultViews, k.aggregate, k.framesPerClip]).toEqual([{ clips: 4, crops: 1 }, 'sum', 16]);
    expect(k.sample(64, 1)).toEqual([[0, 4, 8, 12, 16, 21, 25, 29, 33, 37, 42, 46, 50, 54, 58, 63]]);
    const s = uniformerSsv2Recipe(16);
    expect([s.defaultViews, s.aggregate]).toEqual([{ clips: 1, crops: 3 }, 'sum']);
    const v = vivitRecipe();
    expect([v.defaultViews, v.aggregate, v.framesPerClip]).toEqual([{ clips: 4, crops: 3 }, 'mean', 32]);
    expect(v.sample(300, 4).map((c) => c[0])).toEqual([0, 78, 157, 236]);
  });

  it('buildVideoInput stacks clips x crops as N,C,T,H,W (or N,T,C,H,W)', () => {
    const recipe = { ...uniformerKineticsRecipe(2, 1, { cropSize: 16, shortSide: 16 }) };
    const clips = [clip(2, 24, 20), clip(2, 24, 20).reverse()];
    const x = buildVideoInput(recipe, clips, 3);
    expect(x.shape).toEqual([6, 3, 2, 16, 16]);
    expect(x.data).toHaveLength(6 * 3 * 2 * 16 * 16);
    const per = 3 * 2 * 16 * 16;
    expect(x.data.subarray(4 * per, 5 * per)).toEqual(slowfastClipViews(clips[1]!, 3, { shortSide: 16, cropSize: 16 })[1]);
    const y = buildVideoInput(recipe, clips, 3, 'NTCHW');
    expect(y.shape).toEqual([6, 2, 3, 16, 16]);
    // element (n=5, t=1, c=2, h=3, w=4) equals NCTHW (n=5, c=2, t=1, h=3, w=4)
    expect(y.data[(((5 * 2 + 1) * 3 + 2) * 16 + 3) * 16 + 4]).toBe(x.data[(((5 * 3 + 2) * 2 + 1) * 16 + 3) * 16 + 4]);
  });

  it('rejects mismatched frames', () => {
    expect(() => slowfastClipViews([pattern(30, 20), pattern(31, 20)], 1)).toThrow(PreprocessError);
    expect(() => uniformerKineticsRecipe(16, 4).clipViews(clip(3, 40, 30), 1)).toThrow(/expected 16 frames/);
  });

  it('ImageNet input: Pillow bicubic to 256, centre crop 224, mean/std', () => {
    const img = pattern(341, 256);
    const x = imagenetInput(img);
    expect(x.shape).toEqual([1, 3, 224, 224]);
    const lut = normalizationLut(IMAGENET_NORM);
    // no resize needed (short side 256): crop offsets (16, 58)
    expect(x.data[224 * 224 + 5 * 224 + 7]).toBe(lut[1]![img.data[((16 + 5) * 341 + 58 + 7) * 3 + 1]!]);
    const big = pattern(640, 480);
    const y = imagenetInput(big);
    const r = pilBicubicResize(big, 341, 256);
    expect(y.data[2 * 224 * 224 + 100 * 224 + 100]).toBe(lut[2]![r.data[((16 + 100) * 341 + 58 + 100) * 3 + 2]!]);
  });
});
