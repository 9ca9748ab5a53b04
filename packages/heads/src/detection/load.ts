/**
 * Loading Mask R-CNN weights from official mmdet checkpoints (`state_dict` with `backbone.` /
 * `neck.` / `rpn_head.` / `roi_head.` keys) or from the parity vectors (`weights.<key>`).
 */
import { type RawTensor, type StateDict, type Tensor, dispose, keep, rawToTensor } from '@tubelet/core';
import { StateDictError } from '@tubelet/models';
import type { MaskRcnnHeadsModule } from './modules';

const HEAD_PREFIXES = ['neck.', 'rpn_head.', 'roi_head.'];

export interface SplitStateDict {
  /** `backbone.*` entries with the prefix removed. */
  backbone: StateDict;
  /** `neck.*`, `rpn_head.*`, `roi_head.*` entries (names kept). */
  heads: StateDict;
  /** Anything else (e.g. cascade stages, EMA copies): reported, not loaded. */
  other: string[];
}

/**
 * Splits a detector state dict. A `module.` (DataParallel) prefix is removed; in a parity-vector file
 * only the `weights.<key>` entries are used.
 */
export function splitDetectorStateDict(sd: ReadonlyMap<string, RawTensor>): SplitStateDict {
  let entries = [...sd];
  if (entries.length && entries.every(([k]) => k.startsWith('module.'))) entries = entries.map(([k, v]) => [k.slice('module.'.length), v]);
  // parity vectors: weights.<checkpoint key> beside inputs / outputs
  if (entries.some(([k]) => k.startsWith('weights.'))) entries = entries.filter(([k]) => k.startsWith('weights.')).map(([k, v]) => [k.slice('weights.'.length), v]);
  const backbone: StateDict = new Map();
  const heads: StateDict = new Map();
  const other: string[] = [];
  for (const [k, v] of entries) {
    if (k.startsWith('backbone.')) backbone.set(k.slice('backbone.'.length), v);
    else if (HEAD_PREFIXES.some((p) => k.startsWith(p))) heads.set(k, v);
    else other.push(k);
  }
  return { backbone, heads, other };
}

/**
 * Strictly checks `sd` (neck / rpn_head / roi_head keys) against the heads module — every missing,
 * unexpected or mis-shaped key is named — then converts and loads the tensors.
 */
export function applyHeadsWeights(module: MaskRcnnHeadsModule, sd: StateDict, opts: { backend?: string; source?: string } = {}): void {
  try {
    module.checkStateDict(sd, (missing) =>
      missing.some((k) => k.startsWith('roi_head.mask_head.')) && ![...sd.keys()].some((k) => k.startsWith('roi_head.mask_head.'))
        ? 'the checkpoint has no mask head (a Faster R-CNN?); this is a Mask R-CNN'
        : undefined,
    );
  } catch (e) {
    if (e instanceof StateDictError && opts.source) e.message = `${opts.source}: ${e.message}`;
    throw e;
  }
  const tensors = new Map<string, Tensor>();
  try {
    for (const k of module.parameterShapes().keys()) tensors.set(k, keep(rawToTensor(sd.get(k)!, { backend: opts.backend })));
  } catch (e) {
    dispose(tensors);
    throw e;
  }
  module.loadWeights(tensors);
}
