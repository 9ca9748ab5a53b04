import { beforeAll, describe, it } from 'vitest';
import { setBackend } from '../backend';
import type { DType } from '../dtype';
import { opCatalogue } from '../op';
import { casesPerOp, conformanceCases } from './cases';
import { runConformanceCase } from './run';
import type { ConformanceCase, Tolerance } from './types';

/** Dtypes a suite runs by default: everything but float16 (opt in with `dtypes`). */
export const DEFAULT_CONFORMANCE_DTYPES: readonly DType[] = ['float32', 'int32', 'int64', 'uint8', 'bool'];

export interface ConformanceOptions {
  /** Run only cases whose every input/output dtype is listed (default DEFAULT_CONFORMANCE_DTYPES; add 'float16' to opt in). */
  dtypes?: readonly DType[];
  /** Case-name prefix → reason: matching cases are registered as skipped, with the reason in their title. */
  skip?: Readonly<Record<string, string>>;
  /** Per-case tolerance override (return undefined to keep the case's own). */
  tolerance?: (c: ConformanceCase) => Tolerance | undefined;
  /** Extra filter on top of `dtypes` (e.g. one op while debugging). */
  filter?: (c: ConformanceCase) => boolean;
}

/** The cases a suite with these options runs (or skips), before skip prefixes are applied. */
export function selectConformanceCases(opts: Pick<ConformanceOptions, 'dtypes' | 'filter'> = {}): ConformanceCase[] {
  const dtypes = new Set(opts.dtypes ?? DEFAULT_CONFORMANCE_DTYPES);
  return conformanceCases().filter((c) => c.dtypes.every((d) => dtypes.has(d)) && (opts.filter?.(c) ?? true));
}

/** The skip reason for a case name, if a prefix matches (the longest prefix wins). */
export function skipReason(name: string, skip: Readonly<Record<string, string>> = {}): string | undefined {
  let best: string | undefined;
  for (const p of Object.keys(skip)) if (name.startsWith(p) && (best === undefined || p.length > best.length)) best = p;
  return best === undefined ? undefined : skip[best];
}

/**
 * Registers the conformance suite for `backend` with vitest: a `describe` per op, one `it` per
 * case (inputs created on the backend, outputs read with `await t.data()`, everything disposed and
 * the live-tensor count checked after each case), plus a check that every op in opCatalogue()
 * has at least one case. Call it at the top level of a test file.
 */
export function defineConformanceSuite(backend: string, opts: ConformanceOptions = {}): void {
  const selected = selectConformanceCases(opts);
  const skip = opts.skip ?? {};
  const byOp = new Map<string, ConformanceCase[]>();
  for (const c of selected) {
    let list = byOp.get(c.op);
    if (!list) byOp.set(c.op, (list = []));
    list.push(c);
  }
  const skipped = new Map<string, number>();
  for (const c of selected) {
    const r = skipReason(c.name, skip);
    if (r !== undefined) skipped.set(r, (skipped.get(r) ?? 0) + 1);
  }
  for (const [prefix, reason] of Object.entries(skip)) {
    const n = selected.filter((c) => c.name.startsWith(prefix)).length;
    console.info(`[conformance:${backend}] skipping '${prefix}' (${n} case${n === 1 ? '' : 's'}): ${reason}`);
  }

  describe(`conformance: ${backend}`, () => {
    beforeAll(async () => {
      await setBackend(backend);
    });

    it('every op in the catalogue has at least one case', () => {
      const covered = casesPerOp();
      const missing = [...opCatalogue().keys()].filter((op) => !covered.has(op));
      if (missing.length) throw new Error(`ops without a conformance case: ${missing.join(', ')}`);
    });

    for (const [op, cases] of [...byOp].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      describe(op, () => {
        for (const c of cases) {
          const reason = skipReason(c.name, skip);
          if (reason !== undefined) {
            it.skip(`${c.name} — skipped: ${reason}`, () => undefined);
            continue;
          }
          it(`${c.name} [${c.source}]`, async () => {
            const r = await runConformanceCase(c, backend, { tolerance: opts.tolerance });
            if (!r.ok) throw new Error(`${c.name} (${c.source}, ${c.dtype}) failed on '${backend}':\n${r.message}`);
          });
        }
      });
    }
  });
}
