/** State-dict names / shapes against the official key lists, parameter counts against param_counts.json, and the preset registry. */
import { describe, expect, it } from 'vitest';
import { type UniformerConfigInput, type UniformerPreset, createUniformer, getUniformerPreset, traceUniformer, traceUniformerStages, uniformerPresetNames, uniformerPresets } from '../src/index';
import { readJson } from './fixtures/uniformer/helpers';

type Keys = Record<string, number[]>;
const S = { depth: [3, 4, 8, 3], embedDim: [64, 128, 320, 512], headDim: 64 } as const;
const B = { depth: [5, 8, 20, 7], embedDim: [64, 128, 320, 512], headDim: 64 } as const;
const L = { depth: [5, 10, 24, 7], embedDim: [128, 192, 448, 640], headDim: 64 } as const;

function entriesOf(cfg: UniformerConfigInput, prefix = ''): [string, number[]][] {
  return [...createUniformer(cfg).stateDictShapes(prefix)];
}

describe('UniFormer state-dict keys equal the official lists (names, shapes and order)', () => {
  const cases: [string, UniformerConfigInput][] = [
    ['uniformer_s_video_keys.json', { kind: 'video', ...S, numClasses: 400 }],
    ['uniformer_b_video_keys.json', { kind: 'video', ...B, numClasses: 400 }],
    ['uniformer_s_image_keys.json', { kind: 'image', ...S, numClasses: 1000 }],
    ['uniformer_splus_image_keys.json', { kind: 'image', depth: [3, 5, 9, 3], embedDim: [64, 128, 320, 512], headDim: 32, convStem: true, numClasses: 1000 }],
    ['uniformer_s_det_backbone_keys.json', { kind: 'dense', ...S, stage3: 'hybrid', windowSize: 14 }],
  ];
  for (const [file, cfg] of cases) {
    it(file, () => {
      expect(entriesOf(cfg)).toEqual(Object.entries(readJson<Keys>(file)));
    });
  }

  it('uniformer_s_pose_topdown_keys.json: the backbone.* part (the 20 keypoint_head.* keys belong to the pose head in @tubelet/heads)', () => {
    const all = Object.entries(readJson<Keys>('uniformer_s_pose_topdown_keys.json'));
    const backbone = all.filter(([k]) => k.startsWith('backbone.'));
    expect(all.length - backbone.length).toBe(20);
    expect(all.filter(([k]) => !k.startsWith('backbone.')).every(([k]) => k.startsWith('keypoint_head.'))).toBe(true);
    expect(entriesOf({ kind: 'pose', ...S }, 'backbone.')).toEqual(backbone);
  });
});

interface Count {
  params: number;
  buffers_excl_num_batches_tracked: number;
  state_dict_keys: number;
}

/** param_counts.json entry → our config (pose_head_* / pose_topdown_* include the pose head of @tubelet/heads). */
const COUNTED: Record<string, UniformerConfigInput> = {
  video_S_400cls: { kind: 'video', ...S, numClasses: 400 },
  video_S_600cls: { kind: 'video', ...S, numClasses: 600 },
  video_S_174cls: { kind: 'video', ...S, numClasses: 174 },
  video_B_400cls: { kind: 'video', ...B, numClasses: 400 },
  video_B_600cls: { kind: 'video', ...B, numClasses: 600 },
  video_B_174cls: { kind: 'video', ...B, numClasses: 174 },
  image_uniformer_small: { kind: 'image', ...S },
  image_uniformer_small_plus: { kind: 'image', depth: [3, 5, 9, 3], embedDim: [64, 128, 320, 512], headDim: 32, convStem: true },
  image_uniformer_small_plus_dim64: { kind: 'image', depth: [3, 5, 9, 3], embedDim: [64, 128, 320, 512], headDim: 64, convStem: true },
  image_uniformer_base: { kind: 'image', ...B },
  image_uniformer_base_ls: { kind: 'image', ...B, layerScale: 'attention' },
  image_tokenlabeling_uniformer_small: { kind: 'image', ...S, headDim: 32, auxHead: true },
  image_tokenlabeling_uniformer_small_dim64: { kind: 'image', ...S, auxHead: true },
  image_tokenlabeling_uniformer_small_plus: { kind: 'image', depth: [3, 5, 9, 3], embedDim: [64, 128, 320, 512], headDim: 32, convStem: true, auxHead: true },
  image_tokenlabeling_uniformer_small_plus_dim64: { kind: 'image', depth: [3, 5, 9, 3], embedDim: [64, 128, 320, 512], headDim: 64, convStem: true, auxHead: true },
  image_tokenlabeling_uniformer_base: { kind: 'image', ...B, headDim: 32, auxHead: true },
  image_tokenlabeling_uniformer_base_dim64: { kind: 'image', ...B, auxHead: true },
  image_tokenlabeling_uniformer_large_ls: { kind: 'image', ...L, layerScale: 'all', auxHead: true },
  det_backbone_S_hybrid_w14: { kind: 'dense', ...S, stage3: 'hybrid' },
  det_backbone_B_hybrid_w14: { kind: 'dense', ...B, stage3: 'hybrid' },
  pose_backbone_S: { kind: 'pose', ...S },
  pose_backbone_B: { kind: 'pose', ...B },
};

