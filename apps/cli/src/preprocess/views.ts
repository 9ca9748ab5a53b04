import { PreprocessError } from './types';

/** Test-time views: temporal clips × spatial crops. */
export interface Views {
  clips: number;
  crops: 1 | 3;
}

export const MAX_CLIPS = 64;

/**
 * Parses `--views CLIPSxCROPS` ("4x1", "1x3", "4×3"; x, X, × or * as separator). Crops must be 1 or 3;
 * clips 1..64. Throws a one-line PreprocessError otherwise.
 */
export function parseViews(text: string): Views {
  const m = /^\s*(\d+)\s*[xX×*]\s*(\d+)\s*$/.exec(text);
  const hint = `expected CLIPSxCROPS with CLIPS in 1..${MAX_CLIPS} and CROPS 1 or 3, e.g. 4x1, 1x3 or 4x3`;
  if (!m) throw new PreprocessError(`bad --views '${text}': ${hint}`);
  const clips = Number(m[1]);
  const crops = Number(m[2]);
  if (clips < 1 || clips > MAX_CLIPS) throw new PreprocessError(`bad --views '${text}': ${clips} clips; ${hint}`);
  if (crops !== 1 && crops !== 3) throw new PreprocessError(`bad --views '${text}': ${crops} crops; ${hint}`);
  return { clips, crops };
}

export function formatViews(v: Views): string {
  return `${v.clips}x${v.crops}`;
}

/**
 * Combines per-view logits [views, classes] (row-major) into one row: UniFormer sums them
 * (slowfast ENSEMBLE_METHOD "sum"), ViViT averages them (scenic test_step).
 */
export function aggregateViewLogits(logits: Float32Array, views: number, classes: number, mode: 'sum' | 'mean'): Float32Array {
  if (logits.length !== views * classes) throw new PreprocessError(`expected ${views}x${classes} logits, got ${logits.length} values`);
  const out = new Float64Array(classes);
  for (let v = 0; v < views; v++) for (let k = 0; k < classes; k++) out[k] += logits[v * classes + k]!;
  if (mode === 'mean') for (let k = 0; k < classes; k++) out[k] /= views;
  return Float32Array.from(out);
}
