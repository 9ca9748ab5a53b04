/** UniFormer architecture configuration (constructor arguments of the official classes, camel-cased). */

export type UniformerKind = 'video' | 'image' | 'dense' | 'pose';
/** Stage-3 blocks of the dense / pose backbones: all global, all windowed (`windows=True`), or hybrid (`hybrid=True`: global when (i+1) % 4 == 0). */
export type Stage3Mode = 'global' | 'window' | 'hybrid';
/** Layer scale: none (all video / dense / pose and most image models), in SABlocks only (`uniformer_base_ls`), in every block (token-labeling `uniformer_large_ls`). */
export type LayerScaleMode = 'none' | 'attention' | 'all';
export type Quad = readonly [number, number, number, number];

export interface UniformerConfig {
  kind: UniformerKind;
  /** Blocks per stage (official `depth` / `layers`). */
  depth: Quad;
  /** Channels per stage (official `embed_dim`). */
  embedDim: Quad;
  /** Stage-s heads = embedDim[s] // headDim (stages 3–4 only; stages 1–2 are convolutional). */
  headDim: number;
  /** MLP hidden = floor(C · mlpRatio). */
  mlpRatio: number;
  qkvBias: boolean;
  /** Attention scale override (official `qk_scale`); null = (C / heads)^-0.5. */
  qkScale: number | null;
  inChans: number;
  /** video / image classifiers: classes of `head` (0 = no head; the forward ends at `pooled`). */
  numClasses: number;
  /** image only: S+ overlapping conv stem (conv3×3 s2 + BN + GELU + conv3×3 s2 + BN; later stages conv3×3 s2 + BN). */
  convStem: boolean;
  /** image (patch stem) only: the official model asserts the input is imgSize × imgSize; null disables the check. */
  imgSize: number | null;
  /** dense / pose only. */
  stage3: Stage3Mode;
  /** dense / pose window blocks only (official default 14). */
  windowSize: number;
  layerScale: LayerScaleMode;
  /** image token-labeling models: `aux_head` on every token; eval logits = head(mean) + 0.5 · max_tokens(aux_head). */
  auxHead: boolean;
}

export type UniformerConfigInput = Partial<Omit<UniformerConfig, 'kind'>> & { kind: UniformerKind };

const KINDS: readonly UniformerKind[] = ['video', 'image', 'dense', 'pose'];

function quad(v: unknown, what: string): Quad {
  if (!Array.isArray(v) || v.length !== 4 || !v.every((x) => Number.isInteger(x) && x >= 0)) {
    throw new Error(`UniFormer config: ${what} must be 4 non-negative integers, got ${JSON.stringify(v)}`);
  }
  return [v[0], v[1], v[2], v[3]] as const;
}

/** Fills defaults (UniFormer-S, head_dim 64, mlp 4, qkv bias, 400 / 1000 classes) and validates. */
export function resolveUniformerConfig(c: UniformerConfigInput): UniformerConfig {
  if (!KINDS.includes(c.kind)) throw new Error(`UniFormer config: kind must be one of ${KINDS.join(', ')}, got ${JSON.stringify(c.kind)}`);
  const cls = c.kind === 'video' || c.kind === 'image';
  const cfg: UniformerConfig = {
    kind: c.kind,
    depth: quad(c.depth ?? [3, 4, 8, 3], 'depth'),
    embedDim: quad(c.embedDim ?? [64, 128, 320, 512], 'embedDim'),
    headDim: c.headDim ?? 64,
    mlpRatio: c.mlpRatio ?? 4,
    qkvBias: c.qkvBias ?? true,
    qkScale: c.qkScale ?? null,
    inChans: c.inChans ?? 3,
    numClasses: cls ? (c.numClasses ?? (c.kind === 'video' ? 400 : 1000)) : 0,
    convStem: c.kind === 'image' ? (c.convStem ?? false) : false,
    imgSize: c.kind === 'image' && !(c.convStem ?? false) ? (c.imgSize === undefined ? 224 : c.imgSize) : null,
    stage3: c.kind === 'dense' || c.kind === 'pose' ? (c.stage3 ?? 'global') : 'global',
    windowSize: c.windowSize ?? 14,
    layerScale: c.layerScale ?? 'none',
    auxHead: c.kind === 'image' ? (c.auxHead ?? false) : false,
  };
  if (cfg.embedDim.some((d) => d < 1)) throw new Error(`UniFormer config: embedDim must be positive, got ${JSON.stringify(cfg.embedDim)}`);
  if (!Number.isInteger(cfg.headDim) || cfg.headDim < 1) throw new Error(`UniFormer config: headDim must be a positive integer, got ${cfg.headDim}`);
  for (const s of [2, 3]) {
    const C = cfg.embedDim[s]!;
    const heads = Math.floor(C / cfg.headDim);
    if (cfg.depth[s]! > 0 && (heads < 1 || C % heads)) {
      throw new Error(`UniFormer config: stage ${s + 1} has ${C} channels and headDim ${cfg.headDim} → ${heads} heads, which do not split the channels (the official reshape would fail)`);
    }
  }
  if (!(cfg.mlpRatio > 0)) throw new Error(`UniFormer config: mlpRatio must be positive, got ${cfg.mlpRatio}`);
  if (!Number.isInteger(cfg.numClasses) || cfg.numClasses < 0) throw new Error(`UniFormer config: numClasses must be a non-negative integer, got ${cfg.numClasses}`);
  if (!Number.isInteger(cfg.windowSize) || cfg.windowSize < 1) throw new Error(`UniFormer config: windowSize must be a positive integer, got ${cfg.windowSize}`);
  if (!['global', 'window', 'hybrid'].includes(cfg.stage3)) throw new Error(`UniFormer config: stage3 must be 'global', 'window' or 'hybrid', got ${JSON.stringify(cfg.stage3)}`);
  if (!['none', 'attention', 'all'].includes(cfg.layerScale)) throw new Error(`UniFormer config: layerScale must be 'none', 'attention' or 'all', got ${JSON.stringify(cfg.layerScale)}`);
  if (cfg.auxHead && cfg.numClasses === 0) throw new Error('UniFormer config: auxHead needs numClasses > 0');
  if (cfg.imgSize !== null && (!Number.isInteger(cfg.imgSize) || cfg.imgSize < 1)) throw new Error(`UniFormer config: imgSize must be a positive integer or null, got ${cfg.imgSize}`);
  return cfg;
}

