import { type Tensor, dispose, tensor } from '@tubelet/core';
import { applyUniformerWeights, configFromOfficial, createUniformer, normalizeUniformerKeys } from '@tubelet/models';
import { it } from 'vitest';
import { readSt, toTensor } from '../../../packages/models/test/fixtures/uniformer/helpers';
import { setupWebGpu } from './webgpu-helpers';
const { backend: gpu } = await setupWebGpu('probe');
it('timing', async () => {
  const io = readSt('video_tiny.io.safetensors');
  const w = readSt('video_tiny.weights.safetensors');
  const model = createUniformer(configFromOfficial(JSON.parse(io.metadata.config!)));
  applyUniformerWeights(model, normalizeUniformerKeys(w.tensors).stateDict, { backend: 'webgpu' });
  const raw = io.tensors.get('input')!;
  const x2 = toTensor(raw);
  const x1 = tensor((raw.data as Float32Array).slice(0, raw.data.length / 2), [1, 3, 8, 64, 64]);
  for (const [n, x] of [['B2', x2], ['B1', x1], ['B2', x2], ['B1', x1]] as const) {
    const t = performance.now();
    for (let i = 0; i < 3; i++) { const y = model.forward(x) as Tensor; await y.data(); y.dispose(); }
    console.log(n, ((performance.now() - t) / 3).toFixed(0), 'ms');
  }
  // per-output timing
  const names = model.outputNames();
  let prev = performance.now();
  const y = model.forward(x2, { outputs: names });
  dispose(y);
  for (let k = 0; k < 2; k++) {
    const t = performance.now();
    const y = model.forward(x2, { outputs: ['stage1'] }); await y.get('stage1')!.data(); dispose(y);
    console.log('to stage1', (performance.now() - t).toFixed(0));
    const t2 = performance.now();
    const z = model.forward(x2, { outputs: ['patch_embed1'] }); await z.get('patch_embed1')!.data(); dispose(z);
    console.log('to patch_embed1', (performance.now() - t2).toFixed(0));
  }
  void prev; void gpu;
}, 300_000);
