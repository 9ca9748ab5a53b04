/**
 * The mmpose TopDown model of the UniFormer pose configs: `backbone` (UniFormer pose backbone of
 * @tubelet/models, → out4) + `keypoint_head` (TopDownSimpleHead). Its state dict has exactly the
 * keys of an official mmpose checkpoint (`backbone.*`, `keypoint_head.*`).
 */
import { type StateDict, type Tensor, add, dispose, flip, keep, mul, rawToTensor, tensor, tidy } from '@tubelet/core';
import { Module, StateDictError, type UniformerPose, type WeightsSource, createUniformer, readWeights } from '@tubelet/models';
import { type TopDownPoseConfig, type TopDownPoseConfigInput, getPoseConfig, resolvePoseConfig } from './config';
import { type PostProcess, keypointsFromHeatmaps } from './decode';
import { flipBackHeatmaps } from './flip';
import { TopDownSimpleHead } from './head';

const f32 = Math.fround;

/** Outputs of the head / flip test / decode, after the backbone's own names. */
export const TOP_DOWN_OUTPUTS = [
  'heatmap',
  'heatmap_flipped_input_raw',
  'heatmap_flipped_back_shifted',
  'heatmap_flip_test',
  'center',
  'scale',
  'decode_preds',
  'decode_boxes',
] as const;

export interface TopDownOutputOptions {
  /** Names to return (see outputNames()). */
  outputs: readonly string[];
  /** Per-sample box centre [N, 2] for decoding (default: the crop centre, so keypoints come out in crop pixels). */
  center?: ArrayLike<number>;
  /** Per-sample scale [N, 2] in units of 200 px (default: the crop size / 200). */
  scale?: ArrayLike<number>;
  /** Decode from the flip-test average (default: the config's flipTest). */
  flipTest?: boolean;
  postProcess?: PostProcess;
}

export class TopDownPose extends Module {
  readonly config: TopDownPoseConfig;
  readonly backbone: UniformerPose;
  readonly head: TopDownSimpleHead;

  constructor(config: TopDownPoseConfig | TopDownPoseConfigInput) {
    super();
    const cfg = asPoseConfig(config);
    this.config = cfg;
    this.backbone = this.child('backbone', createUniformer(cfg.backbone) as UniformerPose);
    this.head = this.child('keypoint_head', new TopDownSimpleHead(cfg.head));
  }

  /** Every name forward(x, { outputs }) accepts: the backbone's, then TOP_DOWN_OUTPUTS. */
  outputNames(): string[] {
    return [...this.backbone.outputNames(), ...TOP_DOWN_OUTPUTS];
  }

  /** Heatmaps [N, K, H/4, W/4] of a normalised crop batch [N, 3, H, W] (no flip test). */
  heatmaps(x: Tensor): Tensor {
    // the backbone's outputs are exempt from tidy scopes (models' OutputRecorder): free it here
    const feat = this.backbone.forward(x);
    try {
      return this.head.forward(feat);
    } finally {
      feat.dispose();
    }
  }

  /**
   * TopDown.forward_test on normalised crops [N, 3, H, W]: the heatmaps, averaged with the
   * flipped-back heatmaps of the mirrored crops when flipTest (config default).
   */
  testHeatmaps(x: Tensor, flipTest = this.config.flipTest): Tensor {
    return tidy(() => {
      const hm = this.heatmaps(x);
      if (!flipTest) return hm;
      const back = flipBackHeatmaps(this.heatmaps(flip(x, [3])), { pairs: this.config.flipPairs, shift: this.config.shiftHeatmap });
      return average(hm, back);
    });
  }

