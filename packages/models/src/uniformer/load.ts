import { type Tensor, keep, rawToTensor } from '@tubelet/core';
import { type UniformerConfig, type UniformerConfigInput, resolveUniformerConfig } from './config';
import { getUniformerPreset, type UniformerPreset } from './configs';
import { type UniformerModel, createUniformer } from './model';
import { type WeightsSource, applyUniformerWeights, inflateImageStateDict, normalizeUniformerKeys, readWeights, summarizeCheckpoint } from './weights';

export interface LoadUniformerOptions {
  /** Checkpoint: path, bytes or parsed state dict (.pth zip / legacy, .safetensors; wrappers and module./backbone. prefixes handled). */
  weights?: WeightsSource;
  /** Deterministic random weights when there is no checkpoint (also seeds keys an inflation leaves untouched). */
  seed?: number;
  /** Backend for the weights (default: the current backend). */
  backend?: string;
  /** Overrides on top of the named config (e.g. { imgSize: 256 }). */
  config?: Partial<Omit<UniformerConfig, 'kind'>>;
  /**
   * Inflate a 2-D ImageNet checkpoint into this video model exactly as the official
   * `get_pretrained_model` (average rule; head dropped when the class counts differ; keys the
   * checkpoint does not provide keep their random init from `seed`).
   */
  inflate?: boolean;
  /** Take the class count from the checkpoint's head.weight (default true; the official advice). */
  classesFromCheckpoint?: boolean;
}

export interface UniformerLoadInfo {
  /** The preset used, when loaded by name. */
  preset: UniformerPreset | null;
  config: UniformerConfig;
  /** 'checkpoint', 'random' or 'inflated'. */
  weights: 'checkpoint' | 'random' | 'inflated';
  source: string | null;
  /** Prefixes stripped from the checkpoint keys. */
  stripped: string[];
  /** Checkpoint keys set aside (detector / segmentor / pose head parts). */
  dropped: string[];
  /** Inflation only: model keys left at their random init. */
  randomKeys: string[];
}

/** loadUniformer() plus a report of what was done. */
export async function loadUniformerDetailed(nameOrConfig: string | UniformerConfigInput, opts: LoadUniformerOptions = {}): Promise<{ model: UniformerModel; info: UniformerLoadInfo }> {
  const preset = typeof nameOrConfig === 'string' ? getUniformerPreset(nameOrConfig) : null;
  let cfg = resolveUniformerConfig({ ...(preset ? preset.config : (nameOrConfig as UniformerConfigInput)), ...(opts.config ?? {}) });
  const info: UniformerLoadInfo = { preset, config: cfg, weights: 'random', source: null, stripped: [], dropped: [], randomKeys: [] };

  if (opts.weights === undefined) {
    if (opts.inflate) throw new Error('loadUniformer: inflate needs weights (the 2-D ImageNet checkpoint)');
    if (opts.seed === undefined) throw new Error('loadUniformer: pass { weights } (a checkpoint) or { seed } (random weights)');
    const model = createUniformer(cfg);
    model.randomInit(opts.seed, { backend: opts.backend });
    return { model, info };
  }

  const read = await readWeights(opts.weights);
  const norm = normalizeUniformerKeys(read.stateDict);
  Object.assign(info, { source: read.source, stripped: norm.stripped, dropped: norm.dropped });
  const sd = norm.stateDict;

  if (opts.inflate) {
    if (cfg.kind !== 'video') throw new Error(`loadUniformer: inflate applies to video models, this is ${cfg.kind}`);
    const model = createUniformer(cfg);
    const inflated = inflateImageStateDict(sd, model.stateDictShapes());
    model.randomInit(opts.seed ?? 0, { backend: opts.backend });
    const tensors = new Map<string, Tensor>(model.namedTensors());
    const provided = new Set<string>();
    for (const [k, v] of inflated) {
      if (!tensors.has(k)) continue; // num_batches_tracked
      tensors.set(k, keep(rawToTensor(v, { backend: opts.backend })));
      provided.add(k);
    }
    try {
      model.loadWeights(tensors);
    } catch (e) {
      for (const [k, t] of tensors) if (provided.has(k)) t.dispose();
      model.dispose();
      throw e;
    }
    Object.assign(info, { weights: 'inflated', randomKeys: [...model.parameterShapes().keys()].filter((k) => !provided.has(k)) });
    return { model, info };
  }

  if ((opts.classesFromCheckpoint ?? true) && (cfg.kind === 'video' || cfg.kind === 'image')) {
    const rows = summarizeCheckpoint(sd).numClasses;
    if (rows !== null && rows !== cfg.numClasses) cfg = resolveUniformerConfig({ ...cfg, numClasses: rows });
  }
  info.config = cfg;
  const model = createUniformer(cfg);
  try {
    applyUniformerWeights(model, sd, { backend: opts.backend, source: read.source });
  } catch (e) {
    model.dispose();
    throw e;
  }
  info.weights = 'checkpoint';
  return { model, info };
}

/**
 * Builds a UniFormer by preset name (see uniformerPresetNames()) or config, with weights from a
 * checkpoint (`{ weights: pathOrBytes }`) or random (`{ seed }`):
 * `const m = await loadUniformer('uniformer-s-k400-16x4', { weights: 'k400_16x4.pth' })`.
 * The class count follows the checkpoint's head.weight. Call `model.dispose()` when done.
 */
export async function loadUniformer(nameOrConfig: string | UniformerConfigInput, opts: LoadUniformerOptions = {}): Promise<UniformerModel> {
  return (await loadUniformerDetailed(nameOrConfig, opts)).model;
}
