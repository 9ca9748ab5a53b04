/**
 * Issue 5, "Every UniFormer and ViViT parity vector passes on `webgpu` at the same bound as on
 * `cpu`": the models package's reference vectors (packages/models/test/fixtures), run in Node on
 * the `webgpu` backend (Dawn; SwiftShader where there is no GPU), every stored output compared.
 *
 *  - UniFormer (official Sense-X code): video_tiny, image_tiny, image_convstem_tiny,
 *    det_hybrid_tiny, pose_tiny (backbone outputs; the head / decode belong to @tubelet/heads),
 *    inflate_tiny, and the eps-probing units — max|ours − ref| ≤ 1e-4·max(1, max|ref|).
 *  - ViViT (scenic reference): m1..m4 — the vivit README's tolerances, |ours − ref| ≤ atol + rtol·|ref|
 *    per element (atol 1e-5 for logits / pooled, 2e-5 otherwise; rtol 1e-5), as the cpu test.
 *
 * The same checks as packages/models/test/{uniformer-parity,uniformer-units,vivit-forward}.test.ts,
 * reusing their fixture helpers; one backend for the whole file (shader compilation dominates on
 * SwiftShader). Every case also checks that it leaves the live-tensor counters and the pool's
 * in-use bytes where they were, that its outputs live on webgpu, and that no GPU error was raised.
 */
import { type RawTensor, type Tensor, dispose, getBackendName, transpose } from '@tubelet/core';
import { type WebGpuBackend } from '@tubelet/kernels-webgpu';
import {
  CBlock,
  ChannelLayerNorm,
  LayerNorm,
  type Module,
  PatchEmbed,
  SABlock,
  VivitModel,
  WindowSABlock,
  applyUniformerWeights,
  configFromOfficial,
  createUniformer,
  fromHfPixelValues,
  normalizeUniformerKeys,
} from '@tubelet/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSt, toTensor } from '../../../packages/models/test/fixtures/uniformer/helpers';
import { readVector } from '../../../packages/models/test/vivit-helpers';
import { type Comparison, REQUIRE_WEBGPU, compareAsync, counters, setupWebGpu } from './webgpu-helpers';

const TAG = 'webgpu-models-parity';
const setup = await setupWebGpu(TAG);
const gpu = setup.backend as WebGpuBackend;

const report: string[] = [];
const t0 = performance.now();
afterAll(() => {
  const s = gpu?.stats();
  console.log(
    `[${TAG}] on webgpu (${gpu ? [gpu.adapterInfo.vendor, gpu.adapterInfo.architecture].filter(Boolean).join('/') : 'n/a'}), ${((performance.now() - t0) / 1000).toFixed(1)} s` +
      (s ? `, ${s.pipelines} pipelines, ${s.dispatches} dispatches, ${s.submits} submits, ${s.gpuErrors} GPU errors` : '') +
      `\n${report.join('\n')}`,
  );
});

/** Before / after snapshot of the counters a case must leave as it found them. */
function snapshot() {
  return counters(gpu);
}

function expectClean(before: ReturnType<typeof snapshot>, what: string): void {
  const after = snapshot();
  expect(after.memory, `${what}: live tensors / storages / bytes on webgpu`).toEqual(before.memory);
  expect(after.inUseBytes, `${what}: pool in-use bytes`).toBe(before.inUseBytes);
  expect(gpu.stats().gpuErrors, `${what}: GPU errors (last: ${gpu.lastGpuError})`).toBe(0);
}

function worstOf(rows: Comparison[], key: 'rel' | 'worst' = 'rel'): Comparison {
  return rows.reduce((w, r) => (!(r[key]! <= w[key]!) ? r : w), rows[0]!);
}

// ---------------------------------------------------------------------------------------------
// UniFormer

/** Outputs of pose_tiny that belong to the pose head / flip test / decode (issue of @tubelet/heads), not to the backbone. */
const POSE_HEAD_OUTPUTS = ['heatmap', 'heatmap_flipped_input_raw', 'heatmap_flipped_back_shifted', 'heatmap_flip_test', 'decode_preds', 'decode_boxes', 'center', 'scale'];

