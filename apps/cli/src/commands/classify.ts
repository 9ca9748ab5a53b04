/**
 * `tubelet classify <video | image | folder of frames | URL> --model NAME`: decode with ffmpeg, sample and
 * preprocess exactly like the model's official test pipeline, run every view, combine the views' logits the
 * official way and print the top-k classes with their names and the time per stage.
 *
 * Pipelines (the named config says which; see src/preprocess/pipelines.ts for the rules):
 *   UniFormer Kinetics  dense linspace clips (e.g. 8×8, 16×4), short side 224, centre crop, mean/std 0.45/0.225,
 *                       4 clips × 1 crop, logits summed;
 *   UniFormer SSv1/v2   segment sampling, 1 clip × 3 crops, summed;
 *   UniFormer ImageNet  Pillow-bicubic short side 256, centre crop 224, ImageNet mean/std (one view);
 *   ViViT               32 frames at stride 2, DMVR resize_smallest 256, crop 224, x·2/255 − 1, 4 × 3 views, averaged.
 *
 * Stages: decode (probe + only the sampled frames) → preprocess → load (weights: a path, or a URL downloaded
 * into the cache; none = seeded random weights with a loud warning) → forward (views batched when the
 * traced peak activation memory allows; a progress line per batch on stderr) → aggregate → top-k.
 * Errors the user can fix are one line (UserError): exit 2 for bad options, 1 for bad inputs.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { freemem } from 'node:os';
import { basename, join } from 'node:path';
import { type StateDict, type Tensor, getKernel, initBackend, loadStateDict, opCatalogue, registeredBackends, setBackend, tensor } from '@tubelet/core';
import { topkClasses } from '@tubelet/heads';
import {
  StateDictError,
  type UniformerConfig,
  type UniformerModel,
  type UniformerPreset,
  VIVIT_PRESETS,
  type VivitConfig,
  type VivitConfigInput,
  type VivitModel,
  configFromOfficial,
  loadUniformerDetailed,
  loadVivit,
  traceUniformer,
  traceVivit,
  uniformerPresets,
  vivitConfig,
  vivitConfigFromHf,
} from '@tubelet/models';
import { DownloadError, defaultCacheDir, fetchWeights } from '../download/index';
import { DATASETS, LabelsError, labelsFor, resolveDataset } from '../labels/index';
import { MediaError, type MediaInfo, decodeImage, loadClips, probeMedia, readFrames } from '../media/index';
import {
  type HostTensor,
  PreprocessError,
  type RgbImage,
  type VideoRecipe,
  type Views,
  aggregateViewLogits,
  buildVideoInput,
  dmvrClipViews,
  formatViews,
  imagenetInput,
  parseViews,
  slowfastClipViews,
  ssv2SegmentIndices,
  uniformerClipIndices,
  vivitClipIndices,
} from '../preprocess/index';
import { readConfigFile } from '../config-file';
import { UserError } from '../main';
import { registerOptionalBackends } from '../optional-backends';

export interface ClassifyOptions {
  model?: string;
  config?: string;
  weights?: string;
  sha256?: string;
  seed?: string;
  backend?: string;
  views?: string;
  topk?: string;
  labels?: string;
  batch?: string;
  json?: boolean;
}

export const CLASSIFY_USAGE =
  'tubelet classify <video | image | folder of frames | URL> --model NAME [--weights PATH|URL] [--sha256 HEX] [--backend auto|cpu|webgpu|cuda] [--views CLIPSxCROPS] [--topk 5] [--json] [--seed N] [--batch N] [--labels DATASET|none] | --config cfg.json|vectors.safetensors (a custom model config in the official constructor names, instead of --model)';

/** What the command needs to know about a model, whichever way it was named. */
interface ModelSpec {
  /** preset name, or `custom (<file>)` */
  name: string;
  family: 'uniformer' | 'vivit';
  kind: 'video' | 'image';
  numClasses: number;
  /** the label set the model was trained on (may have no shipped map, e.g. ssv1) */
  dataset: string | null;
  /** video only */
  recipe: VideoRecipe | null;
  /** the official test views (video) */
  officialViews: Views;
  aggregate: 'sum' | 'mean';
  /** image only */
  image: { resize: number; crop: number; mean: readonly [number, number, number]; std: readonly [number, number, number] } | null;
  preset: UniformerPreset | null;
  uniformerConfig: UniformerConfig | null;
  vivitConfig: VivitConfig | null;
  /** class names from the config itself (a Hugging Face config.json's id2label) */
  configLabels: string[] | null;
  /** one line describing the pipeline */
  pipeline: string;
}

const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

function oneLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\n')[0]!.trim();
}

function isUrl(s: string): boolean {
  return /^https?:\/\//i.test(s);
}

