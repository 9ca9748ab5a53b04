/**
 * `tubelet detect` (runDetect) on a tiny random-weight detector config: decodes images / videos /
 * folders with ffmpeg, writes overlay PNGs whose pixels are exactly the drawing of the reported
 * numbers, JSON reports, COCO evaluation, and one-line errors.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rleDecode, rleFromJson } from '@tubelet/heads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DetectReport, runDetect } from '../src/commands/detect';
import { Canvas, decodePng, drawDetections, encodePng, paletteColor } from '../src/render';

const CLIP = fileURLToPath(new URL('../assets/vtest-clip.mp4', import.meta.url));

const TINY = {
  name: 'tiny-cli',
  backbone: { kind: 'dense', depth: [1, 1, 2, 1], embedDim: [16, 32, 48, 64], headDim: 16, stage3: 'hybrid', windowSize: 4 },
  heads: { inChannels: [16, 32, 48, 64], fpnChannels: 16, rpnChannels: 16, fcChannels: 32, maskChannels: 16, numMaskConvs: 1 },
  pipeline: { scale: [128, 96] },
};

let dir = '';
let cfg = '';
let png = '';
const W = 80;
const H = 60;
const rgb = new Uint8Array(W * H * 3);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tubelet-detect-'));
  cfg = join(dir, 'tiny.json');
  writeFileSync(cfg, JSON.stringify(TINY));
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const inBox = x > 15 && x < 50 && y > 10 && y < 45;
      rgb.set(inBox ? [230, 200, 40] : [(x * 3) & 255, (y * 4) & 255, 90], 3 * (y * W + x));
    }
  }
  png = join(dir, 'card.png');
  writeFileSync(png, encodePng({ width: W, height: H, data: rgb }));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Re-draws a report's detections on the input: the overlay must be exactly this picture. */
function redraw(report: DetectReport, i: number, image: Uint8Array, w: number, h: number): Uint8Array {
  const c = Canvas.fromRgb({ width: w, height: h, data: image });
  drawDetections(
    c,
    report.images[i]!.detections.map((d) => ({
      label: d.label,
      classId: d.classId,
      score: d.score,
      box: { x1: d.box[0], y1: d.box[1], x2: d.box[2], y2: d.box[3] },
      ...(d.segmentation ? { mask: { x: 0, y: 0, width: w, height: h, data: rleDecode(rleFromJson(d.segmentation)) } } : {}),
    })),
  );
  return c.data;
}

describe('tubelet detect', () => {
  it('one image: overlay PNG drawn exactly where the reported boxes and masks are; text report', async () => {
    const out = join(dir, 'overlay.png');
    const lines: string[] = [];
    const r = await runDetect({ input: png, config: cfg, out, 'min-score': '0.02', 'max-detections': '5', print: (l) => lines.push(l) });
    expect(r.images).toHaveLength(1);
    const im = r.images[0]!;
    expect([im.width, im.height]).toEqual([W, H]);
    expect(im.detections.length).toBeGreaterThan(0);
    expect(im.overlay).toBe(out);
    expect(lines[0]).toMatch(new RegExp(`card\\.png \\(80x60\\): ${im.detections.length} detections? .*→ `));
    const ov = decodePng(new Uint8Array(readFileSync(out)));
    expect([ov.width, ov.height, ov.channels]).toEqual([W, H, 3]);
    expect(Buffer.from(ov.data).equals(Buffer.from(redraw(r, 0, rgb, W, H)))).toBe(true);
    // the best detection's box: its right edge column carries the class colour along most of its height
    const best = im.detections[0]!;
    const col = Math.min(W - 1, Math.ceil(best.box[2]) - 1);
    const [y0, y1] = [Math.max(0, Math.floor(best.box[1])), Math.min(H - 1, Math.ceil(best.box[3]) - 1)];
    let hit = 0;
    for (let y = y0; y <= y1; y++) if (paletteColor(best.classId).every((v, k) => ov.data[3 * (y * W + col) + k] === v)) hit++;
    expect(hit / (y1 - y0 + 1)).toBeGreaterThan(0.5);
    // masks: COCO RLE of the full image
    expect(im.detections.every((d) => d.segmentation && d.segmentation.size.join() === `${H},${W}`)).toBe(true);
  });

  it('--json prints the report; --no-masks; a video gives --frames evenly spaced frames, --out a folder', async () => {
    const printed: string[] = [];
    const outDir = join(dir, 'frames');
    const r = await runDetect({ input: CLIP, config: cfg, out: outDir, json: true, frames: '2', 'no-masks': true, 'min-score': '0.02', 'max-detections': '3', print: (l) => printed.push(l) });
    expect(printed).toHaveLength(1);
    expect(JSON.parse(printed[0]!)).toEqual(JSON.parse(JSON.stringify(r)));
    expect(r.images.map((i) => i.frame)).toEqual([0, expect.any(Number)]);
    expect(r.images[1]!.frame).toBeGreaterThan(0);
    for (const im of r.images) {
      expect(im.overlay!.startsWith(outDir)).toBe(true);
      expect(im.detections.every((d) => d.segmentation === undefined)).toBe(true);
      expect(decodePng(new Uint8Array(readFileSync(im.overlay!))).width).toBe(im.width);
    }
  });

  it('a folder of images, with COCO evaluation against an annotation file', async () => {
    const folder = join(dir, 'imgs');
    mkdirSync(folder);
    writeFileSync(join(folder, 'a.png'), readFileSync(png));
    writeFileSync(join(folder, 'b.png'), readFileSync(png));
    const ann = join(dir, 'ann.json');
    writeFileSync(
      ann,
      JSON.stringify({
        images: [{ id: 7, file_name: 'a.png', width: W, height: H }],
        categories: [{ id: 1, name: 'person' }],
        annotations: [{ id: 1, image_id: 7, category_id: 1, bbox: [16, 11, 34, 34], area: 34 * 34, iscrowd: 0, segmentation: [[16, 11, 50, 11, 50, 45, 16, 45]] }],
      }),
    );
    const lines: string[] = [];
    const r = await runDetect({ input: folder, config: cfg, 'coco-eval': ann, 'min-score': '0.02', 'max-detections': '3', print: (l) => lines.push(l) });
    expect(r.images.map((i) => i.file.split('/').pop())).toEqual(['a.png', 'b.png']);
    expect(r.cocoEval!.bbox).toHaveLength(12);
    expect(r.cocoEval!.segm).toHaveLength(12);
    expect(lines.some((l) => /Average Precision/.test(l))).toBe(true);
  });

  it('one-line errors for bad options and inputs', async () => {
    await expect(runDetect({ input: png })).rejects.toThrow(/--model is required/);
    await expect(runDetect({ input: png, model: 'nope' })).rejects.toThrow(/unknown --model 'nope' \(one of: uniformer-s-maskrcnn-1x/);
    await expect(runDetect({ input: png, config: cfg, 'min-score': 'x' })).rejects.toThrow(/bad --min-score 'x'/);
    await expect(runDetect({ input: png, config: cfg, weights: join(dir, 'none.pth') })).rejects.toThrow(/--weights .*no such file/);
    await expect(runDetect({ input: join(dir, 'missing.png'), config: cfg })).rejects.toThrow(/missing\.png/);
    await expect(runDetect({ input: CLIP, config: cfg, frames: '2', out: join(dir, 'x.png') })).rejects.toThrow(/2 pictures need a folder/);
  });
});
