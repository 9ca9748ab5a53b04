import type { Shape } from '../shape';

/**
 * Strided iteration for CPU kernels. Dims are merged where every operand is contiguous across
 * them, then the last (merged) dim runs in a tight inner loop with per-operand strides.
 */
export interface StridedPlan {
  /** Merged shape (at least one dim). */
  shape: number[];
  /** strides[k][d]: stride of operand k along merged dim d. */
  strides: number[][];
}

export function planStrided(shape: Shape, strides: readonly (readonly number[])[]): StridedPlan {
  const dims: number[] = [];
  const st: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = dims.length - 1;
    if (last >= 0 && strides.every((s, k) => st[k]![last] === s[d]! * shape[d]!)) {
      dims[last] *= shape[d]!;
      strides.forEach((s, k) => (st[k]![last] = s[d]!));
    } else {
      dims.push(shape[d]!);
      strides.forEach((s, k) => st[k]!.push(s[d]!));
    }
  }
  if (dims.length === 0) {
    dims.push(1);
    st.forEach((s) => s.push(0));
  }
  return { shape: dims, strides: st };
}

/**
 * Calls `inner(offsets, n, innerStrides)` once per row of the last merged dim, where offsets[k]
 * is operand k's start offset. `base` gives each operand's starting offset.
 */
export function forEachRow(plan: StridedPlan, base: readonly number[], inner: (offsets: number[], n: number, st: readonly number[]) => void): void {
  const { shape, strides } = plan;
  const r = shape.length;
  const nOps = strides.length;
  const n = shape[r - 1]!;
  const innerSt = strides.map((s) => s[r - 1]!);
  const offs = base.slice();
  if (n === 0 || shape.some((d) => d === 0)) return;
  if (r === 1) {
    inner(offs, n, innerSt);
    return;
  }
  const idx = new Array<number>(r - 1).fill(0);
  for (;;) {
    inner(offs.slice(), n, innerSt);
    let d = r - 2;
    for (; d >= 0; d--) {
      idx[d]!++;
      for (let k = 0; k < nOps; k++) offs[k]! += strides[k]![d]!;
      if (idx[d]! < shape[d]!) break;
      for (let k = 0; k < nOps; k++) offs[k]! -= strides[k]![d]! * shape[d]!;
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

/** dst (contiguous, row-major over `shape`) ← src read with `srcStrides` from `srcOffset`. */
export function stridedCopy<T extends { [i: number]: unknown; length: number }>(
  src: T,
  srcOffset: number,
  srcStrides: readonly number[],
  shape: Shape,
  dst: T,
  dstOffset = 0,
  dstStrides?: readonly number[],
): void {
  const dStr = dstStrides ?? contiguousStrides(shape);
  const plan = planStrided(shape, [dStr, srcStrides]);
  forEachRow(plan, [dstOffset, srcOffset], (o, n, st) => {
    let di = o[0]!;
    let si = o[1]!;
    const ds = st[0]!;
    const ss = st[1]!;
    if (ds === 1 && ss === 1 && (dst as unknown as Float32Array).set && (src as unknown as Float32Array).subarray) {
      (dst as unknown as Float32Array).set((src as unknown as Float32Array).subarray(si, si + n), di);
      return;
    }
    for (let i = 0; i < n; i++, di += ds, si += ss) dst[di] = src[si];
  });
}

export function contiguousStrides(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}
