/** scenic's uniform frame sampling, bit-exact, and the frame-sampling embedding geometry. */
import { readFileSync } from 'node:fs';
import { dispose, tensor } from '@tubelet/core';
import { describe, expect, it } from 'vitest';
import { VivitModel, arangeFloat32, roundHalfEven, uniformFrameIndices, vivitConfig, vivitRandomWeights, vivitTokenGrid } from '../src/index';
import { fixture } from './vivit-helpers';

describe('uniformFrameIndices (scenic sample_frames_uniformly)', () => {
  it('matches the exhaustive table for every T ≤ 64 and n ≤ T + 1', () => {
    const { table } = JSON.parse(readFileSync(fixture('frame_sampling_indices.json'), 'utf8')) as { table: Record<string, number[]> };
    const keys = Object.keys(table);
    expect(keys.length).toBe(2144);
    const wrong = keys.filter((k) => {
      const [T, n] = k.split(',').map(Number) as [number, number];
      return JSON.stringify(uniformFrameIndices(T, n)) !== JSON.stringify(table[k]);
    });
    expect(wrong).toEqual([]);
  });

  it('reproduces the documented gotchas', () => {
    // round half to even
    expect(uniformFrameIndices(6, 3)).toEqual([2, 3, 4]);
    expect(uniformFrameIndices(10, 3)).toEqual([2, 5, 8]);
    // n + 1 frames, the last clipped to T − 1
    expect(uniformFrameIndices(8, 2)).toEqual([3, 5, 7]);
    expect(uniformFrameIndices(12, 6)).toEqual([2, 3, 5, 7, 9, 10, 11]);
    expect(uniformFrameIndices(32, 16)).toHaveLength(16);
    // float32 accumulation decides a tie: 6.5000005 → 7
    expect(uniformFrameIndices(13, 11)).toEqual([1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12]);
    expect(arangeFloat32(13 / 12, 13, 13 / 12)[5]).toBe(Math.fround(6.5000005));
    // n ≥ T: every frame
    expect(uniformFrameIndices(4, 9)).toEqual([0, 1, 2, 3]);
    expect([0.5, 1.5, 2.5, -0.5, 3.4999].map(roundHalfEven)).toEqual([0, 2, 2, -0, 3]);
    expect(() => uniformFrameIndices(0, 1)).toThrow(/numFrames/);
  });
});

describe('frame-sampling embedding', () => {
  it('token grid: sampled frames × per-frame patches (n + 1 quirk included)', () => {
    const cfg = vivitConfig({ model: 1, embedding: 'frame_sampling', patchSize: [8, 8], nSampledFrames: 2, numFrames: 8, imageSize: [32, 24], hiddenSize: 8, numHeads: 2, numLayers: 0, mlpDim: 8 });
    expect(vivitTokenGrid(cfg)).toEqual({ nt: 3, nh: 4, nw: 3, spatial: 12, tokens: 36, frameIndices: [3, 5, 7] });
  });

  it('stacks the sampled frames vertically like scenic: patches straddle frames when H % patch_h ≠ 0 (model 1 only)', () => {
    // T = 4, n = 1 → index [2] ... use n = 3 → [1, 2, 3]; H = 12 with patch 8: 36 stacked rows → 4 token rows
    const cfg = { model: 1, embedding: 'frame_sampling', patchSize: [8, 4], nSampledFrames: 3, numFrames: 4, imageSize: [12, 8], numChannels: 1, hiddenSize: 4, numHeads: 1, numLayers: 0, mlpDim: 4, classifier: 'gap', numClasses: 0 } as const;
    const m = new VivitModel(cfg);
    expect(m.grid.tokens).toBe(4 * 2);
    const w = vivitRandomWeights(m, 1);
    // embedding = identity on the first pixel of each patch: token (r, c) = x_stacked[8r, 4c]
    const kw = new Float32Array(4 * 1 * 8 * 4);
    for (let d = 0; d < 4; d++) kw[d * 32 + d] = 1; // weight[d, 0, 0, d]
    w.get('vivit.embeddings.patch_embeddings.projection.weight')!.dispose();
    w.set('vivit.embeddings.patch_embeddings.projection.weight', tensor(kw, [4, 1, 8, 4]));
    m.loadWeights(w);
    const x = tensor(Float32Array.from({ length: 4 * 12 * 8 }, (_, i) => i), [1, 1, 4, 12, 8]);
    const out = m.forwardOutputs(x, ['patch_embeddings']);
    const pe = out.patch_embeddings!.dataSync() as Float32Array;
    const idx = uniformFrameIndices(4, 3);
    expect(idx).toEqual([1, 2, 3]);
    const stacked = (row: number, col: number) => idx[Math.floor(row / 12)]! * 96 + (row % 12) * 8 + col;
    for (let r = 0; r < 4; r++) for (let c = 0; c < 2; c++) for (let d = 0; d < 4; d++) expect(pe[(r * 2 + c) * 4 + d]).toBe(stacked(8 * r, 4 * c + d));
    dispose([out, x]);
    m.dispose();
    // models that need a per-frame grid refuse this geometry with a clear message
    expect(() => new VivitModel({ ...cfg, model: 2 })).toThrow(/not divisible by patch height 8.*per-frame grid/);
  });
});