function posInt(v: string | undefined, flag: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!/^\s*\d+\s*$/.test(v) || !Number.isSafeInteger(n) || n < 1) throw new UserError(`bad ${flag} '${v}': expected a positive integer`, 2);
  return n;
}

// ------------------------------------------------------------------------------------------ model specs

function uniformerRecipe(numFrames: number, sampling: 'dense' | 'segments', samplingRate: number | null, shortSide: number, crop: number): VideoRecipe {
  if (sampling === 'segments') {
    return {
      name: `uniformer-ssv2 ${numFrames} (segments)`,
      framesPerClip: numFrames,
      cropSize: crop,
      defaultViews: { clips: 1, crops: 3 },
      aggregate: 'sum',
      sample: (n, clips) => ssv2SegmentIndices(n, numFrames, clips),
      clipViews: (frames, crops) => slowfastClipViews(frames, crops, { shortSide, cropSize: crop }),
    };
  }
  const rate = samplingRate ?? 4;
  return {
    name: `uniformer-kinetics ${numFrames}x${rate} (dense linspace)`,
    framesPerClip: numFrames,
    cropSize: crop,
    defaultViews: { clips: 4, crops: 1 },
    aggregate: 'sum',
    sample: (n, clips) => uniformerClipIndices(n, numFrames, rate, clips),
    clipViews: (frames, crops) => slowfastClipViews(frames, crops, { shortSide, cropSize: crop }),
  };
}

function vivitRecipeFor(numFrames: number, stride: number, minResize: number, crop: number): VideoRecipe {
  return {
    name: `vivit ${numFrames}x${stride} (DMVR)`,
    framesPerClip: numFrames,
    cropSize: crop,
    defaultViews: { clips: 4, crops: 3 },
    aggregate: 'mean',
    sample: (n, clips) => vivitClipIndices(n, numFrames, stride, clips),
    clipViews: (frames, crops) => dmvrClipViews(frames, crops, { minResize, cropSize: crop }),
  };
}

function videoPipeline(r: VideoRecipe, shortSide: number | string, norm: string, agg: string): string {
  return `${r.name}, ${r.framesPerClip} frames/clip, short side ${shortSide}, crop ${r.cropSize}, ${norm}, views ${agg}`;
}

function suggest(name: string, names: string[]): string {
  const n = name.toLowerCase();
  const close = names.filter((x) => x.includes(n) || n.includes(x) || x.startsWith(n.split('-').slice(0, 2).join('-'))).slice(0, 4);
  return close.length ? `did you mean ${close.join(', ')}? ` : '';
}

/** A named config: a UniFormer video/image classifier or a ViViT preset. */
export function namedModelSpec(name: string): ModelSpec {
  const vivit = VIVIT_PRESETS[name];
  if (vivit) {
    const p = vivit.preprocessing;
    const recipe = vivitRecipeFor(p.numFrames, p.frameStride, p.minResize, p.cropSize);
    return {
      name,
      family: 'vivit',
      kind: 'video',
      numClasses: vivit.config.numClasses,
      dataset: 'kinetics400',
      recipe,
      officialViews: { clips: p.testViews.temporalClips, crops: p.testViews.spatialCrops as 1 | 3 },
      aggregate: 'mean',
      image: null,
      preset: null,
      uniformerConfig: null,
      vivitConfig: vivit.config,
      configLabels: null,
      pipeline: videoPipeline(recipe, `${p.minResize} (TF bilinear on uint8)`, 'x·2/255 − 1', 'averaged'),
    };
  }
  const presets = uniformerPresets();
  const preset = presets.find((p) => p.name === name);
  if (!preset) {
    const all = [...presets.filter((p) => p.task.endsWith('classification')).map((p) => p.name), ...Object.keys(VIVIT_PRESETS)];
    throw new UserError(`unknown model '${name}'; ${suggest(name, all)}run 'tubelet models' for the named configs`, 2);
  }
  const pre = preset.preprocess;
  if (pre.type === 'video') {
    const recipe = uniformerRecipe(pre.numFrames, pre.sampling, pre.samplingRate, pre.shortSide, pre.crop);
    return {
      name,
      family: 'uniformer',
      kind: 'video',
      numClasses: preset.numClasses,
      dataset: preset.dataset,
      recipe,
      officialViews: { clips: pre.clips, crops: pre.crops },
      aggregate: 'sum',
      image: null,
      preset,
      uniformerConfig: preset.config,
      vivitConfig: null,
      configLabels: null,
      pipeline: videoPipeline(recipe, `${pre.shortSide} (torch bilinear)`, `mean ${pre.mean[0]} / std ${pre.std[0]}`, 'summed'),
    };
  }
  if (pre.type === 'image') {
    return {
      name,
      family: 'uniformer',
      kind: 'image',
      numClasses: preset.numClasses,
      dataset: preset.dataset,
      recipe: null,
      officialViews: { clips: 1, crops: 1 },
      aggregate: 'sum',
      image: { resize: pre.resize, crop: pre.crop, mean: pre.mean, std: pre.std },
      preset,
      uniformerConfig: preset.config,
      vivitConfig: null,
      configLabels: null,
      pipeline: `ImageNet eval: Pillow bicubic short side ${pre.resize}, centre crop ${pre.crop}, mean ${pre.mean.join('/')} std ${pre.std.join('/')}`,
    };
  }
  throw new UserError(`'${name}' is a ${preset.task} model, not a classifier; classify takes the video and image classification models ('tubelet models')`, 2);
}

