import { describe, expect, it } from 'vitest';
import {
  OpError,
  add,
  cast,
  concat,
  conv,
  dispose,
  gather,
  interpolate,
  layerNorm,
  matmul,
  nms,
  opCatalogue,
  pad,
  reshape,
  roiAlign,
  slice,
  softmax,
  tensor,
  topk,
  transpose,
  zeros,
} from '../src/index';
import { expectThrows } from './helpers';

const z = (...shape: number[]) => zeros(shape);

describe('op validation names what is wrong', () => {
  const cases: [string, () => unknown, RegExp][] = [
    ['broadcast', () => add(z(2, 3), z(4)), /add: shapes a \[2, 3\] and b \[4\] do not broadcast/],
    ['dtype mix', () => add(z(2), tensor(new Int32Array([1, 2]))), /add: input 'b' has dtype int32 but 'a' has float32; cast one explicitly/],
    ['matmul K', () => matmul(z(2, 3), z(4, 5)), /matmul: inner dimensions differ: a \[2, 3\] has K=3, b \[4, 5\] has K=4/],
    ['matmul dtype', () => matmul(tensor(new Int32Array(4), [2, 2]), z(2, 2)), /matmul: input 'a' has dtype int32; expected float32 or float16/],
    ['conv channels', () => conv(z(1, 3, 8, 8), z(4, 2, 3, 3)), /conv: weight \[4, 2, 3, 3\] expects 2 input channels \(groups 1\) but x \[1, 3, 8, 8\] has 3/],
    ['conv kernel too big', () => conv(z(1, 1, 2, 2), z(1, 1, 3, 3)), /conv: spatial dim 2 of size 2 \(padded 2\) is smaller than the kernel extent 3/],
    ['conv rank', () => conv(z(3, 8), z(1, 3, 3)), /conv: input must be \[N, C, \.\.\.1-3 spatial dims\], got \[3, 8\]/],
    ['conv padding', () => conv(z(1, 1, 8, 8), z(1, 1, 3, 3), null, { padding: [1, 2, 3] }), /conv: attribute 'padding' must be/],
    ['unknown attribute', () => softmax(z(2, 2), 0) && layerNorm(z(2, 2), null, null, { epsilon: 1 } as never), /layerNorm: unknown attribute 'epsilon'/],
    ['axis range', () => softmax(z(2, 2), 2), /softmax: axis 2 is out of range for a tensor of rank 2/],
    ['reshape', () => reshape(z(2, 3), [4, 2]), /reshape: cannot reshape \[2, 3\] \(6 elements\) to \[4, 2\] \(8 elements\)/],
    ['transpose perm', () => transpose(z(2, 3), [0, 0]), /transpose: perm \[0,0\] is not a permutation of 2 dims/],
    ['concat', () => concat([z(2, 3), z(3, 3)], 1), /concat: xs\[1\] \[3, 3\] does not match xs\[0\] \[2, 3\] outside axis 1/],
    ['slice step 0', () => slice(z(4), { starts: [0], ends: [4], steps: [0] }), /slice: step for axis 0 is 0/],
    ['pad reflect', () => pad(z(2), { pads: [2, 0], mode: 'reflect' }), /pad: reflect padding of dim 0 must be smaller than its size 2/],
    ['gather range', () => gather(z(3), tensor(new Int32Array([3]))), /gather: index 3 is out of range for axis 0 of size 3/],
    ['topk k', () => topk(z(3), { k: 4 }), /topk: k=4 exceeds the size 3 of axis 0/],
    ['interpolate', () => interpolate(z(1, 1, 4, 4), { size: [8, 8], scaleFactor: 2 }), /interpolate: give exactly one of size and scaleFactor/],
    ['roiAlign rois', () => roiAlign(z(1, 1, 4, 4), z(3, 4), { outputSize: 2 }), /roiAlign: rois must be \[K, 5\]/],
    ['cast dtype', () => cast(z(2), 'float64' as never), /cast: attribute 'dtype' must be a dtype name, got "float64"/],
  ];
  for (const [name, fn, re] of cases) {
    it(name, () => expectThrows(fn, Error, re));
  }

  it('async ops must be awaited and validate their inputs too', async () => {
    const boxes = z(3, 4);
    await expect(nms(boxes, z(2), { iouThreshold: 0.5 })).rejects.toThrow(/nms: scores must be \[3\], got \[2\]/);
    dispose(boxes);
  });

  it('every catalogue op documents its semantics and names its inputs', () => {
    const ops = [...opCatalogue().values()];
    expect(ops.length).toBeGreaterThanOrEqual(50);
    for (const d of ops) {
      expect(d.doc.length, d.name).toBeGreaterThan(5);
      expect(d.inputs.length, d.name).toBeGreaterThan(0);
    }
  });

  it('never mutates its inputs', () => {
    const src = new Float32Array([3, 1, 2]);
    const t = tensor(src, [3]);
    const r = softmax(t);
    expect(Array.from(t.dataSync() as Float32Array)).toEqual([3, 1, 2]);
    expect(OpError).toBeDefined();
    dispose([t, r]);
  });
});
