/** Loading ViViT checkpoints (HF layout as safetensors / .pth, bare VivitModel, scenic trees), named configs, tracing. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type StateDict, type Tensor, dispose, memory, serializeSafetensors, tensor, tensorsToStateDict } from '@tubelet/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  StateDictError,
  VIVIT_PRESETS,
  VivitModel,
  fromHfPixelValues,
  loadVivit,
  normalizeVivitFrames,
  scenicToHfName,
  traceVivit,
  vivitConfigFromHf,
  vivitConfigToJson,
  vivitPreset,
} from '../src/index';
import { compare, readVector, toScenic, writePth } from './vivit-helpers';

function weightsDict(name: string, rename: (k: string) => string | null = (k) => k): StateDict {
  const v = readVector(name);
  const d: StateDict = new Map();
  for (const [k, t] of v.dict) {
    if (k.startsWith('input.') || k.startsWith('output.')) continue;
    const n = rename(k);
    if (n !== null) d.set(n, t);
  }
  return d;
}

/** Runs a loaded model on a vector's input and returns max |Δ| against one of its outputs. */
function check(model: VivitModel, name: string, output = 'logits'): number {
  const v = readVector(name);
  const pv = v.tensor('input.pixel_values');
  const video = fromHfPixelValues(pv);
  const out = model.forwardOutputs(video, [output]);
  const ref = v.tensor(`output.${output}`);
  const d = compare(out[output]!.dataSync() as Float32Array, ref.dataSync() as Float32Array, 1e-5, 1e-5);
  dispose([pv, video, out, ref]);
  return d.worst <= 1 ? d.maxAbs : Infinity;
}

