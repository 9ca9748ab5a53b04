/**
 * `tubelet export <model> [--weights W | --seed N] --format onnx out.onnx`: traces the model's
 * forward on the tracing backend (with its weights), maps it to ONNX opset 17 with a dynamic batch
 * dim (`N`) and writes the file. A named model (see `tubelet models`) or a custom config
 * (`--arch A --config cfg.json|vectors.safetensors`, as `tubelet run`) is exported.
 */
import { stat, writeFile } from 'node:fs/promises';
import { type StateDict, type Tensor, decodeOnnxModel, exportOnnx, loadStateDict, traceForExport } from '@tubelet/core';
import {
  UNIFORMER_ARCHS,
  VIVIT_PRESETS,
  VivitModel,
  configFromOfficial,
  createUniformer,
  loadUniformer,
  loadVivit,
  uniformerPresets,
  type UniformerConfig,
  type VivitConfigInput,
} from '@tubelet/models';
import { DownloadError, fetchWeights } from '../download/index';
import { bytes } from '../format';
import { readConfigFile } from '../config-file';
import { UserError } from '../main';
import { presetInputShape } from './models';

export const EXPORT_USAGE =
  'tubelet export <model> <out.onnx> [--format onnx] [--weights PATH|URL [--sha256 HEX] | --seed N] [--input-shape 1x3x16x224x224] [--outputs a,b,…] | tubelet export --arch <arch> --config cfg.json|vectors.safetensors <out.onnx> …';

export interface ExportOptions {
  /** A named model (or undefined with `arch` + `config`). */
  model?: string;
  /** Where to write the .onnx file. */
  output: string;
  format?: string;
  weights?: string;
  sha256?: string;
  seed?: string;
  /** Custom model: `uniformer-video` … or `vivit`, with the config from a JSON file or a vectors file's metadata. */
  arch?: string;
  config?: string;
  /** The traced input shape, e.g. '1x3x16x224x224' (the batch dim stays dynamic). */
  inputShape?: string;
  /** Named outputs to export instead of the model's default ones (comma-separated). */
  outputs?: string;
  /** Progress lines on stderr (default true). */
  quiet?: boolean;
}

export interface ExportResult {
  file: string;
  bytes: number;
  inputs: { name: string; shape: (number | string | null)[] }[];
  outputs: { name: string; shape: (number | string | null)[] | undefined }[];
  nodes: number;
  initializers: number;
  params: number;
  randomWeights: boolean;
}

const isTty = () => Boolean(process.stderr.isTTY);
const loud = (s: string) => (isTty() ? `\x1b[1;33m${s}\x1b[0m` : s);
const oneLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0]!.trim();

const VIVIT_ARCH = 'vivit';
const ARCHS = [...Object.keys(UNIFORMER_ARCHS), VIVIT_ARCH];

function parseShape(s: string): number[] {
  const dims = s.split(/[x×,]/).map((d) => d.trim());
  const n = dims.map(Number);
  if (!dims.length || dims.some((d) => !/^\d+$/.test(d)) || n.some((d) => d < 1)) throw new UserError(`bad --input-shape '${s}': expected positive integers like 1x3x16x224x224`, 2);
  return n;
}

async function readWeightsFile(w: string, sha256: string | undefined): Promise<{ dict: StateDict; path: string }> {
  let path = w;
  if (/^https?:\/\//i.test(w)) {
    try {
      path = await fetchWeights(w, { sha256 });
    } catch (e) {
      if (e instanceof DownloadError) throw new UserError(oneLine(e));
      throw e;
    }
  } else {
    try {
      if (!(await stat(w)).isFile()) throw new Error('not a file');
    } catch (e) {
      throw new UserError(`cannot read --weights '${w}': ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : oneLine(e)}`);
    }
  }
  try {
    const { stateDict } = await loadStateDict(path);
    // the parity-vector files carry their input / outputs next to the weights
    return { dict: new Map([...stateDict].filter(([k]) => k !== 'input' && !k.startsWith('input.') && !k.startsWith('output.'))), path };
  } catch (e) {
    throw new UserError(`cannot read the weights '${w}': ${oneLine(e)}`);
  }
}

interface Exportable {
  label: string;
  inputName: string;
  inputShape: number[];
  params: Map<string, Tensor>;
  outputs: string[];
  fn: (x: Tensor, ctx: { params: Map<string, Tensor> }) => Map<string, Tensor> | Record<string, Tensor>;
  dispose(): void;
}

function misfit(e: unknown, source: string, label: string): UserError {
  const err = e as { name?: string; missing?: string[]; unexpected?: string[]; mismatched?: { key: string }[] };
  if (err?.name === 'StateDictError') {
    const parts = [
      err.missing?.length ? `${err.missing.length} missing keys (e.g. ${err.missing[0]})` : '',
      err.unexpected?.length ? `${err.unexpected.length} unexpected keys (e.g. ${err.unexpected[0]})` : '',
      err.mismatched?.length ? `${err.mismatched.length} shape mismatches (e.g. ${err.mismatched[0]!.key})` : '',
    ].filter(Boolean);
    return new UserError(`the weights '${source}' are for another model, not ${label}: ${parts.join(', ')}`);
  }
  return new UserError(`the weights '${source}' do not fit ${label}: ${oneLine(e)}`);
}

