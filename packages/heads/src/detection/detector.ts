/**
 * The detector API: UniFormer dense backbone + Mask R-CNN heads, from a named config and an official
 * mmdet checkpoint (or seeded random weights).
 *
 * ```ts
 * const det = await createDetector('uniformer-s-maskrcnn-1x', { weights: 'mask_rcnn_1x_hybrid_small.pth' });
 * const results = await det.detect({ data: rgb, width, height }, { maxDetections: 20, minScore: 0.3 });
 * // [{ label: 'person', classId: 0, score: 0.98, box: { x1, y1, x2, y2 }, mask: { x, y, width, height, data } }, …]
 * det.dispose();
 * ```
 */
import { type StateDict, type Tensor, dispose, getBackend, initBackend, tensor } from '@tubelet/core';
import { UniformerDense, type WeightsSource, applyUniformerWeights, createUniformer, readWeights } from '@tubelet/models';
import { type DetectionMode, type DetectorConfig, type DetectorConfigInput, resolveDetectorConfig } from './config';
import { type Detections, type ImageMeta, type MaskRegion, pasteRegions, runHeads } from './heads';
import { applyHeadsWeights, splitDetectorStateDict } from './load';
import { MaskRcnnHeadsModule } from './modules';
import { type DetectionImage, preprocessDetectionImage } from './preprocess';

export interface DetectorOptions {
  /** An mmdet Mask R-CNN checkpoint (.pth path, .safetensors path, bytes or a parsed state dict) with backbone./neck./rpn_head./roi_head. keys. */
  weights?: WeightsSource;
  /** Deterministic random weights when there is no checkpoint (detections are then meaningless). */
  seed?: number;
  /** Backend to run on (default: the current backend). */
  backend?: string;
  /** Head semantics (default: the config's, 'mmdet'). */
  mode?: DetectionMode;
}

export interface DetectOptions {
  /** Keep at most this many detections (default: the config's max_per_img, 100). */
  maxDetections?: number;
  /** Keep detections with score > minScore (default: the config's score_thr, 0.05). */
  minScore?: number;
  /** Compute instance masks (default true). */
  masks?: boolean;
}

export interface Detection {
  label: string;
  classId: number;
  score: number;
  /** xyxy in original-image pixels (continuous coordinates; not clipped to the image, as mmdet). */
  box: { x1: number; y1: number; x2: number; y2: number };
  /** Binary mask over a region of the original image (outside the region the mask is 0). */
  mask?: MaskRegion;
}

export interface DetectDetailed {
  detections: Detection[];
  meta: ImageMeta;
  /** The raw detections (boxes at both scales, source proposal rows). */
  raw: Detections;
  timings: { preprocessMs: number; backboneMs: number; headsMs: number; masksMs: number };
}

export class Detector {
  readonly backend: string;

  constructor(
    readonly config: DetectorConfig,
    readonly backbone: UniformerDense,
    readonly heads: MaskRcnnHeadsModule,
    backend?: string,
  ) {
    this.backend = backend ?? getBackend().name;
  }

  get labels(): readonly string[] {
    return this.config.labels;
  }

  /** Detections for one 8-bit RGB (or BGR, with channelOrder) image, in score order. */
  async detect(image: DetectionImage, opts: DetectOptions = {}): Promise<Detection[]> {
    return (await this.detectDetailed(image, opts)).detections;
  }

