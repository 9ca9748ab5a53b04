/**
 * Helpers shared by the test files: seeded PRNGs, random data, tolerance checks, index walks and
 * small byte/error/temp-dir utilities. Not a test file itself (vitest only collects *.test.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { CheckpointError } from '../src/checkpoint/index';
import { f16BitsToF32, f32ToF16Bits } from '../src/dtype';

// ---- seeded PRNGs and random data ----

/** mulberry32: a seeded PRNG giving floats in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit linear congruential PRNG (Numerical Recipes constants) giving floats in [0, 1). */
export function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** `n` floats drawn uniformly from [lo, hi) with `r`. */
export function rand(r: () => number, n: number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * r();
  return a;
}

/** Each value rounded to the nearest float16. */
export const roundF16 = (a: Float32Array) => a.map((v) => f16BitsToF32(f32ToF16Bits(v)));

// ---- shapes and indices ----

export const prod = (s: readonly number[]) => s.reduce((p, v) => p * v, 1);

/** Calls fn(idx) for every multi-index of `shape` in row-major order. */
export function forEachIndex(shape: readonly number[], fn: (idx: number[]) => void): void {
  const n = prod(shape);
  const idx = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    let t = i;
    for (let d = shape.length - 1; d >= 0; d--) {
      idx[d] = t % shape[d]!;
      t = Math.floor(t / shape[d]!);
    }
    fn(idx);
  }
}

/** Row-major offset of the multi-index `idx` into `shape`. */
export const flat = (shape: readonly number[], idx: readonly number[]) => idx.reduce((acc, v, d) => acc * shape[d]! + v, 0);

/** Symmetric pads [begins..., ends...] from one pad per dim. */
export const sym = (p: number[]) => [...p, ...p];

// ---- tolerance checks ----

/** max |got - ref| <= rtol · max(1, max |ref|): the error scaled by the largest reference value. */
export function expectClose(got: ArrayLike<number>, ref: ArrayLike<number>, rtol = 1e-5): void {
  expect(got.length).toBe(ref.length);
  let maxRef = 0;
  let maxErr = 0;
  for (let i = 0; i < ref.length; i++) {
    maxRef = Math.max(maxRef, Math.abs(ref[i]!));
    maxErr = Math.max(maxErr, Math.abs(got[i]! - ref[i]!));
  }
  expect(Number.isFinite(maxErr)).toBe(true);
  expect(maxErr).toBeLessThanOrEqual(rtol * Math.max(1, maxRef));
}

/** Element-wise |got - want| <= atol + rtol · |want| (numpy allclose); names the worst element when it fails. */
export function expectAllClose(got: ArrayLike<number>, want: ArrayLike<number>, atol: number, rtol = atol): void {
  expect(got.length).toBe(want.length);
  let worst = -Infinity;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i]! - want[i]!) - (atol + rtol * Math.abs(want[i]!));
    if (!(e <= worst)) {
      worst = e;
      at = i;
    }
  }
  if (!(worst <= 0)) expect.fail(`element ${at}: got ${got[at]}, want ${want[at]}`);
}

// ---- bytes and errors ----

/** Bytes from a hex string ('80025d71'). */
export const hex = (s: string): Uint8Array => new Uint8Array(s.match(/../g)!.map((b) => parseInt(b, 16)));
/** One byte per character (char codes < 256). */
export const ascii = (s: string): Uint8Array => new Uint8Array([...s].map((c) => c.charCodeAt(0)));

/** `fn` throws an instance of `type` whose message matches `message`. */
export function expectThrows(fn: () => unknown, type: abstract new (...args: never[]) => Error, message: RegExp): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(type);
  expect((error as Error).message).toMatch(message);
}

/** `fn` throws a CheckpointError whose message matches `message`. */
export const expectCheckpointError = (fn: () => unknown, message: RegExp): void => expectThrows(fn, CheckpointError, message);

// ---- files ----

/**
 * A temporary directory for the enclosing describe block: made before its tests, removed after
 * them. Returns name => the path of `name` inside it (valid once the tests run).
 */
export function useTempDir(prefix: string): (name: string) => string {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  return (name) => join(dir, name);
}
