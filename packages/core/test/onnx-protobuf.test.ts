import { describe, expect, it } from 'vitest';
import { ProtoDecodeError, ProtoMessage, ProtoReader, ProtoWriter, WireType } from '../src/onnx/protobuf';

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');

describe('ProtoWriter', () => {
  it('encodes varints like the protobuf spec examples', () => {
    expect(hex(new ProtoWriter().varint(1, 150).finish())).toBe('08 96 01');
    expect(hex(new ProtoWriter().varint(1, 0).finish())).toBe('08 00');
    expect(hex(new ProtoWriter().varint(1, 1).finish())).toBe('08 01');
    expect(hex(new ProtoWriter().varint(1, 300).finish())).toBe('08 ac 02');
    expect(hex(new ProtoWriter().varint(1, true).finish())).toBe('08 01');
    // large field number: key = (20 << 3) | 0 = 160 -> a0 01
    expect(hex(new ProtoWriter().varint(20, 2).finish())).toBe('a0 01 02');
  });

  it('encodes negative and 64-bit varints as two’s complement', () => {
    expect(hex(new ProtoWriter().rawVarint(-1).finish())).toBe('ff ff ff ff ff ff ff ff ff 01');
    expect(hex(new ProtoWriter().rawVarint(-1n).finish())).toBe('ff ff ff ff ff ff ff ff ff 01');
    expect(hex(new ProtoWriter().rawVarint(2 ** 32).finish())).toBe('80 80 80 80 10');
    expect(hex(new ProtoWriter().rawVarint((1n << 63n) - 1n).finish())).toBe('ff ff ff ff ff ff ff ff 7f');
    expect(() => new ProtoWriter().rawVarint(1n << 64n)).toThrow(RangeError);
    expect(() => new ProtoWriter().rawVarint(0.5)).toThrow(RangeError);
    expect(() => new ProtoWriter().rawVarint(2 ** 60)).toThrow(/safe integer/);
  });

  it('encodes strings, fixed and packed fields', () => {
    expect(hex(new ProtoWriter().string(2, 'testing').finish())).toBe('12 07 74 65 73 74 69 6e 67');
    expect(hex(new ProtoWriter().float(2, 1).finish())).toBe('15 00 00 80 3f');
    expect(hex(new ProtoWriter().double(1, 1).finish())).toBe('09 00 00 00 00 00 00 f0 3f');
    expect(hex(new ProtoWriter().fixed32(1, 0xdeadbeef).finish())).toBe('0d ef be ad de');
    // packed [3, 270, 86942] from the protobuf encoding guide
    expect(hex(new ProtoWriter().packedVarint(4, [3, 270, 86942]).finish())).toBe('22 06 03 8e 02 9e a7 05');
    expect(new ProtoWriter().packedVarint(4, []).finish().length).toBe(0);
    expect(hex(new ProtoWriter().packedFloat(7, [1, -2]).finish())).toBe('3a 08 00 00 80 3f 00 00 00 c0');
  });

  it('nests messages and concatenates large referenced chunks', () => {
    const big = new Uint8Array(100_000).map((_, i) => i % 251);
    const w = new ProtoWriter();
    w.message(1, (m) => m.string(1, 'a').message(2, (mm) => mm.bytes(3, big).varint(4, 7)));
    w.varint(2, 5);
    const bytes = w.finish();
    expect(bytes.length).toBe(w.length);
    const top = new ProtoMessage(bytes);
    expect(top.num(2)).toBe(5);
    const inner = top.message(1)!.message(2)!;
    expect(Buffer.from(inner.bytes(3)!).equals(Buffer.from(big))).toBe(true);
    expect(inner.num(4)).toBe(7);
    expect(top.message(1)!.string(1)).toBe('a');
  });
});

describe('ProtoMessage / ProtoReader', () => {
  it('round-trips every field kind', () => {
    const w = new ProtoWriter()
      .varint(1, 42)
      .varint(2, -7)
      .varint(3, -(2n ** 62n))
      .string(4, 'héllo ✓')
      .float(5, 0.25)
      .double(6, Math.PI)
      .fixed64(7, -2n)
      .packedVarint(8, [1, -1, 2n ** 40n])
      .packedFloat(9, [1.5, -3])
      .packedDouble(10, [Math.E])
      .string(11, 'a')
      .string(11, 'b');
    // unpacked repeated varints / floats are accepted too
    w.varint(12, 5).varint(12, 6).float(13, 2).float(13, 4);
    const m = new ProtoMessage(w.finish());
    expect(m.int(1)).toBe(42);
    expect(m.int(2)).toBe(-7);
    expect(m.int(3)).toBe(-(2n ** 62n));
    expect(m.string(4)).toBe('héllo ✓');
    expect(m.float(5)).toBe(0.25);
    expect(m.fields.get(6)![0]).toMatchObject({ wireType: WireType.FIXED64 });
    expect(m.doubles(6)).toEqual([Math.PI]);
    expect(BigInt.asIntN(64, m.fields.get(7)![0]!.value as bigint)).toBe(-2n);
    expect(m.ints(8)).toEqual([1, -1, 2 ** 40]);
    expect(m.floats(9)).toEqual([1.5, -3]);
    expect(m.doubles(10)).toEqual([Math.E]);
    expect(m.strings(11)).toEqual(['a', 'b']);
    expect(m.ints(12)).toEqual([5, 6]);
    expect(m.floats(13)).toEqual([2, 4]);
    expect(m.has(99)).toBe(false);
    expect(m.int(99, 3)).toBe(3);
    expect(m.string(99, 'x')).toBe('x');
    expect(m.message(99)).toBeUndefined();
  });

  it('reads fields sequentially', () => {
    const r = new ProtoReader(new ProtoWriter().varint(1, 150).string(2, 'x').finish());
    expect(r.field()).toEqual({ field: 1, value: { wireType: 0, value: 150n } });
    const f = r.field();
    expect(f.field).toBe(2);
    expect(r.done).toBe(true);
  });

  it('rejects malformed input', () => {
    expect(() => new ProtoMessage(Uint8Array.of(0x08))).toThrow(ProtoDecodeError); // truncated varint
    expect(() => new ProtoMessage(Uint8Array.of(0x12, 0x05, 0x61))).toThrow(/overruns/);
    expect(() => new ProtoMessage(Uint8Array.of(0x0b))).toThrow(/wire type 3/); // start group
    expect(() => new ProtoMessage(Uint8Array.of(0x0d, 0x00))).toThrow(/fixed32/);
    expect(() => new ProtoMessage(new Uint8Array(12).fill(0xff))).toThrow(/10 bytes/);
    const m = new ProtoMessage(new ProtoWriter().varint(1, 3).finish());
    expect(() => m.string(1)).toThrow(/wire type/);
  });
});