async function uniformerExportable(label: string, cfg: UniformerConfig | Parameters<typeof loadUniformer>[0], shape: number[], weights: StateDict | undefined, seed: number, src: string | undefined, outputs: string[] | undefined): Promise<Exportable> {
  let model: Awaited<ReturnType<typeof loadUniformer>>;
  try {
    model = await loadUniformer(cfg, weights ? { weights, backend: 'cpu' } : { seed, backend: 'cpu' });
  } catch (e) {
    if (weights) throw misfit(e, src!, label);
    throw e;
  }
  const config = model.config;
  const names = outputs ?? model.defaultOutputs();
  const unknown = names.filter((n) => !model.outputNames().includes(n));
  if (unknown.length) {
    model.dispose();
    throw new UserError(`unknown output${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; ${label} has: ${model.outputNames().join(', ')}`);
  }
  return {
    label,
    inputName: 'input',
    inputShape: shape,
    params: model.namedTensors(),
    outputs: names,
    fn: (x, ctx) => {
      const m = createUniformer(config);
      m.loadWeights(ctx.params);
      return m.forward(x, { outputs: names });
    },
    dispose: () => model.dispose(),
  };
}

async function vivitExportable(label: string, cfg: string | VivitConfigInput, shape: number[] | null, weights: StateDict | undefined, seed: number, src: string | undefined, outputs: string[] | undefined): Promise<Exportable> {
  let model: VivitModel;
  try {
    model = await loadVivit(cfg, weights ? { weights, backend: 'cpu' } : { seed, backend: 'cpu' });
  } catch (e) {
    if (weights) throw misfit(e, src!, label);
    throw e;
  }
  const c = model.config;
  const names = outputs ?? [model.finalOutput];
  const unknown = names.filter((n) => !model.outputNames().includes(n));
  if (unknown.length) {
    model.dispose();
    throw new UserError(`unknown output${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; ${label} has: ${model.outputNames().join(', ')}`);
  }
  return {
    label,
    inputName: 'video',
    inputShape: shape ?? [1, c.numChannels, c.numFrames, c.imageSize[0], c.imageSize[1]],
    params: model.namedTensors(),
    outputs: names,
    fn: (x, ctx) => {
      const m = new VivitModel(c);
      m.loadWeights(ctx.params);
      return m.forwardOutputs(x, names);
    },
    dispose: () => model.dispose(),
  };
}

