// Dawn finds SwiftShader (Chromium's CPU Vulkan driver) through this when there is no GPU.
process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json';

import { type Tensor, backendReport, initBackend, memory, tensor } from '@tubelet/core';
import { expect } from 'vitest';
import { type WebGpuBackend, registerWebGpuBackend } from '../src/index';

export interface WebGpuSetup {
  backend: WebGpuBackend | null;
  /** Why webgpu is unavailable (null when it is available). */
  reason: string | null;
}

/**
 * Registers the webgpu backend and initialises it. When no adapter can be found the reason is
 * printed and the GPU tests skip; TUBELET_REQUIRE_WEBGPU=1 turns that into a failure (CI).
 */
export async function setupWebGpu(): Promise<WebGpuSetup> {
  registerWebGpuBackend();
  const status = (await backendReport()).find((s) => s.name === 'webgpu');
  if (!status?.available) {
    const reason = status?.reason ?? 'webgpu backend not registered';
    if (process.env.TUBELET_REQUIRE_WEBGPU === '1') throw new Error(`webgpu required but unavailable: ${reason}`);
    console.warn(`[kernels-webgpu] SKIPPING GPU tests: webgpu backend unavailable: ${reason}`);
    return { backend: null, reason };
  }
  return { backend: (await initBackend('webgpu')) as WebGpuBackend, reason: null };
}

/** Seeded uniform [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Tensors a test file creates and disposes after each test (`disposeAll` in its afterEach). */
export function ownedTensors() {
  const owned: Tensor[] = [];
  return {
    on(backend: 'cpu' | 'webgpu', data: ArrayLike<number> | BigInt64Array, shape: number[], dtype?: 'float32' | 'int32' | 'int64' | 'float16'): Tensor {
      const t = tensor(data as Float32Array, shape, { backend, ...(dtype ? { dtype } : {}) });
      owned.push(t);
      return t;
    },
    keepT(t: Tensor): Tensor {
      owned.push(t);
      return t;
    },
    disposeAll(): void {
      for (const t of owned.splice(0)) if (!t.isDisposed) t.dispose();
    },
  };
}

/**
 * Runs `step` once (warm-up: pipelines compiled, pool buckets created), then `iterations` times, and
 * checks that live tensors, bytes, buffers and pipelines are where they were after the warm-up.
 * Returns the backend stats after the loop.
 */
export async function expectSteadyState(be: WebGpuBackend, step: () => Promise<void>, iterations: number): Promise<ReturnType<WebGpuBackend['stats']>> {
  await step();
  await be.sync();
  const mem0 = memory('webgpu');
  const st0 = be.stats();
  for (let i = 0; i < iterations; i++) await step();
  await be.sync();
  expect(memory('webgpu')).toEqual(mem0);
  const st1 = be.stats();
  expect(st1.inUseBytes).toBe(st0.inUseBytes);
  expect(st1.allocatedBytes).toBe(st0.allocatedBytes);
  expect(st1.numBuffers).toBe(st0.numBuffers);
  expect(st1.pipelines).toBe(st0.pipelines);
  return st1;
}