function numField(o: Record<string, unknown>, k: string, what: string): number | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new UserError(`${what}: '${k}' must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * A model from a custom config. UniFormer: the official constructor arguments plus `kind` ("video" or
 * "image"); ViViT: the vectors' snake_case config or a Hugging Face config.json. The preprocessing follows
 * the family's official test pipeline at the config's sizes (`input_shape` of the vectors, `img_size`,
 * `num_frames`/`image_size`); an optional `"preprocess"` object overrides numFrames, sampling ("dense" |
 * "segments"), samplingRate, frameStride, shortSide / minResize / resize, crop, clips, crops.
 */
export async function customModelSpec(path: string): Promise<ModelSpec> {
  const cfg = await readConfigFile(path);
  const label = `custom (${basename(path)})`;
  const ov = (cfg.preprocess && typeof cfg.preprocess === 'object' ? cfg.preprocess : {}) as Record<string, unknown>;
  const what = `--config '${path}' preprocess`;
  const shape = Array.isArray(cfg.input_shape) ? (cfg.input_shape as number[]) : null;
  const views = (d: Views): Views => {
    const clips = numField(ov, 'clips', what) ?? d.clips;
    const crops = numField(ov, 'crops', what) ?? d.crops;
    if (crops !== 1 && crops !== 3) throw new UserError(`${what}: 'crops' must be 1 or 3`);
    return { clips, crops };
  };
  const isVivit = cfg.model_type === 'vivit' || 'hidden_size' in cfg || 'hiddenSize' in cfg || 'tubelet_size' in cfg || 'tubeletSize' in cfg;
  if (isVivit) {
    let vc: VivitConfig;
    let configLabels: string[] | null = null;
    try {
      vc = cfg.model_type === 'vivit' ? vivitConfigFromHf(cfg) : vivitConfig(cfg);
    } catch (e) {
      throw new UserError(`--config '${path}': ${oneLine(e)}`);
    }
    if (cfg.model_type === 'vivit' && cfg.id2label && typeof cfg.id2label === 'object') {
      const m = cfg.id2label as Record<string, string>;
      const names = Array.from({ length: vc.numClasses }, (_, i) => m[String(i)]);
      if (names.every((x) => typeof x === 'string')) configLabels = names as string[];
    }
    if (vc.numClasses < 1) throw new UserError(`--config '${path}' has no classifier (num_classes 0)`);
    const [h, w] = vc.imageSize;
    if (h !== w) throw new UserError(`--config '${path}': image_size ${h}x${w} is not square (the ViViT test crop is square)`);
    const crop = numField(ov, 'crop', what) ?? h;
    const minResize = numField(ov, 'minResize', what) ?? Math.floor((crop * 256) / 224);
    const stride = numField(ov, 'frameStride', what) ?? 2;
    const recipe = vivitRecipeFor(numField(ov, 'numFrames', what) ?? vc.numFrames, stride, minResize, crop);
    return {
      name: label,
      family: 'vivit',
      kind: 'video',
      numClasses: vc.numClasses,
      dataset: null,
      recipe,
      officialViews: views({ clips: 4, crops: 3 }),
      aggregate: 'mean',
      image: null,
      preset: null,
      uniformerConfig: null,
      vivitConfig: vc,
      configLabels,
      pipeline: videoPipeline(recipe, minResize, 'x·2/255 − 1', 'averaged'),
    };
  }
  const kind = cfg.kind;
  if (kind !== 'video' && kind !== 'image') {
    throw new UserError(`--config '${path}': add "kind": "video" or "image" (UniFormer) — or give a ViViT config (hidden_size, tubelet_size, …)`);
  }
  let uc: UniformerConfig;
  try {
    uc = configFromOfficial(cfg, kind);
  } catch (e) {
    throw new UserError(`--config '${path}': ${oneLine(e)}`);
  }
  if (uc.numClasses < 1) throw new UserError(`--config '${path}' has no classifier (num_classes 0)`);
  if (kind === 'image') {
    const crop = numField(ov, 'crop', what) ?? uc.imgSize ?? (shape ? shape[shape.length - 1] : undefined) ?? 224;
    const resize = numField(ov, 'resize', what) ?? Math.floor((crop * 256) / 224);
    const mean = (Array.isArray(ov.mean) ? ov.mean : IMAGENET_MEAN) as unknown as readonly [number, number, number];
    const std = (Array.isArray(ov.std) ? ov.std : IMAGENET_STD) as unknown as readonly [number, number, number];
    return {
      name: label,
      family: 'uniformer',
      kind: 'image',
      numClasses: uc.numClasses,
      dataset: null,
      recipe: null,
      officialViews: { clips: 1, crops: 1 },
      aggregate: 'sum',
      image: { resize, crop, mean, std },
      preset: null,
      uniformerConfig: uc,
      vivitConfig: null,
      configLabels: null,
      pipeline: `ImageNet eval: Pillow bicubic short side ${resize}, centre crop ${crop}, mean ${mean.join('/')} std ${std.join('/')}`,
    };
  }
  const numFrames = numField(ov, 'numFrames', what) ?? (shape?.length === 5 ? shape[2] : undefined) ?? 16;
  const crop = numField(ov, 'crop', what) ?? (shape?.length === 5 ? shape[4] : undefined) ?? 224;
  const shortSide = numField(ov, 'shortSide', what) ?? crop;
  const sampling = ov.sampling === 'segments' ? 'segments' : 'dense';
  if (ov.sampling !== undefined && ov.sampling !== 'dense' && ov.sampling !== 'segments') throw new UserError(`${what}: 'sampling' must be "dense" or "segments"`);
  const rate = numField(ov, 'samplingRate', what) ?? (numFrames <= 8 ? 8 : 4);
  const recipe = uniformerRecipe(numFrames, sampling, rate, shortSide, crop);
  return {
    name: label,
    family: 'uniformer',
    kind: 'video',
    numClasses: uc.numClasses,
    dataset: null,
    recipe,
    officialViews: views(sampling === 'segments' ? { clips: 1, crops: 3 } : { clips: 4, crops: 1 }),
    aggregate: 'sum',
    image: null,
    preset: null,
    uniformerConfig: uc,
    vivitConfig: null,
    configLabels: null,
    pipeline: videoPipeline(recipe, `${shortSide} (torch bilinear)`, 'mean 0.45 / std 0.225', 'summed'),
  };
}

// ------------------------------------------------------------------------------------------ backend

function softwareAdapter(b: unknown): boolean {
  const info = (b as { adapterInfo?: Record<string, string> }).adapterInfo;
  if (!info) return false;
  return /swiftshader|llvmpipe|lavapipe|software|microsoft basic render/i.test(Object.values(info).join(' '));
}

/** A GPU might be present (so probing WebGPU is worth its start-up cost and Dawn's log lines). */
function gpuPresent(): boolean {
  if (process.platform !== 'linux') return true;
  try {
    return existsSync('/dev/dri') || existsSync('/dev/nvidiactl') || existsSync('/dev/dxg');
  } catch {
    return false;
  }
}

/** `auto`: cuda, else a hardware WebGPU adapter, else cpu — each only when it has every op's kernel. A named backend must be available. */
async function chooseBackend(name: string): Promise<{ backend: string; note: string | null }> {
  await registerOptionalBackends();
  const known = registeredBackends();
  if (name === 'auto') {
    for (const cand of ['cuda', 'webgpu']) {
      if (!known.includes(cand)) continue;
      // WebGPU only on a hardware adapter: not SwiftShader (the scripts point Vulkan at it when there is no GPU)
      if (cand === 'webgpu' && (!gpuPresent() || /swiftshader/i.test(process.env.VK_ICD_FILENAMES ?? ''))) continue;
      try {
        const b = await initBackend(cand);
        if (cand === 'webgpu' && softwareAdapter(b)) continue;
        // only a backend with a kernel for every op (the cuda addon has a smoke-test kernel only so far)
        if (![...opCatalogue().keys()].every((op) => getKernel(op, b))) continue;
        await setBackend(cand);
        return { backend: cand, note: null };
      } catch {
        /* not here: next */
      }
    }
    await setBackend('cpu');
    return { backend: 'cpu', note: 'auto: no GPU backend available here' };
  }
  if (!known.includes(name)) throw new UserError(`unknown backend '${name}' (one of: auto, ${known.join(', ')})`, 2);
  try {
    await setBackend(name);
  } catch (e) {
    throw new UserError(`backend '${name}' cannot run here: ${oneLine(e).replace(/^\w+ backend unavailable: /, '')} ('tubelet backends' says why)`);
  }
  return { backend: name, note: null };
}

// ------------------------------------------------------------------------------------------ input

interface Decoded {
  info: MediaInfo;
  /** frame indices per clip (video models) or [[i]] (image models) */
  indices: number[][];
  clips: RgbImage[][];
  source: string;
  note: string | null;
}

async function resolveInput(input: string): Promise<{ path: string; source: string }> {
  if (!isUrl(input)) return { path: input, source: input };
  try {
    const path = await fetchWeights(input, { cacheDir: join(defaultCacheDir(), 'inputs') });
    return { path, source: input };
  } catch (e) {
    throw new UserError(`cannot download the input: ${oneLine(e)}`);
  }
}

async function decodeInput(path: string, source: string, spec: ModelSpec, views: Views): Promise<Decoded> {
  try {
    if (spec.kind === 'image') {
      const info = await probeMedia(path);
      const mid = info.kind === 'image' ? 0 : Math.floor(info.frameCount / 2);
      const img = info.kind === 'image' ? await decodeImage(path) : (await readFrames(info, [mid]))[0]!;
      const note = info.kind === 'image' ? null : `an image model: classifying frame ${mid} (the middle one of ${info.frameCount})`;
      return { info, indices: [[mid]], clips: [[img]], source, note };
    }
    const recipe = spec.recipe!;
    const r = await loadClips(path, (n) => recipe.sample(n, views.clips));
    const note = r.info.kind === 'image' ? `a still image: its one frame is repeated ${recipe.framesPerClip} times per clip` : null;
    return { info: r.info, indices: r.indices, clips: r.clips, source, note };
  } catch (e) {
    if (e instanceof MediaError || e instanceof PreprocessError) throw new UserError(oneLine(e));
    throw e;
  }
}

// ------------------------------------------------------------------------------------------ weights

interface LoadedModel {
  forward(x: Tensor): Tensor;
  dispose(): void;
  numClasses: number;
}

interface WeightsInfo {
  kind: 'checkpoint' | 'random';
  source: string | null;
  path: string | null;
  seed: number | null;
  sha256: string | null;
}

async function sha256File(p: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(p)) h.update(c as Buffer);
  return h.digest('hex');
}

async function resolveWeights(weights: string, sha256: string | undefined): Promise<string> {
  if (isUrl(weights)) {
    try {
      return await fetchWeights(weights, { sha256 });
    } catch (e) {
      if (e instanceof DownloadError) throw new UserError(oneLine(e));
      throw e;
    }
  }
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(weights);
  } catch {
    throw new UserError(`cannot read --weights '${weights}': no such file (give a checkpoint path or an http(s) URL)`);
  }
  if (!st.isFile()) throw new UserError(`cannot read --weights '${weights}': not a file`);
  if (sha256) {
    const want = sha256.trim().toLowerCase().replace(/^sha256:/, '');
    const got = await sha256File(weights);
    if (got !== want) throw new UserError(`sha256 mismatch for --weights '${weights}': expected ${want}, got ${got}`);
  }
  return weights;
}

/** Input and output tensors of the parity-vector files ride along with the weights: leave them out. */
function weightsOnly(dict: StateDict): StateDict {
  return new Map([...dict].filter(([k]) => k !== 'input' && !k.startsWith('input.') && !k.startsWith('output.')));
}

function misfit(e: unknown, source: string, spec: ModelSpec): UserError {
  if (e instanceof StateDictError) {
    const parts: string[] = [];
    if (e.missing.length) parts.push(`${e.missing.length} missing keys (e.g. ${e.missing[0]})`);
    if (e.unexpected.length) parts.push(`${e.unexpected.length} unexpected keys (e.g. ${e.unexpected[0]})`);
    if (e.mismatched.length) {
      const m = e.mismatched[0]!;
      parts.push(`${e.mismatched.length} shape mismatches (e.g. ${m.key} is [${m.got.join(', ')}], the model wants [${m.expected.join(', ')}])`);
    }
    return new UserError(`the weights '${source}' are for another model, not ${spec.name}: ${parts.join(', ')}${e.hint ? ` — ${e.hint}` : ''}`);
  }
  return new UserError(`the weights '${source}' do not fit ${spec.name}: ${oneLine(e)}`);
}

async function loadModel(spec: ModelSpec, weightsPath: string | null, source: string | null, seed: number, backend: string): Promise<LoadedModel> {
  let sd: StateDict | undefined;
  if (weightsPath !== null) {
    try {
      sd = weightsOnly((await loadStateDict(weightsPath)).stateDict);
    } catch (e) {
      throw new UserError(`cannot read the weights '${source}': ${oneLine(e)}`);
    }
  }
  if (spec.family === 'vivit') {
    let m: VivitModel;
    try {
      m = await loadVivit(spec.vivitConfig as unknown as VivitConfigInput, sd ? { weights: sd, backend } : { seed, backend });
    } catch (e) {
      if (sd) throw misfit(e, source!, spec);
      throw e;
    }
    return { forward: (x) => m.forward(x), dispose: () => m.dispose(), numClasses: m.config.numClasses };
  }
  let model: UniformerModel;
  let classes: number;
  try {
    const r = await loadUniformerDetailed(spec.uniformerConfig!, sd ? { weights: sd, backend, classesFromCheckpoint: spec.preset === null } : { seed, backend });
    model = r.model;
    classes = r.info.config.numClasses;
  } catch (e) {
    if (sd) throw misfit(e, source!, spec);
    throw e;
  }
  if (model.config.kind !== 'video' && model.config.kind !== 'image') {
    model.dispose();
    throw new UserError(`${spec.name} is not a classifier`);
  }
  const classifier = model as Extract<UniformerModel, { forward(x: Tensor): Tensor }>;
  return { forward: (x) => classifier.forward(x) as Tensor, dispose: () => model.dispose(), numClasses: classes };
}

// ------------------------------------------------------------------------------------------ labels

function resolveLabels(spec: ModelSpec, classes: number, opt: string | undefined): { names: readonly string[] | null; set: string | null; note: string | null } {
  if (opt !== undefined && opt.toLowerCase() === 'none') return { names: null, set: null, note: null };
  if (opt === undefined && spec.configLabels && spec.configLabels.length === classes) return { names: spec.configLabels, set: 'config id2label', note: null };
  const wanted = opt ?? spec.dataset;
  if (!wanted) return { names: null, set: null, note: null };
  let set: string;
  try {
    set = resolveDataset(wanted);
  } catch (e) {
    if (opt !== undefined) throw new UserError(oneLine(e), 2);
    return { names: null, set: null, note: `no label map is shipped for ${wanted} (maps: ${DATASETS.join(', ')}): showing class ids` };
  }
  let names: readonly string[];
  try {
    names = labelsFor(set);
  } catch (e) {
    if (e instanceof LabelsError) throw new UserError(oneLine(e));
    throw e;
  }
  if (names.length !== classes) return { names: null, set: null, note: `the ${set} label map has ${names.length} names but the model has ${classes} classes: showing class ids ('class N')` };
  return { names, set, note: null };
}

// ------------------------------------------------------------------------------------------ the command

const isTty = () => Boolean(process.stderr.isTTY) && !process.env.NO_COLOR;
const loud = (s: string) => (isTty() ? `\x1b[1;33m${s}\x1b[0m` : s);
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** Views per forward batch: as many as fit twice the traced peak activation memory in the budget. */
async function autoBatch(spec: ModelSpec, views: number, T: number, S: number): Promise<{ batch: number; peakBytes: number | null }> {
  if (views <= 1) return { batch: 1, peakBytes: null };
  try {
    const peak =
      spec.family === 'vivit'
        ? (await traceVivit(spec.vivitConfig as unknown as VivitConfigInput, { batch: 1 })).summary.peakActivationBytes
        : (await traceUniformer(spec.uniformerConfig!, [1, 3, T, S, S])).summary.peakActivationBytes;
    const budget = Math.min(1.5 * 2 ** 30, 0.25 * freemem());
    return { batch: Math.max(1, Math.min(views, Math.floor(budget / (2 * peak)))), peakBytes: peak };
  } catch {
    return { batch: 1, peakBytes: null };
  }
}

export async function runClassify(input: string, o: ClassifyOptions): Promise<void> {
  const t0 = performance.now();
  // ---- options (usage errors first, before any work)
  if (o.model !== undefined && o.config !== undefined) throw new UserError('give --model NAME or --config FILE, not both', 2);
  if (o.model === undefined && o.config === undefined) throw new UserError("--model is required (a named config, see 'tubelet models'; or --config FILE for a custom one)", 2);
  if (o.sha256 !== undefined && o.weights === undefined) throw new UserError('--sha256 checks the file given with --weights; there is no --weights', 2);
  if (o.sha256 !== undefined && !/^(sha256:)?[0-9a-fA-F]{64}$/.test(o.sha256.trim())) throw new UserError(`bad --sha256 '${o.sha256}': expected 64 hex digits`, 2);
  if (o.seed !== undefined && o.weights !== undefined) throw new UserError('--seed is for random weights; it cannot be combined with --weights', 2);
  const topk = posInt(o.topk, '--topk', 5);
  const seed = o.seed === undefined ? 0 : Number(o.seed);
  if (o.seed !== undefined && (!/^\s*-?\d+\s*$/.test(o.seed) || !Number.isSafeInteger(seed))) throw new UserError(`bad --seed '${o.seed}': expected an integer`, 2);
  let requested: Views | null = null;
  if (o.views !== undefined) {
    try {
      requested = parseViews(o.views);
    } catch (e) {
      if (e instanceof PreprocessError) throw new UserError(oneLine(e), 2);
      throw e;
    }
  }
  const spec = o.model !== undefined ? namedModelSpec(o.model) : await customModelSpec(o.config!);
  if (spec.kind === 'image' && requested && (requested.clips !== 1 || requested.crops !== 1)) {
    throw new UserError(`--views ${o.views}: ${spec.name} is an image model (one centre-crop view); --views applies to video models`, 2);
  }
  const views: Views = requested ?? spec.officialViews;
  const batchOpt = o.batch === undefined ? undefined : posInt(o.batch, '--batch', 1);
  const { backend, note: backendNote } = await chooseBackend(o.backend ?? 'auto');

  // ---- decode
  const tDecode = performance.now();
  const where = await resolveInput(input);
  const dec = await decodeInput(where.path, where.source, spec, views);
  const decodeMs = performance.now() - tDecode;

  // ---- preprocess
  const tPre = performance.now();
  let x: HostTensor;
  try {
    if (spec.kind === 'image') {
      const im = spec.image!;
      x = imagenetInput(dec.clips[0]![0]!, { resize: im.resize, cropSize: im.crop, norm: { kind: 'mean-std', mean: im.mean, std: im.std } });
    } else x = buildVideoInput(spec.recipe!, dec.clips, views.crops);
  } catch (e) {
    if (e instanceof PreprocessError) throw new UserError(oneLine(e));
    throw e;
  }
  const preprocessMs = performance.now() - tPre;
  const nViews = x.shape[0]!;

  // ---- weights and model
  const tLoad = performance.now();
  const weightsPath = o.weights === undefined ? null : await resolveWeights(o.weights, o.sha256);
  const weights: WeightsInfo =
    o.weights === undefined
      ? { kind: 'random', source: null, path: null, seed, sha256: null }
      : { kind: 'checkpoint', source: o.weights, path: weightsPath, seed: null, sha256: o.sha256?.trim().toLowerCase().replace(/^sha256:/, '') ?? null };
  const model = await loadModel(spec, weightsPath, o.weights ?? null, seed, backend);
  const loadMs = performance.now() - tLoad;
  const randomNote = `no --weights given: these are SEEDED RANDOM weights (seed ${seed}), NOT a trained model — the classes below mean nothing; pass --weights <checkpoint path or URL>`;
  if (weights.kind === 'random') console.error(loud(`tubelet: WARNING: ${randomNote}`));

  try {
    const labels = resolveLabels(spec, model.numClasses, o.labels);
    if (labels.note && !o.json) console.error(`tubelet: note: ${labels.note}`);

    // ---- forward, batched
    const tFwd = performance.now();
    const per = x.shape.slice(1);
    const perSize = per.reduce((a, b) => a * b, 1);
    const auto = batchOpt === undefined ? await autoBatch(spec, nViews, spec.recipe?.framesPerClip ?? 1, spec.recipe?.cropSize ?? 0) : { batch: batchOpt, peakBytes: null };
    const batch = Math.min(auto.batch, nViews);
    const classes = model.numClasses;
    const all = new Float32Array(nViews * classes);
    const viewMs: number[] = [];
    const viewName = (v: number) => (spec.kind === 'image' ? 'image' : `clip ${Math.floor(v / views.crops) + 1}/${views.clips}, crop ${(v % views.crops) + 1}/${views.crops}`);
    for (let v0 = 0; v0 < nViews; v0 += batch) {
      const n = Math.min(batch, nViews - v0);
      const range = n === 1 ? `view ${v0 + 1}/${nViews} (${viewName(v0)})` : `views ${v0 + 1}-${v0 + n}/${nViews}`;
      console.error(`tubelet: forward ${range} on ${backend}…`);
      const tb = performance.now();
      const xt = tensor(x.data.subarray(v0 * perSize, (v0 + n) * perSize), [n, ...per], { backend });
      let y: Tensor | undefined;
      try {
        y = model.forward(xt);
        if (y.rank !== 2 || y.shape[0] !== n || y.shape[1] !== classes) throw new Error(`the model returned ${JSON.stringify(y.shape)}, expected [${n}, ${classes}]`);
        all.set((await y.data()) as Float32Array, v0 * classes);
      } finally {
        xt.dispose();
        y?.dispose();
      }
      const ms = performance.now() - tb;
      for (let i = 0; i < n; i++) viewMs.push(ms / n);
      console.error(`tubelet: ${range} done in ${secs(ms)}`);
    }
    const forwardMs = performance.now() - tFwd;

    // ---- aggregate and rank
    const agg = aggregateViewLogits(all, nViews, classes, spec.aggregate);
    const aggT = tensor(agg, [1, classes]);
    let top: Awaited<ReturnType<typeof topkClasses>>[number];
    try {
      top = (await topkClasses(aggT, Math.min(topk, classes), labels.names ?? undefined))[0]!;
    } finally {
      aggT.dispose();
    }
    const totalMs = performance.now() - t0;
    const info = dec.info;
    const result = {
      input: {
        source: dec.source,
        path: where.path,
        kind: info.kind,
        width: info.width,
        height: info.height,
        frames: info.frameCount,
        fps: info.fps,
        codec: info.codec,
        note: dec.note,
      },
      model: {
        name: spec.name,
        family: spec.family,
        kind: spec.kind,
        classes,
        dataset: spec.dataset,
        pipeline: spec.pipeline,
      },
      weights,
      backend,
      views: {
        clips: spec.kind === 'image' ? 1 : views.clips,
        crops: spec.kind === 'image' ? 1 : views.crops,
        count: nViews,
        official: formatViews(spec.officialViews),
        aggregate: spec.aggregate,
        frameIndices: dec.indices,
        inputShape: x.shape,
        batch,
      },
      labels: labels.set,
      topk: top.map((c, i) => ({ rank: i + 1, classId: c.classId, label: c.label, logit: c.logit, probability: c.score })),
      timings: { decodeMs, preprocessMs, loadMs, forwardMs, totalMs, perViewMs: viewMs },
    };
    if (o.json) {
      console.log(JSON.stringify(result, null, 2));
      return;
    }
    const lines: string[] = [];
    const dims = `${info.width}x${info.height}`;
    const what = info.kind === 'video' ? `video ${dims}, ${info.frameCount} frames${info.fps ? ` at ${+info.fps.toFixed(2)} fps` : ''}${info.codec ? `, ${info.codec}` : ''}` : info.kind === 'frames' ? `folder of ${info.frameCount} frames ${dims}` : `image ${dims}`;
    lines.push(`input    ${dec.source} (${what})`);
    if (dec.note) lines.push(`         ${dec.note}`);
    lines.push(`model    ${spec.name} (${spec.family}, ${classes} classes${spec.dataset ? `, ${spec.dataset}` : ''}) on ${backend}${backendNote ? ` (${backendNote})` : ''}`);
    lines.push(`weights  ${weights.kind === 'random' ? `RANDOM (seed ${seed}) — not trained; pass --weights for real predictions` : `${weights.source}${weights.path !== weights.source ? ` (cached at ${weights.path})` : ''}`}`);
    lines.push(`pipeline ${spec.pipeline}`);
    if (spec.kind === 'video') {
      const off = formatViews(spec.officialViews);
      const shown = dec.indices.map((c) => (c.length > 8 ? `${c.slice(0, 4).join(',')},…,${c.slice(-2).join(',')}` : c.join(','))).join(' | ');
      lines.push(
        `views    ${views.clips} clip${views.clips > 1 ? 's' : ''} × ${views.crops} crop${views.crops > 1 ? 's' : ''} = ${nViews}${formatViews(views) === off ? ' (the official test views)' : ` (official test: ${off})`}, logits ${spec.aggregate === 'sum' ? 'summed' : 'averaged'}; frames ${shown}`,
      );
    }
    lines.push('');
    lines.push(`top-${top.length}${labels.set ? ` (${labels.set})` : ''}:`);
    const w = Math.max(...top.map((c) => c.label.length));
    for (const [i, c] of top.entries()) {
      lines.push(`  ${String(i + 1).padStart(2)}. ${c.label.padEnd(w)}  ${(100 * c.score).toFixed(2).padStart(6)}%  logit ${c.logit.toFixed(4).padStart(9)}${c.label === `class ${c.classId}` ? '' : `  (class ${c.classId})`}`);
    }
    lines.push('');
    const perView = nViews > 1 ? ` (${secs(forwardMs / nViews)}/view, batch ${batch})` : '';
    lines.push(`time     decode ${secs(decodeMs)} · preprocess ${secs(preprocessMs)} · load ${secs(loadMs)} · forward ${secs(forwardMs)}${perView} · total ${secs(totalMs)}`);
    if (weights.kind === 'random') lines.push('note     the weights are random unless --weights is given (a .pth/.safetensors path or an http(s) URL)');
    if (weights.kind === 'random' && spec.family === 'vivit' && Math.max(...agg) === Math.min(...agg)) {
      lines.push("note     all logits are equal: ViViT's classifier is zero-initialised (as in scenic), so random weights rank no class");
    }
    console.log(lines.join('\n'));
  } finally {
    model.dispose();
  }
}
