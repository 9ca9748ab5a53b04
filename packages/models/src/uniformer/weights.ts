/** Checkpoint handling for UniFormer: wrappers and prefixes, strict loading, class count, 2D→3D inflation. */
import { type LoadedStateDict, type RawTensor, type StateDict, type Tensor, dispose, keep, loadStateDict, parseStateDict, rawToTensor } from '@tubelet/core';
import { StateDictError } from '../module';
import type { UniformerConfig, UniformerKind } from './config';
import type { UniformerModel } from './model';

/** Where weights come from: a file path (.pth zip / legacy or .safetensors, by content), the file's bytes, or an already parsed state dict. */
export type WeightsSource = string | Uint8Array | ArrayBuffer | StateDict | LoadedStateDict;

function isLoaded(x: unknown): x is LoadedStateDict {
  return typeof x === 'object' && x !== null && !(x instanceof Map) && 'stateDict' in x && (x as LoadedStateDict).stateDict instanceof Map;
}

/**
 * Reads a checkpoint's state dict. The core reader already unwraps `model` / `model_state` /
 * `state_dict` (slowfast, DeiT and mmcv checkpoints); keys are returned as stored.
 */
export async function readWeights(source: WeightsSource, label?: string): Promise<{ stateDict: StateDict; source: string }> {
  if (typeof source === 'string') return { stateDict: (await loadStateDict(source)).stateDict, source };
  if (source instanceof Map) return { stateDict: source, source: label ?? 'state dict' };
  if (isLoaded(source)) return { stateDict: source.stateDict, source: label ?? 'state dict' };
  const bytes = source instanceof Uint8Array ? source : new Uint8Array(source);
  return { stateDict: parseStateDict(bytes, { source: label ?? 'checkpoint bytes' }).stateDict, source: label ?? 'checkpoint bytes' };
}

export interface NormalizedKeys {
  stateDict: StateDict;
  /** Prefixes removed ('module.', 'backbone.'). */
  stripped: string[];
  /** Keys that belong to other parts of a full detector / segmentor / pose model (neck, heads), set aside. */
  dropped: string[];
}

/**
 * Official key handling: strips a DataParallel `module.` prefix, and for mm* checkpoints keeps the
 * `backbone.` entries (prefix removed) and sets the rest (neck, rpn_head, roi_head, decode_head,
 * auxiliary_head, keypoint_head, …) aside in `dropped`. Tensors are shared, not copied.
 */
export function normalizeUniformerKeys(sd: StateDict): NormalizedKeys {
  const stripped: string[] = [];
  let cur = sd;
  if (cur.size && [...cur.keys()].every((k) => k.startsWith('module.'))) {
    cur = new Map([...cur].map(([k, v]) => [k.slice('module.'.length), v]));
    stripped.push('module.');
  }
  const dropped: string[] = [];
  if ([...cur.keys()].some((k) => k.startsWith('backbone.'))) {
    const out: StateDict = new Map();
    for (const [k, v] of cur) {
      if (k.startsWith('backbone.')) out.set(k.slice('backbone.'.length), v);
      else dropped.push(k);
    }
    cur = out;
    stripped.push('backbone.');
  }
  return { stateDict: cur, stripped, dropped };
}

/** What the keys and shapes of a (normalised) checkpoint say about the architecture (head_dim cannot be read from weights). */
export interface CheckpointSummary {
  kind: UniformerKind | 'unknown';
  /** 3 for video checkpoints (5-d convs), 2 for image / dense ones. */
  dims: 2 | 3 | null;
  depth: number[];
  embedDim: number[];
  convStem: boolean;
  numClasses: number | null;
  auxHead: boolean;
  layerScale: 'none' | 'attention' | 'all';
}

export function summarizeCheckpoint(sd: ReadonlyMap<string, { shape: readonly number[] }>): CheckpointSummary {
  const depth = [0, 0, 0, 0];
  for (const k of sd.keys()) {
    const m = /^blocks([1-4])\.(\d+)\./.exec(k);
    if (m) depth[+m[1]! - 1] = Math.max(depth[+m[1]! - 1]!, +m[2]! + 1);
  }
  const convStem = sd.has('patch_embed1.proj.0.weight');
  const embedDim = [1, 2, 3, 4].map((s) => {
    const w = sd.get(convStem ? (s === 1 ? 'patch_embed1.proj.3.weight' : `patch_embed${s}.proj.0.weight`) : `patch_embed${s}.proj.weight`);
    return w ? w.shape[0]! : 0;
  });
  const pw = sd.get(convStem ? 'patch_embed1.proj.0.weight' : 'patch_embed1.proj.weight');
  const dims = pw ? (pw.shape.length === 5 ? 3 : 2) : null;
  const head = sd.get('head.weight');
  const dense = sd.has('norm1.weight') || sd.has('norm4.weight');
  const kind: CheckpointSummary['kind'] = dense ? 'dense' : dims === 3 ? 'video' : dims === 2 ? 'image' : 'unknown';
  const keys = [...sd.keys()];
  const lsAttn = keys.some((k) => /^blocks[34]\.\d+\.gamma_1$/.test(k));
  const lsAll = keys.some((k) => /^blocks[12]\.\d+\.gamma_1$/.test(k));
  return {
    kind,
    dims,
    depth,
    embedDim,
    convStem,
    numClasses: head ? head.shape[0]! : null,
    auxHead: sd.has('aux_head.weight'),
    layerScale: lsAll ? 'all' : lsAttn ? 'attention' : 'none',
  };
}

