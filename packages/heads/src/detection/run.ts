/**
 * `runMaskRcnnHeads`: the FPN → RPN → RoI → mask stack on backbone features given as tensors (the
 * parity vectors' `in.c2 … in.c5`), with the vectors' `config` metadata as the config — what
 * `tubelet run --arch maskrcnn-heads` calls.
 */
import type { RawTensor, Tensor } from '@tubelet/core';
import { headsConfigFromVectorConfig } from './config';
import { HEAD_OUTPUT_NAMES, type ImageMeta, runHeads } from './heads';
import { applyHeadsWeights, splitDetectorStateDict } from './load';
import { MaskRcnnHeadsModule } from './modules';

/** The input names runMaskRcnnHeads reads. */
export const MASKRCNN_HEADS_INPUTS = ['in.c2', 'in.c3', 'in.c4', 'in.c5'] as const;

/** Every output name runMaskRcnnHeads can write. */
export const MASKRCNN_HEADS_OUTPUTS = HEAD_OUTPUT_NAMES;

/** The default outputs: detections and binary masks. */
export const MASKRCNN_HEADS_DEFAULT_OUTPUTS = ['det.boxes', 'det.scores', 'det.labels', 'mask.bin'] as const;

/**
 * img_meta from a vector config's `meta` ({ ori_shape, img_shape, pad_shape, scale_factor }); without
 * one, the padded size is 4× C2's map and the image is taken as unresized and unpadded.
 */
export function metaFromConfig(config: Record<string, unknown>, c2: Tensor): ImageMeta {
  const m = (config.meta ?? {}) as Record<string, unknown>;
  const pair = (v: unknown, what: string): [number, number] | undefined => {
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.length < 2 || !v.slice(0, 2).every((x) => typeof x === 'number' && x > 0)) throw new Error(`maskrcnn-heads config: meta.${what} must be [h, w], got ${JSON.stringify(v)}`);
    return [v[0] as number, v[1] as number];
  };
  const pad = pair(m.pad_shape, 'pad_shape') ?? [c2.shape[2]! * 4, c2.shape[3]! * 4];
  const img = pair(m.img_shape, 'img_shape') ?? pad;
  const ori = pair(m.ori_shape, 'ori_shape') ?? img;
  let sf = m.scale_factor as number[] | undefined;
  if (sf === undefined) sf = [img[1] / ori[1], img[0] / ori[0], img[1] / ori[1], img[0] / ori[0]];
  if (!Array.isArray(sf) || sf.length !== 4 || !sf.every((x) => typeof x === 'number' && x > 0)) throw new Error(`maskrcnn-heads config: meta.scale_factor must be 4 positive numbers, got ${JSON.stringify(sf)}`);
  return { oriShape: ori, imgShape: img, padShape: pad, scaleFactor: sf.map(Math.fround) as [number, number, number, number] };
}

/**
 * Runs the Mask R-CNN heads on `inputs` (in.c2 … in.c5, [1, C, H, W]) with `weights` (neck. /
 * rpn_head. / roi_head. keys, optionally under `weights.` as in the vector files; backbone. keys are
 * ignored; none: random weights from `opts.seed`) and returns the requested outputs (default: det.boxes, det.scores, det.labels, mask.bin;
 * 'all' = every name in MASKRCNN_HEADS_OUTPUTS), owned by the caller. Inputs are not disposed.
 */
export async function runMaskRcnnHeads(
  config: Record<string, unknown>,
  weights: ReadonlyMap<string, RawTensor> | undefined,
  inputs: ReadonlyMap<string, Tensor>,
  opts: { outputs?: readonly string[] | 'all'; backend?: string; seed?: number } = {},
): Promise<Map<string, Tensor>> {
  const cfg = headsConfigFromVectorConfig(config);
  const feats = MASKRCNN_HEADS_INPUTS.map((k) => {
    const t = inputs.get(k);
    if (!t) throw new Error(`maskrcnn-heads: input '${k}' is missing (inputs: ${[...inputs.keys()].join(', ') || 'none'})`);
    return t;
  });
  const names = opts.outputs === 'all' ? [...MASKRCNN_HEADS_OUTPUTS] : [...(opts.outputs ?? MASKRCNN_HEADS_DEFAULT_OUTPUTS)];
  const unknown = names.filter((n) => !MASKRCNN_HEADS_OUTPUTS.includes(n));
  if (unknown.length) throw new Error(`maskrcnn-heads: unknown output${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; known: ${MASKRCNN_HEADS_OUTPUTS.join(', ')}`);
  const module = new MaskRcnnHeadsModule(cfg);
  try {
    const backend = opts.backend ?? feats[0]!.backend;
    if (weights && weights.size) applyHeadsWeights(module, splitDetectorStateDict(weights).heads, { backend });
    else if (opts.seed !== undefined) module.randomInit(opts.seed, { backend });
    else throw new Error('maskrcnn-heads: give weights (neck. / rpn_head. / roi_head. keys) or a seed for random weights');
    const meta = metaFromConfig(config, feats[0]!);
    const r = await runHeads(module, feats, meta, { record: new Set(names), masks: names.some((n) => n.startsWith('mask.')) });
    r.masks?.probs.dispose();
    const out = new Map<string, Tensor>();
    for (const n of names) {
      const t = r.outputs.get(n);
      if (t) out.set(n, t);
    }
    for (const [k, t] of r.outputs) if (!out.has(k)) t.dispose();
    return out;
  } finally {
    module.dispose();
  }
}