async function uniformerCase(name: string, ioFile: string, weightsFile: string, arch?: 'video', extra: Record<string, unknown> = {}): Promise<string[]> {
  const before = snapshot();
  const tStart = performance.now();
  const io = readSt(ioFile);
  const w = readSt(weightsFile);
  const cfg = configFromOfficial({ ...JSON.parse(io.metadata.config!), ...extra }, arch);
  const model = createUniformer(cfg);
  applyUniformerWeights(model, normalizeUniformerKeys(w.tensors).stateDict, { backend: 'webgpu', source: weightsFile });
  const outputs = [...io.tensors.keys()].filter((k) => k !== 'input' && !POSE_HEAD_OUTPUTS.includes(k));
  expect(outputs.filter((k) => !model.outputNames().includes(k)), 'outputs of the vector the model does not produce').toEqual([]);
  const x = toTensor(io.tensors.get('input')!);
  expect(x.backend).toBe('webgpu');
  const got = model.forward(x, { outputs });
  const rows: Comparison[] = [];
  try {
    for (const n of outputs) rows.push(await compareAsync(n, got.get(n)!, io.tensors.get(n)!));
  } finally {
    dispose(got);
    dispose(x);
    model.dispose();
  }
  const ms = performance.now() - tStart;
  const worst = worstOf(rows);
  report.push(`  uniformer ${name}: ${rows.length} tensors, worst ${worst.rel.toExponential(2)} (${worst.name}, max abs err ${worst.maxErr.toExponential(2)}, max|ref| ${worst.maxRef.toPrecision(3)}), ${(ms / 1000).toFixed(1)} s`);
  expect(rows.map((r) => r.backend).filter((b) => b !== 'webgpu'), 'outputs not on webgpu').toEqual([]);
  expect(rows.filter((r) => !r.ok).map((r) => `${r.name}: max err ${r.maxErr} > ${r.bound}`), name).toEqual([]);
  expectClean(before, name);
  return outputs;
}

describe.skipIf(!gpu)('UniFormer parity vectors on webgpu (1e-4·max(1, max|ref|))', () => {
  beforeAll(() => expect(getBackendName()).toBe('webgpu'));

  it('video_tiny: video model end to end, B=2, heads 1/2/3/4, T 8→4', async () => {
    const outputs = await uniformerCase('video_tiny', 'video_tiny.io.safetensors', 'video_tiny.weights.safetensors');
    expect(outputs).toContain('logits');
    expect(outputs.length).toBe(16);
  }, 120_000);

  it('image_tiny: patch-stem image classifier', async () => {
    expect((await uniformerCase('image_tiny', 'image_tiny.io.safetensors', 'image_tiny.weights.safetensors')).length).toBe(17);
  }, 120_000);

  it('image_convstem_tiny: S+ conv stem, head_dim 8', async () => {
    expect((await uniformerCase('image_convstem_tiny', 'image_convstem_tiny.io.safetensors', 'image_convstem_tiny.weights.safetensors')).length).toBe(16);
  }, 120_000);

  it('det_hybrid_tiny: hybrid stage 3, window 3 on 5×4 (pad after norm), out1..out4', async () => {
    const outputs = await uniformerCase('det_hybrid_tiny', 'det_hybrid_tiny.io.safetensors', 'det_hybrid_tiny.weights.safetensors');
    expect(outputs).toEqual(expect.arrayContaining(['out1', 'out2', 'out3', 'out4', 'blocks3.4']));
  }, 120_000);

  it('pose_tiny: pose backbone → backbone_out (head outputs belong to @tubelet/heads)', async () => {
    const outputs = await uniformerCase('pose_tiny', 'pose_tiny.io.safetensors', 'pose_tiny.weights.safetensors');
    expect(outputs).toContain('backbone_out');
  }, 120_000);

  it('inflate_tiny: video forward with the weights after official inflation', async () => {
    const cfg = JSON.parse(readSt('inflate_tiny.io.safetensors').metadata.config!);
    await uniformerCase('inflate_tiny', 'inflate_tiny.io.safetensors', 'inflate_tiny.video.weights.safetensors', 'video', { num_classes: cfg.video_num_classes });
  }, 120_000);
});

// ---------------------------------------------------------------------------------------------
// UniFormer eps-probing units

const units = readSt('units.io.safetensors').tensors;

function unitWeights(unit: string): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [k, v] of units) if (k.startsWith(`${unit}.w.`)) out.set(k.slice(unit.length + 3), toTensor(v));
  return out;
}

