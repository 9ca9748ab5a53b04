/**
 * Issue 5, "100 forwards of a tiny model leave GPU memory and live-tensor counters where they
 * started": a tiny UniFormer (the video_tiny vector: config and weights, the first clip of its
 * input — B=1 keeps the 100 forwards near 30 s on SwiftShader) and a tiny ViViT (m1_tubelet_token,
 * B=2) each forward 100 times on `webgpu` (Dawn; SwiftShader where there is no GPU), every result
 * read back (asynchronously) and disposed.
 *
 * Checked per model, from before the weights are loaded to after the model is disposed:
 *  - core's counters memory('webgpu') (live tensors, storages, bytes) are back where they started,
 *    and between forwards they sit exactly at the loaded-model level (no tensor outlives a forward);
 *  - the pool (backend.stats()): in-use bytes and buffers back at the start, and at the loaded-model
 *    level after every forward; the pool may keep freed buffers for reuse, but after warm-up it
 *    creates no new buffers (allocated / pooled bytes stop growing) — every request is a reuse;
 *  - no GPU error (uncaptured errors counted by the backend, and an error scope around the loop);
 *  - every forward gives the same bits, and the first one matches the reference vector.
 */
import { type RawTensor, type Tensor, dispose } from '@tubelet/core';
import { type WebGpuBackend, type WebGpuStats } from '@tubelet/kernels-webgpu';
import { VivitModel, applyUniformerWeights, configFromOfficial, createUniformer, fromHfPixelValues, normalizeUniformerKeys } from '@tubelet/models';
import { afterAll, describe, expect, it } from 'vitest';
import { readSt, toTensor } from '../../../packages/models/test/fixtures/uniformer/helpers';
import { readVector } from '../../../packages/models/test/vivit-helpers';
import { REQUIRE_WEBGPU, compareAsync, counters, fmtBytes, setupWebGpu } from './webgpu-helpers';

const TAG = 'webgpu-models-memory';
const FORWARDS = 100;
/** Forwards after which the pool must have every buffer it needs. */
const WARMUP = 2;

const setup = await setupWebGpu(TAG);
const gpu = setup.backend as WebGpuBackend;
const report: string[] = [];
afterAll(() => console.log(`[${TAG}] ${FORWARDS} forwards on webgpu (${gpu ? [gpu.adapterInfo.vendor, gpu.adapterInfo.architecture].filter(Boolean).join('/') : 'n/a'}):\n${report.join('\n')}`));

