/** Loading official checkpoints (.pth zip / legacy, wrappers, prefixes), strict errors, class count, 2D→3D inflation, memory. */
import { readFileSync } from 'node:fs';
import { type StateDict, type Tensor, dispose, memory, tensor } from '@tubelet/core';
import { describe, expect, it } from 'vitest';
import {
  StateDictError,
  UniformerClassifier,
  UniformerDense,
  UniformerPose,
  applyUniformerWeights,
  configFromOfficial,
  createUniformer,
  inflateImageStateDict,
  loadUniformer,
  loadUniformerDetailed,
  normalizeUniformerKeys,
  summarizeCheckpoint,
} from '../src/index';
import { compare, fixture, readSt, toTensor } from './fixtures/uniformer/helpers';

const VIDEO_CFG = { depth: [1, 1, 2, 1], embed_dim: [16, 32, 48, 64], head_dim: 16, num_classes: 7 };
const video = () => configFromOfficial(VIDEO_CFG, 'uniformer-video');

function sameWeights(a: ReadonlyMap<string, Tensor>, ref: StateDict): void {
  for (const [k, t] of a) {
    const r = ref.get(k)!;
    expect([k, t.shape]).toEqual([k, r.shape]);
    expect(Buffer.compare(Buffer.from((t.dataSync() as Float32Array).buffer), Buffer.from((r.data as Float32Array).slice().buffer))).toBe(0);
  }
}

