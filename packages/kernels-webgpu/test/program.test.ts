import { describe, expect, it } from 'vitest';
import { MIN_BUCKET, bucketSize } from '../src/pool';
import { linearWorkgroups, packUniforms, programSource, uniformLayout } from '../src/program';
import { broadcastProgram, sameShapeProgram } from '../src/kernels/binary';

describe('bucketSize', () => {
  it('rounds small sizes up to powers of two, at least 16 bytes', () => {
    expect(bucketSize(0)).toBe(MIN_BUCKET);
    expect(bucketSize(1)).toBe(16);
    expect(bucketSize(16)).toBe(16);
    expect(bucketSize(17)).toBe(32);
    expect(bucketSize(100)).toBe(128);
    expect(bucketSize(4096)).toBe(4096);
  });

  it('uses quarter steps between powers of two above 4 KiB (at most 25% waste)', () => {
    expect(bucketSize(4097)).toBe(5120);
    expect(bucketSize(6000)).toBe(6144);
    expect(bucketSize(7169)).toBe(8192);
    for (let n = 4097; n < 1 << 22; n = Math.floor(n * 1.37)) {
      const b = bucketSize(n);
      expect(b).toBeGreaterThanOrEqual(n);
      expect(b % 16).toBe(0);
      expect(b / n).toBeLessThanOrEqual(1.25);
    }
  });

  it('rejects nonsense sizes', () => {
    expect(() => bucketSize(-1)).toThrow(/invalid buffer size/);
    expect(() => bucketSize(NaN)).toThrow(/invalid buffer size/);
  });
});

describe('uniforms', () => {
  it('lays out scalars at 4-byte and vec4 arrays at 16-byte alignment', () => {
    const l = uniformLayout([
      { name: 'size', type: 'u32' },
      { name: 'shape', type: 'u32', length: 5 },
      { name: 'alpha', type: 'f32' },
      { name: 'beta', type: 'i32' },
    ]);
    expect(l.fields.map((f) => f.offset)).toEqual([0, 16, 48, 52]);
    expect(l.size).toBe(64);
  });

  it('packs values with their types and checks them', () => {
    const l = uniformLayout([
      { name: 'n', type: 'u32' },
      { name: 'x', type: 'f32' },
      { name: 'k', type: 'i32' },
      { name: 's', type: 'u32', length: 3 },
    ]);
    const dv = new DataView(packUniforms(l, { n: 7, x: 1.5, k: -2, s: [4, 5, 6] }));
    expect([dv.getUint32(0, true), dv.getFloat32(4, true), dv.getInt32(8, true)]).toEqual([7, 1.5, -2]);
    expect([dv.getUint32(16, true), dv.getUint32(20, true), dv.getUint32(24, true)]).toEqual([4, 5, 6]);
    expect(() => packUniforms(l, { n: 7, x: 1, k: 0 })).toThrow(/uniform 's' was not given/);
    expect(() => packUniforms(l, { n: -1, x: 1, k: 0, s: [] })).toThrow(/does not fit u32/);
    expect(() => packUniforms(l, { n: 1, x: 1, k: 0, s: [1, 2, 3, 4] })).toThrow(/at most 3 values/);
  });
});

describe('program source', () => {
  it('declares bindings in order, the uniform block after them, and accessors for arrays', () => {
    const src = programSource(broadcastProgram('add', 'f32', 3));
    expect(src).toContain('@group(0) @binding(0) var<storage, read> A: array<f32>;');
    expect(src).toContain('@group(0) @binding(2) var<storage, read_write> Y: array<f32>;');
    expect(src).toContain('@group(0) @binding(3) var<uniform> u: Uniforms;');
    expect(src).toContain('shape: array<vec4<u32>, 1>,');
    expect(src).toContain('fn u_shape(i: u32) -> u32');
    expect(src).toContain('@compute @workgroup_size(64, 1, 1)');
  });

  it('gives every variant its own key', () => {
    const keys = [sameShapeProgram('add', 'f32'), sameShapeProgram('add', 'i32'), broadcastProgram('add', 'f32', 2), broadcastProgram('add', 'f32', 3)].map((p) => p.key);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe('linearWorkgroups', () => {
  it('covers n threads, spilling into y past the per-dimension limit', () => {
    expect(linearWorkgroups(1, 64)).toEqual([1, 1, 1]);
    expect(linearWorkgroups(0, 64)).toEqual([1, 1, 1]);
    expect(linearWorkgroups(65, 64)).toEqual([2, 1, 1]);
    const [x, y] = linearWorkgroups(64 * 70000, 64, 65535);
    expect(y).toBe(2);
    expect(x * y * 64).toBeGreaterThanOrEqual(64 * 70000);
    expect(x).toBeLessThanOrEqual(65535);
  });
});
