import { removeBackend } from '@tubelet/core';
import { DEFAULT_CONFORMANCE_DTYPES, defineConformanceSuite } from '@tubelet/core/testing';
import { afterAll } from 'vitest';
import { setupWebGpu } from './helpers';
const MINE = ['matmul', 'linear', 'conv', 'convTranspose', 'avgPool', 'maxPool', 'sdpa'];
const { backend } = await setupWebGpu();
if (backend) {
  afterAll(() => removeBackend('webgpu'));
  defineConformanceSuite('webgpu', {
    dtypes: [...DEFAULT_CONFORMANCE_DTYPES, 'float16'],
    filter: (c) => MINE.includes(c.op) || (c.kind === 'program' && c.ops.some((o) => MINE.includes(o))),
  });
}
