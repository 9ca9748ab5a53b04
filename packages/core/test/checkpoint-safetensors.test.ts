import { copyFile, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type RawTensor,
  loadStateDict,
  parseSafetensors,
  parseStateDict,
  readSafetensorsFile,
  readSafetensorsFileHeader,
  readSafetensorsHeader,
  serializeSafetensors,
  writeSafetensorsFile,
} from '../src/checkpoint/index';
import { expectCheckpointError, useTempDir } from './helpers';

const UNITS = join(__dirname, 'fixtures', 'safetensors', 'units.io.safetensors');

/** One tensor of every dtype, plus a scalar and an empty tensor; '0' checks that integer-like keys keep their place. */
const ALL_DTYPES: [string, RawTensor][] = [
  ['f32', { dtype: 'F32', shape: [2, 3], data: new Float32Array([1.5, -2, 0, 3.25, -0.5, 1e-8]) }],
  ['f16', { dtype: 'F16', shape: [3], data: new Uint16Array([0x3c00, 0xc000, 0x7bff]) }],
  ['bf16', { dtype: 'BF16', shape: [1, 2], data: new Uint16Array([0x3f80, 0xbf00]) }],
  ['0', { dtype: 'I64', shape: [2], data: new BigInt64Array([-(2n ** 62n), 7n]) }],
  ['i32', { dtype: 'I32', shape: [2], data: new Int32Array([-5, 2147483647]) }],
  ['u8', { dtype: 'U8', shape: [3], data: new Uint8Array([0, 128, 255]) }],
  ['bool', { dtype: 'BOOL', shape: [2], data: new Uint8Array([1, 0]) }],
  ['f64', { dtype: 'F64', shape: [1], data: new Float64Array([Math.PI]) }],
  ['i16', { dtype: 'I16', shape: [2], data: new Int16Array([-32768, 32767]) }],
  ['i8', { dtype: 'I8', shape: [2], data: new Int8Array([-128, 127]) }],
  ['scalar', { dtype: 'F32', shape: [], data: new Float32Array([42]) }],
  ['empty', { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) }],
];

