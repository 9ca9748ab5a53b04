import { describe, expect, it } from 'vitest';
import { PyDict, isTuple, unpickle } from '../src/checkpoint/pickle';
import { resolveTorchGlobal } from '../src/checkpoint/torch-pickle';
import { ascii, expectCheckpointError, hex } from './helpers';

function load(bytes: Uint8Array): unknown {
  return unpickle(bytes, 0, {
    where: 'test.pkl',
    resolveGlobal: resolveTorchGlobal,
    persistentLoad: () => {
      throw new Error('no persistent ids here');
    },
  }).value;
}

function expectError(bytes: Uint8Array, message: RegExp): void {
  expectCheckpointError(() => load(bytes), message);
}

const X256 = '78'.repeat(256);
const Z256 = '00'.repeat(256);
/*
 * Python: l = [1]; pickle.dumps({'ints': [0, 255, 256, 65535, 65536, -1, -2**31, 2**31-1, 2**31, 2**53, 2**63, -2**64],
 *   'f': [1.5, -0.0, 1e300], 's': ['', 'héllo', 'x'*256], 'b': [b'\x00\x01', bytes(256)],
 *   't': [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4)], 'c': [None, True, False], 'shared': [l, l],
 *   'nested': {1: 'a', (1, 2): 'b'}}, protocol=P)
 */
const PLAIN: Record<number, string> = {
  2:
    '80027d7100285804000000696e747371015d7102284b004bff4d00014dffff4a000001004affffffff4a000000804affffff7f8a050000' +
    '0080008a07000000000000208a090000000000000080008a090000000000000000ff6558010000006671035d710428473ff80000000000' +
    '00478000000000000000477e37e43c8800759c6558010000007371055d71062858000000007107580600000068c3a96c6c6f7108580001' +
    '0000' + X256 + '710965580100000062710a5d710b28635f636f646563730a656e636f64650a710c58020000000001710d5806000000' +
    '6c6174696e31710e86710f527110680c580001' + Z256 + '00007111680e8671125271136558010000007471145d711528294b018571' +
    '164b014b028671174b014b024b03877118284b014b024b034b0474711965580100000063711a5d711b284e888965580600000073686172' +
    '6564711c5d711d285d711e4b0161681e6558060000006e6573746564711f7d7120284b0158010000006171216817680a75752e',
  4:
    '80049500030000000000007d94288c04696e7473945d94284b004bff4d00014dffff4a000001004affffffff4a000000804affffff7f8a' +
    '0500000080008a07000000000000208a090000000000000080008a090000000000000000ff658c0166945d9428473ff800000000000047' +
    '8000000000000000477e37e43c8800759c658c0173945d94288c00948c0668c3a96c6c6f945800010000' + X256 + '94658c0162945d' +
    '94284302000194420001' + Z256 + '000094658c0174945d9428294b0185944b014b0286944b014b024b038794284b014b024b034b04' +
    '7494658c0163945d94284e8889658c06736861726564945d94285d944b01616818658c066e6573746564947d94284b018c016194681168' +
    '0a75752e',
};