function catchError(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

async function catchAsync(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('UniFormer checkpoint loading', () => {
  const ref = readSt('video_tiny.weights.safetensors').tensors;
  const io = readSt('video_tiny.io.safetensors').tensors;

  for (const file of ['video_tiny_state_dict.zip.pth', 'video_tiny_state_dict.legacy.pth', 'video_tiny_ckpt_model_state.zip.pth', 'video_tiny_ckpt_model.legacy.pth']) {
    it(`loads pth/${file} through the same path as a real checkpoint`, async () => {
      const before = memory();
      const { model, info } = await loadUniformerDetailed(video(), { weights: fixture(`pth/${file}`) });
      expect(info.weights).toBe('checkpoint');
      sameWeights(model.namedTensors(), ref);
      if (file.startsWith('video_tiny_state_dict.zip')) {
        // and computes the reference logits
        const x = toTensor(io.get('input')!);
        const y = (model as UniformerClassifier).forward(x);
        const r = compare(y, io.get('logits')!);
        expect(r.maxErr).toBeLessThanOrEqual(r.bound);
        dispose([x, y]);
      }
      model.dispose();
      expect(memory()).toEqual(before);
    });
  }

  it('accepts bytes, a parsed state dict, module. prefixes, and takes the class count from head.weight', async () => {
    const bytes = new Uint8Array(readFileSync(fixture('pth/video_tiny_ckpt_model_state.zip.pth')));
    const a = await loadUniformer({ ...video(), numClasses: 400 }, { weights: bytes });
    expect(a).toBeInstanceOf(UniformerClassifier);
    expect((a as UniformerClassifier).numClasses).toBe(7);
    a.dispose();
    const prefixed: StateDict = new Map([...ref].map(([k, v]) => [`module.${k}`, v]));
    const { model, info } = await loadUniformerDetailed(video(), { weights: prefixed });
    expect(info.stripped).toEqual(['module.']);
    sameWeights(model.namedTensors(), ref);
    model.dispose();
  });

  it('strips backbone. from an mm* checkpoint and sets the head keys aside', () => {
    const pose = readSt('pose_tiny.weights.safetensors').tensors;
    const n = normalizeUniformerKeys(pose);
    expect(n.stripped).toEqual(['backbone.']);
    expect(n.dropped).toHaveLength(20);
    expect(summarizeCheckpoint(n.stateDict)).toMatchObject({ kind: 'dense', depth: [1, 1, 2, 1], embedDim: [16, 32, 48, 64], dims: 2, numClasses: null });
  });

  it('a missing key fails naming it', () => {
    const sd: StateDict = new Map(ref);
    sd.delete('blocks3.1.attn.qkv.weight');
    const m = createUniformer(video());
    const e = catchError(() => applyUniformerWeights(m, sd, { source: 'ckpt.pth' }));
    expect(e).toBeInstanceOf(StateDictError);
    expect((e as StateDictError).missing).toEqual(['blocks3.1.attn.qkv.weight']);
    expect(e.message).toMatch(/^ckpt\.pth: state dict does not match the model — missing keys: blocks3\.1\.attn\.qkv\.weight/);
  });

  it('a checkpoint of the wrong variant fails naming the keys (and says what it looks like)', async () => {
    // video weights into UniFormer-S video
    const e1 = await catchAsync(loadUniformer('uniformer-s-k400-16x4', { weights: fixture('pth/video_tiny_state_dict.zip.pth') }));
    expect(e1).toBeInstanceOf(StateDictError);
    expect(e1.message).toMatch(/missing keys: blocks1\.1\.pos_embed\.weight/);
    expect(e1.message).toMatch(/shape mismatches: patch_embed1\.norm\.weight expects \[64\] got \[16\]/);
    expect(e1.message).toMatch(/checkpoint depth \[1,1,2,1\] vs config \[3,4,8,3\]/);
    // video weights into an image model: 3-D vs 2-D kernels
    const e2 = catchError(() => applyUniformerWeights(createUniformer({ ...video(), kind: 'image', imgSize: 64 }), ref));
    expect((e2 as StateDictError).mismatched.map((m) => m.key)).toContain('patch_embed1.proj.weight');
    expect(e2.message).toMatch(/this looks like a video checkpoint, the model is image/);
    // an image checkpoint into a video model suggests inflation
    const src2d = readSt('inflate_tiny.src2d.weights.safetensors').tensors;
    const e3 = catchError(() => applyUniformerWeights(createUniformer({ ...video(), numClasses: 11 }), src2d));
    expect(e3.message).toMatch(/2-D \(ImageNet\) checkpoint: load it with \{ inflate: true \}/);
    // a det (hybrid, 5 stage-3 blocks) checkpoint into the pose backbone
    const det = readSt('det_hybrid_tiny.weights.safetensors').tensors;
    const e4 = catchError(() => applyUniformerWeights(createUniformer({ kind: 'pose', depth: [1, 1, 2, 1], embedDim: [16, 32, 48, 64], headDim: 16 }), det));
    expect((e4 as StateDictError).unexpected).toEqual(expect.arrayContaining(['blocks3.2.pos_embed.weight', 'blocks3.4.mlp.fc2.bias']));
    // a token-labeling checkpoint (aux_head) into a plain image model
    const img = readSt('image_tiny.weights.safetensors').tensors;
    const tl: StateDict = new Map([...img, ['aux_head.weight', img.get('head.weight')!], ['aux_head.bias', img.get('head.bias')!]]);
    const e5 = catchError(() => applyUniformerWeights(createUniformer(configFromOfficial({ depth: [2, 1, 2, 1], embed_dim: [16, 32, 48, 64], head_dim: 16, num_classes: 10, img_size: 64 }, 'uniformer-image')), tl));
    expect(e5.message).toMatch(/unexpected keys: aux_head\.weight, aux_head\.bias.*token-labeling/);
  });

  it('random weights: deterministic from the seed, and a clear error without weights or seed', async () => {
    const x = tensor(new Float32Array(2 * 3 * 4 * 32 * 32).map((_, i) => Math.sin(i)), [2, 3, 4, 32, 32]);
    const a = (await loadUniformer(video(), { seed: 3 })) as UniformerClassifier;
    const b = (await loadUniformer(video(), { seed: 3 })) as UniformerClassifier;
    const c = (await loadUniformer(video(), { seed: 4 })) as UniformerClassifier;
    const [ya, yb, yc] = [a.forward(x), b.forward(x), c.forward(x)];
    expect(ya.shape).toEqual([2, 7]);
    expect([...ya.dataSync()]).toEqual([...yb.dataSync()]);
    expect([...ya.dataSync()]).not.toEqual([...yc.dataSync()]);
    expect([...ya.dataSync()].every(Number.isFinite)).toBe(true);
    dispose([x, ya, yb, yc]);
    [a, b, c].forEach((m) => m.dispose());
    await expect(loadUniformer(video())).rejects.toThrow(/pass \{ weights \} \(a checkpoint\) or \{ seed \}/);
  });
});

describe('UniFormer 2D → 3D inflation (official get_pretrained_model)', () => {
  const src2d = readSt('inflate_tiny.src2d.weights.safetensors');
  const inflatedRef = readSt('inflate_tiny.inflated.safetensors').tensors;
  const videoRef = readSt('inflate_tiny.video.weights.safetensors').tensors;
  const cfg = configFromOfficial({ ...JSON.parse(src2d.metadata.config!), num_classes: 7 }, 'uniformer-video');

  it('builds exactly the official dict: average rule (bit-exact), head dropped for 11 vs 7 classes', () => {
    const target = createUniformer(cfg).stateDictShapes();
    const out = inflateImageStateDict(src2d.tensors, target);
    expect([...out.keys()]).toEqual([...inflatedRef.keys()]);
    for (const [k, r] of inflatedRef) {
      const v = out.get(k)!;
      expect([k, v.dtype, v.shape]).toEqual([k, r.dtype, r.shape]);
      expect(Buffer.compare(Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength), Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength))).toBe(0);
    }
    expect(out.has('head.weight')).toBe(false);
    // same class count keeps the head
    expect(inflateImageStateDict(src2d.tensors, target, 11).has('head.weight')).toBe(true);
    // a key the video model lacks is an error naming it (official KeyError)
    const extra: StateDict = new Map([...src2d.tensors, ['aux_head.weight', src2d.tensors.get('head.weight')!]]);
    expect(() => inflateImageStateDict(extra, target)).toThrow(/unexpected keys: aux_head\.weight/);
  });

  it('loadUniformer(…, { inflate: true }) loads the inflated weights, head left random, and runs', async () => {
    const before = memory();
    const { model, info } = await loadUniformerDetailed(cfg, { weights: src2d.tensors, inflate: true, seed: 1 });
    expect(info.weights).toBe('inflated');
    expect(info.randomKeys).toEqual(['head.weight', 'head.bias']);
    const named = model.namedTensors();
    sameWeights(new Map([...named].filter(([k]) => !k.startsWith('head.'))), videoRef);
    const x = tensor(new Float32Array(3 * 6 * 32 * 32).fill(0.5), [1, 3, 6, 32, 32]);
    const y = (model as UniformerClassifier).forward(x);
    expect(y.shape).toEqual([1, 7]);
    dispose([x, y]);
    model.dispose();
    expect(memory()).toEqual(before);
  });
});

