/**
 * WGSL helper functions shared by the elementwise, layout and reduction kernels, included on demand
 * (`wgslLib(['erf', 'i64'])` returns the named snippets plus their dependencies, once each).
 *
 * Conventions: NaN / infinity tests look at bits, never at float comparisons (WGSL lets an
 * implementation assume there are no NaNs, and some GPU compilers do); NaN and infinity values are
 * made from bits held in private variables (a const-expression may not evaluate to NaN/inf).
 * int64 values are vec2<u32>(lo, hi), two's complement.
 */

interface Snippet {
  deps: readonly string[];
  code: string;
}

const SNIPPETS: Record<string, Snippet> = {
  bits: {
    deps: [],
    code: /* wgsl */ `
var<private> K_NAN_BITS: u32 = 0x7fc00000u;
var<private> K_INF_BITS: u32 = 0x7f800000u;
fn f32_nan() -> f32 { return bitcast<f32>(K_NAN_BITS); }
fn f32_inf(neg: bool) -> f32 { return bitcast<f32>(K_INF_BITS | select(0u, 0x80000000u, neg)); }
fn f32_isnan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn f32_isinf(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) == 0x7f800000u; }
fn f32_finite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) < 0x7f800000u; }
fn f32_signbit(x: f32) -> bool { return (bitcast<u32>(x) >> 31u) != 0u; }
fn f32_iszero(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) == 0u; }
`,
  },

  /** NaN-aware float comparisons and min/max (NaN propagates, as torch.maximum). */
  fcmp: {
    deps: ['bits'],
    code: /* wgsl */ `
fn f32_lt(a: f32, b: f32) -> bool { return !f32_isnan(a) && !f32_isnan(b) && a < b; }
fn f32_le(a: f32, b: f32) -> bool { return !f32_isnan(a) && !f32_isnan(b) && a <= b; }
fn f32_eq(a: f32, b: f32) -> bool { return !f32_isnan(a) && !f32_isnan(b) && a == b; }
fn f32_max_nan(a: f32, b: f32) -> f32 {
  if (f32_isnan(a)) { return a; }
  if (f32_isnan(b)) { return b; }
  return select(b, a, a > b);
}
fn f32_min_nan(a: f32, b: f32) -> f32 {
  if (f32_isnan(a)) { return a; }
  if (f32_isnan(b)) { return b; }
  return select(b, a, a < b);
}
`,
  },

  /** IEEE half <-> float, bit exact; packing rounds to nearest even (dtype.ts f32ToF16Bits). */
  f16: {
    deps: [],
    code: /* wgsl */ `
fn f16_unpack(h: u32) -> f32 {
  let s = (h & 0x8000u) << 16u;
  let e = (h >> 10u) & 0x1fu;
  let m = h & 0x3ffu;
  if (e == 0u) { return bitcast<f32>(s | bitcast<u32>(f32(m) * 5.9604644775390625e-8)); }
  if (e == 31u) { return bitcast<f32>(s | 0x7f800000u | (m << 13u)); }
  return bitcast<f32>(s | ((e + 112u) << 23u) | (m << 13u));
}
fn f16_pack(v: f32) -> u32 {
  let x = bitcast<u32>(v);
  let sign = (x >> 16u) & 0x8000u;
  let ex = (x >> 23u) & 0xffu;
  var mant = x & 0x7fffffu;
  if (ex == 0xffu) { return sign | 0x7c00u | select(0u, 0x200u, mant != 0u); }
  let e = i32(ex) - 112;
  if (e >= 31) { return sign | 0x7c00u; }
  if (e <= 0) {
    if (e < -10) { return sign; }
    mant = mant | 0x800000u;
    let shift = u32(14 - e);
    var half = mant >> shift;
    let rem = mant & ((1u << shift) - 1u);
    let mid = 1u << (shift - 1u);
    if (rem > mid || (rem == mid && (half & 1u) != 0u)) { half = half + 1u; }
    return sign | half;
  }
  var half = (u32(e) << 10u) | (mant >> 13u);
  let rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (half & 1u) != 0u)) { half = half + 1u; }
  return sign | half;
}
`,
  },

  /** Float math with explicit IEEE special cases (the builtins leave them implementation-defined). */
  fmath: {
    deps: ['bits'],
    code: /* wgsl */ `
fn f32_div(a: f32, b: f32) -> f32 {
  if (f32_isnan(a) || f32_isnan(b)) { return f32_nan(); }
  if (f32_iszero(b)) {
    if (f32_iszero(a)) { return f32_nan(); }
    return f32_inf(f32_signbit(a) != f32_signbit(b));
  }
  if (f32_isinf(b)) {
    if (f32_isinf(a)) { return f32_nan(); }
    return bitcast<f32>(select(0u, 0x80000000u, f32_signbit(a) != f32_signbit(b)));
  }
  if (f32_isinf(a)) { return f32_inf(f32_signbit(a) != f32_signbit(b)); }
  return a / b;
}
fn f32_recip(x: f32) -> f32 { return f32_div(1.0, x); }
fn f32_sqrt(x: f32) -> f32 {
  if (f32_isnan(x)) { return x; }
  if (f32_iszero(x)) { return x; }
  if (f32_signbit(x)) { return f32_nan(); }
  if (f32_isinf(x)) { return x; }
  return sqrt(x);
}
fn f32_rsqrt(x: f32) -> f32 {
  if (f32_isnan(x)) { return x; }
  if (f32_iszero(x)) { return f32_inf(f32_signbit(x)); }
  if (f32_signbit(x)) { return f32_nan(); }
  if (f32_isinf(x)) { return 0.0; }
  return inverseSqrt(x);
}
// exp to ~1 ulp on any device: Cody-Waite reduction by ln 2, degree-7 Taylor on |r| <= ln2/2
fn f32_exp(x: f32) -> f32 {
  if (f32_isnan(x)) { return x; }
  if (x > 88.72283172607422) { return f32_inf(false); }
  if (x < -103.97208404541016) { return 0.0; }
  let k = round(x * 1.4426950408889634);
  let r = (x - k * 0.693145751953125) - k * 1.4286068203094172e-6;
  var p = 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  let ki = i32(k);
  let k1 = ki / 2;
  return ldexp(ldexp(p, k1), ki - k1);
}
// x = 2^k·(1 + f), √2/2 <= 1 + f < √2, for finite x > 0 (subnormals normalised with integer ops, so a
// device that flushes them still gets them right): returns (k, f)
fn f32_log_reduce(x: f32) -> vec2<f32> {
  var ix = bitcast<u32>(x);
  var k = 0i;
  if (ix < 0x00800000u) {
    let p = firstLeadingBit(ix);
    ix = ((p + 3u) << 23u) | ((ix << (23u - p)) & 0x7fffffu);
    k = -25;
  }
  ix = ix + (0x3f800000u - 0x3f3504f3u);
  k = k + i32(ix >> 23u) - 0x7f;
  ix = (ix & 0x007fffffu) + 0x3f3504f3u;
  return vec2<f32>(f32(k), bitcast<f32>(ix) - 1.0);
}
// log(1 + f) - f + f²/2 for the reduced f (fdlibm's e_logf.c polynomial, |error| < 2^-34)
fn f32_log1p_tail(f: f32) -> f32 {
  let s = f / (2.0 + f);
  let z = s * s;
  let w = z * z;
  let R = z * (0.66666662693 + w * 0.28498786688) + w * (0.40000972152 + w * 0.24279078841);
  return s * (0.5 * f * f + R);
}
// natural log to ~1 ulp (the builtin's error is only bounded absolutely near 1)
fn f32_log(x: f32) -> f32 {
  if (f32_isnan(x)) { return x; }
  if (f32_iszero(x)) { return f32_inf(true); }
  if (f32_signbit(x)) { return f32_nan(); }
  if (f32_isinf(x)) { return x; }
  let kf = f32_log_reduce(x);
  let f = kf.y;
  let hfsq = 0.5 * f * f;
  return f32_log1p_tail(f) + kf.x * 9.0580006145e-06 - hfsq + f + kf.x * 6.9313812256e-01;
}
// 2^e · m for any integer e (two steps keep each ldexp in range; far out of range gives 0 / inf)
fn f32_scale2(m: f32, e: f32) -> f32 {
  let ee = i32(clamp(e, -400.0, 400.0));
  let e1 = ee / 2;
  return ldexp(ldexp(m, e1), ee - e1);
}
// x^y for finite x > 0 and finite y: log2 x = k + r with k exact, so exact powers of two stay exact
fn f32_pow_pos(x: f32, y: f32) -> f32 {
  let kf = f32_log_reduce(x);
  let f = kf.y;
  let r = (f - 0.5 * f * f + f32_log1p_tail(f)) * 1.4426950408889634;
  let a = y * kf.x;
  let n = round(a);
  let t = (a - n) + y * r;
  let n2 = round(t);
  return f32_scale2(f32_exp((t - n2) * 0.6931471805599453), n + n2);
}
// sigmoid as the cpu reference: 1/(1+e^-x) for x >= 0, e^x/(1+e^x) below (no overflow either side)
fn f32_sigmoid(x: f32) -> f32 {
  if (f32_isnan(x)) { return x; }
  if (x >= 0.0) { return 1.0 / (1.0 + f32_exp(-x)); }
  let e = f32_exp(x);
  return e / (1.0 + e);
}
// tanh: odd polynomial below 0.625 (Cephes tanhf), 1 - 2/(e^2x + 1) above, +-1 beyond 20
fn f32_tanh(x: f32) -> f32 {
  if (f32_isnan(x)) { return x; }
  let z = abs(x);
  var r: f32;
  if (z >= 20.0) {
    r = 1.0;
  } else if (z >= 0.625) {
    r = 1.0 - 2.0 / (f32_exp(2.0 * z) + 1.0);
  } else {
    let w = z * z;
    r = z + z * w * ((((-5.70498872745e-3 * w + 2.06390887954e-2) * w - 5.37397155531e-2) * w + 1.33314422036e-1) * w - 3.33332819422e-1);
  }
  return select(r, -r, f32_signbit(x));
}
fn f32_round_even(x: f32) -> f32 {
  if (!f32_finite(x) || abs(x) >= 8388608.0) { return x; }
  let f = floor(x);
  let d = x - f;
  var r = f;
  if (d > 0.5 || (d == 0.5 && (i32(f) & 1) != 0)) { r = f + 1.0; }
  return bitcast<f32>(bitcast<u32>(r) | (bitcast<u32>(x) & 0x80000000u));
}
fn f32_is_int(y: f32) -> bool { return f32_finite(y) && floor(y) == y; }
fn f32_is_odd_int(y: f32) -> bool { return f32_is_int(y) && abs(y) < 16777216.0 && (i32(abs(y)) & 1) == 1; }
// C / torch pow: x^0 = 1 and 1^y = 1 even for NaN; negative base needs an integer exponent
fn f32_pow(x: f32, y: f32) -> f32 {
  if (f32_iszero(y) || (!f32_isnan(x) && x == 1.0)) { return 1.0; }
  if (f32_isnan(x) || f32_isnan(y)) { return f32_nan(); }
  let odd = f32_is_odd_int(y);
  if (f32_isinf(y)) {
    let ax = abs(x);
    if (ax == 1.0) { return 1.0; }
    if ((ax > 1.0) == (y > 0.0)) { return f32_inf(false); }
    return 0.0;
  }
  if (f32_iszero(x)) {
    if (y > 0.0) { return select(0.0, x, odd); }
    return f32_inf(odd && f32_signbit(x));
  }
  if (f32_isinf(x)) {
    if (!f32_signbit(x)) { return select(0.0, x, y > 0.0); }
    if (y > 0.0) { return f32_inf(odd); }
    return bitcast<f32>(select(0u, 0x80000000u, odd));
  }
  if (x < 0.0) {
    if (!f32_is_int(y)) { return f32_nan(); }
    let m = f32_pow_pos(-x, y);
    return select(m, -m, odd);
  }
  return f32_pow_pos(x, y);
}
`,
  },

  /**
   * erf / erfc in float32 to about 1 ulp: the rational approximations of fdlibm's s_erff.c
   * (Copyright (C) 1993 by Sun Microsystems, Inc. All rights reserved. Developed at SunPro, a Sun
   * Microsystems, Inc. business. Permission to use, copy, modify, and distribute this software is
   * freely granted, provided that this notice is preserved), with our exp.
   */
  erf: {
    deps: ['fmath'],
    code: /* wgsl */ `
const ERF_ERX: f32 = 8.4506291151e-01;
fn erf_small(z: f32) -> f32 {
  let r = 1.2837916613e-01 + z * (-3.2504209876e-01 + z * (-2.8481749818e-02 + z * (-5.7702702470e-03 + z * -2.3763017452e-05)));
  let s = 1.0 + z * (3.9791721106e-01 + z * (6.5022252500e-02 + z * (5.0813062117e-03 + z * (1.3249473704e-04 + z * -3.9602282413e-06))));
  return r / s;
}
fn erf_mid(s: f32) -> f32 {
  let p = -2.3621185683e-03 + s * (4.1485610604e-01 + s * (-3.7220788002e-01 + s * (3.1834661961e-01 + s * (-1.1089469492e-01 + s * (3.5478305072e-02 + s * -2.1663755178e-03)))));
  let q = 1.0 + s * (1.0642088205e-01 + s * (5.4039794207e-01 + s * (7.1828655899e-02 + s * (1.2617121637e-01 + s * (1.3637083583e-02 + s * 1.1984500103e-02)))));
  return p / q;
}
// erfc(ax) for 1.25 <= ax < 28
fn erfc_tail(ax: f32) -> f32 {
  let s = 1.0 / (ax * ax);
  var R: f32;
  var S: f32;
  if (ax < 2.857142857) {
    R = -9.8649440333e-03 + s * (-6.9385856390e-01 + s * (-1.0558626175e+01 + s * (-6.2375331879e+01 + s * (-1.6239666748e+02 + s * (-1.8460508728e+02 + s * (-8.1287437439e+01 + s * -9.8143291473e+00))))));
    S = 1.0 + s * (1.9651271820e+01 + s * (1.3765776062e+02 + s * (4.3456588745e+02 + s * (6.4538726807e+02 + s * (4.2900814819e+02 + s * (1.0863500214e+02 + s * (6.5702495575e+00 + s * -6.0424413532e-02)))))));
  } else {
    R = -9.8649431020e-03 + s * (-7.9928326607e-01 + s * (-1.7757955551e+01 + s * (-1.6063638306e+02 + s * (-6.3756646729e+02 + s * (-1.0250950928e+03 + s * -4.8351919556e+02)))));
    S = 1.0 + s * (3.0338060379e+01 + s * (3.2579251099e+02 + s * (1.5367296143e+03 + s * (3.1998581543e+03 + s * (2.5530502930e+03 + s * (4.7452853394e+02 + s * -2.2440952301e+01))))));
  }
  let z = bitcast<f32>(bitcast<u32>(ax) & 0xfffff000u);
  return f32_exp(-z * z - 0.5625) * f32_exp((z - ax) * (z + ax) + R / S) / ax;
}
fn f32_erf(x: f32) -> f32 {
  if (f32_isnan(x)) { return x; }
  let ax = abs(x);
  var r: f32;
  if (ax < 0.84375) {
    if (ax < 3.7252902984e-09) { return x + 1.2837916613e-01 * x; }
    return x + x * erf_small(x * x);
  } else if (ax < 1.25) {
    r = ERF_ERX + erf_mid(ax - 1.0);
  } else if (ax >= 6.0) {
    r = 1.0;
  } else {
    r = 1.0 - erfc_tail(ax);
  }
  return select(r, -r, f32_signbit(x));
}
fn f32_erfc(x: f32) -> f32 {
  if (f32_isnan(x)) { return x; }
  let ax = abs(x);
  if (ax < 0.84375) {
    if (ax < 1.3877787807814457e-17) { return 1.0 - x; }
    let y = erf_small(x * x);
    if (x < 0.25) { return 1.0 - (x + x * y); }
    return 0.5 - (x * y + (x - 0.5));
  }
  if (ax < 1.25) {
    let pq = erf_mid(ax - 1.0);
    if (x >= 0.0) { return (1.0 - ERF_ERX) - pq; }
    return 1.0 + (ERF_ERX + pq);
  }
  if (ax < 28.0) {
    if (x < -6.0) { return 2.0; }
    let r = erfc_tail(ax);
    return select(2.0 - r, r, x > 0.0);
  }
  return select(2.0, 0.0, x > 0.0);
}
`,
  },

  /** int64 as vec2<u32>(lo, hi): wrapping add/sub/mul, truncating division, signed compares. */
  i64: {
    deps: [],
    code: /* wgsl */ `
fn u64_add(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
  let lo = a.x + b.x;
  return vec2<u32>(lo, a.y + b.y + select(0u, 1u, lo < a.x));
}
fn u64_sub(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
  return vec2<u32>(a.x - b.x, a.y - b.y - select(0u, 1u, a.x < b.x));
}
fn i64_neg(a: vec2<u32>) -> vec2<u32> { return u64_sub(vec2<u32>(0u, 0u), a); }
fn i64_isneg(a: vec2<u32>) -> bool { return (a.y >> 31u) != 0u; }
fn i64_abs(a: vec2<u32>) -> vec2<u32> { return select(a, i64_neg(a), i64_isneg(a)); }
fn i64_from_i32(v: i32) -> vec2<u32> { return vec2<u32>(bitcast<u32>(v), select(0u, 0xffffffffu, v < 0)); }
fn i64_eq(a: vec2<u32>, b: vec2<u32>) -> bool { return a.x == b.x && a.y == b.y; }
fn u64_lt(a: vec2<u32>, b: vec2<u32>) -> bool { return a.y < b.y || (a.y == b.y && a.x < b.x); }
fn i64_lt(a: vec2<u32>, b: vec2<u32>) -> bool {
  let ah = bitcast<i32>(a.y);
  let bh = bitcast<i32>(b.y);
  return ah < bh || (ah == bh && a.x < b.x);
}
fn i64_le(a: vec2<u32>, b: vec2<u32>) -> bool { return !i64_lt(b, a); }
fn i64_min(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> { return select(b, a, i64_lt(a, b)); }
fn i64_max(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> { return select(b, a, i64_lt(b, a)); }
fn u32_mul_wide(a: u32, b: u32) -> vec2<u32> {
  let a0 = a & 0xffffu;
  let a1 = a >> 16u;
  let b0 = b & 0xffffu;
  let b1 = b >> 16u;
  let p00 = a0 * b0;
  let p01 = a0 * b1;
  let p10 = a1 * b0;
  let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
  return vec2<u32>((p00 & 0xffffu) | (mid << 16u), a1 * b1 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u));
}
fn i64_mul(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
  let p = u32_mul_wide(a.x, b.x);
  return vec2<u32>(p.x, p.y + a.x * b.y + a.y * b.x);
}
fn u64_shl(a: vec2<u32>, s: u32) -> vec2<u32> {
  if (s == 0u) { return a; }
  if (s >= 64u) { return vec2<u32>(0u, 0u); }
  if (s >= 32u) { return vec2<u32>(0u, a.x << (s - 32u)); }
  return vec2<u32>(a.x << s, (a.y << s) | (a.x >> (32u - s)));
}
fn u64_shr(a: vec2<u32>, s: u32) -> vec2<u32> {
  if (s == 0u) { return a; }
  if (s >= 64u) { return vec2<u32>(0u, 0u); }
  if (s >= 32u) { return vec2<u32>(a.y >> (s - 32u), 0u); }
  return vec2<u32>((a.x >> s) | (a.y << (32u - s)), a.y >> s);
}
// unsigned quotient by shift-subtract long division (d != 0)
fn u64_div(n: vec2<u32>, d: vec2<u32>) -> vec2<u32> {
  var q = vec2<u32>(0u, 0u);
  var r = vec2<u32>(0u, 0u);
  for (var i = 63i; i >= 0; i--) {
    let bit = select((n.x >> u32(i)) & 1u, (n.y >> u32(i - 32)) & 1u, i >= 32);
    r = vec2<u32>((r.x << 1u) | bit, (r.y << 1u) | (r.x >> 31u));
    if (!u64_lt(r, d)) {
      r = u64_sub(r, d);
      if (i >= 32) { q.y = q.y | (1u << u32(i - 32)); } else { q.x = q.x | (1u << u32(i)); }
    }
  }
  return q;
}
// truncating division; x / 0 gives 0 (the GPU cannot throw; the cpu backend does)
fn i64_div(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
  if (b.x == 0u && b.y == 0u) { return vec2<u32>(0u, 0u); }
  let q = u64_div(i64_abs(a), i64_abs(b));
  return select(q, i64_neg(q), i64_isneg(a) != i64_isneg(b));
}
`,
  },

  /** Exact conversions between float32 and integers (cast rules of the cpu reference). */
  conv: {
    deps: ['i64', 'bits'],
    code: /* wgsl */ `
fn u64_msb(m: vec2<u32>) -> i32 {
  if (m.y != 0u) { return 32 + i32(firstLeadingBit(m.y)); }
  if (m.x != 0u) { return i32(firstLeadingBit(m.x)); }
  return -1;
}
// m / 2^s rounded to nearest even (1 <= s <= 63)
fn u64_round_shift(m: vec2<u32>, s: u32) -> vec2<u32> {
  var q = u64_shr(m, s);
  let rem = u64_sub(m, u64_shl(q, s));
  let half = u64_shl(vec2<u32>(1u, 0u), s - 1u);
  if (u64_lt(half, rem) || (i64_eq(rem, half) && (q.x & 1u) == 1u)) { q = u64_add(q, vec2<u32>(1u, 0u)); }
  return q;
}
// |int64| -> float32 as Math.fround(Number(x)): round to 53 bits, then to 24 (both nearest even)
fn u64_to_f32(m: vec2<u32>) -> f32 {
  var p = u64_msb(m);
  if (p < 0) { return 0.0; }
  var mm = m;
  var e = 0u;
  if (p > 52) {
    let s = u32(p - 52);
    mm = u64_round_shift(mm, s);
    e = s;
    p = u64_msb(mm);
  }
  if (p > 23) {
    let s = u32(p - 23);
    mm = u64_round_shift(mm, s);
    e = e + s;
  }
  return ldexp(f32(mm.x), i32(e));
}
fn i64_to_f32(v: vec2<u32>) -> f32 {
  let neg = i64_isneg(v);
  let r = u64_to_f32(select(v, i64_neg(v), neg));
  return select(r, -r, neg);
}
fn i32_to_f32(v: i32) -> f32 { return i64_to_f32(i64_from_i32(v)); }
// trunc(x) modulo 2^64 for finite x (what typed-array stores of Math.trunc(x) keep)
fn f32_trunc_bits(x: f32) -> vec2<u32> {
  let b = bitcast<u32>(x);
  let ex = i32((b >> 23u) & 0xffu) - 127;
  if (ex < 0) { return vec2<u32>(0u, 0u); }
  let mant = vec2<u32>((b & 0x7fffffu) | 0x800000u, 0u);
  var m: vec2<u32>;
  if (ex <= 23) { m = u64_shr(mant, u32(23 - ex)); } else { m = u64_shl(mant, u32(ex - 23)); }
  return select(m, i64_neg(m), (b >> 31u) != 0u);
}
// float -> int32 / uint8 (wrapping; NaN and infinities give 0) and -> int64 (NaN, inf give INT64_MIN)
fn f32_to_i32(x: f32) -> i32 { if (!f32_finite(x)) { return 0; } return bitcast<i32>(f32_trunc_bits(x).x); }
fn f32_to_u8(x: f32) -> u32 { if (!f32_finite(x)) { return 0u; } return f32_trunc_bits(x).x & 0xffu; }
fn f32_to_i64(x: f32) -> vec2<u32> { if (!f32_finite(x)) { return vec2<u32>(0u, 0x80000000u); } return f32_trunc_bits(x); }
`,
  },
};

/** The WGSL source of the named helpers and everything they depend on, each once, dependencies first. */
export function wgslLib(names: Iterable<string>): string {
  const out: string[] = [];
  const done = new Set<string>();
  const visit = (n: string) => {
    if (done.has(n)) return;
    const s = SNIPPETS[n];
    if (!s) throw new Error(`webgpu: unknown WGSL helper '${n}'`);
    done.add(n);
    for (const d of s.deps) visit(d);
    out.push(s.code.trim());
  };
  for (const n of names) visit(n);
  return out.join('\n');
}
