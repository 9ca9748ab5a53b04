/**
 * float32 arithmetic helpers. JavaScript computes in float64; `Math.fround` after each + − × ÷ gives the
 * exact float32 result (float64 has more than 2·24+2 bits, so double rounding is harmless for a single
 * operation). A fused multiply-add needs care: `a*b` of two float32 values is exact in float64, but
 * `a*b + c` rounded to float64 and then to float32 can differ from one correctly rounded fmaf when the
 * float64 sum lands exactly halfway between two float32 values; that case is detected and resolved with
 * the exact error term of the float64 sum (TwoSum).
 */
export const f32 = Math.fround;

/** Correctly rounded float32 `a*b + c` (C's `fmaf`), for float32 inputs. */
export function fmaf(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const r = f32(s);
  if (r === s) return r;
  const o = 2 * s - r; // the float32 on the other side of s, iff s is a float32 midpoint
  if (f32(o) !== o) return r;
  const bv = s - p;
  const e = p - (s - bv) + (c - bv); // p + c = s + e exactly
  if (e === 0) return r;
  return e > 0 ? Math.max(r, o) : Math.min(r, o);
}