  async detectDetailed(image: DetectionImage, opts: DetectOptions = {}): Promise<DetectDetailed> {
    if (!this.heads.isLoaded) throw new Error('detector: disposed (or weights were never loaded)');
    const rcnn = { ...(opts.minScore !== undefined ? { scoreThr: checkNum(opts.minScore, 'minScore') } : {}), ...(opts.maxDetections !== undefined ? { maxPerImg: checkCount(opts.maxDetections) } : {}) };
    const t0 = performance.now();
    const pp = preprocessDetectionImage(image, this.config.pipeline);
    const t1 = performance.now();
    const x = tensor(pp.data, pp.shape, { backend: this.backend });
    let feats: Tensor[];
    try {
      feats = this.backbone.forward(x);
    } finally {
      x.dispose();
    }
    const t2 = performance.now();
    let masksMs = 0;
    try {
      if (rcnn.maxPerImg === 0) return { detections: [], meta: pp.meta, raw: emptyDetections(), timings: { preprocessMs: t1 - t0, backboneMs: t2 - t1, headsMs: 0, masksMs: 0 } };
      const r = await runHeads(this.heads, feats, pp.meta, { masks: opts.masks ?? true, rcnn });
      const t3 = performance.now();
      try {
        const regions = r.masks ? await pasteRegions(r.masks, pp.meta, this.heads.config.mode, this.heads.config.rcnn.maskThrBinary) : undefined;
        masksMs = performance.now() - t3;
        const d = r.detections;
        const detections: Detection[] = Array.from(d.labels, (label, n) => ({
          label: this.config.labels[label] ?? `class ${label}`,
          classId: label,
          score: d.scores[n]!,
          box: { x1: d.boxes[4 * n]!, y1: d.boxes[4 * n + 1]!, x2: d.boxes[4 * n + 2]!, y2: d.boxes[4 * n + 3]! },
          ...(regions ? { mask: regions[n]! } : {}),
        }));
        return { detections, meta: pp.meta, raw: d, timings: { preprocessMs: t1 - t0, backboneMs: t2 - t1, headsMs: t3 - t2, masksMs } };
      } finally {
        r.masks?.probs.dispose();
        dispose(r.outputs);
      }
    } finally {
      dispose(feats);
    }
  }

  /** Frees every weight. */
  dispose(): void {
    this.backbone.dispose();
    this.heads.dispose();
  }
}

function checkNum(v: number, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`detect: ${what} must be a finite number, got ${JSON.stringify(v)}`);
  return v;
}

function checkCount(v: number): number {
  if (!Number.isInteger(v) || v < 0) throw new Error(`detect: maxDetections must be a non-negative integer, got ${JSON.stringify(v)}`);
  return v;
}

function emptyDetections(): Detections {
  return { boxes: new Float32Array(0), boxesTestScale: new Float32Array(0), scores: new Float32Array(0), labels: new Int32Array(0), srcRoi: new Int32Array(0) };
}

/**
 * Builds a detector by name (see detectorConfigNames(): uniformer-{s,b}-maskrcnn-{1x,3x}) or config,
 * with an official mmdet checkpoint (`{ weights }`) or random weights (`{ seed }`). Loading is strict:
 * every missing, unexpected or mis-shaped key is named.
 */
export async function createDetector(nameOrConfig: string | DetectorConfigInput | DetectorConfig, opts: DetectorOptions = {}): Promise<Detector> {
  const base = resolveDetectorConfig(nameOrConfig);
  const config: DetectorConfig = opts.mode && opts.mode !== base.heads.mode ? { ...base, heads: { ...base.heads, mode: opts.mode } } : base;
  if (opts.backend) await initBackend(opts.backend);
  const backend = opts.backend ?? getBackend().name;
  const bb = createUniformer(config.backbone);
  if (!(bb instanceof UniformerDense)) {
    bb.dispose();
    throw new Error(`detector '${config.name}': the backbone must be a dense UniFormer (kind 'dense'), got kind '${bb.config.kind}'`);
  }
  if (bb.config.embedDim.join() !== config.heads.inChannels.join()) throw new Error(`detector '${config.name}': backbone widths [${bb.config.embedDim}] do not match the FPN in_channels [${config.heads.inChannels}]`);
  const heads = new MaskRcnnHeadsModule(config.heads);
  try {
    if (opts.weights !== undefined) {
      const read = await readWeights(opts.weights);
      const split = splitDetectorStateDict(read.stateDict as StateDict);
      if (split.other.length) {
        throw new Error(`${read.source}: keys outside backbone./neck./rpn_head./roi_head.: ${split.other.slice(0, 8).join(', ')}${split.other.length > 8 ? ', …' : ''} (is this a Mask R-CNN checkpoint?)`);
      }
      if (!split.backbone.size) throw new Error(`${read.source}: no backbone.* keys (is this an mmdet detector checkpoint?)`);
      applyUniformerWeights(bb, split.backbone, { backend, source: read.source });
      applyHeadsWeights(heads, split.heads, { backend, source: read.source });
    } else {
      if (opts.seed === undefined) throw new Error('createDetector: pass { weights } (an mmdet checkpoint) or { seed } (random weights)');
      bb.randomInit(opts.seed, { backend });
      heads.randomInit(opts.seed + 1, { backend });
    }
  } catch (e) {
    bb.dispose();
    heads.dispose();
    throw e;
  }
  return new Detector(config, bb, heads, backend);
}
