import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type RawTensor, type StateDict, loadStateDict, parsePth, parseStateDict, readPthFile } from '../src/checkpoint/index';
import { bf16BitsToF32, f16BitsToF32 } from '../src/dtype';
import { useTempDir } from './helpers';

const FIXTURES = join(__dirname, 'fixtures', 'pth');
const fixture = async (name: string): Promise<Uint8Array> => new Uint8Array(await readFile(join(FIXTURES, name)));

interface Expected {
  shape: number[];
  dtype: string;
  numel: number;
  sum?: number;
  sum_abs?: number;
  first?: (number | boolean)[];
  last?: number;
  values?: (number | boolean)[];
}
const expectedKeys = async (name: string): Promise<Record<string, Expected>> =>
  (JSON.parse(new TextDecoder().decode(await fixture(name))) as { keys: Record<string, Expected> }).keys;

const DTYPES: Record<string, string> = {
  float64: 'F64',
  float32: 'F32',
  float16: 'F16',
  bfloat16: 'BF16',
  int64: 'I64',
  int32: 'I32',
  int8: 'I8',
  uint8: 'U8',
  bool: 'BOOL',
};

/** Tensor values as float64 numbers (f16/bf16 decoded, int64 converted, bool as 0/1). */
function values(t: RawTensor): number[] {
  const d = t.data;
  if (t.dtype === 'F16') return Array.from(d as Uint16Array, f16BitsToF32);
  if (t.dtype === 'BF16') return Array.from(d as Uint16Array, bf16BitsToF32);
  if (d instanceof BigInt64Array) return Array.from(d, Number);
  return Array.from(d);
}

const num = (x: number | boolean): number => Number(x);

function checkAgainst(sd: StateDict, expected: Record<string, Expected>): void {
  expect([...sd.keys()]).toEqual(Object.keys(expected));
  for (const [key, e] of Object.entries(expected)) {
    const t = sd.get(key)!;
    expect(t.dtype, key).toBe(DTYPES[e.dtype]);
    expect(t.shape, key).toEqual(e.shape);
    expect(t.data.length, key).toBe(e.numel);
    const v = values(t);
    if (e.sum !== undefined) {
      const sum = v.reduce((a, b) => a + b, 0);
      const sumAbs = v.reduce((a, b) => a + Math.abs(b), 0);
      expect(Math.abs(sum - e.sum), key).toBeLessThanOrEqual(1e-6 * Math.max(e.sum_abs ?? Math.abs(e.sum), 1e-12));
      if (e.sum_abs !== undefined) expect(Math.abs(sumAbs - e.sum_abs), key).toBeLessThanOrEqual(1e-6 * e.sum_abs);
    }
    if (e.first) expect(v.slice(0, e.first.length), key).toEqual(e.first.map(num));
    if (e.last !== undefined) expect(v[v.length - 1], key).toBe(e.last);
    if (e.values) expect(v, key).toEqual(e.values.map(num));
  }
}

function expectSameStateDict(a: StateDict, b: StateDict): void {
  expect([...a.keys()]).toEqual([...b.keys()]);
  for (const [k, t] of a) {
    const u = b.get(k)!;
    expect(u.dtype, k).toBe(t.dtype);
    expect(u.shape, k).toEqual(t.shape);
    expect(u.data.constructor, k).toBe(t.data.constructor);
    expect(Array.from(u.data as ArrayLike<number>), k).toEqual(Array.from(t.data as ArrayLike<number>));
  }
}

