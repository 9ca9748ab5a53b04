/**
 * `tubelet detect <image | video | folder> --model NAME [--weights W] [--backend B] [--out overlay.png]
 * [--json] [--coco-eval annotations.json]`: Mask R-CNN detection and instance segmentation with a
 * UniFormer detector (@tubelet/heads `createDetector`), drawing boxes, labels and masks on the image.
 *
 * Inputs are decoded with ffmpeg to 8-bit RGB (src/media). A video gives `--frames N` evenly spaced
 * frames (default 1, the first); a folder gives its images in natural order (at most `--frames` when
 * given). `--out` is a PNG file for one image, a folder (one PNG per image / frame) otherwise.
 * Without `--weights` the weights are random (seeded, `--seed`, default 0) and the detections are
 * meaningless — but drawn exactly where the numbers say.
 *
 * Also exported for `tubelet run --arch maskrcnn-heads`: runMaskRcnnHeads (the head stack on given
 * backbone features, the parity vectors' `in.c2 … in.c5`).
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { getBackend, setBackend } from '@tubelet/core';
import {
  COCO80_CATEGORY_IDS,
  type CocoDataset,
  type CocoResult,
  type DetectDetailed,
  type Detector,
  type DetectorConfigInput,
  cocoEvaluate,
  createDetector,
  detectorConfigNames,
  maskToImage,
  rleEncode,
  rleToJson,
} from '@tubelet/heads';
import { UserError } from '../main';
import { MediaError, type RgbImage, decodeImage, probeMedia, readFrames } from '../media/index';
import { registerOptionalBackends } from '../optional-backends';
import { Canvas, drawDetections, writePng } from '../render/index';

export {
  MASKRCNN_HEADS_DEFAULT_OUTPUTS,
  MASKRCNN_HEADS_INPUTS,
  MASKRCNN_HEADS_OUTPUTS,
  runMaskRcnnHeads,
} from '@tubelet/heads';

export const DETECT_SUMMARY = 'detect objects and instance masks in an image, video or folder with a UniFormer Mask R-CNN; draws boxes, labels and masks';

export const DETECT_USAGE =
  'tubelet detect <image | video | folder> --model NAME [--weights PATH] [--backend cpu|webgpu|cuda] [--out overlay.png|DIR] [--json] [--max-detections 100] [--min-score 0.05] [--no-masks] [--frames N] [--seed N] [--mode mmdet|torchvision] [--coco-eval annotations.json] | --config detector.json (a custom detector config instead of --model)';

/** node:util parseArgs options of the command (for the CLI's command table). */
export const DETECT_OPTIONS = {
  model: { type: 'string' },
  config: { type: 'string' },
  weights: { type: 'string' },
  seed: { type: 'string' },
  backend: { type: 'string' },
  out: { type: 'string' },
  json: { type: 'boolean' },
  'max-detections': { type: 'string' },
  'min-score': { type: 'string' },
  'no-masks': { type: 'boolean' },
  frames: { type: 'string' },
  mode: { type: 'string' },
  'coco-eval': { type: 'string' },
} as const;

export interface DetectCliOptions {
  /** image file, video file or folder of images */
  input: string;
  model?: string;
  /** a DetectorConfigInput JSON file (instead of --model) */
  config?: string;
  weights?: string;
  seed?: string | number;
  backend?: string;
  out?: string;
  json?: boolean;
  'max-detections'?: string | number;
  'min-score'?: string | number;
  'no-masks'?: boolean;
  frames?: string | number;
  mode?: string;
  'coco-eval'?: string;
  /** where the report goes (default console.log); JSON with --json */
  print?: (line: string) => void;
}

/** One processed picture in the report. */
export interface DetectImageReport {
  file: string;
  /** frame index for videos */
  frame?: number;
  width: number;
  height: number;
  overlay?: string;
  detections: {
    label: string;
    classId: number;
    categoryId: number;
    score: number;
    box: [number, number, number, number];
    /** COCO json RLE of the full-image mask */
    segmentation?: { size: [number, number]; counts: string };
  }[];
  timings: DetectDetailed['timings'];
}

export interface DetectReport {
  model: string;
  backend: string;
  weights: string;
  images: DetectImageReport[];
  cocoEval?: { bbox: number[]; segm?: number[]; lines: string[] };
}

function num(v: string | number | undefined, what: string, def: number, check: (x: number) => boolean, expected: string): number {
  if (v === undefined) return def;
  const x = typeof v === 'number' ? v : Number(v);
  if ((typeof v === 'string' && v.trim() === '') || !Number.isFinite(x) || !check(x)) throw new UserError(`bad ${what} '${v}': expected ${expected}`, 2);
  return x;
}

interface Picture {
  file: string;
  frame?: number;
  image: RgbImage;
}

