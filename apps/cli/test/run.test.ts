import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, U, V, relErr, run, tensors } from './helpers';

let dir = '';
beforeAll(async () => {
  if (!existsSync(BIN)) throw new Error(`build the CLI first (pnpm build): ${BIN} is missing`);
  dir = await mkdtemp(join(tmpdir(), 'tubelet-run-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('tubelet run (parity from outside the test suite)', () => {
  it('UniFormer video: every requested intermediate matches the official outputs', async () => {
    const out = join(dir, 'video.safetensors');
    const names = ['patch_embed1', 'blocks1.0', 'stage2', 'stage3', 'stage4', 'features', 'pooled', 'logits'];
    const r = await run(['run', '--arch', 'uniformer-video', '--config', U('video_tiny.io.safetensors'), '--weights', U('video_tiny.weights.safetensors'), '--input', U('video_tiny.io.safetensors'), '--output', out, '--outputs', names.join(',')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [ours, ref] = [await tensors(out), await tensors(U('video_tiny.io.safetensors'))];
    expect([...ours.keys()].sort()).toEqual([...names].sort());
    for (const n of names) expect(relErr(ours.get(n)!.data as Float32Array, ref.get(n)!.data as Float32Array), n).toBeLessThanOrEqual(1e-4);
  });

  it('UniFormer dense (hybrid windows): out1..out4 by default', async () => {
    const out = join(dir, 'det.safetensors');
    const r = await run(['run', '--arch', 'uniformer-dense', '--config', U('det_hybrid_tiny.io.safetensors'), '--weights', U('det_hybrid_tiny.weights.safetensors'), '--input', U('det_hybrid_tiny.io.safetensors'), '--output', out]);
    expect(r.code).toBe(0);
    const [ours, ref] = [await tensors(out), await tensors(U('det_hybrid_tiny.io.safetensors'))];
    expect([...ours.keys()]).toEqual(['out1', 'out2', 'out3', 'out4']);
    for (const n of ours.keys()) expect(relErr(ours.get(n)!.data as Float32Array, ref.get(n)!.data as Float32Array), n).toBeLessThanOrEqual(1e-4);
  });

  it('ViViT model 1: all outputs from the HF-layout input, in the vectors layouts', async () => {
    const out = join(dir, 'vivit.safetensors');
    const f = V('m1_tubelet_token.safetensors');
    const r = await run(['run', '--arch', 'vivit', '--config', f, '--weights', f, '--input', f, '--output', out, '--outputs', 'all']);
    expect(r.code).toBe(0);
    const [ours, ref] = [await tensors(out), await tensors(f)];
    expect(ours.size).toBeGreaterThanOrEqual(5);
    for (const [n, t] of ours) expect(relErr(t.data as Float32Array, ref.get(`output.${n}`)!.data as Float32Array), n).toBeLessThanOrEqual(1e-4);
  });

  it('UniFormer pose (TopDown): heatmaps, flip test and decoded keypoints with center/scale from the input file', async () => {
    const out = join(dir, 'pose.safetensors');
    const r = await run(['run', '--arch', 'uniformer-pose', '--config', U('pose_tiny.io.safetensors'), '--weights', U('pose_tiny.weights.safetensors'), '--input', U('pose_tiny.io.safetensors'), '--output', out, '--outputs', 'backbone_out,heatmap,heatmap_flip_test,decode_preds']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [ours, ref] = [await tensors(out), await tensors(U('pose_tiny.io.safetensors'))];
    for (const n of ['backbone_out', 'heatmap', 'heatmap_flip_test']) expect(relErr(ours.get(n)!.data as Float32Array, ref.get(n)!.data as Float32Array), n).toBeLessThanOrEqual(1e-4);
    // keypoints decoded from our own heatmaps: <= 1e-3 px (parity/heads README), scores 1e-4
    const [dp, dr] = [ours.get('decode_preds')!.data as Float32Array, ref.get('decode_preds')!.data as Float32Array];
    for (let i = 0; i < dr.length; i++) expect(Math.abs(dp[i]! - dr[i]!), `decode_preds[${i}]`).toBeLessThanOrEqual(i % 3 === 2 ? 1e-4 : 1e-3);
  });

  it('Mask R-CNN heads (mmdet semantics) on the stored backbone features: identical detections', async () => {
    const f = fileURLToPath(new URL('../../../packages/heads/test/fixtures/detection/maskrcnn_mmdet_s0.safetensors', import.meta.url));
    const out = join(dir, 'heads.safetensors');
    const r = await run(['run', '--arch', 'maskrcnn-heads', '--config', f, '--weights', f, '--input', f, '--output', out, '--outputs', 'det.boxes,det.scores,det.labels']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [ours, ref] = [await tensors(out), await tensors(f)];
    const labels = (t: { data: unknown }) => Array.from(t.data as ArrayLike<number | bigint>, Number);
    expect(labels(ours.get('det.labels')!)).toEqual(labels(ref.get('det.labels')!));
    const [b, rb] = [ours.get('det.boxes')!.data as Float32Array, ref.get('det.boxes')!.data as Float32Array];
    expect(b.length).toBe(rb.length);
    for (let i = 0; i < rb.length; i++) expect(Math.abs(b[i]! - rb[i]!)).toBeLessThanOrEqual(1e-3); // README: det boxes <= 1e-3 px
    const [sc, rs] = [ours.get('det.scores')!.data as Float32Array, ref.get('det.scores')!.data as Float32Array];
    for (let i = 0; i < rs.length; i++) expect(Math.abs(sc[i]! - rs[i]!)).toBeLessThanOrEqual(1e-5);
  });

  it('one-line errors: unknown arch, weights of another model, missing input tensor', async () => {
    const bad = await run(['run', '--arch', 'resnet', '--config', U('video_tiny.io.safetensors'), '--seed', '1', '--input', U('video_tiny.io.safetensors'), '--output', join(dir, 'x.safetensors')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/unknown --arch 'resnet'/);
    const wrong = await run(['run', '--arch', 'uniformer-video', '--config', U('video_tiny.io.safetensors'), '--weights', U('image_tiny.weights.safetensors'), '--input', U('video_tiny.io.safetensors'), '--output', join(dir, 'y.safetensors')]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr.trim().split('\n')).toHaveLength(1);
    expect(wrong.stderr).toMatch(/patch_embed1\.proj\.weight/);
    const noInput = await run(['run', '--arch', 'uniformer-video', '--config', U('video_tiny.io.safetensors'), '--seed', '1', '--input', U('video_tiny.weights.safetensors'), '--output', join(dir, 'z.safetensors')]);
    expect(noInput.code).toBe(1);
    expect(noInput.stderr).toMatch(/has no tensor named 'input'/);
  });

  it('inspect <model> reports exact parameters and FLOPs', async () => {
    const r = await run(['inspect', 'uniformer-s-k400-16x4', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.params).toBe(21_400_400); // official UniFormer-S, 400 classes (spec §6)
    expect(j.stages.map((s: { shape: number[] }) => s.shape)).toEqual([[1, 64, 8, 56, 56], [1, 128, 8, 28, 28], [1, 320, 8, 14, 14], [1, 512, 8, 7, 7], [1, 400]]);
    expect(j.flops / 1e9).toBeGreaterThan(80);
    const v = await run(['inspect', 'vivit-b-16x2-k400', '--json']);
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout).params).toBe(88_954_000); // HF google/vivit-b-16x2-kinetics400
  });
});
