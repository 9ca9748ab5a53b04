/** ViViT models 1–4 against the scenic reference vectors (every output each vector stores). */
import { type Tensor, dispose, memory, tensor, transpose } from '@tubelet/core';
import { afterAll, describe, expect, it } from 'vitest';
import { VivitModel, fromHfPixelValues, vivitRandomWeights } from '../src/index';
import { compare, readVector } from './vivit-helpers';

const VECTORS = ['m1_tubelet_token', 'm1_lowvar_eps_probe', 'm1_framesample_gap', 'm2_tubelet_token', 'm2_framesample_gap', 'm3_tubelet_gap', 'm4_tubelet_gap'];

/** README tolerances: |a−b| ≤ 1e-5 + 1e-5·|b| (logits / pooled), ≤ 2e-5 + 1e-5·|b| (everything else). */
const tol = (name: string) => (name === 'logits' || name === 'pooled' ? { atol: 1e-5, rtol: 1e-5 } : { atol: 2e-5, rtol: 1e-5 });

const report: string[] = [];
afterAll(() => console.log(`max |ours − reference| per vector:\n${report.join('\n')}`));

describe('ViViT forward vectors (cpu)', () => {
  for (const name of VECTORS) {
    it(name, () => {
      const before = memory('cpu');
      const v = readVector(`${name}.safetensors`);
      const model = new VivitModel(v.config);
      model.loadWeights(v.weights());
      const pixelValues = v.tensor('input.pixel_values');
      const video = fromHfPixelValues(pixelValues); // HF [B, T, C, H, W] → [B, C, T, H, W]
      expect(v.outputs.length).toBeGreaterThanOrEqual(7);
      const out = model.forwardOutputs(video, v.outputs);
      expect(Object.keys(out).sort()).toEqual([...v.outputs].sort());
      let worstAll = 0;
      const rows: string[] = [];
      for (const k of v.outputs) {
        const ref = v.tensor(`output.${k}`);
        expect(out[k]!.shape, k).toEqual(ref.shape);
        const { atol, rtol } = tol(k);
        const d = compare(out[k]!.dataSync() as Float32Array, ref.dataSync() as Float32Array, atol, rtol);
        expect(d.worst, `${name} ${k}: max abs err ${d.maxAbs}`).toBeLessThanOrEqual(1);
        worstAll = Math.max(worstAll, d.maxAbs);
        rows.push(`${k} ${d.maxAbs.toExponential(1)}`);
        ref.dispose();
      }
      report.push(`  ${name}: ${rows.join(', ')}`);
      // the plain forward returns the logits only
      const logits = model.forward(video);
      const ref = v.tensor('output.logits');
      expect(compare(logits.dataSync() as Float32Array, ref.dataSync() as Float32Array, 1e-5, 1e-5).worst).toBeLessThanOrEqual(1);
      dispose([logits, ref, out, video, pixelValues]);
      model.dispose();
      expect(memory('cpu')).toEqual(before);
    });
  }

  it('the low-variance probe tells LayerNorm eps apart (1e-6, not 1e-5 / 1e-12)', () => {
    const v = readVector('m1_lowvar_eps_probe.safetensors');
    const pv = v.tensor('input.pixel_values');
    const video = fromHfPixelValues(pv);
    const ref = v.tensor('output.logits');
    const err = (eps: number) => {
      const m = new VivitModel({ ...v.config, layer_norm_eps: eps });
      m.loadWeights(v.weights());
      const l = m.forward(video);
      const d = compare(l.dataSync() as Float32Array, ref.dataSync() as Float32Array, 1e-5, 1e-5);
      l.dispose();
      m.dispose();
      return d.maxAbs;
    };
    expect(err(1e-6)).toBeLessThan(1e-5);
    expect(err(1e-5)).toBeGreaterThan(1e-2);
    expect(err(1e-12)).toBeGreaterThan(1e-3);
    dispose([pv, video, ref]);
  });

  it("model 3 'time_space' runs temporal attention first (outputs differ from 'space_time')", () => {
    const v = readVector('m3_tubelet_gap.safetensors');
    const pv = v.tensor('input.pixel_values');
    const video = fromHfPixelValues(pv);
    const st = new VivitModel(v.config);
    st.loadWeights(v.weights());
    const ts = new VivitModel({ ...v.config, attention_order: 'time_space' });
    ts.loadWeights(v.weights());
    expect(ts.outputNames().slice(0, 4)).toEqual(['patch_embeddings', 'hidden_states.0', 'layer.0.after_temporal', 'layer.0.after_spatial']);
    const a = st.forwardOutputs(video, ['logits', 'hidden_states.0']);
    const b = ts.forwardOutputs(video, ['logits', 'hidden_states.0']);
    expect(compare(a['hidden_states.0']!.dataSync() as Float32Array, b['hidden_states.0']!.dataSync() as Float32Array, 0, 0).maxAbs).toBe(0);
    expect(compare(a.logits!.dataSync() as Float32Array, b.logits!.dataSync() as Float32Array, 0, 0).maxAbs).toBeGreaterThan(1e-2);
    dispose([a, b, pv, video]);
    st.dispose();
    ts.dispose();
  });

  it('tubelet embedding drops leftover frames, rows and columns (VALID)', () => {
    const v = readVector('m1_tubelet_token.safetensors');
    const m = new VivitModel(v.config);
    m.loadWeights(v.weights());
    const pv = v.tensor('input.pixel_values'); // [2, 8, 3, 32, 32]
    const video = fromHfPixelValues(pv);
    // pad with one extra frame and 7 extra rows / columns of garbage: same tokens
    const [B, C, T, H, W] = video.shape as number[];
    const src = video.dataSync() as Float32Array;
    const big = new Float32Array(B! * C! * (T! + 1) * (H! + 7) * (W! + 7)).fill(123);
    for (let b = 0; b < B!; b++)
      for (let c = 0; c < C!; c++)
        for (let t = 0; t < T!; t++)
          for (let h = 0; h < H!; h++) {
            const o = ((((b * C! + c) * (T! + 1) + t) * (H! + 7) + h) * (W! + 7));
            big.set(src.subarray((((b * C! + c) * T! + t) * H! + h) * W!, (((b * C! + c) * T! + t) * H! + h + 1) * W!), o);
          }
    const padded = tensor(big, [B!, C!, T! + 1, H! + 7, W! + 7]);
    const a = m.forward(video);
    const b = m.forward(padded);
    expect(Array.from(b.dataSync() as Float32Array)).toEqual(Array.from(a.dataSync() as Float32Array));
    dispose([a, b, padded, video, pv]);
    m.dispose();
  });

  it('rejects inputs that do not fit, naming the expected layout', () => {
    const v = readVector('m1_tubelet_token.safetensors');
    const m = new VivitModel(v.config);
    m.loadWeights(v.weights());
    const pv = v.tensor('input.pixel_values'); // HF layout [2, 8, 3, 32, 32]: channels in the wrong place
    expect(() => m.forward(pv)).toThrow(/\[N, C, T, H, W\].*fromHfPixelValues/);
    const short = tensor(new Float32Array(2 * 3 * 4 * 32 * 32), [2, 3, 4, 32, 32]);
    expect(() => m.forward(short)).toThrow(/2×4×4 token grid.*4×4×4/);
    expect(() => m.forwardOutputs(short, ['hidden_states.9'])).toThrow(/unknown output 'hidden_states\.9'/);
    dispose([pv, short]);
    m.dispose();
  });

  it('random initialisation is seeded and forwards without leaks', () => {
    const before = memory('cpu');
    const cfg = { model: 4, tubeletSize: [2, 4, 4], numFrames: 4, imageSize: [8, 8], hiddenSize: 16, numHeads: 2, numLayers: 1, mlpDim: 32, numClasses: 3 } as const;
    const m = new VivitModel(cfg);
    const w1 = vivitRandomWeights(m, 7);
    const w2 = vivitRandomWeights(m, 7);
    const w3 = vivitRandomWeights(m, 8);
    const k = 'vivit.encoder.layer.0.attention.attention.query.weight';
    expect(Array.from(w1.get(k)!.dataSync() as Float32Array)).toEqual(Array.from(w2.get(k)!.dataSync() as Float32Array));
    expect(Array.from(w1.get(k)!.dataSync() as Float32Array)).not.toEqual(Array.from(w3.get(k)!.dataSync() as Float32Array));
    // scenic: classifier zero-initialised, LayerNorm scale 1
    expect(Array.from(w1.get('classifier.weight')!.dataSync() as Float32Array).every((x) => x === 0)).toBe(true);
    expect(Array.from(w1.get('vivit.layernorm.weight')!.dataSync() as Float32Array).every((x) => x === 1)).toBe(true);
    m.loadWeights(w1);
    const x = tensor(new Float32Array(1 * 3 * 4 * 8 * 8).map((_, i) => Math.sin(i)), [1, 3, 4, 8, 8]);
    const all = m.forwardOutputs(x, 'all');
    expect(Object.keys(all)).toEqual(m.outputNames());
    expect(all['layer.0.attn_context']!.shape).toEqual([1, 8, 16]);
    dispose([all, x, w2, w3]);
    m.dispose();
    expect(memory('cpu')).toEqual(before);
  });
});

/** Keep the helper type import used. */
export type { Tensor };
