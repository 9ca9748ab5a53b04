/** Image ViT → ViViT initialisation against the init_2d_to_3d vectors (≤ 1e-6). */
import { type Tensor, dispose, memory } from '@tubelet/core';
import { describe, expect, it } from 'vitest';
import { VivitModel, averageArpWeights, inflateImageVit, loadVivit, type InflateOptions, type KernelInit, type PosEmbSizeChange } from '../src/index';
import { compare, readVector, toScenic } from './vivit-helpers';

const V = readVector('init_2d_to_3d.safetensors');
const META = V.config as { targets: Record<string, { config: Record<string, unknown>; kernel_init_method: string; positional_embed_size_change: string; temporal_attention_init: string | null; restored_keys_count: number; 'not_restored_keys (left at target init)': string[] }> };

const KERNEL: Record<string, KernelInit> = { central_frame_initializer: 'central_frame', average_frame_initializer: 'average_frame' };

function optionsOf(target: string): InflateOptions {
  const t = META.targets[target]!;
  return {
    kernelInit: KERNEL[t.kernel_init_method],
    posEmbSizeChange: t.positional_embed_size_change as PosEmbSizeChange,
    temporalAttentionInit: (t.temporal_attention_init ?? undefined) as 'copy' | 'zero' | undefined,
  };
}

function checkTarget(target: string, vit: Map<string, Tensor>): { maxAbs: number } {
  const t = META.targets[target]!;
  const model = new VivitModel(t.config);
  const res = inflateImageVit(vit, model, optionsOf(target));
  const expected = V.weights(`${target}.`);
  expect(res.restored.sort()).toEqual([...expected.keys()].sort());
  expect(res.restored.length).toBe(t.restored_keys_count);
  expect(res.notRestored.sort()).toEqual([...t['not_restored_keys (left at target init)']].sort());
  expect([...res.weights.keys()].sort()).toEqual([...model.parameterShapes().keys()].sort());
  let maxAbs = 0;
  for (const [k, ref] of expected) {
    const got = res.weights.get(k)!;
    expect(got.shape, k).toEqual(ref.shape);
    const d = compare(got.dataSync() as Float32Array, ref.dataSync() as Float32Array, 1e-6, 0);
    expect(d.maxAbs, `${target} ${k}`).toBeLessThanOrEqual(1e-6);
    maxAbs = Math.max(maxAbs, d.maxAbs);
  }
  // the complete set loads strictly into the target
  model.loadWeights(res.weights);
  model.dispose();
  dispose(expected);
  return { maxAbs };
}

describe('inflateImageVit (scenic initialise_from_train_state)', () => {
  const report: string[] = [];
  for (const target of Object.keys(META.targets)) {
    it(target, () => {
      const before = memory('cpu');
      const vit = V.weights('vit2d.');
      const { maxAbs } = checkTarget(target, vit);
      report.push(`${target} ${maxAbs.toExponential(1)}`);
      dispose(vit);
      expect(memory('cpu')).toEqual(before);
    });
  }

  it('the same from a scenic-named ViT tree (Flax layouts)', () => {
    const vitHf = V.weights('vit2d.');
    const scenic = toScenic(vitHf, 2, false, 'vit');
    expect(scenic.has('Transformer/encoderblock_1/MultiHeadDotProductAttention_0/query/kernel')).toBe(true);
    for (const target of ['m1_central', 'm2_central', 'm3_zero']) checkTarget(target, scenic);
    dispose([vitHf, scenic]);
  });

  it('prints the largest differences', () => {
    console.log(`init_2d_to_3d max |ours − reference|: ${report.join(', ')}`);
  });

  it('average_arp_frame weights (Bilen et al. eq. 3) and central frame for odd tubelets', () => {
    expect(averageArpWeights(2)).toEqual([-0.5, 0.5]);
    const a3 = averageArpWeights(3);
    expect(a3.reduce((x, y) => x + y, 0)).toBeCloseTo(0, 12);
    expect(a3[0]).toBeCloseTo(2 * 3 - 4 * (1 + 1 / 2 + 1 / 3), 12);
    const vit = V.weights('vit2d.');
    const cfg = { ...META.targets.m1_central!.config, tubelet_size: [3, 8, 8], num_frames: 9 };
    const res = inflateImageVit(vit, cfg, { kernelInit: 'central_frame' });
    const w = res.weights.get('vivit.embeddings.patch_embeddings.projection.weight')!; // [32, 3, 3, 8, 8]
    const w2 = vit.get('vit.embeddings.patch_embeddings.projection.weight')!.dataSync() as Float32Array;
    const w3 = w.dataSync() as Float32Array;
    // τ = ft // 2 = 1 holds the image filter, τ = 0 and 2 are zero
    for (let i = 0; i < 32 * 3; i++) {
      for (let j = 0; j < 64; j++) {
        expect(w3[(i * 3 + 1) * 64 + j]).toBe(w2[i * 64 + j]);
        expect(w3[(i * 3 + 0) * 64 + j]).toBe(0);
        expect(w3[(i * 3 + 2) * 64 + j]).toBe(0);
      }
    }
    dispose([vit, res.weights]);
  });

  it('explains what it cannot do', () => {
    const vit = V.weights('vit2d.');
    const m1 = META.targets.m1_central!.config;
    // per-frame grid 5×5 vs the ViT's 4×4: tiling is impossible
    expect(() => inflateImageVit(vit, { ...m1, image_size: [40, 40], num_frames: 4 }, { posEmbSizeChange: 'tile' })).toThrow(/cannot tile 16 .*resize_tile/);
    // fewer target layers than the image ViT has
    expect(() => inflateImageVit(vit, { ...m1, num_layers: 1 })).toThrow(/has layer 1 but the target has only 1 layers/);
    // a filter of another spatial size
    expect(() => inflateImageVit(vit, { ...m1, tubelet_size: [2, 4, 4], patch_size: null })).toThrow(/does not fit the tubelet filter/);
    const noPos = new Map([...vit].filter(([k]) => !k.includes('position')));
    expect(() => inflateImageVit(noPos, m1)).toThrow(/position_embeddings/);
    dispose(vit);
  });

  it('loadVivit(..., { fromImageVit }) builds a ready model (other weights from the seed)', async () => {
    const before = memory('cpu');
    const vit = V.weights('vit2d.');
    const m = await loadVivit(META.targets.m4_average!.config, { fromImageVit: { weights: vit, kernelInit: 'average_frame' }, seed: 3 });
    const ref = V.tensor('m4_average.vivit.embeddings.position_embeddings');
    const got = m.namedTensors().get('vivit.embeddings.position_embeddings')!;
    expect(compare(got.dataSync() as Float32Array, ref.dataSync() as Float32Array, 1e-6, 0).maxAbs).toBe(0);
    ref.dispose();
    m.dispose();
    dispose(vit);
    expect(memory('cpu')).toEqual(before);
  });
});