/** The pictures of the input: one image, N frames of a video, or the images of a folder. */
async function loadPictures(input: string, frames: number | undefined): Promise<{ kind: 'image' | 'video' | 'frames'; pictures: Picture[] }> {
  const info = await probeMedia(input);
  if (info.kind === 'image') return { kind: 'image', pictures: [{ file: input, image: await decodeImage(input) }] };
  if (info.kind === 'frames') {
    const files = info.files ?? [];
    const n = Math.min(files.length, frames ?? files.length);
    const out: Picture[] = [];
    for (const f of files.slice(0, n)) out.push({ file: f, image: await decodeImage(f) });
    return { kind: 'frames', pictures: out };
  }
  const n = Math.min(info.frameCount, frames ?? 1);
  const idx = Array.from({ length: n }, (_, i) => (n === 1 ? 0 : Math.round((i * (info.frameCount - 1)) / (n - 1))));
  const imgs = await readFrames(info, idx);
  return { kind: 'video', pictures: imgs.map((image, i) => ({ file: input, frame: idx[i]!, image })) };
}

function overlayPath(out: string, kind: 'image' | 'video' | 'frames', p: Picture, count: number): string {
  if (kind === 'image' && count === 1 && !isDir(out)) return out;
  const stem = basename(p.file, extname(p.file));
  return join(out, p.frame !== undefined ? `${stem}-${String(p.frame).padStart(5, '0')}.png` : `${stem}.png`);
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Draws the detections of one picture and writes the PNG. */
export function writeOverlay(path: string, image: RgbImage, r: DetectDetailed): void {
  const c = Canvas.fromRgb(image);
  drawDetections(c, r.detections);
  mkdirSync(dirname(path) || '.', { recursive: true });
  writePng(path, c.toImage());
}

function readConfig(path: string): DetectorConfigInput {
  let j: unknown;
  try {
    j = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UserError(`cannot read --config '${path}': ${(e as Error).message.split('\n')[0]}`);
  }
  if (!j || typeof j !== 'object' || !('backbone' in j)) throw new UserError(`--config '${path}' must be a detector config object with at least 'backbone' (a dense UniFormer config)`);
  return j as DetectorConfigInput;
}

/** Runs the command; returns the report (also printed). */
export async function runDetect(o: DetectCliOptions): Promise<DetectReport> {
  const print = o.print ?? ((l: string) => console.log(l));
  if (o.model !== undefined && o.config !== undefined) throw new UserError('give --model NAME or --config FILE, not both', 2);
  if (o.model === undefined && o.config === undefined) throw new UserError(`--model is required (one of: ${detectorConfigNames().join(', ')}; or --config FILE)`, 2);
  if (o.model !== undefined && !detectorConfigNames().includes(o.model)) throw new UserError(`unknown --model '${o.model}' (one of: ${detectorConfigNames().join(', ')})`, 2);
  if (o.seed !== undefined && o.weights !== undefined) throw new UserError('--seed is for random weights; it cannot be combined with --weights', 2);
  const maxDetections = num(o['max-detections'], '--max-detections', 100, (x) => Number.isInteger(x) && x >= 0, 'an integer >= 0');
  const minScore = num(o['min-score'], '--min-score', 0.05, (x) => x >= 0 && x < 1, 'a number in [0, 1)');
  const frames = o.frames === undefined ? undefined : num(o.frames, '--frames', 1, (x) => Number.isInteger(x) && x >= 1, 'a positive integer');
  const seed = num(o.seed, '--seed', 0, Number.isSafeInteger, 'an integer');
  if (o.mode !== undefined && o.mode !== 'mmdet' && o.mode !== 'torchvision') throw new UserError(`bad --mode '${o.mode}': expected mmdet or torchvision`, 2);
  if (o.weights !== undefined && !existsSync(o.weights)) throw new UserError(`--weights '${o.weights}': no such file`);
  if (o['coco-eval'] !== undefined && !existsSync(o['coco-eval'])) throw new UserError(`--coco-eval '${o['coco-eval']}': no such file`);
  if (o.backend) {
    await registerOptionalBackends();
    try {
      await setBackend(o.backend);
    } catch (e) {
      throw new UserError(`--backend ${o.backend}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  const backend = getBackend().name;

  let pictures: Picture[];
  let kind: 'image' | 'video' | 'frames';
  try {
    ({ kind, pictures } = await loadPictures(o.input, frames));
  } catch (e) {
    if (e instanceof MediaError) throw new UserError(e.message);
    throw e;
  }
  if (o.out !== undefined && pictures.length > 1 && extname(o.out).toLowerCase() === '.png') throw new UserError(`--out '${o.out}': ${pictures.length} pictures need a folder, not a .png file`, 2);

  const modelName = o.model ?? `custom (${o.config})`;
  let det: Detector;
  try {
    det = await createDetector(o.model ?? readConfig(o.config!), {
      ...(o.weights !== undefined ? { weights: o.weights } : { seed }),
      backend,
      ...(o.mode ? { mode: o.mode as 'mmdet' | 'torchvision' } : {}),
    });
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`cannot build ${modelName}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (o.weights === undefined) console.error(`tubelet: no --weights given: random weights (seed ${seed}); the detections are meaningless`);

  const report: DetectReport = { model: modelName, backend, weights: o.weights ?? `random (seed ${seed})`, images: [] };
  try {
    for (const p of pictures) {
      const r = await det.detectDetailed({ data: p.image.data, width: p.image.width, height: p.image.height }, { maxDetections, minScore, masks: !o['no-masks'] });
      const entry: DetectImageReport = {
        file: p.file,
        ...(p.frame !== undefined ? { frame: p.frame } : {}),
        width: p.image.width,
        height: p.image.height,
        detections: r.detections.map((d) => ({
          label: d.label,
          classId: d.classId,
          categoryId: COCO80_CATEGORY_IDS[d.classId] ?? d.classId,
          score: d.score,
          box: [d.box.x1, d.box.y1, d.box.x2, d.box.y2],
          ...(d.mask ? { segmentation: rleToJson(rleEncode(maskToImage(d.mask, p.image.width, p.image.height), p.image.height, p.image.width)) } : {}),
        })),
        timings: r.timings,
      };
      if (o.out !== undefined) {
        const path = overlayPath(o.out, kind, p, pictures.length);
        writeOverlay(path, p.image, r);
        entry.overlay = path;
      }
      report.images.push(entry);
      if (!o.json) {
        const where = p.frame !== undefined ? `${p.file} frame ${p.frame}` : p.file;
        const t = r.timings;
        print(`${where} (${p.image.width}x${p.image.height}): ${r.detections.length} detection${r.detections.length === 1 ? '' : 's'} [preprocess ${t.preprocessMs.toFixed(0)} ms, backbone ${t.backboneMs.toFixed(0)} ms, heads ${t.headsMs.toFixed(0)} ms, masks ${t.masksMs.toFixed(0)} ms]${entry.overlay ? ` → ${entry.overlay}` : ''}`);
        for (const d of entry.detections.slice(0, 10)) print(`  ${d.label.padEnd(14)} ${d.score.toFixed(3)}  [${d.box.map((v) => v.toFixed(1)).join(', ')}]`);
        if (entry.detections.length > 10) print(`  … ${entry.detections.length - 10} more`);
      }
    }
  } finally {
    det.dispose();
  }

  if (o['coco-eval'] !== undefined) report.cocoEval = cocoEvalReport(o['coco-eval'], report.images, !o['no-masks']);
  if (o.json) print(JSON.stringify(report));
  else if (report.cocoEval) for (const l of report.cocoEval.lines) print(l);
  return report;
}

/** COCO bbox (and segm) evaluation of the processed images against an annotation file, matched by file name. */
function cocoEvalReport(path: string, images: DetectImageReport[], segm: boolean): { bbox: number[]; segm?: number[]; lines: string[] } {
  let gt: CocoDataset;
  try {
    gt = JSON.parse(readFileSync(path, 'utf8')) as CocoDataset;
  } catch (e) {
    throw new UserError(`cannot read --coco-eval '${path}': ${(e as Error).message.split('\n')[0]}`);
  }
  const byName = new Map((gt.images ?? []).map((im) => [im.file_name, im.id]));
  const results: CocoResult[] = [];
  const imgIds: number[] = [];
  for (const im of images) {
    const id = byName.get(basename(im.file));
    if (id === undefined) continue;
    imgIds.push(id);
    for (const d of im.detections) {
      const [x1, y1, x2, y2] = d.box;
      results.push({ image_id: id, category_id: d.categoryId, bbox: [x1, y1, x2 - x1, y2 - y1], score: d.score, ...(d.segmentation ? { segmentation: d.segmentation } : {}) } as CocoResult);
    }
  }
  if (!imgIds.length) throw new UserError(`--coco-eval: none of the input file names is an image of '${path}'`);
  const params = { imgIds };
  // bbox results as mmdet's _det2json (no segmentation); segm results carry both, as mmdet's _segm2json
  const b = cocoEvaluate(gt, results.map(({ segmentation: _s, ...r }) => r as CocoResult), 'bbox', { params });
  const lines = ['COCO bbox:', ...b.lines];
  let s: number[] | undefined;
  if (segm && results.every((r) => (r as { segmentation?: unknown }).segmentation)) {
    const e = cocoEvaluate(gt, results, 'segm', { params });
    lines.push('COCO segm:', ...e.lines);
    s = e.stats;
  }
  return { bbox: b.stats, ...(s ? { segm: s } : {}), lines };
}

/** Writes a report as JSON (used by tests and scripts). */
export function writeReport(path: string, r: DetectReport): void {
  writeFileSync(path, JSON.stringify(r, null, 1));
}