describe('loadVivit: checkpoint formats and key layouts', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tubelet-vivit-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('HF layout from a safetensors file and from bytes', async () => {
    const before = memory('cpu');
    const v = readVector('m1_tubelet_token.safetensors');
    const bytes = serializeSafetensors(weightsDict('m1_tubelet_token.safetensors'));
    const path = join(dir, 'm1.safetensors');
    await writeFile(path, bytes);
    for (const weights of [path, bytes]) {
      const m = await loadVivit(v.config, { weights });
      expect(check(m, 'm1_tubelet_token.safetensors')).toBeLessThan(1e-6);
      m.dispose();
    }
    expect(memory('cpu')).toEqual(before);
  });

  it('HF layout from a PyTorch zip .pth (torch.save state dict)', async () => {
    const v = readVector('m2_tubelet_token.safetensors');
    const path = join(dir, 'm2.pth');
    await writeFile(path, writePth(weightsDict('m2_tubelet_token.safetensors')));
    const m = await loadVivit(v.config, { weights: path });
    expect(check(m, 'm2_tubelet_token.safetensors')).toBeLessThan(1e-6);
    m.dispose();
  });

  it('bare HF VivitModel keys (no `vivit.` prefix, unused pooler) into a headless model', async () => {
    const v = readVector('m1_tubelet_token.safetensors');
    const d = weightsDict('m1_tubelet_token.safetensors', (k) => (k.startsWith('classifier.') ? null : k.replace(/^vivit\./, '')));
    d.set('pooler.dense.weight', { dtype: 'F32', shape: [32, 32], data: new Float32Array(32 * 32) });
    d.set('pooler.dense.bias', { dtype: 'F32', shape: [32], data: new Float32Array(32) });
    const m = await loadVivit(v.config, { weights: writePth(d), config: { numClasses: 0 } });
    expect(m.finalOutput).toBe('pooled');
    expect(check(m, 'm1_tubelet_token.safetensors', 'pooled')).toBeLessThan(1e-6);
    m.dispose();
  });

  for (const name of ['m1_tubelet_token', 'm2_tubelet_token', 'm3_tubelet_gap', 'm4_tubelet_gap', 'm1_framesample_gap']) {
    it(`scenic Flax names and layouts (spec §9): ${name}`, async () => {
      const before = memory('cpu');
      const v = readVector(`${name}.safetensors`);
      const hf = v.weights();
      const scenic = toScenic(hf, v.config.num_heads as number, v.config.model === 3);
      const m = await loadVivit(v.config, { weights: scenic });
      expect(check(m, `${name}.safetensors`)).toBeLessThan(1e-6);
      m.dispose();
      dispose([hf, scenic]);
      expect(memory('cpu')).toEqual(before);
    });
  }

  it('maps scenic names one by one', () => {
    expect(scenicToHfName('params/Transformer/encoderblock_3/MultiHeadDotProductAttention_0/out/kernel')).toEqual(['vivit.encoder.layer.3.attention.output.dense.weight', 'out']);
    expect(scenicToHfName('SpatialTransformer/encoderblock_0/MlpBlock_0/Dense_1/bias')).toEqual(['vivit.spatial_encoder.layer.0.output.dense.bias', 'none']);
    expect(scenicToHfName('Transformer/encoderblock_1/LayerNorm_time/scale')).toEqual(['vivit.encoder.layer.1.layernorm_temporal.weight', 'none']);
    expect(scenicToHfName('cls_TemporalTransformer')).toEqual(['vivit.temporal_embeddings.cls_token', 'none']);
    expect(scenicToHfName('TemporalTransformer/posembed_input/pos_embedding')).toEqual(['vivit.temporal_embeddings.position_embeddings', 'none']);
    expect(scenicToHfName('embedding/kernel')).toEqual(['vivit.embeddings.patch_embeddings.projection.weight', 'conv']);
    expect(scenicToHfName('Transformer/encoderblock_0/Unknown/kernel')).toBeNull();
  });

  it('loading errors name every missing, unexpected and mis-shaped key', async () => {
    const v = readVector('m1_tubelet_token.safetensors');
    const d = weightsDict('m1_tubelet_token.safetensors');
    d.delete('vivit.encoder.layer.1.attention.attention.key.bias');
    d.set('vivit.encoder.layer.2.layernorm_before.weight', { dtype: 'F32', shape: [32], data: new Float32Array(32) });
    const before = memory('cpu');
    const err = await loadVivit({ ...v.config, num_frames: 16 }, { weights: serializeSafetensors(d) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StateDictError);
    const e = err as StateDictError;
    expect(e.missing).toEqual(['vivit.encoder.layer.1.attention.attention.key.bias']);
    expect(e.unexpected).toEqual(['vivit.encoder.layer.2.layernorm_before.weight']);
    expect(e.mismatched).toEqual([{ key: 'vivit.embeddings.position_embeddings', expected: [1, 129, 32], got: [1, 65, 32] }]);
    expect(e.message).toMatch(/missing keys: vivit\.encoder\.layer\.1\.attention\.attention\.key\.bias/);
    expect(memory('cpu')).toEqual(before); // nothing leaked on failure
    // a model-2 checkpoint offered to model 1
    await expect(loadVivit(v.config, { weights: serializeSafetensors(weightsDict('m2_tubelet_token.safetensors')) })).rejects.toThrow(/missing keys: vivit\.embeddings\.cls_token.*unexpected keys: vivit\.spatial_embeddings/);
    // an unknown scenic name
    const t = new Map<string, Tensor>([['Transformer/encoderblock_0/Foo/kernel', tensor([1], [1])]]);
    await expect(loadVivit(v.config, { weights: t })).rejects.toThrow(/not scenic ViViT parameter names: Transformer\/encoderblock_0\/Foo\/kernel/);
    dispose(t);
  });

  it('keeps the caller’s tensors untouched and owned by the caller', async () => {
    const v = readVector('m4_tubelet_gap.safetensors');
    const w = v.weights();
    const m = await loadVivit(v.config, { weights: w });
    m.dispose();
    expect([...w.values()].every((t) => !t.isDisposed)).toBe(true);
    const sd = await tensorsToStateDict(w);
    expect(sd.size).toBe(w.size);
    dispose(w);
  });
});

