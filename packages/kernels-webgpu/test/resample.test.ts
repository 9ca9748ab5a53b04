import { setupWebGpu } from './helpers';
import { removeBackend } from '@tubelet/core';
import { DEFAULT_CONFORMANCE_DTYPES, defineConformanceSuite } from '@tubelet/core/testing';
import { afterAll, describe, it } from 'vitest';

const { backend: gpu, reason } = await setupWebGpu();
afterAll(() => removeBackend('webgpu'));

if (gpu) {
  defineConformanceSuite('webgpu', { filter: (c) => ['interpolate', 'gridSample'].includes(c.op), dtypes: [...DEFAULT_CONFORMANCE_DTYPES, 'float16'] });
} else {
  describe.skip(`resample on webgpu (skipped: ${reason})`, () => it('needs an adapter', () => undefined));
}
