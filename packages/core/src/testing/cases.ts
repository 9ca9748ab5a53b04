import { DTYPES, type DType } from '../dtype';
import { closedFormCases } from './closed-form';
import { type RawCase, decodeAttrs, decodeTensor } from './codec';
import { OFFICIAL_CASES, ORT_CASES } from './cases.generated';
import { poseCases } from './cases-pose';
import { detectionCases } from './cases-detection';
import { PROGRAMS } from './programs';
import type { ConformanceCase, HostTensor, OpCase, ProgramCase } from './types';

/** Every dtype touched by the inputs and outputs, in DTYPES order. */
export function caseDTypes(inputs: readonly (HostTensor | null)[], expected: readonly HostTensor[]): DType[] {
  const s = new Set<DType>();
  for (const t of [...inputs, ...expected]) if (t) s.add(t.dtype);
  return DTYPES.filter((d) => s.has(d));
}

/** float16 if any tensor is float16, else int64 if any is, else the first input's dtype. */
export function principalDType(inputs: readonly (HostTensor | null)[], expected: readonly HostTensor[]): DType {
  const all = caseDTypes(inputs, expected);
  if (all.includes('float16')) return 'float16';
  if (all.includes('int64')) return 'int64';
  return inputs.find((t) => t)?.dtype ?? expected[0]?.dtype ?? 'float32';
}

type OpCaseInit = Omit<OpCase, 'kind' | 'dtype' | 'dtypes'> & { dtype?: DType };
type ProgramCaseInit = Omit<ProgramCase, 'kind' | 'dtype' | 'dtypes'> & { dtype?: DType };

export function opCase(c: OpCaseInit): OpCase {
  return Object.freeze({
    ...c,
    kind: 'op' as const,
    dtype: c.dtype ?? principalDType(c.inputs, c.expected),
    dtypes: caseDTypes(c.inputs, c.expected),
  });
}

export function programCase(c: ProgramCaseInit): ProgramCase {
  return Object.freeze({
    ...c,
    kind: 'program' as const,
    dtype: c.dtype ?? principalDType(c.inputs, c.expected),
    dtypes: caseDTypes(c.inputs, c.expected),
  });
}

/** Builds a case from its JSON form (generated data). */
export function decodeCase(json: string): ConformanceCase {
  const r = JSON.parse(json) as RawCase;
  const inputs = r.i.map((t) => (t ? decodeTensor(t) : null));
  const expected = r.e.map(decodeTensor);
  const attrs = decodeAttrs(r.a);
  const base = { name: r.n, op: r.o, source: r.src, expected, tol: { abs: r.t[0], rel: r.t[1] }, ...(r.note ? { note: r.note } : {}) };
  if (r.p) {
    const def = PROGRAMS[r.p];
    if (!def) throw new Error(`conformance case ${r.n}: unknown program '${r.p}'`);
    if (inputs.some((t) => !t)) throw new Error(`conformance case ${r.n}: programs take no null inputs`);
    return programCase({ ...base, inputs: inputs as HostTensor[], ops: def.ops, run: def.make(attrs) });
  }
  return opCase({ ...base, inputs, attrs });
}

let cache: readonly ConformanceCase[] | null = null;

/**
 * The whole conformance suite: onnxruntime-generated cases, official-vector cases and
 * closed-form cases (decoded once; treat the returned objects and arrays as read-only).
 */
export function conformanceCases(): readonly ConformanceCase[] {
  if (cache) return cache;
  const all = [...ORT_CASES.map(decodeCase), ...OFFICIAL_CASES.map(decodeCase), ...closedFormCases(), ...poseCases(), ...detectionCases()];
  const seen = new Set<string>();
  for (const c of all) {
    if (seen.has(c.name)) throw new Error(`conformance case name '${c.name}' is used twice`);
    seen.add(c.name);
  }
  cache = Object.freeze(all);
  return cache;
}

/** Ops (from opCatalogue()) covered by at least one case, mapped to their number of cases. */
export function casesPerOp(cases: readonly ConformanceCase[] = conformanceCases()): Map<string, number> {
  const m = new Map<string, number>();
  for (const c of cases) {
    const ops = new Set([c.op, ...(c.kind === 'program' ? c.ops : [])]);
    for (const op of ops) m.set(op, (m.get(op) ?? 0) + 1);
  }
  return m;
}