describe('UniFormer forward', () => {
  it('returns requested intermediates as a Map, stops early, frees every intermediate (memory before = after)', async () => {
    const m = (await loadUniformer(video(), { seed: 1 })) as UniformerClassifier;
    const x = tensor(new Float32Array(2 * 3 * 8 * 64 * 64).map((_, i) => Math.cos(i * 0.37)), [2, 3, 8, 64, 64]);
    const before = memory();
    const all = m.forward(x, { outputs: m.outputNames() });
    expect([...all.keys()]).toEqual(m.outputNames());
    expect(all.get('stage3')!.shape).toEqual([2, 48, 4, 4, 4]);
    const live = memory().numTensors - before.numTensors;
    expect(live).toBe(all.size);
    dispose(all);
    expect(memory()).toEqual(before);
    const some = m.forward(x, { outputs: ['logits', 'stage1'] });
    expect([...some.keys()]).toEqual(['logits', 'stage1']);
    dispose(some);
    const early = m.forward(x, { outputs: ['patch_embed2'] });
    expect(early.get('patch_embed2')!.shape).toEqual([2, 32, 4, 8, 8]);
    dispose(early);
    const y = m.forward(x);
    expect(y.shape).toEqual([2, 7]);
    y.dispose();
    expect(memory()).toEqual(before);
    // errors free everything too
    expect(() => m.forward(x, { outputs: ['stage5'] })).toThrow(/unknown output name 'stage5'; valid names: patch_embed1, blocks1\.0/);
    const tiny = tensor(new Float32Array(3 * 2 * 8 * 8), [1, 3, 2, 8, 8]); // stage 3 would be 0×0
    expect(() => m.forward(tiny)).toThrow();
    tiny.dispose();
    expect(() => m.forward(tensor(new Float32Array(3 * 64 * 64), [1, 3, 64, 64]))).toThrow(/input must be \[N, C, T, H, W\], got \[1, 3, 64, 64\]/);
    expect(memory().numTensors).toBe(before.numTensors + 1); // only the tensor created inline above
    expect(x.isDisposed).toBe(false);
    dispose(x);
    m.dispose();
  });

  it('floors odd sizes like the official code (video T 5, 72×72; window-only dense 100×76; S+ stem ceil)', async () => {
    const v = (await loadUniformer(video(), { seed: 2 })) as UniformerClassifier;
    const x = tensor(new Float32Array(3 * 5 * 72 * 72), [1, 3, 5, 72, 72]);
    const o = v.forward(x, { outputs: ['patch_embed1', 'stage2', 'stage3', 'stage4', 'logits'] });
    expect([...o.values()].map((t) => t.shape)).toEqual([[1, 16, 3, 18, 18], [1, 32, 3, 9, 9], [1, 48, 3, 4, 4], [1, 64, 3, 2, 2], [1, 7]]);
    dispose([x, o]);
    v.dispose();
    const d = (await loadUniformer({ kind: 'dense', depth: [1, 1, 4, 1], embedDim: [16, 32, 48, 64], headDim: 16, stage3: 'window', windowSize: 4 }, { seed: 2 })) as UniformerDense;
    const xi = tensor(new Float32Array(3 * 100 * 76), [1, 3, 100, 76]);
    const outs = d.forward(xi);
    expect(outs.map((t) => t.shape)).toEqual([[1, 16, 25, 19], [1, 32, 12, 9], [1, 48, 6, 4], [1, 64, 3, 2]]);
    dispose(outs);
    d.dispose();
    const s = (await loadUniformer({ kind: 'image', depth: [1, 1, 1, 1], embedDim: [16, 32, 48, 64], headDim: 16, convStem: true, numClasses: 3 }, { seed: 2 })) as UniformerClassifier;
    const so = s.forward(xi, { outputs: ['patch_embed1', 'stage4', 'logits'] });
    expect([...so.values()].map((t) => t.shape)).toEqual([[1, 16, 25, 19], [1, 64, 4, 3], [1, 3]]);
    dispose([xi, so]);
    s.dispose();
  });

  it('image patch-stem models assert imgSize like the official code; pose returns backbone_out; TL aux head combines', async () => {
    const img = (await loadUniformer({ kind: 'image', depth: [1, 1, 1, 1], embedDim: [16, 32, 48, 64], headDim: 16, imgSize: 64, numClasses: 5, auxHead: true, layerScale: 'all' }, { seed: 5 })) as UniformerClassifier;
    const bad = tensor(new Float32Array(3 * 32 * 32), [1, 3, 32, 32]);
    expect(() => img.forward(bad)).toThrow(/imgSize × imgSize = 64 × 64, got \[1, 3, 32, 32\]/);
    bad.dispose();
    const x = tensor(new Float32Array(2 * 3 * 64 * 64).map((_, i) => Math.sin(i * 0.1)), [2, 3, 64, 64]);
    const o = img.forward(x, { outputs: ['features', 'pooled', 'logits'] });
    // logits = head(pooled) + 0.5 · max over positions of aux_head(tokens)
    const w = img.namedTensors();
    const f = o.get('features')!.dataSync() as Float32Array;
    const p = o.get('pooled')!.dataSync() as Float32Array;
    const lg = o.get('logits')!.dataSync() as Float32Array;
    const hw = w.get('head.weight')!.dataSync() as Float32Array;
    const hb = w.get('head.bias')!.dataSync() as Float32Array;
    const aw = w.get('aux_head.weight')!.dataSync() as Float32Array;
    const ab = w.get('aux_head.bias')!.dataSync() as Float32Array;
    const [C, P] = [64, 4];
    for (let n = 0; n < 2; n++) {
      for (let k = 0; k < 5; k++) {
        let h = hb[k]!;
        for (let c = 0; c < C; c++) h += hw[k * C + c]! * p[n * C + c]!;
        let mx = -Infinity;
        for (let q = 0; q < P; q++) {
          let a = ab[k]!;
          for (let c = 0; c < C; c++) a += aw[k * C + c]! * f[(n * C + c) * P + q]!;
          mx = Math.max(mx, a);
        }
        expect(lg[n * 5 + k]).toBeCloseTo(h + 0.5 * mx, 4);
      }
    }
    dispose([x, o]);
    img.dispose();
    const pose = (await loadUniformer({ kind: 'pose', depth: [1, 1, 2, 1], embedDim: [16, 32, 48, 64], headDim: 16 }, { seed: 1 })) as UniformerPose;
    const xp = tensor(new Float32Array(3 * 128 * 96), [1, 3, 128, 96]);
    const yp = pose.forward(xp);
    expect(yp.shape).toEqual([1, 64, 4, 3]);
    dispose([xp, yp]);
    pose.dispose();
  });
});
