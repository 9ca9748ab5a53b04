/** Fixture helpers of the pose tests (files copied from the official-code reference vectors). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type RawTensor, type StateDict, parseSafetensors } from '@tubelet/core';

const DIR = fileURLToPath(new URL('./fixtures/pose/', import.meta.url));

export function readPoseFixture(name: string): { tensors: StateDict; config: Record<string, unknown>; get(name: string): RawTensor; f32(name: string): Float32Array } {
  const { tensors, metadata } = parseSafetensors(new Uint8Array(readFileSync(`${DIR}${name}`)), { source: name });
  const get = (k: string) => {
    const t = tensors.get(k);
    if (!t) throw new Error(`${name} has no tensor '${k}'`);
    return t;
  };
  return { tensors, config: JSON.parse(metadata?.config ?? '{}') as Record<string, unknown>, get, f32: (k) => get(k).data as Float32Array };
}

/** Rows of a [N, k] float tensor as tuples. */
export function rows(a: Float32Array, k: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < a.length; i += k) out.push(Array.from(a.subarray(i, i + k)));
  return out;
}

/** max |a - b| and the elementwise bound violations of |a - b| <= abs + rel·|b|. */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>, abs = 0, rel = 0): { max: number; bad: number; firstBad: number } {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let max = 0;
  let bad = 0;
  let firstBad = -1;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= max)) max = d;
    if (!(d <= abs + rel * Math.abs(b[i]!))) {
      bad++;
      if (firstBad < 0) firstBad = i;
    }
  }
  return { max, bad, firstBad };
}