async function unitCase(unit: string, m: Module & { forward(x: Tensor): Tensor }): Promise<Comparison> {
  const before = snapshot();
  m.loadWeights(unitWeights(unit));
  const x = toTensor(units.get(`${unit}.input`)!);
  const y = m.forward(x);
  let r: Comparison;
  try {
    r = await compareAsync(unit, y, units.get(`${unit}.output`) as RawTensor);
  } finally {
    dispose([x, y]);
    m.dispose();
  }
  report.push(`  uniformer unit ${unit}: ${r.rel.toExponential(2)} (max abs err ${r.maxErr.toExponential(2)}, max|ref| ${r.maxRef.toPrecision(3)})`);
  expect(r.backend).toBe('webgpu');
  expect(r.maxErr, unit).toBeLessThanOrEqual(r.bound);
  expectClean(before, unit);
  return r;
}

// The unit vectors do not record the attention head count; 2 heads (head_dim 16) reproduces them.
const SA = { mlpRatio: 4, layerScale: false, numHeads: 2, qkvBias: true, qkScale: null };

describe.skipIf(!gpu)('UniFormer eps-probing units on webgpu', () => {
  it('video_stem: Conv3d 3×4×4 s(2,4,4) p(1,0,0) + LN eps 1e-5', async () => {
    await unitCase('video_stem', new PatchEmbed(3, 16, [3, 4, 4], [2, 4, 4], [1, 0, 0]));
  });
  it('video_patch_embed: Conv3d 1×2×2 + LN eps 1e-5', async () => {
    await unitCase('video_patch_embed', new PatchEmbed(16, 32, [1, 2, 2], [1, 2, 2]));
  });
  it('video_cblock: BN eps 1e-5 with running_var ~1e-6 (large outputs, relative bound)', async () => {
    await unitCase('video_cblock', new CBlock(16, 3, { mlpRatio: 4, layerScale: false }));
  });
  it('video_sablock: LN eps 1e-6', async () => {
    await unitCase('video_sablock', new SABlock(32, 3, SA));
  });
  it('image_sablock: LN eps 1e-6 (2-D)', async () => {
    await unitCase('image_sablock', new SABlock(32, 2, SA));
  });
  it('det_window_block: window 3 on 5×7 (pad 1 bottom, 2 right after the norm), LN eps 1e-6', async () => {
    await unitCase('det_window_block', new WindowSABlock(32, 3, SA));
  });
  it('det_out_norm: LN eps 1e-6, channel-last input; the channels-first module agrees', async () => {
    await unitCase('det_out_norm', new LayerNorm(32, 1e-6));
    // ChannelLayerNorm on the same numbers laid out channels-first
    const before = snapshot();
    const cl = new ChannelLayerNorm(32, 1e-6);
    cl.loadWeights(unitWeights('det_out_norm'));
    const x = toTensor(units.get('det_out_norm.input')!); // [1, 5, 7, 32]
    const xc = transpose(x, [0, 3, 1, 2]);
    const yc = cl.forward(xc);
    const y = transpose(yc, [0, 2, 3, 1]);
    const r = await compareAsync('det_out_norm (channels-first)', y, units.get('det_out_norm.output')!);
    dispose([x, xc, yc, y]);
    cl.dispose();
    report.push(`  uniformer unit det_out_norm via ChannelLayerNorm: ${r.rel.toExponential(2)}`);
    expect(r.maxErr).toBeLessThanOrEqual(r.bound);
    expectClean(before, 'det_out_norm channels-first');
  });
  it('a wrong eps is caught on webgpu too: LN eps 1e-5 in a block fails the bound', async () => {
    const before = snapshot();
    const m = new LayerNorm(32, 1e-5);
    m.loadWeights(unitWeights('det_out_norm'));
    const x = toTensor(units.get('det_out_norm.input')!);
    const y = m.forward(x);
    const r = await compareAsync('det_out_norm eps 1e-5', y, units.get('det_out_norm.output')!);
    dispose([x, y]);
    m.dispose();
    expect(r.maxErr).toBeGreaterThan(r.bound);
    expectClean(before, 'wrong eps');
  });
});

// ---------------------------------------------------------------------------------------------
// ViViT

const VIVIT_VECTORS = ['m1_tubelet_token', 'm1_lowvar_eps_probe', 'm1_framesample_gap', 'm2_tubelet_token', 'm2_framesample_gap', 'm3_tubelet_gap', 'm4_tubelet_gap'];

