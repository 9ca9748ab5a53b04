import { describe, expect, it } from 'vitest';
import { erf, erfSeries } from '../src/cpu/math';

describe('erf', () => {
  it('matches known values of the error function', () => {
    // erf(0.5), erf(1), erf(2), erf(3) to 16 digits (Abramowitz & Stegun table 7.1)
    expect(erf(0.5)).toBeCloseTo(0.5204998778130465, 15);
    expect(erf(1)).toBeCloseTo(0.8427007929497149, 15);
    expect(erf(2)).toBeCloseTo(0.9953222650189527, 15);
    expect(erf(3)).toBeCloseTo(0.9999779095030014, 15);
    expect(erf(-1)).toBeCloseTo(-0.8427007929497149, 15);
    expect(erf(0)).toBe(0);
    expect(erf(7)).toBe(1);
    expect(erf(-Infinity)).toBe(-1);
    expect(erf(NaN)).toBeNaN();
  });

  it('the tabulated erf agrees with the series to ~1e-14 everywhere (the series itself loses ~2 digits near |x| = 2.5)', () => {
    let worst = 0;
    for (let x = -6.5; x <= 6.5; x += 0.000731) worst = Math.max(worst, Math.abs(erf(x) - erfSeries(x)));
    expect(worst).toBeLessThan(2e-14);
  });
});
