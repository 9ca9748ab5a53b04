import { f16BitsToF32, isFloat } from '../dtype';
import { shapesEqual, stridesOf } from '../shape';
import type { CaseResult, HostTensor, Tolerance } from './types';

function valueAt(t: HostTensor, i: number): number | bigint {
  switch (t.dtype) {
    case 'float16':
      return f16BitsToF32((t.data as Uint16Array)[i]!);
    case 'int64':
      return (t.data as BigInt64Array)[i]!;
    default:
      return (t.data as Float32Array)[i]!;
  }
}

function indexOf(shape: readonly number[], flat: number): string {
  if (shape.length === 0) return '[]';
  const st = stridesOf(shape);
  return `[${st.map((s, d) => Math.floor(flat / s) % shape[d]!).join(', ')}]`;
}

function fmt(v: number | bigint): string {
  return typeof v === 'bigint' ? `${v}n` : Object.is(v, -0) ? '-0' : String(v);
}

/**
 * Compares one output. Float dtypes: |got - exp| <= abs + rel·|exp| elementwise, with NaN and
 * ±Infinity compared by identity; integer and bool dtypes: exact. Shapes and dtypes must match.
 */
export function compareTensor(got: HostTensor, exp: HostTensor, tol: Tolerance, label = 'output'): CaseResult {
  if (got.dtype !== exp.dtype) return { ok: false, maxAbsErr: Infinity, message: `${label}: dtype ${got.dtype}, expected ${exp.dtype}` };
  if (!shapesEqual(got.shape, exp.shape)) {
    return { ok: false, maxAbsErr: Infinity, message: `${label}: shape [${got.shape.join(', ')}], expected [${exp.shape.join(', ')}]` };
  }
  if (got.data.length !== exp.data.length) {
    return { ok: false, maxAbsErr: Infinity, message: `${label}: ${got.data.length} values, expected ${exp.data.length}` };
  }
  const exact = !isFloat(exp.dtype);
  const n = exp.data.length;
  let maxAbsErr = 0;
  let bad = 0;
  const firstBad: string[] = [];
  let worst = -1;
  let worstExcess = -Infinity;
  for (let i = 0; i < n; i++) {
    const g = valueAt(got, i);
    const e = valueAt(exp, i);
    let ok: boolean;
    let err: number;
    let allowed = 0;
    if (typeof e === 'bigint' || typeof g === 'bigint') {
      ok = g === e;
      err = ok ? 0 : Math.abs(Number(g) - Number(e));
    } else if (exact) {
      ok = g === e;
      err = Math.abs(g - e);
    } else if (!Number.isFinite(e) || !Number.isFinite(g)) {
      ok = (Number.isNaN(e) && Number.isNaN(g)) || e === g;
      err = ok ? 0 : Infinity;
    } else {
      err = Math.abs(g - e);
      allowed = tol.abs + tol.rel * Math.abs(e);
      ok = err <= allowed;
    }
    if (err > maxAbsErr) maxAbsErr = err;
    if (!ok) {
      bad++;
      if (firstBad.length < 5) firstBad.push(`at ${indexOf(exp.shape, i)} got ${fmt(g)}, expected ${fmt(e)}${exact ? '' : ` (|diff| ${err.toPrecision(3)} > ${allowed.toPrecision(3)})`}`);
      const excess = err - allowed;
      if (excess > worstExcess) {
        worstExcess = excess;
        worst = i;
      }
    }
  }
  if (!bad) return { ok: true, maxAbsErr, message: 'ok' };
  const worstMsg = worst >= 0 && firstBad.length < bad ? `; worst at ${indexOf(exp.shape, worst)}: got ${fmt(valueAt(got, worst))}, expected ${fmt(valueAt(exp, worst))}` : '';
  const tolMsg = exact ? 'exact' : `tol abs ${tol.abs} + rel ${tol.rel}`;
  return {
    ok: false,
    maxAbsErr,
    message: `${label} ${exp.dtype}[${exp.shape.join(', ')}]: ${bad} of ${n} elements differ (${tolMsg}, max |diff| ${maxAbsErr.toPrecision(3)}): ${firstBad.join('; ')}${worstMsg}`,
  };
}

/** Compares every output of a case; the result holds the largest error and all failure messages. */
export function compareOutputs(got: readonly HostTensor[], expected: readonly HostTensor[], tol: Tolerance): CaseResult {
  if (got.length !== expected.length) return { ok: false, maxAbsErr: Infinity, message: `${got.length} outputs, expected ${expected.length}` };
  let maxAbsErr = 0;
  const msgs: string[] = [];
  expected.forEach((e, i) => {
    const r = compareTensor(got[i]!, e, tol, expected.length > 1 ? `output ${i}` : 'output');
    maxAbsErr = Math.max(maxAbsErr, r.maxAbsErr);
    if (!r.ok) msgs.push(r.message);
  });
  return { ok: msgs.length === 0, maxAbsErr, message: msgs.length ? msgs.join('\n') : 'ok' };
}