/** The `arch` names of `tubelet run` and their kinds. */
export const UNIFORMER_ARCHS = {
  'uniformer-video': 'video',
  'uniformer-image': 'image',
  'uniformer-dense': 'dense',
  'uniformer-pose': 'pose',
} as const satisfies Record<string, UniformerKind>;
export type UniformerArch = keyof typeof UNIFORMER_ARCHS;

/** Official constructor argument names this reader understands (everything else in the JSON is ignored). */
export const OFFICIAL_CONFIG_KEYS = [
  'depth',
  'layers',
  'embed_dim',
  'head_dim',
  'mlp_ratio',
  'qkv_bias',
  'qk_scale',
  'in_chans',
  'num_classes',
  'img_size',
  'conv_stem',
  'windows',
  'hybrid',
  'window_size',
  'return_dense',
  'layer_scale',
] as const;

/**
 * Builds a config from the official constructor arguments (`depth` or `layers`, `embed_dim`,
 * `head_dim`, `mlp_ratio`, `num_classes`, `img_size`, `conv_stem`, `hybrid`, `windows`,
 * `window_size`, `qkv_bias`, `qk_scale`, `in_chans`; token-labeling `return_dense` → auxHead;
 * `layer_scale` (true = SABlocks only, 'all' = every block — the official code sets it through a
 * module global). Keys that are not constructor arguments (e.g. the vector files' `kind`, `name`,
 * `seed`, `input_shape`, `head`) are ignored. `kind` comes from `arch` (or, without it, from a
 * `kind` entry: video, image, det/seg → dense, pose).
 */
export function configFromOfficial(cfg: Record<string, unknown>, arch?: UniformerArch | UniformerKind): UniformerConfig {
  let kind: UniformerKind | undefined;
  if (arch) kind = arch in UNIFORMER_ARCHS ? UNIFORMER_ARCHS[arch as UniformerArch] : (arch as UniformerKind);
  else if (typeof cfg.kind === 'string') kind = ({ video: 'video', image: 'image', det: 'dense', seg: 'dense', dense: 'dense', pose: 'pose' } as Record<string, UniformerKind>)[cfg.kind];
  if (!kind || !KINDS.includes(kind)) throw new Error(`UniFormer config: cannot tell the model kind (pass arch: ${Object.keys(UNIFORMER_ARCHS).join(', ')})`);
  const num = (k: string): number | undefined => {
    const v = cfg[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number') throw new Error(`UniFormer config: '${k}' must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  const bool = (k: string): boolean | undefined => {
    const v = cfg[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') throw new Error(`UniFormer config: '${k}' must be true or false, got ${JSON.stringify(v)}`);
    return v;
  };
  const depth = cfg.depth ?? cfg.layers;
  let imgSize: number | null | undefined;
  if (Array.isArray(cfg.img_size)) {
    const [h, w] = cfg.img_size as number[];
    if (h !== w) throw new Error(`UniFormer config: img_size ${JSON.stringify(cfg.img_size)} — only square sizes are supported`);
    imgSize = h;
  } else imgSize = num('img_size');
  let stage3: Stage3Mode | undefined;
  if (bool('windows')) stage3 = 'window';
  else if (bool('hybrid')) stage3 = 'hybrid';
  else if (cfg.windows !== undefined || cfg.hybrid !== undefined) stage3 = 'global';
  const ls = cfg.layer_scale;
  const layerScale: LayerScaleMode | undefined = ls === undefined || ls === null || ls === false ? undefined : ls === true || ls === 'attention' ? 'attention' : ls === 'all' ? 'all' : (() => {
    throw new Error(`UniFormer config: 'layer_scale' must be true, 'attention' or 'all', got ${JSON.stringify(ls)}`);
  })();
  return resolveUniformerConfig({
    kind,
    depth: depth === undefined ? undefined : quad(depth, cfg.depth !== undefined ? 'depth' : 'layers'),
    embedDim: cfg.embed_dim === undefined ? undefined : quad(cfg.embed_dim, 'embed_dim'),
    headDim: num('head_dim'),
    mlpRatio: num('mlp_ratio'),
    qkvBias: bool('qkv_bias'),
    qkScale: num('qk_scale') ?? null,
    inChans: num('in_chans'),
    numClasses: num('num_classes'),
    convStem: bool('conv_stem'),
    imgSize,
    stage3,
    windowSize: num('window_size'),
    layerScale,
    auxHead: bool('return_dense'),
  });
}
