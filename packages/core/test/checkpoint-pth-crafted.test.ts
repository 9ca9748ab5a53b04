/** .pth archives assembled in the test: other folder names, protocol 4, numpy scalars, zip64, deflate, big-endian. */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CheckpointError, type StateDict, parsePth, readPthFile } from '../src/checkpoint/index';
import { openZipBytes } from '../src/checkpoint/zip';
import { hex, useTempDir } from './helpers';

const FIXTURES = join(__dirname, 'fixtures', 'pth');
const fixture = async (name: string): Promise<Uint8Array> => new Uint8Array(await readFile(join(FIXTURES, name)));
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

interface ZipOptions {
  /** Compression method of every entry: 0 stored, 8 deflate (others are written stored but labelled). */
  method?: number;
  /** Write zip64 extra fields for all sizes/offsets and a zip64 end record. */
  zip64?: boolean;
}

/** A minimal zip writer (CRCs are left 0: the reader does not check them). */
function makeZip(files: [string, Uint8Array][], opts: ZipOptions = {}): Uint8Array {
  const method = opts.method ?? 0;
  const chunks: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  const push = (b: Uint8Array): void => {
    chunks.push(b);
    offset += b.length;
  };
  for (const [name, content] of files) {
    const data = method === 8 ? new Uint8Array(deflateRawSync(content)) : content;
    const nameBytes = utf8(name);
    const local = new Uint8Array(30 + nameBytes.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(8, method, true);
    lv.setUint32(18, data.length, true);
    lv.setUint32(22, content.length, true);
    lv.setUint16(26, nameBytes.length, true);
    local.set(nameBytes, 30);
    const headerOffset = offset;
    push(local);
    push(data);

    const extra = opts.zip64 ? new Uint8Array(4 + 24) : new Uint8Array(0);
    const cd = new Uint8Array(46 + nameBytes.length + extra.length);
    const cv = new DataView(cd.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 45, true);
    cv.setUint16(6, 45, true);
    cv.setUint16(10, method, true);
    cv.setUint32(20, opts.zip64 ? 0xffffffff : data.length, true);
    cv.setUint32(24, opts.zip64 ? 0xffffffff : content.length, true);
    cv.setUint16(28, nameBytes.length, true);
    cv.setUint16(30, extra.length, true);
    cv.setUint32(42, opts.zip64 ? 0xffffffff : headerOffset, true);
    cd.set(nameBytes, 46);
    if (opts.zip64) {
      const ev = new DataView(extra.buffer);
      ev.setUint16(0, 0x0001, true);
      ev.setUint16(2, 24, true);
      ev.setBigUint64(4, BigInt(content.length), true);
      ev.setBigUint64(12, BigInt(data.length), true);
      ev.setBigUint64(20, BigInt(headerOffset), true);
      cd.set(extra, 46 + nameBytes.length);
    }
    central.push(cd);
  }
  const cdOffset = offset;
  for (const c of central) push(c);
  const cdSize = offset - cdOffset;
  if (opts.zip64) {
    const rec = new Uint8Array(56 + 20);
    const rv = new DataView(rec.buffer);
    rv.setUint32(0, 0x06064b50, true);
    rv.setBigUint64(4, 44n, true);
    rv.setBigUint64(24, BigInt(files.length), true);
    rv.setBigUint64(32, BigInt(files.length), true);
    rv.setBigUint64(40, BigInt(cdSize), true);
    rv.setBigUint64(48, BigInt(cdOffset), true);
    rv.setUint32(56, 0x07064b50, true);
    rv.setBigUint64(64, BigInt(offset), true);
    rv.setUint32(72, 1, true);
    push(rec);
  }
  const end = new Uint8Array(22);
  const dv = new DataView(end.buffer);
  dv.setUint32(0, 0x06054b50, true);
  dv.setUint16(8, opts.zip64 ? 0xffff : files.length, true);
  dv.setUint16(10, opts.zip64 ? 0xffff : files.length, true);
  dv.setUint32(12, opts.zip64 ? 0xffffffff : cdSize, true);
  dv.setUint32(16, opts.zip64 ? 0xffffffff : cdOffset, true);
  push(end);
  const out = new Uint8Array(offset);
  let p = 0;
  for (const c of chunks) {
    out.set(c, p);
    p += c.length;
  }
  return out;
}

/** The entries of a stored zip, renamed with `rename`. */
function entriesOf(zipBytes: Uint8Array, rename: (name: string) => string = (n) => n): [string, Uint8Array][] {
  const zip = openZipBytes(zipBytes);
  return [...zip.entries.values()].map((e) => [rename(e.name), zip.read(e)]);
}

const sameDict = (a: StateDict, b: StateDict): void => {
  expect([...a.keys()]).toEqual([...b.keys()]);
  for (const [k, t] of a) {
    expect(b.get(k)!.dtype, k).toBe(t.dtype);
    expect(b.get(k)!.shape, k).toEqual(t.shape);
    expect(Array.from(b.get(k)!.data as ArrayLike<number>), k).toEqual(Array.from(t.data as ArrayLike<number>));
  }
};

/*
 * data.pkl of a training checkpoint pickled by Python with stand-in torch globals (torch is not needed):
 *   {'state_dict': OrderedDict(w=Parameter(s0[2x3]), wT=s0 viewed 3x2 stride (1, 3), n=int64 scalar s1),
 *    'epoch': 5, 'best': np.float64(0.25), 'top5': np.float32(0.5), 'step': np.int64(-7), 'hist': [1.0, 2.0],
 *    'name': 'run', 'blob': b'\x00\xff', 'big': 2**70, 'opt': {'state': {0: {'exp_avg': float tensor on s2}}}}
 * with persistent ids ('storage', torch.FloatStorage, '0', 'cpu', 6), (LongStorage, '1', 1), (FloatStorage, '2', 4).
 */
const TRAINING_PICKLE: Record<number, string> = {
  2:
    '80027d710028580a00000073746174655f64696374710163636f6c6c656374696f6e730a4f726465726564446963740a71022952710328' +
    '580100000077710463746f7263682e5f7574696c730a5f72656275696c645f706172616d657465720a710563746f7263682e5f7574696c' +
    '730a5f72656275696c645f74656e736f725f76320a71062828580700000073746f72616765710763746f7263680a466c6f617453746f72' +
    '6167650a710858010000003071095803000000637075710a4b0674710b514b004b024b0386710c4b034b0186710d8968022952710e7471' +
    '0f5271108868022952711187711252711358020000007754711468062828680768086809680a4b06747115514b004b034b028671164b01' +
    '4b038671178968022952711874711952711a58010000006e711b68062828680763746f7263680a4c6f6e6753746f726167650a711c5801' +
    '00000031711d680a4b0174711e514b0029298968022952711f74712052712175580500000065706f636871224b05580400000062657374' +
    '7123636e756d70792e5f636f72652e6d756c746961727261790a7363616c61720a7124636e756d70790a64747970650a71255802000000' +
    '663871268988877127527128284b0358010000003c71294e4e4e4affffffff4affffffff4b0074712a62635f636f646563730a656e636f' +
    '64650a712b5809000000000000000000c3903f712c58060000006c6174696e31712d86712e52712f8671305271315804000000746f7035' +
    '7132682468255802000000663471338988877134527135284b0368294e4e4e4affffffff4affffffff4b0074713662682b580400000000' +
    '00003f7137682d86713852713986713a52713b580400000073746570713c6824682558020000006938713d898887713e52713f284b0368' +
    '294e4e4e4affffffff4affffffff4b0074714062682b5810000000c3b9c3bfc3bfc3bfc3bfc3bfc3bfc3bf7141682d8671425271438671' +
    '4452714558040000006869737471465d714728473ff00000000000004740000000000000006558040000006e616d657148580300000072' +
    '756e71495804000000626c6f62714a682b580300000000c3bf714b682d86714c52714d5803000000626967714e8a090000000000000000' +
    '4058030000006f7074714f7d71505805000000737461746571517d71524b007d715358070000006578705f617667715468062828680768' +
    '085801000000327155680a4b04747156514b004b048571574b018571588968022952715974715a52715b737373752e',
  4:
    '800495b0020000000000007d94288c0a73746174655f64696374948c0b636f6c6c656374696f6e73948c0b4f7264657265644469637494' +
    '9394295294288c0177948c0c746f7263682e5f7574696c73948c125f72656275696c645f706172616d6574657294939468078c125f7265' +
    '6275696c645f74656e736f725f763294939428288c0773746f72616765948c05746f726368948c0c466c6f617453746f72616765949394' +
    '8c0130948c03637075944b067494514b004b024b0386944b034b01869489680429529474945294886804295294879452948c0277549468' +
    '0b2828680c680f681068114b067494514b004b034b0286944b014b038694896804295294749452948c016e94680b2828680c680d8c0b4c' +
    '6f6e6753746f726167659493948c01319468114b017494514b00292989680429529474945294758c0565706f6368944b058c0462657374' +
    '948c166e756d70792e5f636f72652e6d756c74696172726179948c067363616c61729493948c056e756d7079948c056474797065949394' +
    '8c02663894898887945294284b038c013c944e4e4e4affffffff4affffffff4b007494624308000000000000d03f94869452948c04746f' +
    '703594682e68318c02663494898887945294284b0368354e4e4e4affffffff4affffffff4b0074946243040000003f94869452948c0473' +
    '74657094682e68318c02693894898887945294284b0368354e4e4e4affffffff4affffffff4b007494624308f9ffffffffffffff948694' +
    '52948c0468697374945d9428473ff0000000000000474000000000000000658c046e616d65948c0372756e948c04626c6f6294430200ff' +
    '948c03626967948a090000000000000000408c036f7074947d948c057374617465947d944b007d948c076578705f61766794680b282868' +
    '0c680f8c01329468114b047494514b004b0485944b01859489680429529474945294737373752e',
};

/** The training checkpoint under `archive/`; storage '2' (optimizer state only) is deliberately absent. */
function trainingCheckpoint(protocol: number, opts: ZipOptions = {}): Uint8Array {
  return makeZip(
    [
      ['archive/data.pkl', hex(TRAINING_PICKLE[protocol]!)],
      ['archive/byteorder', utf8('little')],
      ['archive/data/0', new Uint8Array(new Float32Array([0, 1, 2, 3, 4, 5]).buffer)],
      ['archive/data/1', new Uint8Array(new BigInt64Array([12n]).buffer)],
      ['archive/version', utf8('3\n')],
    ],
    opts,
  );
}

describe('crafted .pth archives', () => {
  const inTmp = useTempDir('tubelet-pth-crafted-');

  for (const protocol of [2, 4]) {
    it(`protocol ${protocol}: 'archive/' folder, parameters, transposed views, plain extras and numpy scalars`, () => {
      const ckpt = parsePth(trainingCheckpoint(protocol));
      expect(ckpt.format).toBe('zip');
      expect(ckpt.wrapperKey).toBe('state_dict');
      expect([...ckpt.stateDict.keys()]).toEqual(['w', 'wT', 'n']);
      expect(ckpt.stateDict.get('w')).toEqual({ dtype: 'F32', shape: [2, 3], data: new Float32Array([0, 1, 2, 3, 4, 5]) });
      expect(ckpt.stateDict.get('wT')).toEqual({ dtype: 'F32', shape: [3, 2], data: new Float32Array([0, 3, 1, 4, 2, 5]) });
      expect(ckpt.stateDict.get('n')).toEqual({ dtype: 'I64', shape: [], data: new BigInt64Array([12n]) });
      // 'opt' holds tensors, so it is not an extra (and its storage is never read).
      expect(ckpt.extra).toEqual({
        epoch: 5,
        best: 0.25,
        top5: 0.5,
        step: -7,
        hist: [1, 2],
        name: 'run',
        blob: new Uint8Array([0, 255]),
        big: 2n ** 70n,
      });
    });
  }

  it('zip64 records and deflated entries are read from files; in-memory parsing explains the deflate limit', async () => {
    const original = await fixture('dtypes_views.zip.pth');
    const reference = parsePth(original).stateDict;
    const files = entriesOf(original, (n) => n.replace(/^dtypes_views\.zip\//, 'my-model/'));
    for (const opts of [{ zip64: true }, { method: 8 }, { method: 8, zip64: true }]) {
      const bytes = makeZip(files, opts);
      const path = inTmp('model.pt');
      await writeFile(path, bytes);
      sameDict(reference, (await readPthFile(path)).stateDict);
      if (opts.method === 8) {
        expect(() => parsePth(bytes)).toThrow(/zip entry 'my-model\/data\.pkl' is deflate-compressed; in-memory parsing reads stored entries only/);
      } else {
        sameDict(reference, parsePth(bytes).stateDict);
      }
    }
  });

  it('a protocol-4 checkpoint deflated into a zip64 file still loads', async () => {
    const path = inTmp('training.pth');
    await writeFile(path, trainingCheckpoint(4, { method: 8, zip64: true }));
    const ckpt = await readPthFile(path);
    expect(ckpt.stateDict.get('wT')!.data).toEqual(new Float32Array([0, 3, 1, 4, 2, 5]));
    expect(ckpt.extra.best).toBe(0.25);
  });

  it('an unsupported compression method is named', async () => {
    const bytes = makeZip(entriesOf(await fixture('dtypes_views.zip.pth')), { method: 12 });
    const path = inTmp('bzip2.pth');
    await writeFile(path, bytes);
    expect(() => parsePth(bytes)).toThrow(/uses compression method 12; only stored \(0\) and deflate \(8\) are supported/);
    await expect(readPthFile(path)).rejects.toThrow(/uses compression method 12/);
  });

  it("big-endian archives (byteorder 'big') are byte-swapped", async () => {
    const original = await fixture('dtypes_views.zip.pth');
    const reference = parsePth(original).stateDict;
    // Element size of each storage, from the dtype of a tensor that uses it.
    const esz: Record<string, number> = { 0: 4, 1: 8, 2: 2, 3: 2, 4: 8, 5: 4, 6: 1, 7: 1, 8: 1, 9: 4, 10: 4, 11: 4 };
    const files = entriesOf(original).map(([name, data]): [string, Uint8Array] => {
      const key = /\/data\/(\d+)$/.exec(name)?.[1];
      if (key === undefined) return [name, data];
      const swapped = data.slice();
      const n = esz[key]!;
      for (let i = 0; i < swapped.length; i += n) swapped.subarray(i, i + n).reverse();
      return [name, swapped];
    });
    files.push(['dtypes_views.zip/byteorder', utf8('big')]);
    sameDict(reference, parsePth(makeZip(files)).stateDict);
  });

  it('archives without a state dict or data.pkl are refused with the reason', () => {
    // {'epoch': 1, 'model': [1]} at protocol 2
    const noStateDict = makeZip([['ckpt/data.pkl', hex('80027d710028580500000065706f636871014b0158050000006d6f64656c71025d71034b0161752e')]]);
    expect(() => parsePth(noStateDict)).toThrow(CheckpointError);
    expect(() => parsePth(noStateDict)).toThrow(/no state dict found: .*'model' is a list of 1, not a dict/);
    expect(() => parsePth(makeZip([['a/b.txt', utf8('x')]]))).toThrow(/no '<folder>\/data\.pkl' entry/);
    const missingStorage = makeZip([['archive/data.pkl', hex(TRAINING_PICKLE[4]!)]]);
    expect(() => parsePth(missingStorage)).toThrow(/missing storage entry 'archive\/data\/0'/);
  });
});
