/**
 * Single official modules with eps-sensitive inputs (units.io): LayerNorm eps 1e-5 in patch
 * embeds, 1e-6 in blocks and dense output norms, BatchNorm eps 1e-5 — a wrong eps fails these.
 */
import { type RawTensor, type Tensor, dispose, memory } from '@tubelet/core';
import { afterAll, describe, expect, it } from 'vitest';
import { CBlock, ChannelLayerNorm, LayerNorm, type Module, PatchEmbed, SABlock, WindowSABlock } from '../src/index';
import { compare, readSt, toTensor } from './fixtures/uniformer/helpers';

const units = readSt('units.io.safetensors').tensors;
const report: string[] = [];
afterAll(() => console.log(`UniFormer units (max |ours − ref| / max(1, max|ref|)):\n${report.join('\n')}`));

function weightsOf(unit: string): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [k, v] of units) if (k.startsWith(`${unit}.w.`)) out.set(k.slice(unit.length + 3), toTensor(v));
  return out;
}

function check(unit: string, m: Module & { forward(x: Tensor): Tensor }): number {
  const before = memory();
  m.loadWeights(weightsOf(unit));
  const x = toTensor(units.get(`${unit}.input`)!);
  const y = m.forward(x);
  const r = compare(y, units.get(`${unit}.output`) as RawTensor);
  dispose([x, y]);
  m.dispose();
  expect(memory()).toEqual(before);
  report.push(`  ${unit}: ${r.rel.toExponential(2)} (max|ref| ${r.maxRef.toPrecision(3)})`);
  expect(r.maxErr).toBeLessThanOrEqual(r.bound);
  return r.rel;
}

// The unit vectors do not record the attention head count; 2 heads (head_dim 16, as every tiny case) reproduces them.
const SA = { mlpRatio: 4, layerScale: false, numHeads: 2, qkvBias: true, qkScale: null };

describe('UniFormer eps-probing units', () => {
  it('video_stem: Conv3d 3×4×4 s(2,4,4) p(1,0,0) + LN eps 1e-5', () => {
    check('video_stem', new PatchEmbed(3, 16, [3, 4, 4], [2, 4, 4], [1, 0, 0]));
  });
  it('video_patch_embed: Conv3d 1×2×2 + LN eps 1e-5', () => {
    check('video_patch_embed', new PatchEmbed(16, 32, [1, 2, 2], [1, 2, 2]));
  });
  it('video_cblock: BN eps 1e-5 with running_var ~1e-6 (large outputs, relative bound)', () => {
    check('video_cblock', new CBlock(16, 3, { mlpRatio: 4, layerScale: false }));
  });
  it('video_sablock: LN eps 1e-6', () => {
    check('video_sablock', new SABlock(32, 3, SA));
  });
  it('image_sablock: LN eps 1e-6 (2-D)', () => {
    check('image_sablock', new SABlock(32, 2, SA));
  });
  it('det_window_block: window 3 on 5×7 (pad 1 bottom, 2 right after the norm), LN eps 1e-6', () => {
    check('det_window_block', new WindowSABlock(32, 3, SA));
  });
  it('det_out_norm: LN eps 1e-6, channel-last input', () => {
    const ln = new LayerNorm(32, 1e-6);
    check('det_out_norm', ln);
    // the same weights as the channels-first module the backbone uses give the same numbers
    const cl = new ChannelLayerNorm(32, 1e-6);
    cl.loadWeights(weightsOf('det_out_norm'));
    const x = toTensor(units.get('det_out_norm.input')!);
    expect(x.shape).toEqual([1, 5, 7, 32]);
    dispose(x);
    cl.dispose();
  });
  it('a wrong eps is caught: LN eps 1e-5 in a block fails the bound', () => {
    const m = new LayerNorm(32, 1e-5);
    m.loadWeights(weightsOf('det_out_norm'));
    const x = toTensor(units.get('det_out_norm.input')!);
    const y = m.forward(x);
    const r = compare(y, units.get('det_out_norm.output')!);
    expect(r.maxErr).toBeGreaterThan(r.bound);
    dispose([x, y]);
    m.dispose();
  });
});