describe('video_tiny .pth fixtures', () => {
  const cases = [
    { file: 'video_tiny_state_dict.zip.pth', format: 'zip', wrapperKey: null, extra: {} },
    { file: 'video_tiny_state_dict.legacy.pth', format: 'legacy', wrapperKey: null, extra: {} },
    {
      file: 'video_tiny_ckpt_model_state.zip.pth',
      format: 'zip',
      wrapperKey: 'model_state',
      extra: { epoch: 3, cfg: 'UNIFORMER:\n  DEPTH: [1, 1, 2, 1]\n' },
    },
    { file: 'video_tiny_ckpt_model.legacy.pth', format: 'legacy', wrapperKey: 'model', extra: { epoch: 299, max_accuracy: 12.5 } },
  ] as const;

  for (const c of cases) {
    it(`${c.file}: keys in order, dtypes, shapes and checksums`, async () => {
      const ckpt = parsePth(await fixture(c.file), { source: c.file });
      expect(ckpt.format).toBe(c.format);
      expect(ckpt.wrapperKey).toBe(c.wrapperKey);
      expect(ckpt.extra).toEqual(c.extra);
      checkAgainst(ckpt.stateDict, await expectedKeys('video_tiny_state_dict.json'));
    });
  }

  it('all four files give identical state dicts, in memory and from disk', async () => {
    const reference = parsePth(await fixture(cases[0].file)).stateDict;
    for (const c of cases) {
      const fromBytes = parsePth(await fixture(c.file));
      const fromFile = await readPthFile(join(FIXTURES, c.file));
      expect(fromFile.format).toBe(c.format);
      expect(fromFile.wrapperKey).toBe(c.wrapperKey);
      expect(fromFile.extra).toEqual(c.extra);
      expectSameStateDict(reference, fromBytes.stateDict);
      expectSameStateDict(reference, fromFile.stateDict);
    }
  });

  it('the state dict holds no _metadata entry and int64 counters are BigInt64Array', async () => {
    const { stateDict } = parsePth(await fixture('video_tiny_state_dict.zip.pth'));
    expect([...stateDict.keys()].some((k) => k.includes('_metadata'))).toBe(false);
    const counter = stateDict.get('norm.num_batches_tracked')!;
    expect(counter.shape).toEqual([]);
    expect(counter.data).toBeInstanceOf(BigInt64Array);
    expect(counter.data[0]).toBe(7870n);
  });
});

describe('dtypes_views .pth fixtures', () => {
  for (const file of ['dtypes_views.zip.pth', 'dtypes_views.legacy.pth']) {
    it(`${file}: every dtype, scalar, empty tensor and view has exact values`, async () => {
      const ckpt = parsePth(await fixture(file));
      expect(ckpt.wrapperKey).toBeNull();
      checkAgainst(ckpt.stateDict, await expectedKeys('dtypes_views.json'));
      const sd = ckpt.stateDict;
      expect(sd.get('f16')!.data).toBeInstanceOf(Uint16Array);
      expect(sd.get('bf16')!.data).toBeInstanceOf(Uint16Array);
      expect(sd.get('i8')!.data).toBeInstanceOf(Int8Array);
      expect(sd.get('bool')!.data).toBeInstanceOf(Uint8Array);
      expect(Array.from(sd.get('bool')!.data as Uint8Array)).toEqual([1, 0, 1]);
      expect(Array.from(sd.get('u8')!.data as Uint8Array)).toEqual([250, 251, 252, 253, 254, 255]);
    });
  }

  it('zip and legacy files give identical dicts', async () => {
    const zip = parsePth(await fixture('dtypes_views.zip.pth')).stateDict;
    const legacy = parsePth(await fixture('dtypes_views.legacy.pth')).stateDict;
    expectSameStateDict(zip, legacy);
    expectSameStateDict(zip, (await readPthFile(join(FIXTURES, 'dtypes_views.zip.pth'))).stateDict);
    expectSameStateDict(zip, (await readPthFile(join(FIXTURES, 'dtypes_views.legacy.pth'))).stateDict);
  });

  it('views of one storage become independent contiguous tensors', async () => {
    const sd = (await readPthFile(join(FIXTURES, 'dtypes_views.zip.pth'))).stateDict;
    const base = sd.get('base')!.data as Float32Array;
    const rows = sd.get('view_rows_2_4')!.data as Float32Array;
    const transposed = sd.get('view_transposed')!.data as Float32Array;
    expect(Array.from(rows)).toEqual(Array.from(base.subarray(10, 20)));
    expect(transposed[1]).toBe(base[5]);
    base[10] = 42;
    expect(rows[0]).not.toBe(42);
    expect(transposed[2]).not.toBe(42);
  });
});

describe('loadStateDict / parseStateDict', () => {
  const inTmp = useTempDir('tubelet-pth-');

  it('picks the format from the magic bytes, not the extension', async () => {
    const cases = [
      ['video_tiny_state_dict.zip.pth', 'weights.safetensors', 'pth-zip', null],
      ['video_tiny_ckpt_model.legacy.pth', 'weights.bin', 'pth-legacy', 'model'],
    ] as const;
    for (const [file, alias, format, wrapperKey] of cases) {
      const path = inTmp(alias);
      await copyFile(join(FIXTURES, file), path);
      const loaded = await loadStateDict(path);
      expect(loaded.format).toBe(format);
      expect(loaded.wrapperKey).toBe(wrapperKey);
      expect(loaded.stateDict.size).toBe(109);
      const parsed = parseStateDict(await fixture(file));
      expect(parsed.format).toBe(format);
      expectSameStateDict(loaded.stateDict, parsed.stateDict);
    }
  });
});
