/** Scalar math shared by CPU kernels (double precision, rounded by the caller's array type). */

const TWO_OVER_SQRT_PI = 1.1283791670955126;

/**
 * The error function to ~1e-15: the Maclaurin series below |x| < 2.5 (cancellation costs at most
 * ~3 digits there) and a continued fraction for erfc beyond.
 */
export function erfSeries(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax < 2.5) {
    const x2 = x * x;
    let term = x;
    let sum = x;
    for (let n = 1; n < 100; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return TWO_OVER_SQRT_PI * sum;
  }
  if (ax > 6) return x > 0 ? 1 : -1;
  // erfc(ax) = exp(-ax²)/√π · 1/(ax + (1/2)/(ax + 1/(ax + (3/2)/(ax + 2/(ax + ...)))))
  let f = ax;
  for (let n = 60; n >= 1; n--) f = ax + n / 2 / f;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return x > 0 ? 1 - erfc : erfc - 1;
}

/**
 * Fast erf: a degree-5 Taylor expansion around the centre of the 1/256-wide cell holding |x|,
 * with coefficients from erf's derivatives (2/√π·e^{-x²}·(-1)^n·H_n(x), H = Hermite polynomials)
 * tabulated once from erfSeries. |h| ≤ 1/512 keeps the error near 1e-16 at ~12 flops a call.
 */
const CELLS_PER_UNIT = 256;
const ERF_LIMIT = 6;
const ERF_TABLE = (() => {
  const n = ERF_LIMIT * CELLS_PER_UNIT;
  const t = new Float64Array(n * 6);
  for (let i = 0; i < n; i++) {
    const x = (i + 0.5) / CELLS_PER_UNIT;
    const d = TWO_OVER_SQRT_PI * Math.exp(-x * x);
    const x2 = x * x;
    t[i * 6] = erfSeries(x);
    t[i * 6 + 1] = d; // H0 = 1
    t[i * 6 + 2] = (-d * (2 * x)) / 2; // H1 = 2x
    t[i * 6 + 3] = (d * (4 * x2 - 2)) / 6; // H2
    t[i * 6 + 4] = (-d * (8 * x2 * x - 12 * x)) / 24; // H3
    t[i * 6 + 5] = (d * (16 * x2 * x2 - 48 * x2 + 12)) / 120; // H4
  }
  return t;
})();

export function erf(x: number): number {
  const ax = x < 0 ? -x : x;
  if (!(ax < ERF_LIMIT)) return ax !== ax ? NaN : x > 0 ? 1 : -1;
  if (ax < 1 / CELLS_PER_UNIT) {
    const x2 = x * x; // Maclaurin to x^7: the next term is below 1e-23 here
    return TWO_OVER_SQRT_PI * x * (1 - x2 * (1 / 3 - x2 * (1 / 10 - x2 / 42)));
  }
  const i = (ax * CELLS_PER_UNIT) | 0;
  const h = ax - (i + 0.5) / CELLS_PER_UNIT;
  const o = i * 6;
  const t = ERF_TABLE;
  const r = t[o]! + h * (t[o + 1]! + h * (t[o + 2]! + h * (t[o + 3]! + h * (t[o + 4]! + h * t[o + 5]!))));
  return x < 0 ? -r : r;
}

const SQRT_HALF = Math.SQRT1_2;
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

export function geluErf(x: number): number {
  return 0.5 * x * (1 + erf(x * SQRT_HALF));
}

export function geluTanh(x: number): number {
  return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
}

/** Round half to even (torch.round / numpy.round). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 ? 2 * Math.round(x / 2) : r;
}

export function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}