/** A sentence explaining why a checkpoint does not fit a config (for StateDictError), or undefined. */
export function mismatchHint(cfg: UniformerConfig, sd: ReadonlyMap<string, { shape: readonly number[] }>): string | undefined {
  const c = summarizeCheckpoint(sd);
  const hints: string[] = [];
  if (c.kind === 'unknown') return 'the checkpoint has no UniFormer patch_embed1 weights';
  const want = cfg.kind === 'pose' ? 'dense' : cfg.kind;
  if (c.kind !== want && !(c.kind === 'image' && want === 'dense')) {
    hints.push(
      c.kind === 'image' && want === 'video'
        ? 'this is a 2-D (ImageNet) checkpoint: load it with { inflate: true } to inflate it to 3-D as the official recipe does'
        : `this looks like a ${c.kind} checkpoint, the model is ${cfg.kind}`,
    );
  }
  if (c.depth.join() !== cfg.depth.join()) hints.push(`checkpoint depth [${c.depth}] vs config [${cfg.depth}]`);
  if (c.embedDim.join() !== cfg.embedDim.join() && c.embedDim.every((d) => d > 0)) hints.push(`checkpoint embed_dim [${c.embedDim}] vs config [${cfg.embedDim}]`);
  if (c.convStem !== cfg.convStem) hints.push(c.convStem ? 'the checkpoint has the S+ conv stem (convStem: true)' : 'the checkpoint has the patch stem (convStem: false)');
  if (c.auxHead && !cfg.auxHead) hints.push('the checkpoint has aux_head (a token-labeling model: use a -tl config; note that the non-dim64 TL models use head_dim 32)');
  if (c.layerScale !== cfg.layerScale) hints.push(`checkpoint layer scale '${c.layerScale}' vs config '${cfg.layerScale}'`);
  return hints.length ? hints.join('; ') : undefined;
}

export interface ApplyWeightsOptions {
  /** Backend for the weight tensors (default: the current backend). */
  backend?: string;
  /** Label used in error messages (file name). */
  source?: string;
}

/**
 * Strictly checks a state dict (official key names, already normalised) against `model` — every
 * missing / unexpected / shape-mismatched key is named; `num_batches_tracked` is ignored — then
 * converts the needed entries to float32 tensors and loads them (previous weights are freed).
 */
export function applyUniformerWeights(model: UniformerModel, sd: StateDict, opts: ApplyWeightsOptions = {}): void {
  try {
    model.checkStateDict(sd, () => mismatchHint(model.config, sd));
  } catch (e) {
    if (e instanceof StateDictError && opts.source) e.message = `${opts.source}: ${e.message}`;
    throw e;
  }
  const want = model.parameterShapes();
  const tensors = new Map<string, Tensor>();
  try {
    for (const k of want.keys()) tensors.set(k, keep(rawToTensor(sd.get(k)!, { backend: opts.backend })));
  } catch (e) {
    dispose(tensors);
    throw e;
  }
  model.loadWeights(tensors);
}

/**
 * The official ImageNet-2D → video-3D inflation (`Uniformer.get_pretrained_model` with
 * `inflate_weight(center=False)`), returning exactly the dict it builds:
 * for every checkpoint key (a key the video model lacks is an error, as the official KeyError),
 * when the shapes differ and the target has ≥ 3 dims, w3 = repeat(w2.unsqueeze(2), T) / T
 * (average inflation, T = the target's temporal kernel); shape-differing ≤ 2-dim entries are left
 * as they are; then `head.weight` / `head.bias` are dropped when the class counts differ.
 * `target` = the video model's state-dict shapes (e.g. `model.stateDictShapes()`).
 */
export function inflateImageStateDict(src: StateDict, target: ReadonlyMap<string, readonly number[]>, numClasses?: number): StateDict {
  const out: StateDict = new Map();
  for (const [k, v] of src) {
    const t = target.get(k);
    if (!t) throw new StateDictError([], [k], [], 'the official loader raises KeyError for checkpoint keys the video model lacks');
    const same = t.length === v.shape.length && t.every((d, i) => d === v.shape[i]);
    if (same || t.length <= 2) {
      out.set(k, v);
      continue;
    }
    const T = t[2]!;
    const expect = [v.shape[0], v.shape[1], T, ...v.shape.slice(2)];
    if (v.shape.length !== 4 || t.length !== 5 || expect.some((d, i) => d !== t[i])) {
      throw new StateDictError([], [], [{ key: k, expected: t, got: v.shape }], `cannot inflate ${k}: only [O, I, kH, kW] → [O, I, T, kH, kW] is an official inflation`);
    }
    out.set(k, inflate(v, T));
  }
  const classes = numClasses ?? target.get('head.weight')?.[0];
  const head = out.get('head.weight');
  if (head && classes !== undefined && head.shape[0] !== classes) {
    out.delete('head.weight');
    out.delete('head.bias');
  }
  return out;
}

function inflate(v: RawTensor, T: number): RawTensor {
  const [O, I, kh, kw] = v.shape as [number, number, number, number];
  const plane = kh * kw;
  const src = v.data;
  if (!(src instanceof Float32Array || src instanceof Float64Array)) throw new Error(`inflate: ${v.dtype} weights are not supported (F32 / F64 only)`);
  const dst = src instanceof Float32Array ? new Float32Array(O * I * T * plane) : new Float64Array(O * I * T * plane);
  for (let oi = 0; oi < O * I; oi++) {
    for (let p = 0; p < plane; p++) {
      // float32 division as torch does (x / T rounded once)
      const q = src[oi * plane + p]! / T;
      for (let t = 0; t < T; t++) dst[(oi * T + t) * plane + p] = q;
    }
  }
  return { dtype: v.dtype, shape: [O, I, T, kh, kw], data: dst };
}