describe('named configs, HF config.json, preprocessing and tracing', () => {
  it('vivit-b-16x2-k400 and friends', () => {
    expect(Object.keys(VIVIT_PRESETS)).toEqual(['vivit-b-16x2-k400', 'vivit-b-16x2-fe-k400', 'vivit-l-16x2-k400', 'vivit-l-16x2-fe-k400']);
    const b = vivitPreset('vivit-b-16x2-k400');
    expect(b.config).toMatchObject({ model: 1, embedding: 'tubelet', tubeletSize: [2, 16, 16], numFrames: 32, imageSize: [224, 224], hiddenSize: 768, numHeads: 12, numLayers: 12, mlpDim: 3072, classifier: 'token', numClasses: 400, layerNormEps: 1e-6 });
    expect(b.preprocessing).toMatchObject({ numFrames: 32, frameStride: 2, minResize: 256, cropSize: 224, offset: -1, layout: 'NCTHW' });
    expect(b.preprocessing.scale).toBeCloseTo(2 / 255, 15);
    expect(b.checkpoint).toBe('google/vivit-b-16x2-kinetics400');
    const m = new VivitModel(b.config);
    expect(m.numParameters()).toBe(88_954_000); // HF google/vivit-b-16x2-kinetics400
    expect(m.grid).toMatchObject({ nt: 16, nh: 14, nw: 14, tokens: 3136 });
    expect(vivitPreset('vivit-b-16x2-fe-k400').config).toMatchObject({ model: 2, temporalNumLayers: 4, temporalNumHeads: 12, temporalMlpDim: 3072 });
    expect(vivitPreset('vivit-l-16x2-fe-k400').config).toMatchObject({ model: 2, hiddenSize: 1024, numLayers: 24, numHeads: 16, mlpDim: 4096, temporalNumLayers: 24 });
    expect(vivitPreset('vivit-l-16x2-k400').config).toMatchObject({ model: 1, hiddenSize: 1024, numLayers: 24, numHeads: 16, mlpDim: 4096 });
    expect(() => vivitPreset('vivit-x')).toThrow(/known: vivit-b-16x2-k400/);
  });

  it('accepts the vectors’ config metadata and HF config.json as is', () => {
    const v = readVector('m2_framesample_gap.safetensors');
    const m = new VivitModel(v.config);
    expect(vivitConfigToJson(m.config)).toMatchObject({ model: 2, embedding: 'frame_sampling', n_sampled_frames: 4, temporal_num_layers: 1, temporal_mlp_dim: 48 });
    expect(m.grid.frameIndices).toEqual(v.config.sampled_frame_indices);
    const hf = vivitConfigFromHf({ image_size: 224, num_frames: 32, tubelet_size: [2, 16, 16], hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072, hidden_act: 'gelu_fast', layer_norm_eps: 1e-6, qkv_bias: true, num_labels: 400 });
    expect(hf).toEqual(vivitPreset('vivit-b-16x2-k400').config);
    expect(() => vivitConfigFromHf({ hidden_act: 'gelu' })).toThrow(/tanh GELU/);
    expect(() => new VivitModel({ model: 3, classifier: 'token' })).toThrow(/no CLS token/);
    expect(() => new VivitModel({ model: 4, numHeads: 3, hiddenSize: 12 })).toThrow(/must be even/);
  });

  it('normalizeVivitFrames: uint8 [T, H, W, C] → [1, C, T, H, W] as x·2/255 − 1', () => {
    const frames = tensor(new Uint8Array([0, 255, 51, 128, 1, 2]), [2, 1, 1, 3]);
    const x = normalizeVivitFrames(frames);
    expect(x.shape).toEqual([1, 3, 2, 1, 1]);
    const v = Array.from(x.dataSync() as Float32Array);
    const f = (u: number) => Math.fround(Math.fround(u * Math.fround(2 / 255)) - 1);
    expect(v).toEqual([f(0), f(128), f(255), f(1), f(51), f(2)]);
    dispose([frames, x]);
  });

  it('traces vivit-b-16x2-k400 shape-only: 88,954,000 parameters, ≈ 911.6 GFLOPs', async () => {
    const before = memory('cpu');
    const t = await traceVivit('vivit-b-16x2-k400');
    expect(t.params).toBe(88_954_000);
    expect(t.flops / 1e9).toBeCloseTo(911.6, 0);
    expect(t.report).toMatch(/parameters\s+88\.954 M/);
    const ops = t.summary.byOp.map((o) => o.op);
    expect(ops.slice(0, 2)).toEqual(['linear', 'sdpa']);
    expect(memory('cpu')).toEqual(before);
  });
});