/** The vivit README's tolerances (as the cpu test): |a−b| ≤ 1e-5 + 1e-5·|b| (logits / pooled), ≤ 2e-5 + 1e-5·|b| (everything else). */
const vivitTol = (name: string) => (name === 'logits' || name === 'pooled' ? { atol: 1e-5, rtol: 1e-5 } : { atol: 2e-5, rtol: 1e-5 });

describe.skipIf(!gpu)('ViViT parity vectors on webgpu (README tolerances)', () => {
  for (const name of VIVIT_VECTORS) {
    it(name, async () => {
      const before = snapshot();
      const tStart = performance.now();
      const v = readVector(`${name}.safetensors`);
      const model = new VivitModel(v.config);
      model.loadWeights(v.weights());
      const pixelValues = v.tensor('input.pixel_values');
      const video = fromHfPixelValues(pixelValues); // HF [B, T, C, H, W] → [B, C, T, H, W]
      expect(video.backend).toBe('webgpu');
      expect(v.outputs.length).toBeGreaterThanOrEqual(7);
      const out = model.forwardOutputs(video, v.outputs);
      const logits = model.forward(video); // the plain forward: logits only
      const rows: Comparison[] = [];
      let plain: Comparison;
      try {
        expect(Object.keys(out).sort()).toEqual([...v.outputs].sort());
        for (const k of v.outputs) rows.push(await compareAsync(k, out[k]!, v.dict.get(`output.${k}`)!, vivitTol(k)));
        plain = await compareAsync('forward()', logits, v.dict.get('output.logits')!, vivitTol('logits'));
      } finally {
        dispose([logits, out, video, pixelValues]);
        model.dispose();
      }
      const ms = performance.now() - tStart;
      const worst = worstOf(rows, 'worst');
      const maxAbs = Math.max(...rows.map((r) => r.maxErr));
      const worstRel = worstOf(rows, 'rel');
      report.push(
        `  vivit ${name}: ${rows.length} tensors, worst |d|/(atol+rtol|ref|) ${worst.worst!.toFixed(3)} (${worst.name}, max abs err ${worst.maxErr.toExponential(2)}), max abs err ${maxAbs.toExponential(2)}, worst 1e-4 criterion ${worstRel.rel.toExponential(2)} (${worstRel.name}), ${(ms / 1000).toFixed(1)} s`,
      );
      expect([...rows, plain].map((r) => r.backend).filter((b) => b !== 'webgpu'), 'outputs not on webgpu').toEqual([]);
      expect(rows.filter((r) => !r.ok).map((r) => `${r.name}: max abs err ${r.maxErr}, worst ratio ${r.worst}`), name).toEqual([]);
      expect(plain.ok, `forward() logits: ${plain.maxErr}`).toBe(true);
      expectClean(before, name);
    }, 120_000);
  }

  it('the low-variance probe tells LayerNorm eps apart on webgpu (1e-6, not 1e-5 / 1e-12)', async () => {
    const before = snapshot();
    const v = readVector('m1_lowvar_eps_probe.safetensors');
    const pv = v.tensor('input.pixel_values');
    const video = fromHfPixelValues(pv);
    const ref = v.dict.get('output.logits')!;
    const err = async (eps: number) => {
      const m = new VivitModel({ ...v.config, layer_norm_eps: eps });
      m.loadWeights(v.weights());
      const l = m.forward(video);
      try {
        return (await compareAsync(`logits eps ${eps}`, l, ref)).maxErr;
      } finally {
        l.dispose();
        m.dispose();
      }
    };
    const e6 = await err(1e-6);
    const e5 = await err(1e-5);
    const e12 = await err(1e-12);
    dispose([pv, video]);
    report.push(`  vivit eps probe: logits max abs err eps 1e-6 ${e6.toExponential(2)}, 1e-5 ${e5.toExponential(2)}, 1e-12 ${e12.toExponential(2)}`);
    expect(e6).toBeLessThan(1e-5);
    expect(e5).toBeGreaterThan(1e-2);
    expect(e12).toBeGreaterThan(1e-3);
    expectClean(before, 'eps probe');
  }, 120_000);
});

describe('webgpu availability', () => {
  it('an adapter was found, or the reason was printed (and TUBELET_REQUIRE_WEBGPU is not set)', () => {
    if (!gpu) {
      expect(REQUIRE_WEBGPU).toBe(false);
      expect(setup.reason).toBeTruthy();
    } else expect(gpu.stats().gpuErrors).toBe(0);
  });
});
