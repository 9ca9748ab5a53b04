/**
 * `tubelet pose <image…> --model NAME|config.json (--weights ckpt | --seed N) [--boxes dets.json]
 * [--out skeleton.png|dir] [--json] [--coco-eval annotations.json]`: top-down pose estimation with
 * the mmpose pipeline of the UniFormer configs (@tubelet/heads createPoseEstimator), person boxes
 * from a COCO detection results file, skeleton overlays as PNG, COCO keypoint AP.
 *
 * Also the library side of `tubelet run --arch uniformer-pose`: poseModelFromOfficial() builds the
 * TopDown model from a parity-vector config and poseRunOutputs() returns its named outputs.
 */
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { type StateDict, type Tensor, getBackend, setBackend } from '@tubelet/core';
import {
  COCO,
  type CocoResult,
  type Pose,
  type PoseEstimator,
  TopDownPose,
  type TopDownPoseConfigInput,
  applyPoseWeights,
  cocoEvaluate,
  createPoseEstimator,
  poseConfigNames,
} from '@tubelet/heads';
import { configFromOfficial } from '@tubelet/models';
import { UserError } from '../main';
import { decodeImage } from '../media/index';
import { registerOptionalBackends } from '../optional-backends';
import { writePng } from '../render/png';
import { renderSkeletons } from '../render/skeleton';

export const POSE_USAGE =
  'tubelet pose <image…> [--model NAME|config.json] (--weights ckpt.pth | --seed N) [--boxes dets.json] [--box-thr T] [--kpt-thr T] [--out skeleton.png|dir] [--json] [--coco-eval annotations.json] [--image-id N] [--no-flip] [--dark] [--backend NAME] [--batch N]';

export const POSE_SUMMARY = 'top-down human pose (UniFormer + mmpose pipeline) on images, with person boxes from a COCO detection file; draws skeletons, COCO keypoint AP';

/** parseArgs options of the command (for main.ts). */
export const POSE_OPTIONS = {
  model: { type: 'string' },
  weights: { type: 'string' },
  seed: { type: 'string' },
  boxes: { type: 'string' },
  'box-thr': { type: 'string' },
  'kpt-thr': { type: 'string' },
  out: { type: 'string' },
  json: { type: 'boolean' },
  'coco-eval': { type: 'string' },
  'image-id': { type: 'string' },
  'no-flip': { type: 'boolean' },
  dark: { type: 'boolean' },
  backend: { type: 'string' },
  batch: { type: 'string' },
} as const;

export const DEFAULT_POSE_MODEL = 'uniformer-s-coco-pose-256x192';

export interface PoseOptions {
  images: string[];
  /** A pose config name (default uniformer-s-coco-pose-256x192) or a JSON config file. */
  model?: string;
  weights?: string;
  seed?: string | number;
  /** COCO detection results JSON ([{ image_id, category_id, bbox: [x, y, w, h], score }]). */
  boxes?: string;
  /** Keep boxes with score ≥ this (mmpose det_bbox_thr, default 0). */
  boxThr?: string | number;
  /** Draw keypoints scoring above this (default 0.3 with a checkpoint; all with random weights). */
  kptThr?: string | number;
  /** PNG file (one image) or folder (several). */
  out?: string;
  json?: boolean;
  /** COCO keypoint annotations: evaluate OKS AP on the processed images. */
  cocoEval?: string;
  /** COCO image id of a single image (default: from the file name, e.g. 000000000785.jpg → 785). */
  imageId?: string | number;
  flipTest?: boolean;
  dark?: boolean;
  backend?: string;
  batch?: string | number;
}

export interface PoseImageResult {
  image: string;
  imageId: number | null;
  width: number;
  height: number;
  /** Boxes given to the estimator (after category / threshold filtering). */
  boxes: number;
  poses: Pose[];
  /** The overlay written, if any. */
  out?: string;
  seconds: number;
}

export interface PoseRunResult {
  model: string;
  backend: string;
  weights: 'checkpoint' | 'random';
  images: PoseImageResult[];
  cocoEval?: { stats: number[]; lines: string[]; imgIds: number[] };
}

interface DetEntry {
  image_id: number;
  category_id?: number;
  bbox: number[];
  score?: number;
}