interface TinyModel {
  /** One forward: the logits. */
  forward(): Tensor;
  /** Frees the weights and the input. */
  dispose(): void;
  ref: RawTensor;
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** The first `n` entries along the batch axis of a float32 reference tensor (samples are independent in eval mode). */
function firstSamples(raw: RawTensor, n: number): RawTensor {
  const per = raw.data.length / raw.shape[0]!;
  return { dtype: raw.dtype, shape: [n, ...raw.shape.slice(1)], data: (raw.data as Float32Array).slice(0, n * per) };
}

const poolOf = (s: WebGpuStats) => ({ allocatedBytes: s.allocatedBytes, pooledBytes: s.pooledBytes, numBuffers: s.numBuffers, allocations: s.allocations });

async function hundredForwards(name: string, load: () => TinyModel): Promise<void> {
  // sync first: uniform buffers of recorded but unsubmitted dispatches count as in use until submitted
  await gpu.sync();
  const start = counters(gpu);
  const startStats = gpu.stats();
  const t0 = performance.now();
  const m = load();
  await gpu.sync();
  const loaded = counters(gpu);
  expect(loaded.memory.numTensors).toBeGreaterThan(start.memory.numTensors);

  let first: Float32Array | null = null;
  let firstErr = NaN;
  let afterWarmup: ReturnType<typeof poolOf> | null = null;
  let reusesAtWarmup = 0;
  let tWarm = 0;
  const drift: string[] = [];
  const mismatched: number[] = [];
  gpu.device.pushErrorScope('validation');
  gpu.device.pushErrorScope('out-of-memory');
  try {
    for (let i = 0; i < FORWARDS; i++) {
      const y = m.forward();
      let v: Float32Array;
      try {
        expect(y.backend).toBe('webgpu');
        v = (await y.data()) as Float32Array;
        if (i === 0) firstErr = (await compareAsync('logits', y, m.ref)).maxErr;
      } finally {
        y.dispose();
      }
      if (!first) first = v;
      else if (!sameBits(first, v)) mismatched.push(i);
      // between forwards: exactly the loaded model (weights + input) is live, nothing else in use
      const c = counters(gpu);
      if (JSON.stringify(c) !== JSON.stringify(loaded)) drift.push(`forward ${i}: ${JSON.stringify(c)} vs loaded ${JSON.stringify(loaded)}`);
      if (i === WARMUP - 1) {
        afterWarmup = poolOf(gpu.stats());
        reusesAtWarmup = gpu.stats().reuses;
        tWarm = performance.now();
      }
    }
  } finally {
    m.dispose();
  }
  const oom = await gpu.device.popErrorScope();
  const validation = await gpu.device.popErrorScope();
  const tEnd = performance.now();
  const endStats = gpu.stats();
  const end = counters(gpu);
  const pool = poolOf(endStats);

  report.push(
    `  ${name}: load + ${WARMUP} warm-up forwards (shader compilation) ${((tWarm - t0) / 1000).toFixed(2)} s, then ${((tEnd - tWarm) / (FORWARDS - WARMUP)).toFixed(0)} ms / forward + readback; ` +
      `logits max abs err ${firstErr.toExponential(2)}\n` +
      `    live on webgpu: start ${JSON.stringify(start.memory)}, loaded ${JSON.stringify(loaded.memory)}, end ${JSON.stringify(end.memory)}\n` +
      `    pool in use: start ${fmtBytes(start.inUseBytes)} / ${start.inUseBuffers} buffers, loaded ${fmtBytes(loaded.inUseBytes)} / ${loaded.inUseBuffers}, end ${fmtBytes(end.inUseBytes)} / ${end.inUseBuffers}\n` +
      `    pool after warm-up (${WARMUP} forwards): allocated ${fmtBytes(afterWarmup!.allocatedBytes)} (${afterWarmup!.numBuffers} buffers, pooled ${fmtBytes(afterWarmup!.pooledBytes)}), createBuffer calls ${afterWarmup!.allocations - startStats.allocations}; ` +
      `after ${FORWARDS}: allocated ${fmtBytes(pool.allocatedBytes)} (${pool.numBuffers} buffers, pooled ${fmtBytes(pool.pooledBytes)}), createBuffer calls since warm-up ${pool.allocations - afterWarmup!.allocations}, reuses since warm-up ${endStats.reuses - reusesAtWarmup}\n` +
      `    dispatches ${endStats.dispatches - startStats.dispatches}, submits ${endStats.submits - startStats.submits}, GPU errors ${endStats.gpuErrors - startStats.gpuErrors}`,
  );

  expect(validation?.message ?? null, 'validation error during the forwards').toBeNull();
  expect(oom?.message ?? null, 'out-of-memory error during the forwards').toBeNull();
  expect(endStats.gpuErrors, `uncaptured GPU errors (last: ${gpu.lastGpuError})`).toBe(0);
  expect(firstErr, 'first forward vs the reference logits').toBeLessThanOrEqual(1e-4 * Math.max(1, ...Array.from(m.ref.data as Float32Array, Math.abs)));
  expect(mismatched, 'forwards whose logits differ from the first').toEqual([]);
  expect(drift.length, `counters between forwards differ from the loaded model's in ${drift.length} forwards, e.g. ${drift.slice(0, 3).join('; ')}`).toBe(0);
  // where they started
  expect(end.memory, 'memory(webgpu) after the model and its input are disposed').toEqual(start.memory);
  expect(end.inUseBytes, 'pool in-use bytes').toBe(start.inUseBytes);
  expect(end.inUseBuffers, 'pool in-use buffers').toBe(start.inUseBuffers);
  // the pool keeps freed buffers, but stops growing after warm-up: no createBuffer after it
  expect(pool.allocations, 'createBuffer calls after warm-up').toBe(afterWarmup!.allocations);
  expect(pool.allocatedBytes, 'allocated bytes after warm-up').toBe(afterWarmup!.allocatedBytes);
  expect(pool.numBuffers, 'GPU buffers after warm-up').toBe(afterWarmup!.numBuffers);
  // what is left beyond the start is pooled (free for reuse), not in use
  expect(pool.pooledBytes, 'pooled bytes at the end').toBe(pool.allocatedBytes - end.inUseBytes);
}

describe.skipIf(!gpu)(`${FORWARDS} forwards of a tiny model on webgpu leave the counters where they started`, () => {
  it('UniFormer (video_tiny: first clip, 1×3×8×64², 4 stages, heads 1/2/3/4)', async () => {
    await hundredForwards('UniFormer video_tiny', () => {
      const io = readSt('video_tiny.io.safetensors');
      const w = readSt('video_tiny.weights.safetensors');
      const model = createUniformer(configFromOfficial(JSON.parse(io.metadata.config!)));
      applyUniformerWeights(model, normalizeUniformerKeys(w.tensors).stateDict, { backend: 'webgpu' });
      const x = toTensor(firstSamples(io.tensors.get('input')!, 1));
      return {
        forward: () => model.forward(x) as Tensor,
        dispose: () => {
          x.dispose();
          model.dispose();
        },
        ref: firstSamples(io.tensors.get('logits')!, 1),
      };
    });
  }, 150_000);

  it('ViViT (m1_tubelet_token: 2×3×8×32², D 32, 2 layers)', async () => {
    await hundredForwards('ViViT m1_tubelet_token', () => {
      const v = readVector('m1_tubelet_token.safetensors');
      const model = new VivitModel(v.config);
      model.loadWeights(v.weights());
      const pv = v.tensor('input.pixel_values');
      const video = fromHfPixelValues(pv);
      pv.dispose();
      return {
        forward: () => model.forward(video),
        dispose: () => {
          video.dispose();
          model.dispose();
        },
        ref: v.dict.get('output.logits')!,
      };
    });
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

