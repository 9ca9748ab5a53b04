/** pose_tiny end to end (official UniFormer pose code: backbone + head + flip test + decode), named configs and checkpoint keys. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type StateDict, memory, rawToTensor } from '@tubelet/core';
import { configFromOfficial } from '@tubelet/models';
import { afterAll, describe, expect, it } from 'vitest';
import { TOP_DOWN_OUTPUTS, TopDownPose, applyPoseWeights, getPoseConfig, keypointsFromHeatmaps, loadPoseModel, poseConfigNames } from '../src/index';
import { readPoseFixture } from './pose-helpers';

const FIX = fileURLToPath(new URL('./fixtures/pose/', import.meta.url));
const io = readPoseFixture('pose_tiny.io.safetensors');
const w = readPoseFixture('pose_tiny.weights.safetensors');
const meta = io.config as { head: { num_joints: number; deconv_filters: number[]; deconv_kernels: number[]; modulate_kernel: number }; input_shape: number[] };

function tinyConfig() {
  const [, , H, W] = meta.input_shape as [number, number, number, number];
  return {
    backbone: configFromOfficial(io.config),
    head: { numJoints: meta.head.num_joints, deconvFilters: meta.head.deconv_filters, deconvKernels: meta.head.deconv_kernels, finalConvKernel: 1 as const },
    imageSize: [W, H] as [number, number],
    modulateKernel: meta.head.modulate_kernel,
  };
}

const report: string[] = [];
afterAll(() => console.log(`pose_tiny (max |ours − ref| / max(1, max|ref|)):\n  ${report.join('\n  ')}`));

describe('pose_tiny end to end', () => {
  it('every output of the official TopDown (backbone, heatmaps, flip test, decode) within 1e-4·max(1, max|ref|); memory back to start', async () => {
    const model = new TopDownPose(tinyConfig());
    applyPoseWeights(model, w.tensors, { source: 'pose_tiny.weights.safetensors' });
    const outputs = [...io.tensors.keys()].filter((k) => k !== 'input');
    expect(outputs.filter((k) => !model.outputNames().includes(k))).toEqual([]);
    expect(outputs).toEqual(expect.arrayContaining([...TOP_DOWN_OUTPUTS]));
    const x = rawToTensor(io.get('input'));
    const before = memory();
    const got = await model.forwardOutputs(x, { outputs, center: io.f32('center'), scale: io.f32('scale') });
    const failures: string[] = [];
    for (const n of outputs) {
      const ref = io.get(n);
      const t = got.get(n)!;
      expect(t.shape, n).toEqual(ref.shape);
      const a = t.dataSync() as Float32Array;
      const b = ref.data as Float32Array;
      let err = 0;
      let mx = 0;
      for (let i = 0; i < b.length; i++) {
        err = Math.max(err, Math.abs(a[i]! - b[i]!));
        mx = Math.max(mx, Math.abs(b[i]!));
      }
      const rel = err / Math.max(1, mx);
      if (['heatmap', 'heatmap_flip_test', 'decode_preds', 'decode_boxes', 'backbone_out'].includes(n)) report.push(`${n}: ${rel.toExponential(2)} (max |Δ| ${err.toExponential(2)})`);
      if (!(rel <= 1e-4)) failures.push(`${n}: ${rel}`);
    }
    expect(failures).toEqual([]);
    for (const t of got.values()) t.dispose();
    expect(memory()).toEqual(before);
    x.dispose();
    model.dispose();
  });

  it('decode_preds decoded from the REFERENCE heatmap_flip_test: ≤ 1e-3 px, scores ≤ 1e-5', () => {
    const hm = io.get('heatmap_flip_test');
    const d = keypointsFromHeatmaps(hm.data as Float32Array, hm.shape, io.f32('center'), io.f32('scale'), { postProcess: 'default' });
    const ref = io.f32('decode_preds');
    let px = 0;
    let sc = 0;
    for (let i = 0; i < ref.length / 3; i++) {
      px = Math.max(px, Math.abs(d.preds[2 * i]! - ref[3 * i]!), Math.abs(d.preds[2 * i + 1]! - ref[3 * i + 1]!));
      sc = Math.max(sc, Math.abs(d.maxvals[i]! - ref[3 * i + 2]!));
    }
    report.push(`decode_preds from the reference average: ${px.toExponential(2)} px, scores ${sc.toExponential(2)}`);
    expect(px).toBeLessThanOrEqual(1e-3);
    expect(sc).toBeLessThanOrEqual(1e-5);
  });

  it('loads the checkpoint file by path (safetensors) and rejects checkpoints without keypoint_head', async () => {
    const model = await loadPoseModel(tinyConfig(), { weights: `${FIX}pose_tiny.weights.safetensors` });
    expect(model.isLoaded).toBe(true);
    model.dispose();
    const noHead: StateDict = new Map([...w.tensors].filter(([k]) => !k.startsWith('keypoint_head.')));
    await expect(loadPoseModel(tinyConfig(), { weights: noHead })).rejects.toThrow(/missing keys: keypoint_head\.deconv_layers\.0\.weight.*no keypoint_head\.\* keys/);
    const wrong: StateDict = new Map([...w.tensors].map(([k, v]) => [k === 'keypoint_head.final_layer.bias' ? 'keypoint_head.final.bias' : k, v]));
    await expect(loadPoseModel(tinyConfig(), { weights: wrong })).rejects.toThrow(/missing keys: keypoint_head\.final_layer\.bias; unexpected keys: keypoint_head\.final\.bias/);
    const ddp: StateDict = new Map([...w.tensors].map(([k, v]) => [`module.${k}`, v]));
    const m2 = await loadPoseModel(tinyConfig(), { weights: ddp });
    m2.dispose();
    await expect(loadPoseModel(tinyConfig())).rejects.toThrow(/pass \{ weights \}.*or \{ seed \}/);
  });
});

describe('named pose configs', () => {
  it('the UniFormer COCO top-down configs (S / B × 256x192, 384x288, 448x320)', () => {
    const names = poseConfigNames();
    for (const n of ['uniformer-s-coco-pose-256x192', 'uniformer-s-coco-pose-384x288', 'uniformer-b-coco-pose-256x192', 'uniformer-b-coco-pose-384x288']) expect(names).toContain(n);
    const s = getPoseConfig('uniformer-s-coco-pose-256x192');
    expect(s).toMatchObject({ imageSize: [192, 256], heatmapSize: [48, 64], padding: 1.25, flipTest: true, shiftHeatmap: true, postProcess: 'default', modulateKernel: 11, head: { inChannels: 512, numJoints: 17, deconvFilters: [256, 256, 256], deconvKernels: [4, 4, 4], finalConvKernel: 1 } });
    expect(s.backbone).toMatchObject({ kind: 'pose', depth: [3, 4, 8, 3], stage3: 'global', headDim: 64 });
    expect(getPoseConfig('uniformer-b-coco-pose-384x288')).toMatchObject({ imageSize: [288, 384], heatmapSize: [72, 96], modulateKernel: 17, backbone: { depth: [5, 8, 20, 7] } });
    expect(() => getPoseConfig('uniformer-s-k400-16x4')).toThrow(/not a pose config/);
    expect(() => getPoseConfig('uniformer-x-pose')).toThrow(/unknown pose config 'uniformer-x-pose' \(known: uniformer-s-coco-pose-256x192/);
  });

  it('state dict = the official TopDown S keys (352, in order) and parameter counts = the official ones', () => {
    const keys = JSON.parse(readFileSync(`${FIX}uniformer_s_pose_topdown_keys.json`, 'utf8')) as Record<string, number[]>;
    const counts = JSON.parse(readFileSync(`${FIX}pose_param_counts.json`, 'utf8')) as Record<string, { params: number; buffers_excl_num_batches_tracked: number }>;
    const s = new TopDownPose(getPoseConfig('uniformer-s-coco-pose-256x192'));
    expect([...s.stateDictShapes()]).toEqual(Object.entries(keys));
    expect(s.numParameters()).toBe(counts.pose_topdown_S_17kp!.params);
    expect(s.numBufferElements()).toBe(counts.pose_topdown_S_17kp!.buffers_excl_num_batches_tracked);
    expect(s.head.numParameters()).toBe(counts.pose_head_S_17kp!.params);
    const b = new TopDownPose(getPoseConfig('uniformer-b-coco-pose-256x192'));
    expect(b.numParameters()).toBe(counts.pose_topdown_B_17kp!.params);
  });
});