  /**
   * The named intermediates and results of one forward_test, each a new tensor the caller owns:
   * backbone names (patch_embed1 … backbone_out), `heatmap`, `heatmap_flipped_input_raw`,
   * `heatmap_flipped_back_shifted`, `heatmap_flip_test`, `center`, `scale`, `decode_preds` [N, K, 3]
   * (x, y, score; decoded from the flip-test average, or from `heatmap` without flip test) and
   * `decode_boxes` [N, 6] (cx, cy, sx, sy, area, score 1). Async: decoding reads the heatmaps back.
   */
  async forwardOutputs(x: Tensor, opts: TopDownOutputOptions): Promise<Map<string, Tensor>> {
    const valid = this.outputNames();
    const bad = opts.outputs.filter((n) => !valid.includes(n));
    if (!opts.outputs.length || bad.length) {
      throw new Error(`TopDownPose: ${bad.length ? `unknown output name${bad.length > 1 ? 's' : ''} ${bad.map((b) => `'${b}'`).join(', ')}` : 'no outputs requested'}; valid names: ${valid.join(', ')}`);
    }
    const want = new Set(opts.outputs);
    const headNames = new Set<string>(TOP_DOWN_OUTPUTS);
    const flipTest = opts.flipTest ?? this.config.flipTest;
    const needDecode = want.has('decode_preds');
    const needFlip = want.has('heatmap_flipped_input_raw') || want.has('heatmap_flipped_back_shifted') || want.has('heatmap_flip_test') || (needDecode && flipTest);
    const needHeatmap = needDecode || want.has('heatmap') || want.has('heatmap_flip_test');
    const got = new Map<string, Tensor>();
    const [N, , H, W] = x.shape as [number, number, number, number];
    try {
      const bbNames = opts.outputs.filter((n) => !headNames.has(n));
      if (needHeatmap && !bbNames.includes('backbone_out')) bbNames.push('backbone_out');
      const bb = bbNames.length ? this.backbone.forward(x, { outputs: bbNames }) : new Map<string, Tensor>();
      for (const [k, t] of bb) if (want.has(k)) got.set(k, t);
      const feat = bb.get('backbone_out');
      let heatmap: Tensor | null = null;
      let avg: Tensor | null = null;
      if (needHeatmap) {
        heatmap = keep(this.head.forward(feat!));
        got.set('heatmap', heatmap);
      }
      if (feat && !want.has('backbone_out')) feat.dispose();
      if (needFlip) {
        const raw = keep(tidy(() => this.heatmaps(flip(x, [3]))));
        got.set('heatmap_flipped_input_raw', raw);
        const back = keep(flipBackHeatmaps(raw, { pairs: this.config.flipPairs, shift: this.config.shiftHeatmap }));
        got.set('heatmap_flipped_back_shifted', back);
        if (heatmap) {
          avg = keep(average(heatmap, back));
          got.set('heatmap_flip_test', avg);
        }
      }
      const center = opts.center ? Float32Array.from(opts.center, f32) : Float32Array.from({ length: 2 * N }, (_, i) => (i % 2 ? H / 2 : W / 2));
      const scale = opts.scale ? Float32Array.from(opts.scale, f32) : Float32Array.from({ length: 2 * N }, (_, i) => f32((i % 2 ? H : W) / 200));
      if (center.length !== 2 * N || scale.length !== 2 * N) throw new Error(`TopDownPose: center and scale must be [${N}, 2]`);
      if (want.has('center')) got.set('center', keep(tensor(center, [N, 2], { backend: x.backend })));
      if (want.has('scale')) got.set('scale', keep(tensor(scale, [N, 2], { backend: x.backend })));
      if (needDecode) {
        const src = flipTest ? avg! : heatmap!;
        const dec = keypointsFromHeatmaps((await src.data()) as Float32Array, src.shape, center, scale, { postProcess: opts.postProcess ?? this.config.postProcess, kernel: this.config.modulateKernel });
        const K = src.shape[1]!;
        const preds = new Float32Array(N * K * 3);
        for (let i = 0; i < N * K; i++) {
          preds[3 * i] = dec.preds[2 * i]!;
          preds[3 * i + 1] = dec.preds[2 * i + 1]!;
          preds[3 * i + 2] = dec.maxvals[i]!;
        }
        got.set('decode_preds', keep(tensor(preds, [N, K, 3], { backend: x.backend })));
      }
      if (want.has('decode_boxes')) {
        const boxes = new Float32Array(N * 6);
        for (let n = 0; n < N; n++) {
          const sx = f32(scale[2 * n]! * 200);
          const sy = f32(scale[2 * n + 1]! * 200);
          boxes.set([center[2 * n]!, center[2 * n + 1]!, scale[2 * n]!, scale[2 * n + 1]!, f32(sx * sy), 1], 6 * n);
        }
        got.set('decode_boxes', keep(tensor(boxes, [N, 6], { backend: x.backend })));
      }
      const out = new Map<string, Tensor>();
      for (const n of opts.outputs) out.set(n, got.get(n)!);
      for (const [k, t] of got) if (!want.has(k)) t.dispose();
      return out;
    } catch (e) {
      dispose([...got.values()]);
      throw e;
    }
  }
}

