/**
 * @tubelet/core/testing on the webgpu backend (Dawn; SwiftShader where there is no GPU).
 *
 * float16 cases run too: the kernels store float16 as raw halves and compute in f32, so they run
 * without the 'shader-f16' feature. Set TUBELET_CONFORMANCE_FILTER=<comma-separated case-name
 * prefixes> to run a subset while debugging.
 */
import { removeBackend } from '@tubelet/core';
import { DEFAULT_CONFORMANCE_DTYPES, defineConformanceSuite } from '@tubelet/core/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { setupWebGpu } from './helpers';

/**
 * Catalogue ops with no webgpu kernel yet: their cases are registered as skipped (printed with
 * the reason). Remove an op from this list in the change that adds its kernel.
 */
export const NOT_YET_ON_WEBGPU: readonly string[] = [
];

const SKIP: Record<string, string> = Object.fromEntries(NOT_YET_ON_WEBGPU.map((op) => [`${op}/`, 'not yet implemented on webgpu']));

const filter = process.env.TUBELET_CONFORMANCE_FILTER?.split(',').map((s) => s.trim()).filter(Boolean);

const { backend, reason } = await setupWebGpu();

if (backend) {
  afterAll(() => removeBackend('webgpu'));
  defineConformanceSuite('webgpu', {
    dtypes: [...DEFAULT_CONFORMANCE_DTYPES, 'float16'],
    skip: SKIP,
    ...(filter ? { filter: (c) => filter.some((p) => c.name.startsWith(p)) } : {}),
  });

  describe('webgpu health', () => {
    it('the suite raised no uncaptured GPU errors (validation, out-of-memory, internal)', async () => {
      await backend.sync();
      expect(backend.lastGpuError).toBeNull();
      expect(backend.stats().gpuErrors).toBe(0);
    });
  });
} else {
  describe('conformance: webgpu', () => {
    it.skip(`skipped: webgpu backend unavailable: ${reason}`, () => undefined);
  });
}