/** `tubelet export`: writes the ONNX file and prints what it holds. */
export async function runExport(o: ExportOptions): Promise<ExportResult> {
  const format = (o.format ?? 'onnx').toLowerCase();
  if (format !== 'onnx') throw new UserError(`unsupported --format '${o.format}' (supported: onnx)`, 2);
  if (!o.output.toLowerCase().endsWith('.onnx')) throw new UserError(`the output file must end in .onnx, got '${o.output}'`, 2);
  if (o.weights !== undefined && o.seed !== undefined) throw new UserError('--seed is for random weights; it cannot be combined with --weights', 2);
  if (o.sha256 !== undefined && o.weights === undefined) throw new UserError('--sha256 checks --weights; give both', 2);
  const seed = o.seed === undefined ? 0 : Number(o.seed);
  if (o.seed !== undefined && (!/^\s*-?\d+\s*$/.test(o.seed) || !Number.isSafeInteger(seed))) throw new UserError(`bad --seed '${o.seed}': expected an integer`, 2);
  if ((o.arch === undefined) !== (o.config === undefined)) throw new UserError('--arch and --config go together (a custom model); or name a model', 2);
  if (o.model !== undefined && o.arch !== undefined) throw new UserError('name a model or give --arch/--config, not both', 2);
  if (o.model === undefined && o.arch === undefined) throw new UserError(`name a model (see 'tubelet models') or give --arch and --config; usage: ${EXPORT_USAGE}`, 2);
  const shape = o.inputShape === undefined ? null : parseShape(o.inputShape);
  const outputs = o.outputs?.split(',').map((s) => s.trim()).filter(Boolean);
  const log = (s: string) => {
    if (!o.quiet) console.error(s);
  };

  const weights = o.weights === undefined ? undefined : await readWeightsFile(o.weights, o.sha256);
  if (!weights) {
    console.error(loud(`tubelet: WARNING: no --weights given: exporting SEEDED RANDOM weights (seed ${seed}), NOT a trained model — its outputs mean nothing; pass --weights <checkpoint path or URL>`));
  }

  let ex: Exportable;
  if (o.model !== undefined) {
    const preset = uniformerPresets().find((p) => p.name === o.model);
    if (preset) {
      ex = await uniformerExportable(o.model, preset.name, shape ?? presetInputShape(preset), weights?.dict, seed, o.weights, outputs);
    } else if (o.model in VIVIT_PRESETS) {
      ex = await vivitExportable(o.model, o.model, shape, weights?.dict, seed, o.weights, outputs);
    } else {
      throw new UserError(`unknown model '${o.model}' (list them with 'tubelet models', or export a custom config with --arch and --config)`);
    }
  } else {
    if (!ARCHS.includes(o.arch!)) throw new UserError(`unknown --arch '${o.arch}' (one of: ${ARCHS.join(', ')})`, 2);
    const cfgJson = await readConfigFile(o.config!);
    const label = `${o.arch} (${o.config})`;
    if (o.arch === VIVIT_ARCH) {
      ex = await vivitExportable(label, cfgJson as unknown as VivitConfigInput, shape, weights?.dict, seed, o.weights, outputs);
    } else {
      const cfg = configFromOfficial(cfgJson, o.arch as keyof typeof UNIFORMER_ARCHS);
      const fromCfg = Array.isArray(cfgJson.input_shape) ? [1, ...(cfgJson.input_shape as number[]).slice(1)] : null;
      const inShape = shape ?? fromCfg;
      if (!inShape) throw new UserError(`give --input-shape (the config has no input_shape), e.g. ${cfg.kind === 'video' ? '1x3x16x224x224' : '1x3x224x224'}`, 2);
      ex = await uniformerExportable(label, cfg, inShape, weights?.dict, seed, o.weights, outputs);
    }
  }

  const t0 = performance.now();
  let model: Uint8Array;
  let traced: number;
  const params = [...ex.params.values()].reduce((n, t) => n + t.size, 0);
  try {
    log(`tracing ${ex.label} on input ${ex.inputName} [${ex.inputShape.join(', ')}] …`);
    const { graph, probe } = await traceForExport(ex.fn, [{ name: ex.inputName, shape: ex.inputShape }], { params: ex.params });
    traced = graph.nodes.length;
    ex.dispose();
    model = exportOnnx(graph, {
      batchProbe: probe,
      producer: 'tubelet',
      graphName: ex.label.replace(/[^\w.-]+/g, '_'),
      metadata: { model: ex.label, weights: weights ? (o.weights ?? '') : `random (seed ${seed})` },
    });
  } catch (e) {
    ex.dispose();
    const err = e as Error;
    if (err.name === 'OnnxExportError') throw new UserError(`cannot export ${ex.label}: ${oneLine(e)}`);
    throw e;
  }
  try {
    await writeFile(o.output, model);
  } catch (e) {
    throw new UserError(`cannot write '${o.output}': ${oneLine(e)}`);
  }
  const d = decodeOnnxModel(model);
  const fmt = (s: (number | string | null)[] | undefined) => (s ? `[${s.map((x) => x ?? '?').join(', ')}]` : '[?]');
  const result: ExportResult = {
    file: o.output,
    bytes: model.length,
    inputs: d.graph.inputs.map((i) => ({ name: i.name, shape: i.shape ?? [] })),
    outputs: d.graph.outputs.map((x) => ({ name: x.name, shape: x.shape })),
    nodes: d.graph.nodes.length,
    initializers: d.graph.initializers.length,
    params,
    randomWeights: !weights,
  };
  console.log(`wrote ${o.output} (${bytes(model.length)}): ONNX opset 17, ${ex.label}, ${traced} traced ops → ${result.nodes} nodes, ${result.initializers} initializers (${params.toLocaleString('en-US')} parameters)`);
  console.log(`  inputs   ${result.inputs.map((i) => `${i.name} ${fmt(i.shape)} float32`).join(', ')}   (N = dynamic batch)`);
  console.log(`  outputs  ${result.outputs.map((x) => `${x.name} ${fmt(x.shape)}`).join(', ')}`);
  console.log(`  weights  ${weights ? o.weights : `RANDOM (seed ${seed}) — not trained`}; exported in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return result;
}

/** The ONNX bytes of a named model with seeded random weights (for `tubelet bench --vs onnx`). */
export async function onnxForNamedModel(name: string, seed: number, shape?: number[]): Promise<{ bytes: Uint8Array; inputName: string; inputShape: number[] }> {
  const preset = uniformerPresets().find((p) => p.name === name);
  let ex: Exportable;
  if (preset) ex = await uniformerExportable(name, preset.name, shape ?? presetInputShape(preset), undefined, seed, undefined, undefined);
  else if (name in VIVIT_PRESETS) ex = await vivitExportable(name, name, shape ?? null, undefined, seed, undefined, undefined);
  else throw new UserError(`unknown model '${name}' (list them with 'tubelet models')`);
  try {
    const { graph, probe } = await traceForExport(ex.fn, [{ name: ex.inputName, shape: ex.inputShape }], { params: ex.params });
    return { bytes: exportOnnx(graph, { batchProbe: probe, producer: 'tubelet' }), inputName: ex.inputName, inputShape: ex.inputShape };
  } finally {
    ex.dispose();
  }
}