function num(v: string | number | undefined, what: string, integer = false): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === 'number' ? v : v.trim() === '-inf' ? -Infinity : Number(v);
  if (Number.isNaN(n) || (integer && !Number.isInteger(n))) throw new UserError(`${what} must be ${integer ? 'an integer' : 'a number'}, got '${v}'`);
  return n;
}

function readJsonFile(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UserError(`cannot read ${what} '${path}': ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message.split('\n')[0]}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new UserError(`${what} '${path}' is not valid JSON: ${(e as Error).message}`);
  }
}

/** Reads a COCO detection results file (person boxes). */
export function readDetections(path: string): DetEntry[] {
  const j = readJsonFile(path, '--boxes file');
  const list = Array.isArray(j) ? j : j && typeof j === 'object' && Array.isArray((j as { annotations?: unknown }).annotations) ? (j as { annotations: unknown[] }).annotations : null;
  if (!list) throw new UserError(`--boxes '${path}' must be a COCO detection results list [{ image_id, bbox: [x, y, w, h], score }, …]`);
  list.forEach((d, i) => {
    const e = d as DetEntry;
    if (!e || typeof e !== 'object' || !Array.isArray(e.bbox) || e.bbox.length < 4 || !e.bbox.slice(0, 4).every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw new UserError(`--boxes '${path}': entry ${i} has no bbox [x, y, w, h] of finite numbers`);
    }
  });
  return list as DetEntry[];
}

/** The COCO image id in a file name such as 000000000785.jpg, or null. */
export function imageIdFromName(path: string): number | null {
  const stem = basename(path, extname(path));
  return /^\d+$/.test(stem) ? Number(stem) : null;
}

/** A config file: ours ({ backbone, head, imageSize, … }) or a parity-vector config ({ layers, embed_dim, head_dim, head: { num_joints, … }, input_shape }). */
export function poseConfigFromJson(cfg: Record<string, unknown>, inputShape?: readonly number[]): TopDownPoseConfigInput {
  if ('backbone' in cfg) return cfg as unknown as TopDownPoseConfigInput;
  const head = (cfg.head ?? {}) as { num_joints?: number; deconv_filters?: number[]; deconv_kernels?: number[]; final_conv_kernel?: number; modulate_kernel?: number };
  const shape = inputShape ?? (cfg.input_shape as number[] | undefined);
  const size = Array.isArray(cfg.image_size) ? (cfg.image_size as [number, number]) : shape ? ([shape[3], shape[2]] as [number, number]) : null;
  if (!size) throw new UserError('pose config: give image_size [w, h] or input_shape [N, 3, H, W]');
  return {
    backbone: configFromOfficial({ ...cfg, kind: 'pose' }),
    head: {
      ...(head.num_joints !== undefined ? { numJoints: head.num_joints } : {}),
      ...(head.deconv_filters ? { deconvFilters: head.deconv_filters } : {}),
      ...(head.deconv_kernels ? { deconvKernels: head.deconv_kernels } : {}),
      ...(head.final_conv_kernel !== undefined ? { finalConvKernel: head.final_conv_kernel as 1 | 3 } : {}),
    },
    imageSize: size,
    ...(head.modulate_kernel !== undefined ? { modulateKernel: head.modulate_kernel } : {}),
  };
}

/** `tubelet run --arch uniformer-pose`: the TopDown model for a parity-vector config (weights: backbone.* + keypoint_head.*; or seeded random). */
export function poseModelFromOfficial(cfg: Record<string, unknown>, opts: { inputShape?: readonly number[]; weights?: StateDict; seed?: number; backend?: string }): TopDownPose {
  const model = new TopDownPose(poseConfigFromJson(cfg, opts.inputShape));
  try {
    if (opts.weights) applyPoseWeights(model, opts.weights, { backend: opts.backend });
    else if (opts.seed !== undefined) model.randomInit(opts.seed, { backend: opts.backend });
    else throw new UserError('give --weights (a checkpoint) or --seed N (random weights)');
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

/**
 * `tubelet run --arch uniformer-pose` outputs: the backbone's names plus heatmap,
 * heatmap_flipped_input_raw, heatmap_flipped_back_shifted, heatmap_flip_test, center, scale,
 * decode_preds, decode_boxes (center / scale from the input file when given, else the crop's own,
 * so keypoints come out in crop pixels). Each returned tensor is new and owned by the caller.
 */
export async function poseRunOutputs(model: TopDownPose, input: Tensor, opts: { outputs?: readonly string[] | 'all'; center?: ArrayLike<number>; scale?: ArrayLike<number> } = {}): Promise<Map<string, Tensor>> {
  const names = opts.outputs === undefined ? ['heatmap', 'heatmap_flip_test', 'decode_preds'] : opts.outputs === 'all' ? model.outputNames() : [...opts.outputs];
  const unknown = names.filter((n) => !model.outputNames().includes(n));
  if (unknown.length) throw new UserError(`unknown output${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; this model has: ${model.outputNames().join(', ')}`);
  return model.forwardOutputs(input, { outputs: names, center: opts.center, scale: opts.scale });
}

async function makeEstimator(o: PoseOptions, seed: number | undefined, batch: number | undefined): Promise<{ est: PoseEstimator; name: string }> {
  const name = o.model ?? DEFAULT_POSE_MODEL;
  let config: string | TopDownPoseConfigInput = name;
  if (name.endsWith('.json')) config = poseConfigFromJson(readJsonFile(name, '--model config') as Record<string, unknown>);
  else if (!poseConfigNames().includes(name)) throw new UserError(`unknown --model '${name}' (pose configs: ${poseConfigNames().join(', ')}; or a .json config file)`);
  if (o.weights === undefined && seed === undefined) throw new UserError('give --weights (an mmpose TopDown checkpoint, e.g. top_down_256x192_global_small.pth) or --seed N (random weights: the pipeline runs, the keypoints mean nothing)');
  if (o.weights !== undefined) {
    try {
      statSync(o.weights);
    } catch {
      throw new UserError(`cannot read --weights '${o.weights}': no such file`);
    }
  }
  const est = await createPoseEstimator(config, { weights: o.weights, seed, batchSize: batch });
  return { est, name };
}

/** Runs `tubelet pose`; prints a summary (or JSON) with `log` and returns the results. */
export async function runPose(o: PoseOptions, log: (line: string) => void = console.log): Promise<PoseRunResult> {
  if (!o.images.length) throw new UserError(`give at least one image; usage: ${POSE_USAGE}`, 2);
  const seed = num(o.seed, '--seed', true);
  const boxThr = num(o.boxThr, '--box-thr') ?? 0;
  const batch = num(o.batch, '--batch', true);
  if (batch !== undefined && batch < 1) throw new UserError(`--batch must be at least 1, got ${batch}`);
  const kptThr = num(o.kptThr, '--kpt-thr') ?? (o.weights ? 0.3 : -Infinity);
  const imageIdOpt = num(o.imageId, '--image-id', true);
  if (imageIdOpt !== undefined && o.images.length > 1) throw new UserError('--image-id applies to a single image');
  if (o.backend) {
    await registerOptionalBackends();
    await setBackend(o.backend);
  }
  const dets = o.boxes ? readDetections(o.boxes) : null;
  const gt = o.cocoEval ? (() => {
    try {
      return COCO.fromJson(readFileSync(o.cocoEval, 'utf8'));
    } catch (e) {
      throw new UserError(`cannot read --coco-eval '${o.cocoEval}': ${(e as Error).message.split('\n')[0]}`);
    }
  })() : null;
  if (o.out && o.images.length > 1) mkdirSync(o.out, { recursive: true });
  else if (o.out && !o.out.toLowerCase().endsWith('.png')) throw new UserError(`--out must be a .png file for one image, got '${o.out}'`);

  const { est, name } = await makeEstimator(o, seed, batch);
  const result: PoseRunResult = { model: name, backend: getBackend().name, weights: o.weights ? 'checkpoint' : 'random', images: [] };
  try {
    for (const path of o.images) {
      const t0 = performance.now();
      const img = await decodeImage(path);
      let imageId = imageIdOpt ?? imageIdFromName(path);
      if (imageId === null && gt) imageId = gt.dataset.images.find((i) => i.file_name === basename(path))?.id ?? null;
      let boxes: { bbox: number[]; score: number }[] | undefined;
      if (dets) {
        const ids = [...new Set(dets.map((d) => d.image_id))];
        const mine = imageId !== null ? dets.filter((d) => d.image_id === imageId) : ids.length === 1 ? dets : null;
        if (!mine) throw new UserError(`--boxes has detections for ${ids.length} images; cannot tell which belong to '${basename(path)}' (name it by its COCO id, e.g. 000000000785.jpg, or pass --image-id)`);
        boxes = mine.filter((d) => d.category_id === undefined || d.category_id === 1).map((d) => ({ bbox: d.bbox.slice(0, 4), score: d.score ?? 1 }));
      }
      const poses = boxes && boxes.length === 0 ? [] : await est.estimatePoses(img, { boxes, boxScoreThreshold: boxThr, flipTest: o.flipTest, postProcess: o.dark ? 'unbiased' : undefined });
      const used = boxes ? boxes.filter((b) => b.score >= boxThr).length : 1;
      const r: PoseImageResult = { image: path, imageId, width: img.width, height: img.height, boxes: used, poses, seconds: (performance.now() - t0) / 1000 };
      if (o.out) {
        const file = o.images.length > 1 ? join(o.out, `${basename(path, extname(path))}.pose.png`) : o.out;
        writePng(file, renderSkeletons(img, poses, { keypointThreshold: kptThr, skeleton: est.config.skeleton }).toImage());
        r.out = file;
      }
      result.images.push(r);
      if (!o.json) {
        log(`${path}: ${poses.length} pose${poses.length === 1 ? '' : 's'} from ${used} box${used === 1 ? '' : 'es'} (${img.width}x${img.height}, ${r.seconds.toFixed(1)} s)${r.out ? ` → ${r.out}` : ''}`);
        for (const p of poses.slice(0, 5)) {
          const best = [...p.keypoints].sort((a, b) => b.score - a.score).slice(0, 3);
          log(`  score ${p.score.toFixed(3)} box [${[p.box.xMin, p.box.yMin, p.box.xMax, p.box.yMax].map((v) => v.toFixed(1)).join(', ')}] ${best.map((k) => `${k.name} (${k.x.toFixed(1)}, ${k.y.toFixed(1)}) ${k.score.toFixed(2)}`).join('; ')}`);
        }
        if (poses.length > 5) log(`  … ${poses.length - 5} more`);
      }
    }
  } finally {
    est.dispose();
  }
  if (gt) {
    const ids = result.images.map((r) => r.imageId).filter((i): i is number => i !== null && gt.dataset.images.some((g) => g.id === i));
    if (!ids.length) throw new UserError(`--coco-eval: none of the images is in '${o.cocoEval}' (match by COCO id in the file name or --image-id)`);
    const results: CocoResult[] = result.images
      .filter((r) => r.imageId !== null && ids.includes(r.imageId))
      .flatMap((r) => r.poses.map((p) => ({ image_id: r.imageId!, category_id: 1, keypoints: p.keypoints.flatMap((k) => [k.x, k.y, k.score]), score: p.score })));
    const ev = cocoEvaluate(gt, results, 'keypoints', { params: { imgIds: ids } });
    result.cocoEval = { stats: ev.stats, lines: ev.lines, imgIds: ids };
    if (!o.json) {
      log(`COCO keypoint evaluation on ${ids.length} image${ids.length === 1 ? '' : 's'} (${results.length} results):`);
      for (const l of ev.lines) log(l);
    }
  }
  if (o.json) {
    log(
      JSON.stringify(
        {
          model: result.model,
          backend: result.backend,
          weights: result.weights,
          images: result.images.map((r) => ({
            image: r.image,
            imageId: r.imageId,
            width: r.width,
            height: r.height,
            boxes: r.boxes,
            out: r.out,
            poses: r.poses.map((p) => ({ score: p.score, boxScore: p.boxScore, box: p.box, keypoints: p.keypoints })),
          })),
          ...(result.cocoEval ? { cocoEval: { stats: result.cocoEval.stats, imgIds: result.cocoEval.imgIds } } : {}),
        },
        null,
        1,
      ),
    );
  }
  return result;
}

/** main.ts adapter: positionals are the images, values the parsed POSE_OPTIONS. */
export function runPoseCli(positionals: string[], v: Record<string, unknown>): Promise<PoseRunResult> {
  const s = (k: string) => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  return runPose({
    images: positionals,
    model: s('model'),
    weights: s('weights'),
    seed: s('seed'),
    boxes: s('boxes'),
    boxThr: s('box-thr'),
    kptThr: s('kpt-thr'),
    out: s('out'),
    json: Boolean(v.json),
    cocoEval: s('coco-eval'),
    imageId: s('image-id'),
    flipTest: v['no-flip'] ? false : undefined,
    dark: Boolean(v.dark),
    backend: s('backend'),
    batch: s('batch'),
  });
}
