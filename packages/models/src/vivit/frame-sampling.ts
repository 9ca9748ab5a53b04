/**
 * scenic's uniform frame sampling (`video_utils.sample_frames_uniformly`), bit-exact.
 *
 *   idx = min(round(jnp.arange(T/(n+1), T, T/(n+1))), T-1)   if n < T, else all T frames
 *
 * With JAX's default (x64 off) `jnp.arange` on Python floats is numpy's float32 arange: the
 * length is computed in float64, element 0 and 1 are float32 roundings of start and start+step,
 * and the rest come from numpy's FLOAT_fill, i.e. `v_i = f32(v0 + f32(f32(i)·f32(v1 - v0)))`.
 * `jnp.round` rounds half to even. The result often has n + 1 entries (the last clipped to T-1):
 * the number of temporal tokens is the length of the returned list.
 */

const f32 = Math.fround;

/** Round half to even (numpy / jnp.round), not Math.round's half-up. */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  // Math.round rounds .5 up; undo that for ties whose rounded value is odd
  if (r - v === 0.5 && r % 2 !== 0) return r - 1;
  return r;
}

/** numpy `arange(start, stop, step, dtype=float32)` for Python-float arguments, as numpy fills it. */
export function arangeFloat32(start: number, stop: number, step: number): Float32Array {
  const len = Math.max(0, Math.ceil((stop - start) / step));
  const out = new Float32Array(len);
  if (len === 0) return out;
  const v0 = f32(start);
  out[0] = v0;
  if (len === 1) return out;
  const v1 = f32(start + step);
  out[1] = v1;
  const d = f32(v1 - v0);
  for (let i = 2; i < len; i++) out[i] = f32(v0 + f32(f32(i) * d));
  return out;
}

/**
 * The frame indices scenic samples from a clip of `numFrames` frames when asked for `nSampled`
 * frames. The list has n, n+1 or (when nSampled >= numFrames) numFrames entries.
 */
export function uniformFrameIndices(numFrames: number, nSampled: number): number[] {
  if (!Number.isInteger(numFrames) || numFrames < 1) throw new RangeError(`uniformFrameIndices: numFrames must be a positive integer, got ${numFrames}`);
  if (!Number.isInteger(nSampled) || nSampled < 1) throw new RangeError(`uniformFrameIndices: nSampled must be a positive integer, got ${nSampled}`);
  const T = numFrames;
  if (nSampled >= T) return [...Array(T).keys()];
  const step = T / (nSampled + 1);
  return Array.from(arangeFloat32(step, T, step), (v) => Math.min(roundHalfEven(v), T - 1));
}
