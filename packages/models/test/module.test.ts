import { dispose, memory, tensor, tidy } from '@tubelet/core';
import { describe, expect, it } from 'vitest';
import { Mlp, StateDictError } from '../src/index';

function weights(entries: Record<string, [number[], number[]]>) {
  return new Map(Object.entries(entries).map(([k, [shape, v]]) => [k, tensor(new Float32Array(v), shape)]));
}

describe('Module', () => {
  it('lists dotted parameter names and counts parameters', () => {
    const m = new Mlp(2, 3);
    expect([...m.parameterShapes()]).toEqual([
      ['fc1.weight', [3, 2]],
      ['fc1.bias', [3]],
      ['fc2.weight', [2, 3]],
      ['fc2.bias', [2]],
    ]);
    expect(m.numParameters()).toBe(6 + 3 + 6 + 2);
  });

  it('names missing, unexpected and mismatched keys, and ignores num_batches_tracked', () => {
    const m = new Mlp(2, 3);
    const entries = new Map<string, { shape: number[]; dtype: string }>([
      ['fc1.weight', { shape: [3, 2], dtype: 'float32' }],
      ['fc1.bias', { shape: [4], dtype: 'float32' }],
      ['fc2.weight', { shape: [2, 3], dtype: 'float32' }],
      ['head.weight', { shape: [1], dtype: 'float32' }],
      ['norm.num_batches_tracked', { shape: [], dtype: 'int64' }],
    ]);
    let err: StateDictError | undefined;
    try {
      m.checkStateDict(entries);
    } catch (e) {
      err = e as StateDictError;
    }
    expect(err).toBeInstanceOf(StateDictError);
    expect(err!.missing).toEqual(['fc2.bias']);
    expect(err!.unexpected).toEqual(['head.weight']);
    expect(err!.mismatched).toEqual([{ key: 'fc1.bias', expected: [3], got: [4] }]);
    expect(err!.message).toMatch(/missing keys: fc2\.bias; unexpected keys: head\.weight; shape mismatches: fc1\.bias expects \[3\] got \[4\]/);
  });

  it('runs an MLP forward with loaded weights (erf GELU) and frees its tensors', () => {
    const before = memory('cpu');
    const m = new Mlp(2, 2);
    m.loadWeights(weights({ 'fc1.weight': [[2, 2], [1, 0, 0, 1]], 'fc1.bias': [[2], [0, 0]], 'fc2.weight': [[2, 2], [1, 1, 0, 0]], 'fc2.bias': [[2], [0.5, 0]] }));
    const x = tensor(new Float32Array([1, -1]), [1, 2]);
    const y = tidy(() => m.forward(x));
    // gelu(1) = 0.8413447460685429, gelu(-1) = -0.15865525393145707
    const v = y.dataSync();
    expect(v[0]).toBeCloseTo(0.8413447460685429 - 0.15865525393145707 + 0.5, 6);
    expect(v[1]).toBe(0);
    dispose([x, y]);
    m.dispose();
    expect(memory('cpu')).toEqual(before);
  });
});
