import { setBackend } from '../backend';
import { registerCpuBackend } from '../cpu/index';
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
  /**
   * The vitest API to register with. Default: the one vitest provides to the running test file
   * (`globalThis.__vitest_index__`, what `import.meta.vitest` returns), else vitest globals. Pass
   * `{ vitest: await import('vitest') }` where neither exists (e.g. a custom runner).
   */
  vitest?: VitestApi;
}

/** The part of vitest's API the suite uses (structural, so `await import('vitest')` fits). */
export interface VitestApi {
  describe(name: string, fn: () => void): unknown;
  it: ((name: string, fn: () => Promise<void> | void) => unknown) & { skip(name: string, fn: () => void): unknown };
  beforeAll(fn: () => Promise<void> | void): unknown;
}

/**
 * vitest is an optional peer dependency and is never imported statically, so that the rest of
 * @tubelet/core/testing (conformanceCases, runConformanceCase) loads in browsers and from CommonJS
 * (vitest refuses require()).
 */
function resolveVitest(explicit?: VitestApi): VitestApi {
  if (explicit) return explicit;
  const g = globalThis as Record<string, unknown>;
  const isApi = (x: unknown): x is VitestApi =>
    !!x && typeof (x as VitestApi).describe === 'function' && typeof (x as VitestApi).it === 'function' && typeof (x as VitestApi).beforeAll === 'function';
  if (isApi(g.__vitest_index__)) return g.__vitest_index__;
  if (isApi(g)) return g;
  throw new Error("defineConformanceSuite: no vitest API found; call it from a vitest test file, or pass { vitest: await import('vitest') }");
}

/** The cases a suite with these options runs (or skips), before skip prefixes are applied. */
export function selectConformanceCases(opts: Pick<ConformanceOptions, 'dtypes' | 'filter'> = {}): ConformanceCase[] {
  const dtypes = new Set(opts.dtypes ?? DEFAULT_CONFORMANCE_DTYPES);
  return conformanceCases().filter((c) => c.dtypes.every((d) => dtypes.has(d)) && (opts.filter?.(c) ?? true));
}

function skipPrefix(name: string, skip: Readonly<Record<string, string>>): string | undefined {
  let best: string | undefined;
  for (const p of Object.keys(skip)) if (name.startsWith(p) && (best === undefined || p.length > best.length)) best = p;
  return best;
}

/** The skip reason for a case name, if a prefix matches (the longest prefix wins). */
export function skipReason(name: string, skip: Readonly<Record<string, string>> = {}): string | undefined {
  const p = skipPrefix(name, skip);
  return p === undefined ? undefined : skip[p];
}

/**
 * Registers the conformance suite for `backend` with vitest: a `describe` per op, one `it` per
 * case (inputs created on the backend, outputs read with `await t.data()`, everything disposed and
 * the live-tensor count checked after each case), plus a check that every op in opCatalogue()
 * has at least one case. Call it at the top level of a test file.
 */
export function defineConformanceSuite(backend: string, opts: ConformanceOptions = {}): void {
  const { describe, it, beforeAll } = resolveVitest(opts.vitest);
  const selected = selectConformanceCases(opts);
  const skip = opts.skip ?? {};
  const byOp = new Map<string, ConformanceCase[]>();
  for (const c of selected) {
    let list = byOp.get(c.op);
    if (!list) byOp.set(c.op, (list = []));
    list.push(c);
  }
  for (const [prefix, reason] of Object.entries(skip)) {
    const n = selected.filter((c) => skipPrefix(c.name, skip) === prefix).length;
    console.info(`[conformance:${backend}] skipping '${prefix}' (${n} case${n === 1 ? '' : 's'}${n === 0 ? ' — the prefix matches nothing' : ''}): ${reason}`);
  }

  describe(`conformance: ${backend}`, () => {
    beforeAll(async () => {
      registerCpuBackend();
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
