import { tensor } from '@tubelet/core';
import { describe, expect, it } from 'vitest';
import { topkClasses } from '../src/index';

describe('topkClasses', () => {
  it('ranks by logit with softmax scores and label names, ties to the lower id', async () => {
    const logits = tensor(new Float32Array([0, Math.log(3), 0, Math.log(3), 1, 1, 1, 1]), [2, 4]);
    const [a, b] = await topkClasses(logits, 2, ['w', 'x', 'y', 'z']);
    expect(a!.map((s) => s.label)).toEqual(['x', 'z']);
    expect(a![0]!.score).toBeCloseTo(3 / 8, 6);
    expect(b!.map((s) => s.classId)).toEqual([0, 1]);
    expect(b![0]!.score).toBeCloseTo(0.25, 6);
    logits.dispose();
  });

  it('rejects bad shapes and label counts', async () => {
    const t = tensor(new Float32Array(3), [3]);
    await expect(topkClasses(t)).rejects.toThrow(/logits must be \[N, classes\], got \[3\]/);
    const u = tensor(new Float32Array(3), [1, 3]);
    await expect(topkClasses(u, 1, ['a'])).rejects.toThrow(/1 labels for 3 classes/);
    t.dispose();
    u.dispose();
  });
});
