import {
  type RawTensor,
  type StateDict,
  type Tensor,
  dispose,
  getBackend,
  loadStateDict,
  rawToTensor,
  setBackend,
  tensorsToStateDict,
  writeSafetensorsFile,
} from '@tubelet/core';
import { UNIFORMER_ARCHS, configFromOfficial, fromHfPixelValues, loadUniformer, loadVivit } from '@tubelet/models';
import { readConfigFile } from '../config-file';
import { UserError } from '../main';
import { MASKRCNN_HEADS_INPUTS, runMaskRcnnHeads } from './detect';
import { poseModelFromOfficial, poseRunOutputs } from './pose';
import { registerOptionalBackends } from '../optional-backends';

export const RUN_ARCHS = [...Object.keys(UNIFORMER_ARCHS), 'vivit', 'maskrcnn-heads'] as const;

/** Host values of an optional tensor of the input file (e.g. the pose vectors' center / scale). */
function optionalValues(dict: StateDict, name: string): Float32Array | undefined {
  const t = dict.get(name);
  return t ? Float32Array.from(t.data as Float32Array) : undefined;
}

export interface RunOptions {
  arch: string;
  config: string;
  weights?: string;
  input: string;
  output: string;
  backend?: string;
  outputs?: string;
  seed?: string;
}

/** Input and output tensors of the vector files ride along in the same file; weights are the rest. */
function weightsOnly(dict: StateDict): StateDict {
  return new Map([...dict].filter(([k]) => k !== 'input' && !k.startsWith('input.') && !k.startsWith('output.')));
}

/**
 * The tensor named `input` ([N, C, T, H, W] video or [N, C, H, W] image). For ViViT, a file with
 * only `input.pixel_values` (Hugging Face layout [B, T, C, H, W]) is converted to [B, C, T, H, W].
 */
function pickInput(dict: StateDict, arch: string, file: string): { raw: RawTensor; hf: boolean } {
  const raw = dict.get('input');
  if (raw) return { raw, hf: false };
  const hf = dict.get('input.pixel_values');
  if (hf && arch === 'vivit') return { raw: hf, hf: true };
  throw new UserError(`${file} has no tensor named 'input' (it has: ${[...dict.keys()].slice(0, 6).join(', ')}${dict.size > 6 ? ', …' : ''})`);
}

async function writeOutputs(o: RunOptions, results: Map<string, Tensor>, backend: string, ms: number): Promise<void> {
  try {
    await writeSafetensorsFile(o.output, await tensorsToStateDict(results), { source: 'tubelet run', arch: o.arch, backend });
    console.log(`wrote ${results.size} output${results.size === 1 ? '' : 's'} (${[...results].map(([k, t]) => `${k} [${t.shape.join(', ')}]`).join(', ')}) to ${o.output}; ${o.arch} on ${backend} in ${(ms / 1000).toFixed(2)} s`);
  } finally {
    dispose(results);
  }
}

/** FPN → RPN → RoI → mask heads on backbone features `in.c2 … in.c5` of the input file (the maskrcnn vectors). */
async function runHeads(o: RunOptions, cfgJson: Record<string, unknown>, inputs: StateDict, backend: string): Promise<void> {
  const missing = MASKRCNN_HEADS_INPUTS.filter((k) => !inputs.has(k));
  if (missing.length) throw new UserError(`${o.input} lacks the backbone features ${missing.join(', ')} that maskrcnn-heads takes`);
  const weights = o.weights === undefined ? undefined : (await loadStateDict(o.weights)).stateDict;
  const seed = o.seed === undefined ? undefined : Number(o.seed);
  const requested = o.outputs?.split(',').map((s) => s.trim()).filter(Boolean);
  const feats = new Map(MASKRCNN_HEADS_INPUTS.map((k) => [k, rawToTensor(inputs.get(k)!, { backend })] as const));
  const t0 = performance.now();
  let results: Map<string, Tensor>;
  try {
    results = await runMaskRcnnHeads(cfgJson, weights, feats, { outputs: requested?.includes('all') ? 'all' : requested, seed, backend });
  } finally {
    dispose(feats);
  }
  await writeOutputs(o, results, backend, performance.now() - t0);
}

export async function runRun(o: RunOptions): Promise<void> {
  if (!RUN_ARCHS.includes(o.arch as (typeof RUN_ARCHS)[number])) throw new UserError(`unknown --arch '${o.arch}' (one of: ${RUN_ARCHS.join(', ')})`);
  if (!o.output.endsWith('.safetensors')) throw new UserError(`--output must be a .safetensors file, got '${o.output}'`);
  if (o.weights === undefined && o.seed === undefined) throw new UserError('give --weights (a checkpoint) or --seed N (random weights)');
  if (o.backend) {
    await registerOptionalBackends();
    await setBackend(o.backend);
  }
  const backend = getBackend().name;
  const cfgJson = await readConfigFile(o.config);
  const inputs = await loadStateDict(o.input).catch((e: Error) => {
    throw new UserError(`cannot read --input '${o.input}': ${e.message.split('\n')[0]}`);
  });
  if (o.arch === 'maskrcnn-heads') return runHeads(o, cfgJson, inputs.stateDict, backend);
  const { raw, hf } = pickInput(inputs.stateDict, o.arch, o.input);
  const weights = o.weights === undefined ? undefined : weightsOnly((await loadStateDict(o.weights)).stateDict);
  const seed = o.seed === undefined ? undefined : Number(o.seed);
  if (seed !== undefined && !Number.isInteger(seed)) throw new UserError(`--seed must be an integer, got '${o.seed}'`);
  const requested = o.outputs?.split(',').map((s) => s.trim()).filter(Boolean);

  const t0 = performance.now();
  let results: Map<string, Tensor>;
  const x0 = rawToTensor(raw, { backend });
  const x = hf ? fromHfPixelValues(x0) : x0;
  if (hf) x0.dispose();
  try {
    if (o.arch === 'vivit') {
      const model = await loadVivit(cfgJson, { weights, seed, backend });
      try {
        const names = requested ?? ['logits'];
        results = new Map(Object.entries(model.forwardOutputs(x, names.includes('all') ? 'all' : names)));
      } finally {
        model.dispose();
      }
    } else if (o.arch === 'uniformer-pose') {
      // the TopDown model: backbone + keypoint head, flip test and decoding (the pose_tiny outputs)
      const model = poseModelFromOfficial(cfgJson, { inputShape: x.shape, weights, seed, backend });
      try {
        const names = requested?.includes('all') ? 'all' : requested;
        results = await poseRunOutputs(model, x, { outputs: names, center: optionalValues(inputs.stateDict, 'center'), scale: optionalValues(inputs.stateDict, 'scale') });
      } finally {
        model.dispose();
      }
    } else {
      const cfg = configFromOfficial(cfgJson, o.arch as keyof typeof UNIFORMER_ARCHS);
      const model = await loadUniformer(cfg, { weights, seed, backend });
      try {
        const names = requested === undefined ? model.defaultOutputs() : requested.includes('all') ? model.outputNames() : requested;
        const unknown = names.filter((n) => !model.outputNames().includes(n));
        if (unknown.length) throw new UserError(`unknown output${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; this model has: ${model.outputNames().join(', ')}`);
        results = model.forward(x, { outputs: names });
      } finally {
        model.dispose();
      }
    }
  } finally {
    x.dispose();
  }
  await writeOutputs(o, results, backend, performance.now() - t0);
}