describe('unpickle', () => {
  for (const protocol of [2, 4]) {
    it(`decodes plain values pickled with protocol ${protocol}`, () => {
      const v = load(hex(PLAIN[protocol]!)) as PyDict;
      expect(v).toBeInstanceOf(PyDict);
      expect([...v.keys()]).toEqual(['ints', 'f', 's', 'b', 't', 'c', 'shared', 'nested']);
      expect(v.get('ints')).toEqual([0, 255, 256, 65535, 65536, -1, -(2 ** 31), 2 ** 31 - 1, 2 ** 31, 2n ** 53n, 2n ** 63n, -(2n ** 64n)]);
      expect(v.get('f')).toEqual([1.5, -0, 1e300]);
      expect(Object.is((v.get('f') as number[])[1], -0)).toBe(true);
      expect(v.get('s')).toEqual(['', 'héllo', 'x'.repeat(256)]);
      expect(v.get('b')).toEqual([new Uint8Array([0, 1]), new Uint8Array(256)]);
      const tuples = v.get('t') as unknown[][];
      expect(tuples).toEqual([[], [1], [1, 2], [1, 2, 3], [1, 2, 3, 4]]);
      expect(tuples.every(isTuple)).toBe(true);
      expect(isTuple(v.get('t'))).toBe(false);
      expect(v.get('c')).toEqual([null, true, false]);
      const shared = v.get('shared') as unknown[];
      expect(shared[0]).toBe(shared[1]);
      const nested = v.get('nested') as PyDict;
      expect(nested.get(1)).toBe('a');
      expect([...nested.values()]).toEqual(['a', 'b']);
    });
  }

  it('returns the offset after STOP so pickles can be read back to back', () => {
    const two = hex('80024b012e80024b022e');
    const first = unpickle(two, 0, { where: 'x', resolveGlobal: resolveTorchGlobal, persistentLoad: () => null });
    expect(first).toEqual({ value: 1, end: 5 });
    expect(unpickle(two, first.end, { where: 'x', resolveGlobal: resolveTorchGlobal, persistentLoad: () => null }).value).toBe(2);
  });

  it('refuses forbidden globals from GLOBAL and STACK_GLOBAL without calling anything', () => {
    expectError(ascii('\x80\x02cos\nsystem\nX\x02\x00\x00\x00ls\x85R.'), /^test\.pkl byte 2: forbidden global 'os\.system': tubelet only loads state dicts/);
    expectError(ascii('\x80\x02cposix\nsystem\n.'), /forbidden global 'posix\.system'/);
    expectError(ascii('\x80\x04\x8c\x08builtins\x8c\x04eval\x93.'), /byte 18: forbidden global 'builtins\.eval'/);
    expectError(ascii('\x80\x02c__builtin__\ngetattr\n.'), /forbidden global '__builtin__\.getattr'/);
    expectError(ascii('\x80\x02cyacs.config\nCfgNode\n.'), /forbidden global 'yacs\.config\.CfgNode'/);
    expectError(ascii('\x80\x02cnumpy.core.multiarray\n_reconstruct\n.'), /forbidden global 'numpy\.core\.multiarray\._reconstruct'/);
  });

  it('only calls allowlisted callables, with tuple arguments', () => {
    expectError(ascii('\x80\x02ctorch\nFloatStorage\n)R.'), /REDUCE of 'torch\.FloatStorage', which tubelet cannot call/);
    expectError(ascii('\x80\x02X\x01\x00\x00\x00a)R.'), /REDUCE of a non-global/);
    expectError(ascii('\x80\x02ccollections\nOrderedDict\n]R.'), /with non-tuple arguments/);
    expectError(ascii('\x80\x02ctorch._utils\n_rebuild_tensor_v2\nK\x00\x85R.'), /torch\._utils\._rebuild_tensor_v2\(\): the first argument is not a storage/);
    expect(load(ascii('\x80\x02ccollections\nOrderedDict\n)R.'))).toBeInstanceOf(PyDict);
    expect(load(ascii('\x80\x02ctorch\nSize\nK\x02K\x03\x86\x85R.'))).toEqual([2, 3]);
  });

  it('hands persistent ids (BINPERSID and PERSID) to persistentLoad', () => {
    const seen: unknown[] = [];
    const opts = { where: 'x', resolveGlobal: resolveTorchGlobal, persistentLoad: (pid: unknown) => (seen.push(pid), 'loaded') };
    expect(unpickle(ascii('\x80\x02X\x01\x00\x00\x00k\x85Q.'), 0, opts).value).toBe('loaded');
    expect(unpickle(ascii('Pstorage-7\n.'), 0, opts).value).toBe('loaded');
    expect(seen).toEqual([['k'], 'storage-7']);
    expectError(ascii('\x80\x02N\x85Q.'), /^test\.pkl byte 4: no persistent ids here/);
  });

  it('BUILD on a dict stores attributes, not items', () => {
    const d = load(ascii('\x80\x02}X\x01\x00\x00\x00aK\x01s}X\x09\x00\x00\x00_metadataK\x02sb.')) as PyDict;
    expect([...d]).toEqual([['a', 1]]);
    expect(d.attrs.get('_metadata')).toBe(2);
    expectError(ascii('\x80\x02]K\x01b.'), /BUILD on an object without state/);
  });

  it('reports malformed pickles with their position', () => {
    expectError(hex('8002ff'), /^test\.pkl byte 2: unsupported or invalid pickle opcode 0xff/);
    expectError(ascii('\x80\x02I1\n.'), /unsupported or invalid pickle opcode 0x49 \('I'\)/);
    expectError(hex('80024b'), /truncated pickle: data ends inside an opcode/);
    expectError(hex('80024b01'), /truncated pickle: data ends before STOP/);
    expectError(hex('80022e'), /byte 2: pickle stack underflow/);
    expectError(hex('8002284b012e'), /pickle STOP with a non-empty stack/);
    expectError(hex('8002680a2e'), /memo key 10 is not defined/);
    expectError(hex('8002294b0161'), /APPEND on a non-list/);
    expectError(hex('80065d2e'), /unsupported pickle protocol/);
    expectError(hex('80025802000000c3282e'), /invalid UTF-8 string/);
  });
});
