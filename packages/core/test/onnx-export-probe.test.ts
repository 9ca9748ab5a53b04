import { it, expect, vi } from 'vitest';
//vi.mock('@tubelet/core', async () => await import('../src/index'));
import * as core from '../src/index';
import { createUniformer } from '../../models/src/index';
it('probe', async () => {
  const m = createUniformer({ kind: 'video', depth: [1,1,1,1], embedDim: [16,32,48,64], headDim: 16, numClasses: 3 } as never);
  m.randomInit(0);
  const t = [...m.namedTensors().values()][0]!;
  console.log('same instance', t instanceof core.Tensor, t.backend);
});
