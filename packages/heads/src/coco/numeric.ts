/** Small numeric helpers that reproduce numpy's results bit for bit where cocoeval relies on them. */

/** numpy's machine epsilon `np.spacing(1)` = 2^-52. */
export const EPS = 2 ** -52;

/**
 * Sum of a float64 array in numpy's pairwise order (what `np.sum` / `np.mean` do on a contiguous
 * 1-D array): blocks of up to 128 summed with 8 interleaved accumulators, larger ranges split in two.
 */
export function pairwiseSum(a: ArrayLike<number>, start = 0, n = a.length - start): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[start + i]!;
    return res;
  }
  if (n <= 128) {
    const r = new Float64Array(8);
    for (let j = 0; j < 8; j++) r[j] = a[start + j]!;
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] += a[start + i + j]!;
    let res = r[0]! + r[1]! + (r[2]! + r[3]!) + (r[4]! + r[5]! + (r[6]! + r[7]!));
    for (; i < n; i++) res += a[start + i]!;
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2);
}

/** `np.mean` of a 1-D float64 array: pairwise sum over the count (NaN for an empty array). */
export function npMean(a: ArrayLike<number>): number {
  return pairwiseSum(a) / a.length;
}

/**
 * Indices that sort `keys` ascending, stably (numpy's argsort with kind='mergesort'); NaN sorts last.
 */
export function stableArgsort(keys: ArrayLike<number>): number[] {
  const idx = Array.from({ length: keys.length }, (_, i) => i);
  idx.sort((i, j) => {
    const a = keys[i]!;
    const b = keys[j]!;
    if (a < b) return -1;
    if (a > b) return 1;
    const na = Number.isNaN(a);
    const nb = Number.isNaN(b);
    if (na !== nb) return na ? 1 : -1;
    return i - j;
  });
  return idx;
}

/** numpy's `linspace(start, stop, num)` with endpoint: `i*step + start`, the last value set to `stop`. */
export function linspace(start: number, stop: number, num: number): number[] {
  const div = num - 1;
  const step = (stop - start) / div;
  const out: number[] = [];
  for (let i = 0; i < num; i++) out.push(step === 0 ? ((i / div) * (stop - start)) + start : i * step + start);
  if (num > 1) out[num - 1] = stop;
  return out;
}
