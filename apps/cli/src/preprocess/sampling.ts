/**
 * Temporal sampling: which decoded frames (0-based indices) feed each temporal clip, exactly as the
 * official test pipelines pick them. Every function is pure and returns one index array per clip.
 *
 * - UniFormer, Kinetics (slowfast `decoder.get_start_end_idx` with USE_OFFSET_SAMPLING +
 *   `temporal_sampling`): float32 `torch.linspace(start, end, T)`, clamped, truncated (spec §9).
 * - UniFormer, Something-Something (`sth.py`): segment rule with numpy round-half-even (spec §9).
 * - ViViT (scenic → DMVR `sample_linspace_sequence` / `sample_sequence`): clips of `numFrames` frames at
 *   `stride`, offsets from a float32 `tf.linspace(0, max_offset, clips)` truncated, indices taken modulo
 *   the video length (DMVR repeats a short video) — vivit.md §11/§12.
 * - ViViT in-model frame sampling (`sample_frames_uniformly`, vivit.md §2.2) for the
 *   `temporal_sampling` embedding.
 */
import { f32, fmaf } from './float32';
import { PreprocessError } from './types';

/** numpy / JAX `round`: round half to even. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

function checkCount(name: string, v: number, min = 1): void {
  if (!Number.isInteger(v) || v < min) throw new PreprocessError(`${name} must be an integer >= ${min} (got ${v})`);
}

/**
 * `torch.linspace(start, end, steps)` in float32 exactly as x86 PyTorch computes it on CPU (ATen
 * `linspace_kernel` in its AVX2 build): `step = (end-start)/(steps-1)`; element i is
 * `fma(step, i, start)` below `steps/2` and `fma(-step, steps-1-i, end)` from there on, except that
 * full blocks of 2·`vectorWidth` elements go through `Vectorized::arange(base, step)`: each
 * `vectorWidth`-lane chunk picks its direction from its first index, `base` as above, lanes
 * `base + j*step` (unfused). With vectorWidth 8 (AVX2) this reproduces torch 1.13 bit for bit on 2,800
 * (start, end, steps) cases; the plain formula differs by an ulp in a quarter of them, which can move a
 * truncated frame index. Use vectorWidth 16 for an AVX-512 build, 0 for the scalar formula.
 */
