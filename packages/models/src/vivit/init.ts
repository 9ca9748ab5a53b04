import { type Tensor, tensor } from '@tubelet/core';
import type { VivitModel } from './model';

/** A small seeded PRNG (mulberry32) with Box–Muller normals; deterministic across platforms. */
export class SeededRandom {
  #s: number;
  #spare: number | null = null;
  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new RangeError(`SeededRandom: seed must be a finite number, got ${seed}`);
    this.#s = Math.trunc(seed) >>> 0 || 0x9e3779b9;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  normal(): number {
    if (this.#spare !== null) {
      const v = this.#spare;
      this.#spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
}

/** How scenic initialises a parameter (by its role, judged from the HF-style name). */
export type InitRule = { kind: 'zeros' } | { kind: 'ones' } | { kind: 'normal'; std: number } | { kind: 'uniform'; limit: number };

/**
 * scenic's fresh initialisation, by parameter role:
 *  - embedding conv: lecun normal (std sqrt(1/fan_in); Flax truncates at 2σ, we do not)
 *  - attention q/k/v/out and MLP kernels: xavier uniform; attention biases 0; MLP biases N(0, 1e-6²)
 *  - LayerNorm scale 1, bias 0; position embeddings N(0, 0.02²); CLS tokens 0
 *  - classifier (output_projection) kernel and bias 0 (scenic's choice for fine-tuning)
 *  - pre_logits: xavier uniform, bias 0
 */
export function scenicInitRule(name: string, shape: readonly number[]): InitRule {
  const last = name.slice(name.lastIndexOf('.') + 1);
  if (name.startsWith('classifier.')) return { kind: 'zeros' };
  if (name.endsWith('cls_token')) return { kind: 'zeros' };
  if (name.endsWith('position_embeddings')) return { kind: 'normal', std: 0.02 };
  if (/layernorm/.test(name)) return last === 'weight' ? { kind: 'ones' } : { kind: 'zeros' };
  if (name.includes('patch_embeddings.projection')) {
    if (last === 'bias') return { kind: 'zeros' };
    const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
    return { kind: 'normal', std: Math.sqrt(1 / fanIn) };
  }
  if (last === 'bias') return /(intermediate|output)\.dense\.bias$/.test(name) && !/attention/.test(name) ? { kind: 'normal', std: 1e-6 } : { kind: 'zeros' };
  if (shape.length === 2) return { kind: 'uniform', limit: Math.sqrt(6 / (shape[0]! + shape[1]!)) };
  return { kind: 'zeros' };
}

/** Fills one parameter by a rule (host-side weight generation, not model code). */
export function initTensor(rule: InitRule, shape: readonly number[], rng: SeededRandom, backend?: string): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  switch (rule.kind) {
    case 'zeros':
      break;
    case 'ones':
      v.fill(1);
      break;
    case 'normal':
      for (let i = 0; i < n; i++) v[i] = rule.std * rng.normal();
      break;
    case 'uniform':
      for (let i = 0; i < n; i++) v[i] = (2 * rng.uniform() - 1) * rule.limit;
      break;
  }
  return tensor(v, shape as number[], { backend });
}

/**
 * A fresh, seeded set of weights for a model (scenic's initialisers, see scenicInitRule), as a
 * Map in the model's parameter order. The same seed always gives the same weights.
 */
export function vivitRandomWeights(model: Pick<VivitModel, 'parameterShapes'>, seed = 0, backend?: string): Map<string, Tensor> {
  const rng = new SeededRandom(seed);
  const out = new Map<string, Tensor>();
  for (const [k, s] of model.parameterShapes()) out.set(k, initTensor(scenicInitRule(k, s), s, rng, backend));
  return out;
}