describe('UniFormer parameter counts equal param_counts.json (shape-only models, nothing allocated)', () => {
  const counts = readJson<Record<string, Count>>('param_counts.json');
  for (const [name, cfg] of Object.entries(COUNTED)) {
    it(name, () => {
      const m = createUniformer(cfg);
      expect(m.numParameters()).toBe(counts[name]!.params);
      expect(m.numBufferElements()).toBe(counts[name]!.buffers_excl_num_batches_tracked);
      expect(m.stateDictShapes().size).toBe(counts[name]!.state_dict_keys);
    });
  }
  it('the backbone of the pose TopDown totals = topdown − head', () => {
    for (const s of ['S', 'B']) {
      expect(counts[`pose_topdown_${s}_17kp`]!.params - counts[`pose_head_${s}_17kp`]!.params).toBe(counts[`pose_backbone_${s}`]!.params);
    }
    expect(Object.keys(counts).filter((k) => !(k in COUNTED)).sort()).toEqual(['pose_head_B_17kp', 'pose_head_S_17kp', 'pose_topdown_B_17kp', 'pose_topdown_S_17kp']);
  });
});

/** The param_counts.json entry a preset corresponds to (by architecture), and its class count there. */
function countKeyOf(p: UniformerPreset): [string, number] {
  const size = p.config.depth[2] === 8 ? 'S' : p.config.depth[2] === 20 ? 'B' : p.config.depth[2] === 9 ? 'S+' : 'L';
  if (p.config.kind === 'video') return [`video_${size}_400cls`, 400];
  if (p.config.kind === 'dense') return [`det_backbone_${size}_hybrid_w14`, 0];
  if (p.config.kind === 'pose') return [`pose_backbone_${size}`, 0];
  const dim64 = p.config.headDim === 64 && (size === 'S+' || p.config.auxHead) && size !== 'L' ? '_dim64' : '';
  const base = { S: 'uniformer_small', 'S+': 'uniformer_small_plus', B: 'uniformer_base', L: 'uniformer_large_ls' }[size];
  if (p.config.auxHead) return [`image_tokenlabeling_${base}${dim64}`, 1000];
  return [`image_${base}${dim64}${p.config.layerScale === 'attention' ? '_ls' : ''}`, 1000];
}

