/**
 * Guards the conformance data itself: the stored onnxruntime expectations still match what
 * onnxruntime-node computes now from the same seeded inputs, the embedded official cases still
 * match the fixture files, every case agrees with the op catalogue's shape inference, and the
 * suite's comparator and runner really catch wrong answers and leaks.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vitest from 'vitest';
import { describe, expect, it } from 'vitest';
import { DTYPES, type Tensor, getOp, inferOp, keep, opCatalogue, tensor } from '../src/index';
import {
  type ConformanceCase,
  type HostTensor,
  GENERATED_INFO,
  base64ToBytes,
  bytesToBase64,
  casesPerOp,
  compareOutputs,
  compareTensor,
  conformanceCases,
  host,
  opCase,
  programCase,
  runConformanceCase,
  selectConformanceCases,
  skipReason,
  type VitestApi,
} from '../src/testing';
import { decodeCase } from '../src/testing/cases';
import { OFFICIAL_CASES, ORT_CASES } from '../src/testing/cases.generated';
import { buildOfficialCases, OFFICIAL_FILES } from '../scripts/conformance/official';
import { runSpecVariant } from '../scripts/conformance/run-spec';
import { buildOrtSpecs } from '../scripts/conformance/specs';

const FIXTURES = join(__dirname, 'fixtures/conformance');
const cases = conformanceCases();

function sameBits(a: HostTensor | null, b: HostTensor | null): boolean {
  if (!a || !b) return a === b;
  if (a.dtype !== b.dtype || a.shape.join() !== b.shape.join()) return false;
  const x = new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength);
  const y = new Uint8Array(b.data.buffer, b.data.byteOffset, b.data.byteLength);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

describe('stored onnxruntime cases are fresh', () => {
  const specs = buildOrtSpecs();
  const stored = new Map(ORT_CASES.map((j) => {
    const c = decodeCase(j);
    return [c.name, c] as const;
  }));

  it('every spec variant is stored and every stored case has a spec', () => {
    const expectedNames = new Set(specs.flatMap((s) => (s.f16 ? [s.name, `${s.name}/f16`] : [s.name])));
    const droppedNames = new Set(GENERATED_INFO.dropped.map((d) => d.name));
    const missing = [...expectedNames].filter((n) => !stored.has(n) && !droppedNames.has(n));
    const extra = [...stored.keys()].filter((n) => !expectedNames.has(n));
    expect({ missing, extra }).toEqual({ missing: [], extra: [] });
  });

  it('re-running onnxruntime-node on every stored case reproduces its inputs and expected values', async () => {
    const problems: string[] = [];
    for (const spec of specs) {
      for (const f16 of spec.f16 ? [false, true] : [false]) {
        const name = f16 ? `${spec.name}/f16` : spec.name;
        const c = stored.get(name);
        if (!c) continue;
        const r = await runSpecVariant(spec, f16);
        if (!r.kept) {
          problems.push(`${name}: now dropped (${r.dropped})`);
          continue;
        }
        if (c.inputs.length !== r.kept.inputs.length || c.inputs.some((t, i) => !sameBits(t, r.kept!.inputs[i]!))) problems.push(`${name}: stored inputs differ from the seeded ones`);
        // half the case's tolerance: room for onnxruntime builds on other CPUs, not for a semantic change
        const cmp = compareOutputs(r.kept.expected, c.expected, { abs: c.tol.abs / 2, rel: c.tol.rel / 2 });
        if (!cmp.ok) problems.push(`${name}: ${cmp.message}`);
      }
    }
    expect(problems).toEqual([]);
  }, 120_000);
});

describe('official cases match the fixture files', () => {
  it('fixture files are the unmodified official files', () => {
    const sha: Record<string, string> = {
      'units.io.safetensors': 'e3e7453b88b574d7e8c9222cb138decb99976ccec9a04828213169a974108871',
      'ops_roi_align_s0.safetensors': '14f5f9c70daed10dbf0321f752b0895e07855ae4780d8d4c4e5a7951915840f2',
      'ops_nms_s0.safetensors': 'bfaea408cf2287669539802ec33056d5fe4089a45968151029f2ed1cb22b0a09',
    };
    for (const f of OFFICIAL_FILES) expect(createHash('sha256').update(readFileSync(join(FIXTURES, f))).digest('hex'), f).toBe(sha[f]);
  });

  it('embedded official cases equal the ones built from the fixtures', () => {
    const rebuilt = buildOfficialCases(FIXTURES).map((c) => JSON.stringify(c));
    expect(rebuilt).toEqual([...OFFICIAL_CASES]);
  });

  it('has the UniFormer units, 8 roiAlign and 8 NMS vectors', () => {
    const official = cases.filter((c) => c.source === 'official');
    expect(official.filter((c) => c.op === 'roiAlign')).toHaveLength(8);
    expect(new Set(official.filter((c) => c.op === 'nms').map((c) => c.name.replace(/-i(32|64)$/, '')))).toHaveProperty('size', 8);
    expect(official.filter((c) => c.kind === 'program').map((c) => c.name)).toEqual(['conv/official-uniformer-video-stem', 'conv/official-uniformer-video-patch-embed']);
    expect(official.some((c) => c.name === 'layerNorm/official-uniformer-det-out-norm')).toBe(true);
  });
});

describe('case set', () => {
  it('names are unique and start with their op', () => {
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
    for (const c of cases) expect(c.name.startsWith(`${c.op}/`), c.name).toBe(true);
  });

  it('covers every op in the catalogue with an op case, from independent sources only', () => {
    const direct = casesPerOp(cases.filter((c) => c.kind === 'op'));
    expect([...opCatalogue().keys()].filter((op) => !direct.has(op))).toEqual([]);
    for (const c of cases) expect(['closed-form', 'onnxruntime', 'official']).toContain(c.source);
    const bySource = Object.fromEntries(['onnxruntime', 'official', 'closed-form'].map((s) => [s, cases.filter((c) => c.source === s).length]));
    console.info(`conformance cases: ${cases.length} (${JSON.stringify(bySource)}), ${opCatalogue().size} ops`);
    expect(bySource['onnxruntime']).toBeGreaterThan(300);
    expect(bySource['closed-form']).toBeGreaterThan(100);
  });

  it('every op case agrees with the descriptor (attributes normalise, output shapes and dtypes infer)', () => {
    const bad: string[] = [];
    for (const c of cases) {
      if (c.kind !== 'op') continue;
      try {
        const { outputs } = inferOp(getOp(c.op), c.inputs.map((t) => (t ? { shape: t.shape, dtype: t.dtype } : null)), c.attrs);
        if (outputs.length !== c.expected.length) bad.push(`${c.name}: ${outputs.length} outputs inferred, ${c.expected.length} expected`);
        outputs.forEach((o, i) => {
          const e = c.expected[i]!;
          if (o.dtype !== e.dtype || o.shape.some((d, j) => d >= 0 && d !== e.shape[j]) || o.shape.length !== e.shape.length) {
            bad.push(`${c.name}: output ${i} inferred ${o.dtype}[${o.shape}], expected ${e.dtype}[${e.shape}]`);
          }
        });
      } catch (e) {
        bad.push(`${c.name}: ${(e as Error).message}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('dtype tags: float16 is opt-in and int64 cases can be left out', () => {
    const dflt = selectConformanceCases();
    expect(dflt.some((c) => c.dtypes.includes('float16'))).toBe(false);
    expect(selectConformanceCases({ dtypes: DTYPES }).length).toBe(cases.length);
    const noI64 = selectConformanceCases({ dtypes: ['float32', 'int32', 'bool', 'uint8'] });
    expect(noI64.some((c) => c.dtypes.includes('int64'))).toBe(false);
    expect(noI64.some((c) => c.op === 'nms' && c.inputs.length === 3)).toBe(true);
    for (const c of cases) if (c.dtypes.includes('float16')) expect(c.dtype).toBe('float16');
    expect(cases.filter((c) => c.dtype === 'float16').length).toBeGreaterThan(50);
  });

  it('embedded data stays small enough to ship', () => {
    const bytes = [...ORT_CASES, ...OFFICIAL_CASES].reduce((n, s) => n + s.length, 0);
    expect(bytes).toBeLessThan(1.5 * 1024 * 1024);
  });

  it('the vitest namespace fits VitestApi, and vitest provides it to test files', () => {
    const api: VitestApi = vitest;
    expect((globalThis as Record<string, unknown>).__vitest_index__).toBeDefined();
    expect(typeof api.it.skip).toBe('function');
  });

  it('skip prefixes: the longest matching prefix wins', () => {
    expect(skipReason('conv/3d-depthwise', { 'conv/': 'a', 'conv/3d': 'b' })).toBe('b');
    expect(skipReason('convTranspose/x', { 'conv/': 'a' })).toBeUndefined();
  });
});

describe('the comparator catches wrong answers', () => {
  const exp = host.f32([4], [1, -2, 1000, 0]);
  const tol = { abs: 1e-5, rel: 1e-4 };

  it('accepts values inside abs + rel·|exp| and rejects a perturbed output', () => {
    expect(compareTensor(host.f32([4], [1 + 9e-6, -2 - 2e-4, 1000.1, -1e-5]), exp, tol).ok).toBe(true);
    const r = compareTensor(host.f32([4], [1, -2, 1000.2, 0]), exp, tol);
    expect(r.ok).toBe(false);
    expect(r.maxAbsErr).toBeCloseTo(0.2, 3);
    expect(r.message).toMatch(/at \[2\] got 1000.2/);
  });

  it('NaN and ±Infinity compare by identity', () => {
    const e = host.f32([3], [NaN, Infinity, -Infinity]);
    expect(compareTensor(host.f32([3], [NaN, Infinity, -Infinity]), e, tol).ok).toBe(true);
    expect(compareTensor(host.f32([3], [0, Infinity, -Infinity]), e, tol).ok).toBe(false);
    expect(compareTensor(host.f32([3], [NaN, -Infinity, -Infinity]), e, tol).ok).toBe(false);
    expect(compareTensor(host.f32([1], [NaN]), host.f32([1], [1]), { abs: 1e9, rel: 0 }).ok).toBe(false);
    expect(compareTensor(host.f32([1], [3e38]), host.f32([1], [Infinity]), { abs: 1e38, rel: 1 }).ok).toBe(false);
  });

  it('integer, int64 and bool outputs must be exact whatever the tolerance', () => {
    const big = { abs: 10, rel: 10 };
    expect(compareTensor(host.i32([2], [1, 3]), host.i32([2], [1, 2]), big).ok).toBe(false);
    expect(compareTensor(host.i64([1], [2n ** 60n + 1n]), host.i64([1], [2n ** 60n]), big).ok).toBe(false);
    expect(compareTensor(host.bool([2], [1, 0]), host.bool([2], [1, 1]), big).ok).toBe(false);
    expect(compareTensor(host.i64([1], [2n ** 60n]), host.i64([1], [2n ** 60n]), big).ok).toBe(true);
  });

  it('float16 compares decoded values', () => {
    expect(compareTensor(host.f16([2], [1, 2]), host.f16([2], [1, 2.001]), { abs: 0, rel: 1e-3 }).ok).toBe(true);
    expect(compareTensor(host.f16([2], [1, 2.01]), host.f16([2], [1, 2]), { abs: 0, rel: 1e-3 }).ok).toBe(false);
  });

  it('shape, dtype and output-count mismatches fail', () => {
    expect(compareTensor(host.f32([2, 2], [1, -2, 1000, 0]), exp, tol).ok).toBe(false);
    expect(compareTensor(host.i32([4], [1, -2, 1000, 0]), exp, tol).ok).toBe(false);
    expect(compareOutputs([exp, exp], [exp], tol).ok).toBe(false);
  });

  it('base64 round-trips every length', () => {
    for (let n = 0; n < 10; n++) {
      const b = Uint8Array.from({ length: n }, (_, i) => (i * 97 + 13) & 255);
      expect(Array.from(base64ToBytes(bytesToBase64(b)))).toEqual(Array.from(b));
      expect(bytesToBase64(b)).toBe(Buffer.from(b).toString('base64'));
    }
  });
});

describe('the runner catches wrong answers, errors and leaks (cpu)', () => {
  const good = cases.find((c) => c.name === 'conv/official-uniformer-video-stem')!;
  const ortCase = cases.find((c) => c.name === 'conv/3d-depthwise-k5-p2')!;

  function perturbed(c: ConformanceCase, delta: number): ConformanceCase {
    const e = c.expected[0]!;
    const data = Float32Array.from(e.data as Float32Array);
    data[Math.floor(data.length / 2)] += delta;
    return { ...c, expected: [{ ...e, data }] } as ConformanceCase;
  }

  it('passes the genuine cases', async () => {
    expect((await runConformanceCase(good, 'cpu')).ok).toBe(true);
    expect((await runConformanceCase(ortCase, 'cpu')).ok).toBe(true);
  });

  it('fails a perturbed expected value just beyond the tolerance', async () => {
    for (const c of [good, ortCase]) {
      const e = c.expected[0]!.data as Float32Array;
      const v = e[Math.floor(e.length / 2)]!;
      const r = await runConformanceCase(perturbed(c, 3 * (c.tol.abs + c.tol.rel * Math.abs(v))), 'cpu');
      expect(r.ok, c.name).toBe(false);
      expect(r.message).toMatch(/1 of \d+ elements differ/);
    }
  });

  it('the tolerance override applies', async () => {
    const r = await runConformanceCase(perturbed(ortCase, 0.5), 'cpu', { tolerance: () => ({ abs: 1, rel: 0 }) });
    expect(r.ok).toBe(true);
  });

  it('reports op errors, unknown backends and leaked tensors instead of throwing', async () => {
    const wrongAttrs = opCase({ ...(ortCase as Extract<ConformanceCase, { kind: 'op' }>), attrs: { groups: 3 } });
    const r1 = await runConformanceCase(wrongAttrs, 'cpu');
    expect(r1.ok).toBe(false);
    expect(r1.message).toMatch(/threw: .*conv: groups 3/);
    const r2 = await runConformanceCase(good, 'no-such-backend');
    expect(r2.ok).toBe(false);
    expect(r2.message).toMatch(/unavailable/);
    const leaky = programCase({
      name: 'add/leaky-program',
      op: 'add',
      source: 'closed-form',
      inputs: [host.f32([1], [1])],
      ops: ['add'],
      expected: [host.f32([1], [1])],
      tol: { abs: 0, rel: 0 },
      run: (ins: Tensor[]) => {
        keep(tensor([5], [1])); // survives the runner's scope: a leak
        return [ins[0]!.clone()];
      },
    });
    const r3 = await runConformanceCase(leaky, 'cpu');
    expect(r3.ok).toBe(false);
    expect(r3.message).toMatch(/leaked 1/);
  });
});