/** A safetensors file with the given raw header text and `dataBytes` bytes of zeros. */
function rawFile(header: string, dataBytes: number): Uint8Array {
  const json = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

describe('safetensors', () => {
  const inTmp = useTempDir('tubelet-st-');

  it('reads the units.io fixture in memory and from disk', async () => {
    const bytes = new Uint8Array(await readFile(UNITS));
    const parsed = parseSafetensors(bytes);
    const read = await readSafetensorsFile(UNITS);
    for (const { tensors, metadata } of [parsed, read]) {
      expect(tensors.size).toBe(88);
      expect([...tensors.keys()].slice(0, 3)).toEqual(['video_stem.input', 'video_stem.output', 'video_stem.w.norm.weight']);
      expect([...tensors.keys()].at(-1)).toBe('det_out_norm.w.bias');
      expect(tensors.get('video_stem.input')!.shape).toEqual([1, 3, 4, 16, 12]);
      expect(tensors.get('det_out_norm.w.bias')!.shape).toEqual([32]);
      const w = tensors.get('video_stem.w.norm.weight')!;
      expect(w.dtype).toBe('F32');
      const values = Array.from(w.data as Float32Array);
      expect(values[0]).toBe(0.9509091377258301);
      expect(values.at(-1)).toBe(1.1022742986679077);
      expect(values.reduce((a, b) => a + b, 0)).toBeCloseTo(16.19295746088028, 10);
      expect(tensors.get('video_cblock.w.norm1.num_batches_tracked')).toEqual({ dtype: 'I64', shape: [], data: new BigInt64Array([4787n]) });
      expect(Object.keys(metadata).sort()).toEqual(['generator', 'key_layout', 'source_commit', 'units']);
      expect(metadata.source_commit).toBe('52a0415e4e0dda880fab8ffbc710e4d8e171149d');
      expect(JSON.parse(metadata.units!).video_stem.class).toBe('SpeicalPatchEmbed');
    }
    const header = readSafetensorsHeader(bytes.subarray(0, 20000), { fileSize: bytes.length });
    expect(header.dataStart).toBe(8 + 10920);
    expect(header.tensors[2]).toEqual({ name: 'video_stem.w.norm.weight', dtype: 'F32', shape: [16], dataOffsets: [10752, 10816] });
    expect((await readSafetensorsFileHeader(UNITS)).tensors).toEqual(header.tensors);
  });

  it('reads each tensor into its own array and honours a key subset in the requested order', async () => {
    const { tensors } = await readSafetensorsFile(UNITS, { keys: ['video_stem.w.proj.bias', 'video_stem.input'] });
    expect([...tensors.keys()]).toEqual(['video_stem.w.proj.bias', 'video_stem.input']);
    for (const t of tensors.values()) expect(t.data.buffer.byteLength).toBe(t.data.byteLength);
    const full = parseSafetensors(new Uint8Array(await readFile(UNITS))).tensors;
    expect(tensors.get('video_stem.input')).toEqual(full.get('video_stem.input'));
    await expect(readSafetensorsFile(UNITS, { keys: ['nope'] })).rejects.toThrow(`${UNITS}: no tensor named 'nope' in the file`);
  });

  it('round-trips every dtype with metadata; header is padded to 8 bytes and keeps the key order', () => {
    for (const input of [new Map(ALL_DTYPES), Object.fromEntries(ALL_DTYPES)]) {
      const bytes = serializeSafetensors(input, { format: 'pt', note: 'ünïcode' });
      const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
      expect((8 + headerLen) % 8).toBe(0);
      const { tensors, metadata } = parseSafetensors(bytes);
      expect(metadata).toEqual({ format: 'pt', note: 'ünïcode' });
      // a Map keeps insertion order; an object iterates integer-like keys ('0') first, as JS defines
      expect([...tensors.keys()]).toEqual(input instanceof Map ? ALL_DTYPES.map(([k]) => k) : Object.keys(input));
      for (const [k, t] of ALL_DTYPES) expect(tensors.get(k), k).toEqual(t);
      expect(tensors.get('0')!.data).toBeInstanceOf(BigInt64Array);
      expect(tensors.get('i8')!.data).toBeInstanceOf(Int8Array);
    }
    expect(parseSafetensors(serializeSafetensors(new Map())).tensors.size).toBe(0);
  });

  it('writes files tensor by tensor and reads them back; loadStateDict sniffs the format', async () => {
    const path = inTmp('model.pth'); // misleading extension on purpose
    await writeSafetensorsFile(path, new Map(ALL_DTYPES), { kind: 'test' });
    const bytes = new Uint8Array(await readFile(path));
    expect(bytes).toEqual(serializeSafetensors(new Map(ALL_DTYPES), { kind: 'test' }));
    expect((await stat(path)).size).toBe(bytes.length);
    const read = await readSafetensorsFile(path);
    for (const [k, t] of ALL_DTYPES) expect(read.tensors.get(k), k).toEqual(t);
    const loaded = await loadStateDict(path);
    expect(loaded.format).toBe('safetensors');
    expect(loaded.metadata).toEqual({ kind: 'test' });
    expect(loaded.stateDict.get('bf16')).toEqual(ALL_DTYPES[2]![1]);
    expect(parseStateDict(bytes).format).toBe('safetensors');
    const copy = inTmp('units.bin');
    await copyFile(UNITS, copy);
    expect((await loadStateDict(copy)).stateDict.size).toBe(88);
  });

  it('refuses tensors it cannot serialize', () => {
    const f32 = (data: unknown, shape = [2]): RawTensor => ({ dtype: 'F32', shape, data }) as RawTensor;
    expectCheckpointError(() => serializeSafetensors({ a: f32(new Float64Array(2)) }), /tensor 'a': a Float64Array cannot hold F32 data/);
    expectCheckpointError(() => serializeSafetensors({ a: f32(new Float32Array(3)) }), /tensor 'a': shape \[2\] needs 2 elements, data has 3/);
    expectCheckpointError(() => serializeSafetensors({ a: f32(new Float32Array(2), [-2]) }), /shape \[-2\] is not a list of non-negative ints/);
    expectCheckpointError(() => serializeSafetensors({ __metadata__: f32(new Float32Array(2)) }), /'__metadata__' is reserved/);
    expectCheckpointError(() => serializeSafetensors({ a: { dtype: 'F8', shape: [1], data: new Uint8Array(1) } as unknown as RawTensor }), /unknown dtype "F8"/);
    expectCheckpointError(() => serializeSafetensors({}, { n: 1 as unknown as string }), /metadata value for 'n' is a number/);
  });

  describe('corrupt headers', () => {
    const t = (dtype: string, shape: number[], offsets: number[]): string => JSON.stringify({ dtype, shape, data_offsets: offsets });
    const cases: [string, () => Uint8Array, RegExp][] = [
      ['a file shorter than the length prefix', () => new Uint8Array(5), /file is 5 bytes, too short for the 8-byte safetensors header length/],
      [
        'a header length beyond the file',
        () => {
          const b = rawFile('{}', 0);
          new DataView(b.buffer).setBigUint64(0, 1000n, true);
          return b;
        },
        /header length 1000 exceeds the file size \(10 bytes\)/,
      ],
      ['invalid JSON', () => rawFile('{"a": ', 0), /header is not valid UTF-8 JSON/],
      ['a non-object header', () => rawFile('[1, 2]', 0), /header is not a JSON object/],
      ['an unknown dtype', () => rawFile(`{"a": ${t('F8_E4M3', [2], [0, 2])}}`, 2), /tensor 'a': unsupported dtype "F8_E4M3"/],
      ['a bad shape', () => rawFile(`{"a": ${t('F32', [-1], [0, 4])}}`, 4), /tensor 'a': shape \[-1\] is not a list of non-negative ints/],
      ['reversed offsets', () => rawFile(`{"a": ${t('F32', [1], [4, 0])}}`, 4), /tensor 'a': data_offsets \[4,0\] is not a \[begin, end\] pair/],
      [
        'a shape / data_offsets size mismatch',
        () => rawFile(`{"a": ${t('F32', [2, 3], [0, 20])}}`, 20),
        /tensor 'a': shape \[2, 3\] of F32 needs 24 bytes but data_offsets \[0, 20\] span 20/,
      ],
      [
        'offsets past the data region',
        () => rawFile(`{"a": ${t('F32', [2], [0, 8])}, "b": ${t('F32', [1], [8, 12])}}`, 8),
        /tensor 'b': data_offsets \[8, 12\] run past the end of the 8-byte data region/,
      ],
      [
        'overlapping tensors',
        () => rawFile(`{"a": ${t('F32', [2], [0, 8])}, "b": ${t('F32', [2], [4, 12])}}`, 12),
        /tensor 'b' data_offsets \[4, 12\] overlap tensor 'a' \[0, 8\]/,
      ],
      ['a gap between tensors', () => rawFile(`{"a": ${t('F32', [1], [4, 8])}}`, 8), /data region bytes \[0, 4\) are not covered by any tensor/],
      ['trailing bytes no tensor covers', () => rawFile(`{"a": ${t('F32', [1], [0, 4])}}`, 12), /data region has 12 bytes but the tensors cover only 4/],
      ['non-string metadata', () => rawFile('{"__metadata__": {"epoch": 3}}', 0), /__metadata__ value for 'epoch' is a number, not a string/],
      ['non-object metadata', () => rawFile('{"__metadata__": "x"}', 0), /__metadata__ is not an object/],
    ];
    for (const [name, make, message] of cases) {
      it(`rejects ${name}`, async () => {
        const bytes = make();
        expectCheckpointError(() => parseSafetensors(bytes, { source: 'bad.safetensors' }), new RegExp(`^bad\\.safetensors: ${message.source}`));
        const path = inTmp('bad.safetensors');
        await writeFile(path, bytes);
        await expect(readSafetensorsFile(path)).rejects.toThrow(message);
      });
    }
  });
});

describe('regressions', () => {
  it('parses a Node Buffer (whose slice() is a view) correctly', async () => {
    const { serializeSafetensors: ser, parseSafetensors: parse } = await import('../src/checkpoint/index');
    const bytes = ser({ a: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) }, b: { dtype: 'F32', shape: [3], data: new Float32Array([3, 4, 5]) } });
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect(Array.from(parse(buf).tensors.get('b')!.data as Float32Array)).toEqual([3, 4, 5]);
  });
});