describe('UniFormer presets', () => {
  const counts = readJson<Record<string, Count>>('param_counts.json');

  it('cover every published variant, including the names of the issue', () => {
    const names = uniformerPresetNames();
    for (const n of [
      'uniformer-s-k400-16x4',
      'uniformer-s-k400-8x8',
      'uniformer-b-k400-16x4',
      'uniformer-s-k600-16x4',
      'uniformer-s-ssv2-16',
      'uniformer-s-in1k',
      'uniformer-splus-in1k',
      'uniformer-b-in1k',
      'uniformer-s-coco-maskrcnn',
      'uniformer-s-coco-pose-256x192',
      'uniformer-b-k400-32x4',
      'uniformer-b-k600-32x4',
      'uniformer-b-ssv1-32-prek600',
      'uniformer-b-coco-cascade-3x',
      'uniformer-b-ade20k-upernet-hybrid',
      'uniformer-b-coco-pose-448x320',
      'uniformer-l-ls-tl-in1k-384',
      'uniformer-s-ucf101-16x4',
    ]) {
      expect(names).toContain(n);
    }
    expect(names.length).toBeGreaterThan(60);
    expect(() => getUniformerPreset('uniformer-s-k400-16x5')).toThrow(/unknown UniFormer config 'uniformer-s-k400-16x5'.*uniformer-s-k400-16x4/);
  });

  it('every preset builds and its parameter count is the official one (class count adjusted: 513 per class)', () => {
    for (const p of uniformerPresets()) {
      const [key, classes] = countKeyOf(p);
      const expected = counts[key]!.params + (p.numClasses - classes) * (p.config.embedDim[3] + 1) * (p.config.auxHead ? 2 : 1);
      expect([p.name, createUniformer(p.config).numParameters()]).toEqual([p.name, expected]);
      expect(p.config.numClasses).toBe(p.numClasses);
    }
  });

  it('carry what a runner needs to preprocess like the official test', () => {
    const k = getUniformerPreset('uniformer-s-k400-16x4').preprocess;
    expect(k).toMatchObject({ type: 'video', numFrames: 16, sampling: 'dense', samplingRate: 4, clips: 4, crops: 1, shortSide: 224, crop: 224, mean: [0.45, 0.45, 0.45], std: [0.225, 0.225, 0.225], ensemble: 'sum' });
    expect(getUniformerPreset('uniformer-s-k400-8x8').preprocess).toMatchObject({ numFrames: 8, samplingRate: 8 });
    expect(getUniformerPreset('uniformer-s-ssv2-16')).toMatchObject({ numClasses: 174, preprocess: { sampling: 'segments', samplingRate: null, clips: 1, crops: 3 } });
    expect(getUniformerPreset('uniformer-s-k600-16x4').numClasses).toBe(600);
    expect(getUniformerPreset('uniformer-s-in1k').preprocess).toEqual({ type: 'image', resize: 256, interpolation: 'bicubic', crop: 224, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
    expect(getUniformerPreset('uniformer-splus-in1k').config).toMatchObject({ convStem: true, headDim: 32, depth: [3, 5, 9, 3] });
    expect(getUniformerPreset('uniformer-s-coco-maskrcnn')).toMatchObject({ arch: 'uniformer-dense', config: { stage3: 'hybrid', windowSize: 14 }, preprocess: { scale: [1333, 800], padDivisor: 32, mean: [123.675, 116.28, 103.53] } });
    expect(getUniformerPreset('uniformer-s-coco-pose-256x192')).toMatchObject({ arch: 'uniformer-pose', config: { stage3: 'global' }, preprocess: { imageSize: [192, 256], heatmapSize: [48, 64] } });
  });

  it('tracing UniFormer-S 16×224² reports the exact parameters + buffers and the output shape without allocating', async () => {
    const { summary, graph } = await traceUniformer(getUniformerPreset('uniformer-s-k400-16x4').config, [1, 3, 16, 224, 224]);
    expect(summary.params).toBe(21_400_400 + 3840);
    expect(graph.outputs.map((o) => [o.name, o.shape])).toEqual([['logits', [1, 400]]]);
    expect(summary.flops).toBeGreaterThan(80e9); // ≈ 42 GMACs (the paper's 41.8G for 16 frames)
    expect(summary.flops).toBeLessThan(90e9);
  });

  it('per-stage FLOPs add up to the whole forward (dense hybrid S at 800×1344)', async () => {
    const cfg = getUniformerPreset('uniformer-s-coco-maskrcnn').config;
    const stages = await traceUniformerStages(cfg, [1, 3, 800, 1344]);
    expect(stages.map((s) => [s.name, s.shape])).toEqual([
      ['stage1', [1, 64, 200, 336]],
      ['stage2', [1, 128, 100, 168]],
      ['stage3', [1, 320, 50, 84]],
      ['stage4', [1, 512, 25, 42]],
      ['head', [1, 64, 200, 336]],
    ]);
    const { summary } = await traceUniformer(cfg, [1, 3, 800, 1344]);
    expect(stages.reduce((a, s) => a + s.flops, 0)).toBe(summary.flops);
    expect(stages.every((s) => s.flops > 0)).toBe(true);
  });
});