export function torchLinspaceF32(start: number, end: number, steps: number, vectorWidth = 8): Float32Array {
  checkCount('steps', steps);
  const out = new Float32Array(steps);
  const s = f32(start);
  const e = f32(end);
  if (steps === 1) {
    out[0] = s;
    return out;
  }
  const step = f32(f32(e - s) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  const at = (idx: number): number => (idx < halfway ? fmaf(step, idx, s) : fmaf(-step, steps - idx - 1, e));
  let i = 0;
  if (vectorWidth > 0) {
    for (; i + 2 * vectorWidth <= steps; i += 2 * vectorWidth) {
      for (const b of [i, i + vectorWidth]) {
        const base = at(b);
        out[b] = base;
        for (let j = 1; j < vectorWidth; j++) out[b + j] = f32(base + f32(j * step));
      }
    }
  }
  for (; i < steps; i++) out[i] = at(i);
  return out;
}

/**
 * UniFormer / slowfast Kinetics test sampling. `clip = samplingRate * numFrames`, `delta = max(n - clip, 0)`;
 * clip k starts at `floor(delta/2)` (one clip) or `k * floor(delta/(clips-1))`; indices =
 * `clamp(linspace(start, start+clip-1, numFrames), 0, n-1)` truncated. 16×4 on a 64-frame video gives
 * 0,4,8,12,16,21,25,29,33,37,42,46,50,54,58,63.
 */
export function uniformerClipIndices(nFrames: number, numFrames: number, samplingRate: number, numClips: number): number[][] {
  checkCount('frame count', nFrames);
  checkCount('frames per clip', numFrames);
  checkCount('sampling rate', samplingRate);
  checkCount('clips', numClips);
  const clipSize = samplingRate * numFrames;
  const delta = Math.max(nFrames - clipSize, 0);
  const clips: number[][] = [];
  for (let k = 0; k < numClips; k++) {
    const start = numClips === 1 ? Math.floor(delta / 2) : k * Math.floor(delta / (numClips - 1));
    const end = start + clipSize - 1;
    const lin = torchLinspaceF32(start, end, numFrames);
    clips.push(Array.from(lin, (v) => Math.trunc(Math.min(Math.max(v, 0), nFrames - 1))));
  }
  return clips;
}

/**
 * UniFormer Something-Something (`sth.py`, test): `seg = (n-1)/numFrames`; frame i of clip k is
 * `int(np.round(seg*i)) + int(seg/(numClips+1)*(k+1)) + 1` (1-based file number `img_{:05d}.jpg`);
 * returned 0-based and clamped to the video.
 */
export function ssv2SegmentIndices(nFrames: number, numFrames: number, numClips: number): number[][] {
  checkCount('frame count', nFrames);
  checkCount('frames per clip', numFrames);
  checkCount('clips', numClips);
  const seg = (nFrames - 1) / numFrames;
  const clips: number[][] = [];
  for (let k = 0; k < numClips; k++) {
    const offset = Math.trunc((seg / (numClips + 1)) * (k + 1));
    const idx: number[] = [];
    for (let i = 0; i < numFrames; i++) {
      const oneBased = Math.trunc(roundHalfEven(seg * i)) + offset + 1;
      idx.push(Math.min(Math.max(oneBased - 1, 0), nFrames - 1));
    }
    clips.push(idx);
  }
  return clips;
}

/** `tf.linspace(start, stop, num)` in float32 (start, start+delta·i for 0<i<num-1, then exactly stop). */
export function tfLinspaceF32(start: number, stop: number, num: number): Float32Array {
  checkCount('num', num);
  const out = new Float32Array(num);
  const s = f32(start);
  const e = f32(stop);
  out[0] = s;
  if (num === 1) return out;
  const delta = f32(f32(e - s) / f32(num - 1));
  for (let i = 1; i < num - 1; i++) out[i] = f32(s + f32(delta * i));
  out[num - 1] = e;
  return out;
}

/**
 * ViViT test sampling (scenic's DMVR `add_image`): with one clip, DMVR's central `sample_sequence`
 * (offset `max(0, floor((n - numFrames*stride)/2))`); with several, `sample_linspace_sequence`
 * (offsets `int(tf.linspace(0, max(0, n - numFrames*stride), clips))`). Indices are
 * `offset + j*stride`, wrapped modulo n (DMVR tiles a video that is too short).
 */
export function vivitClipIndices(nFrames: number, numFrames = 32, stride = 2, numClips = 4): number[][] {
  checkCount('frame count', nFrames);
  checkCount('frames per clip', numFrames);
  checkCount('stride', stride);
  checkCount('clips', numClips);
  const span = numFrames * stride;
  let offsets: number[];
  if (numClips === 1) {
    offsets = [Math.max(0, Math.floor((nFrames - span) / 2))];
  } else {
    offsets = Array.from(tfLinspaceF32(0, Math.max(0, nFrames - span), numClips), (v) => Math.trunc(v));
  }
  return offsets.map((o) => Array.from({ length: numFrames }, (_, j) => (o + j * stride) % nFrames));
}

/**
 * scenic `sample_frames_uniformly(x, n)` on a clip of T frames (vivit.md §2.2, the
 * `temporal_sampling` embedding): float32 arange(T/(n+1), T, T/(n+1)), round-half-even, clipped to T-1.
 * The result often has n+1 entries (a scenic quirk); when n >= T all frames are kept.
 */
export function vivitSampleFramesUniformly(T: number, n: number): number[] {
  checkCount('T', T);
  checkCount('n', n);
  if (n >= T) return Array.from({ length: T }, (_, i) => i);
  const s = T / (n + 1);
  const len = Math.ceil((T - s) / s);
  const v0 = f32(s);
  const v1 = f32(s + s);
  const d = f32(v1 - v0);
  const out: number[] = [];
  for (let i = 0; i < len; i++) {
    const v = i === 0 ? v0 : i === 1 ? v1 : f32(v0 + f32(f32(i) * d));
    out.push(Math.min(roundHalfEven(v), T - 1));
  }
  return out;
}
