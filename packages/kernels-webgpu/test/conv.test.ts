import { setupWebGpu } from './helpers';
import { defineConformanceSuite } from '@tubelet/core/testing';
import { removeBackend } from '@tubelet/core';
import { afterAll } from 'vitest';

const { backend: gpu } = await setupWebGpu();
afterAll(() => removeBackend('webgpu'));

if (gpu) defineConformanceSuite('webgpu', { dtypes: ['float32', 'float16', 'bool'], filter: (c) => c.kind === 'op' && (c.op === 'conv' || c.op === 'convTranspose') });
