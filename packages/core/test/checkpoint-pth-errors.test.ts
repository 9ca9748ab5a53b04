import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CheckpointError, loadStateDict, parsePth, parseStateDict, readPthFile } from '../src/checkpoint/index';
import { ascii, expectCheckpointError, useTempDir } from './helpers';

const FIXTURES = join(__dirname, 'fixtures', 'pth');
const fixture = async (name: string): Promise<Uint8Array> => new Uint8Array(await readFile(join(FIXTURES, name)));

/** Offset of the only occurrence of `pattern` in `bytes`. */
function find(bytes: Uint8Array, pattern: Uint8Array): number {
  const hits: number[] = [];
  outer: for (let i = 0; i + pattern.length <= bytes.length; i++) {
    for (let j = 0; j < pattern.length; j++) if (bytes[i + j] !== pattern[j]) continue outer;
    hits.push(i);
  }
  expect(hits, 'pattern must occur exactly once').toHaveLength(1);
  return hits[0]!;
}

/** A copy of `bytes` with `replacement` written over the only occurrence of `pattern`. */
function patch(bytes: Uint8Array, pattern: Uint8Array, replacement: Uint8Array): Uint8Array {
  const out = bytes.slice();
  out.set(replacement, find(bytes, pattern));
  return out;
}

// The pickle ops of `OrderedDict` right after PROTO 2 at the start of data.pkl.
const ORDERED_DICT_GLOBAL = ascii('\x80\x02ccollections\nOrderedDict\n');
/** Same length, naming another global; the bytes after the GLOBAL line are never reached. */
const globalPatch = (module: string, name: string): Uint8Array => {
  const text = `\x80\x02c${module}\n${name}\n`;
  return ascii(text + 'N'.repeat(ORDERED_DICT_GLOBAL.length - text.length));
};
// view_rows_2_4 = base[2:4]: BINPERSID, storage_offset 10, size (2, 5) -> offset 25 reads past the 30 elements.
const ROWS_VIEW_OFFSET = new Uint8Array([0x51, 0x4b, 10, 0x4b, 2, 0x4b, 5, 0x86]);
const ROWS_VIEW_OFFSET_25 = new Uint8Array([0x51, 0x4b, 25, 0x4b, 2, 0x4b, 5, 0x86]);

describe('.pth failures', () => {
  it('a truncated zip (cut in half) names the missing end record', async () => {
    const bytes = await fixture('video_tiny_state_dict.zip.pth');
    expectCheckpointError(() => parsePth(bytes.subarray(0, bytes.length >> 1), { source: 'half.pth' }), /^half\.pth: not a zip archive or truncated: no end-of-central-directory/);
  });

  it('a truncated legacy file names the storage that is cut off', async () => {
    const bytes = await fixture('video_tiny_state_dict.legacy.pth');
    expectCheckpointError(() => parsePth(bytes.subarray(0, bytes.length - 100)), /truncated file: storage '\d+' needs bytes/);
    expectCheckpointError(() => parsePth(bytes.subarray(0, 40)), /truncated pickle/);
  });

  it('an invalid pickle opcode is reported with its position in data.pkl', async () => {
    const bytes = await fixture('dtypes_views.zip.pth');
    const bad = patch(bytes, ORDERED_DICT_GLOBAL, new Uint8Array([0x80, 0x02, 0xff]));
    expectCheckpointError(() => parsePth(bad, { source: 'bad.pth' }), /^bad\.pth: dtypes_views\.zip\/data\.pkl byte 2: unsupported or invalid pickle opcode 0xff/);
  });

  for (const [module, name] of [
    ['os', 'system'],
    ['builtins', 'eval'],
    ['__builtin__', 'getattr'],
    ['yacs.config', 'CfgNode'],
  ]) {
    it(`refuses the global ${module}.${name} (zip and legacy)`, async () => {
      const message = new RegExp(`forbidden global '${module.replace('.', '\\.')}\\.${name}': tubelet only loads state dicts`);
      for (const file of ['dtypes_views.zip.pth', 'dtypes_views.legacy.pth']) {
        const bad = patch(await fixture(file), ORDERED_DICT_GLOBAL, globalPatch(module, name));
        expectCheckpointError(() => parsePth(bad), message);
      }
    });
  }

  it('a view reading past its storage names the tensor and the storage (zip and legacy)', async () => {
    for (const file of ['dtypes_views.zip.pth', 'dtypes_views.legacy.pth']) {
      const bad = patch(await fixture(file), ROWS_VIEW_OFFSET, ROWS_VIEW_OFFSET_25);
      expectCheckpointError(
        () => parsePth(bad),
        /tensor 'view_rows_2_4' \(shape \[2, 5\], stride \[5, 1\], storage offset 25\) reads element 34 of storage '\d+', which holds 30 elements/,
      );
    }
  });

  it('a zip storage entry shorter than its declared storage is refused', async () => {
    const bytes = await fixture('dtypes_views.zip.pth');
    // Central directory header of data/11 (the 30-float storage of 'base'): shrink both sizes from 120 to 48 bytes.
    const name = ascii('dtypes_views.zip/data/11');
    const nameAt = find(bytes.subarray(bytes.length - 2000), name) + bytes.length - 2000;
    const dv = new DataView(bytes.buffer, bytes.byteOffset);
    const header = nameAt - 46;
    expect(dv.getUint32(header, true)).toBe(0x02014b50);
    expect(dv.getUint32(header + 24, true)).toBe(120);
    dv.setUint32(header + 20, 48, true);
    dv.setUint32(header + 24, 48, true);
    expectCheckpointError(() => parsePth(bytes), /dtypes_views\.zip\/data\/11 holds 48 bytes but the pickle declares 30 F32 elements \(120 bytes\)/);
  });

  it('a legacy storage whose element count disagrees with the pickle is refused', async () => {
    const bytes = await fixture('dtypes_views.legacy.pth');
    // The last storage (largest key) is 'base': an 8-byte count of 30 then 120 bytes of float32.
    const dv = new DataView(bytes.buffer, bytes.byteOffset);
    const countAt = bytes.length - 120 - 8;
    expect(dv.getBigInt64(countAt, true)).toBe(30n);
    dv.setBigInt64(countAt, 31n, true);
    expectCheckpointError(() => parsePth(bytes), /storage '\d+' has 31 elements in the file but 30 in the data pickle/);
  });

  it('bytes that are no checkpoint are rejected', async () => {
    expectCheckpointError(() => parsePth(ascii('hello world, not a checkpoint')), /not a PyTorch checkpoint/);
    expectCheckpointError(() => parseStateDict(ascii('hello world, not a checkpoint')), /unrecognized checkpoint format/);
  });

  describe('file readers', () => {
    const inTmp = useTempDir('tubelet-pth-err-');

    it('report the same problems with the path as source', async () => {
      const bytes = await fixture('dtypes_views.zip.pth');
      const half = inTmp('half.pth');
      await writeFile(half, bytes.subarray(0, bytes.length >> 1));
      await expect(readPthFile(half)).rejects.toThrow(CheckpointError);
      await expect(readPthFile(half)).rejects.toThrow(`${half}: not a zip archive or truncated`);
      const evil = inTmp('evil.pth');
      await writeFile(evil, patch(bytes, ORDERED_DICT_GLOBAL, globalPatch('os', 'system')));
      await expect(loadStateDict(evil)).rejects.toThrow(/forbidden global 'os\.system'/);
      const junk = inTmp('junk.pth');
      await writeFile(junk, ascii('junk'));
      await expect(loadStateDict(junk)).rejects.toThrow(/unrecognized checkpoint format/);
    });
  });
});