/** (a + b) * 0.5 in float32, as TopDown.forward_test. */
function average(a: Tensor, b: Tensor): Tensor {
  return tidy(() => mul(add(a, b), 0.5));
}

/** A resolved config passes through; an input is resolved. */
export function asPoseConfig(c: TopDownPoseConfig | TopDownPoseConfigInput): TopDownPoseConfig {
  if (Object.isFrozen(c) && 'heatmapSize' in c && 'sigmas' in c && 'inChannels' in (c.head ?? {})) return c as TopDownPoseConfig;
  return resolvePoseConfig(c as TopDownPoseConfigInput);
}

export interface LoadPoseOptions {
  /** An mmpose checkpoint (path, bytes or parsed state dict; .pth zip / legacy or .safetensors) with `backbone.*` and `keypoint_head.*` keys. */
  weights?: WeightsSource;
  /** Deterministic random weights when there is no checkpoint. */
  seed?: number;
  /** Backend for the weights (default: the current backend). */
  backend?: string;
}

/** Strips a DataParallel `module.` prefix; the rest of the keys must be the model's. */
function normalizeKeys(sd: StateDict): StateDict {
  if (sd.size && [...sd.keys()].every((k) => k.startsWith('module.'))) return new Map([...sd].map(([k, v]) => [k.slice('module.'.length), v]));
  return sd;
}

/** Loads an mmpose TopDown checkpoint into `model` (strict: every missing / unexpected / mis-shaped key is named). */
export function applyPoseWeights(model: TopDownPose, stateDict: StateDict, opts: { source?: string; backend?: string } = {}): void {
  const source = opts.source ?? 'checkpoint';
  const sd = normalizeKeys(stateDict);
  try {
    model.checkStateDict(sd, (missing, unexpected) => {
      const keys = [...sd.keys()];
      if (!keys.some((k) => k.startsWith('keypoint_head.'))) {
        return keys.some((k) => k.startsWith('backbone.')) || keys.some((k) => k.startsWith('patch_embed1.'))
          ? 'this checkpoint has no keypoint_head.* keys: a top-down pose model needs a full mmpose TopDown checkpoint (backbone.* + keypoint_head.*), not a backbone or ImageNet one'
          : undefined;
      }
      if (missing.length && missing.every((k) => k.startsWith('backbone.')) && unexpected.length) return 'the backbone keys do not fit: check the config size (S / B) against the checkpoint';
      return undefined;
    });
  } catch (e) {
    if (e instanceof StateDictError) e.message = `${source}: ${e.message}`;
    throw e;
  }
  const tensors = new Map<string, Tensor>();
  try {
    for (const k of model.parameterShapes().keys()) tensors.set(k, keep(rawToTensor(sd.get(k)!, { backend: opts.backend })));
  } catch (e) {
    dispose([...tensors.values()]);
    throw e;
  }
  model.loadWeights(tensors);
}

/**
 * Builds a TopDown pose model by config name (poseConfigNames()) or config, with an mmpose
 * checkpoint (`{ weights }`) or random weights (`{ seed }`). Call `model.dispose()` when done.
 */
export async function loadPoseModel(nameOrConfig: string | TopDownPoseConfigInput | TopDownPoseConfig, opts: LoadPoseOptions = {}): Promise<TopDownPose> {
  const cfg = typeof nameOrConfig === 'string' ? getPoseConfig(nameOrConfig) : asPoseConfig(nameOrConfig);
  const model = new TopDownPose(cfg);
  if (opts.weights === undefined) {
    if (opts.seed === undefined) throw new Error('loadPoseModel: pass { weights } (an mmpose checkpoint) or { seed } (random weights)');
    model.randomInit(opts.seed, { backend: opts.backend });
    return model;
  }
  const read = await readWeights(opts.weights);
  try {
    applyPoseWeights(model, read.stateDict, { source: read.source, backend: opts.backend });
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}
