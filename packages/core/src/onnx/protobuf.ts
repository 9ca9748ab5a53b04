/**
 * Minimal protobuf wire-format encoder and decoder (no dependencies).
 *
 * Only what ONNX needs: varint (uint/int32/int64/enum/bool), length-delimited (bytes, string,
 * sub-message, packed repeated), fixed32 (float) and fixed64 (double). ZigZag (sint*) is not used.
 */

/** Protobuf wire types. */
export const WireType = {
  VARINT: 0,
  FIXED64: 1,
  LEN: 2,
  FIXED32: 5,
} as const;
export type WireType = (typeof WireType)[keyof typeof WireType];

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: false });

/** Byte fields at least this large are referenced (not copied) until {@link ProtoWriter.finish}. */
const REF_THRESHOLD = 512;
const SCRATCH_SIZE = 4096;

const MAX_U64 = (1n << 64n) - 1n;

/**
 * Append-only protobuf encoder.
 *
 * Writes go to a scratch buffer; large byte fields and finished sub-messages are kept as
 * references, so a model's weights are copied exactly once, into the result of `finish()`.
 * Byte arrays passed to `bytes()` must therefore not be mutated before `finish()` is called.
 */
export class ProtoWriter {
  private parts: Uint8Array[] = [];
  private scratch = new Uint8Array(SCRATCH_SIZE);
  private pos = 0;
  private flushed = 0;

  /** Total encoded length so far, in bytes. */
  get length(): number {
    return this.flushed + this.pos;
  }

  // ---- raw (untagged) primitives ----

  private ensure(n: number): void {
    if (this.pos + n <= this.scratch.length) return;
    this.flush();
    if (n > this.scratch.length) this.scratch = new Uint8Array(Math.max(n, SCRATCH_SIZE));
  }

  private flush(): void {
    if (this.pos === 0) return;
    this.parts.push(this.scratch.slice(0, this.pos));
    this.flushed += this.pos;
    this.pos = 0;
  }

  /** Raw varint. Numbers must be integers; negatives are encoded as 64-bit two's complement (10 bytes). */
  rawVarint(value: number | bigint): this {
    if (typeof value === 'number' && value >= 0 && value <= 0x7fffffff && Number.isInteger(value)) {
      this.ensure(5);
      let v = value;
      while (v > 0x7f) {
        this.scratch[this.pos++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      this.scratch[this.pos++] = v;
      return this;
    }
    if (typeof value === 'number' && !Number.isSafeInteger(value)) {
      throw new RangeError(`varint value ${value} is not a safe integer; pass a bigint`);
    }
    const big = BigInt(value);
    if (big > MAX_U64 || big < -(1n << 63n)) throw new RangeError(`varint value ${value} does not fit in 64 bits`);
    let v = BigInt.asUintN(64, big);
    this.ensure(10);
    while (v > 0x7fn) {
      this.scratch[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.scratch[this.pos++] = Number(v);
    return this;
  }

  /** Raw bytes; arrays of at least 512 bytes are referenced rather than copied. */
  rawBytes(data: Uint8Array): this {
    if (data.length >= REF_THRESHOLD) {
      this.flush();
      this.parts.push(data);
      this.flushed += data.length;
      return this;
    }
    this.ensure(data.length);
    this.scratch.set(data, this.pos);
    this.pos += data.length;
    return this;
  }

  /** Raw little-endian fixed32 float. */
  rawFloat(value: number): this {
    this.ensure(4);
    new DataView(this.scratch.buffer, this.pos, 4).setFloat32(0, value, true);
    this.pos += 4;
    return this;
  }

  /** Raw little-endian fixed64 double. */
  rawDouble(value: number): this {
    this.ensure(8);
    new DataView(this.scratch.buffer, this.pos, 8).setFloat64(0, value, true);
    this.pos += 8;
    return this;
  }

  /** Raw little-endian fixed32 unsigned integer. */
  rawFixed32(value: number): this {
    this.ensure(4);
    new DataView(this.scratch.buffer, this.pos, 4).setUint32(0, value >>> 0, true);
    this.pos += 4;
    return this;
  }

  /** Raw little-endian fixed64 integer (two's complement for negatives). */
  rawFixed64(value: bigint): this {
    this.ensure(8);
    new DataView(this.scratch.buffer, this.pos, 8).setBigUint64(0, BigInt.asUintN(64, value), true);
    this.pos += 8;
    return this;
  }

  /** Field key: `(field << 3) | wireType`. */
  tag(field: number, wireType: WireType): this {
    if (!Number.isInteger(field) || field < 1 || field > 0x1fffffff) throw new RangeError(`invalid field number ${field}`);
    return this.rawVarint(field * 8 + wireType);
  }

  // ---- tagged fields ----

  /** Varint field (int32, int64, uint64, enum, bool). */
  varint(field: number, value: number | bigint | boolean): this {
    return this.tag(field, WireType.VARINT).rawVarint(typeof value === 'boolean' ? Number(value) : value);
  }

  /** Length-delimited bytes field. */
  bytes(field: number, data: Uint8Array): this {
    return this.tag(field, WireType.LEN).rawVarint(data.length).rawBytes(data);
  }

  /** Length-delimited UTF-8 string field. */
  string(field: number, value: string): this {
    return this.bytes(field, textEncoder.encode(value));
  }

  /** fixed32 float field. */
  float(field: number, value: number): this {
    return this.tag(field, WireType.FIXED32).rawFloat(value);
  }

  /** fixed64 double field. */
  double(field: number, value: number): this {
    return this.tag(field, WireType.FIXED64).rawDouble(value);
  }

  /** fixed32 unsigned integer field. */
  fixed32(field: number, value: number): this {
    return this.tag(field, WireType.FIXED32).rawFixed32(value);
  }

  /** fixed64 integer field. */
  fixed64(field: number, value: bigint): this {
    return this.tag(field, WireType.FIXED64).rawFixed64(value);
  }

  /** Embedded message field; `build` writes the sub-message's fields. */
  message(field: number, build: (w: ProtoWriter) => void): this {
    const sub = new ProtoWriter();
    build(sub);
    return this.embed(field, sub);
  }

  /** Embeds an already-built writer as a length-delimited field (its parts are referenced, not copied). */
  embed(field: number, sub: ProtoWriter): this {
    sub.flush();
    this.tag(field, WireType.LEN).rawVarint(sub.flushed);
    this.flush();
    for (const p of sub.parts) this.parts.push(p);
    this.flushed += sub.flushed;
    return this;
  }

  /** Packed repeated varints (nothing is written for an empty list). */
  packedVarint(field: number, values: ArrayLike<number | bigint>): this {
    if (values.length === 0) return this;
    const sub = new ProtoWriter();
    for (let i = 0; i < values.length; i++) sub.rawVarint(values[i]!);
    return this.embed(field, sub);
  }

  /** Packed repeated fixed32 floats (nothing is written for an empty list). */
  packedFloat(field: number, values: ArrayLike<number>): this {
    if (values.length === 0) return this;
    const buf = new Uint8Array(values.length * 4);
    const dv = new DataView(buf.buffer);
    for (let i = 0; i < values.length; i++) dv.setFloat32(i * 4, values[i]!, true);
    return this.bytes(field, buf);
  }

  /** Packed repeated fixed64 doubles (nothing is written for an empty list). */
  packedDouble(field: number, values: ArrayLike<number>): this {
    if (values.length === 0) return this;
    const buf = new Uint8Array(values.length * 8);
    const dv = new DataView(buf.buffer);
    for (let i = 0; i < values.length; i++) dv.setFloat64(i * 8, values[i]!, true);
    return this.bytes(field, buf);
  }

  /** Concatenates everything written into one new array. */
  finish(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.flushed);
    let off = 0;
    for (const p of this.parts) {
      out.set(p, off);
      off += p.length;
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

/** One decoded field occurrence. Varint and fixed64 values are raw unsigned 64-bit bigints. */
export type ProtoValue =
  | { wireType: 0; value: bigint }
  | { wireType: 1; value: bigint }
  | { wireType: 2; value: Uint8Array }
  | { wireType: 5; value: number };

/** Thrown for malformed protobuf input. */
export class ProtoDecodeError extends Error {
  override name = 'ProtoDecodeError';
}

/** Sequential reader over protobuf wire data. Length-delimited values are zero-copy subarrays. */
export class ProtoReader {
  pos: number;
  readonly end: number;
  constructor(readonly buf: Uint8Array, start = 0, end = buf.length) {
    this.pos = start;
    this.end = end;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** Reads a varint as an unsigned 64-bit bigint. */
  varint(): bigint {
    // fast path: up to 4 bytes fit in 28 bits
    let lo = 0;
    let shift = 0;
    for (let i = 0; i < 4; i++) {
      if (this.pos >= this.end) throw new ProtoDecodeError('truncated varint');
      const b = this.buf[this.pos++]!;
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) return BigInt(lo >>> 0);
      shift += 7;
    }
    let result = BigInt(lo >>> 0);
    let bshift = 28n;
    for (let i = 4; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtoDecodeError('truncated varint');
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << bshift;
      if (b < 0x80) return BigInt.asUintN(64, result);
      bshift += 7n;
    }
    throw new ProtoDecodeError('varint longer than 10 bytes');
  }

  /** Reads a varint that must fit a non-negative safe integer (lengths, tags). */
  uint(): number {
    const v = this.varint();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ProtoDecodeError(`varint ${v} too large`);
    return Number(v);
  }

  fixed32(): number {
    if (this.pos + 4 > this.end) throw new ProtoDecodeError('truncated fixed32');
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
  }

  fixed64(): bigint {
    const lo = this.fixed32();
    const hi = this.fixed32();
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  bytes(): Uint8Array {
    const len = this.uint();
    if (this.pos + len > this.end) throw new ProtoDecodeError(`length-delimited field of ${len} bytes overruns buffer`);
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  /** Reads one `(field, value)` pair. */
  field(): { field: number; value: ProtoValue } {
    const key = this.uint();
    const field = Math.floor(key / 8);
    const wireType = key & 7;
    if (field === 0) throw new ProtoDecodeError('field number 0');
    switch (wireType) {
      case 0:
        return { field, value: { wireType, value: this.varint() } };
      case 1:
        return { field, value: { wireType, value: this.fixed64() } };
      case 2:
        return { field, value: { wireType, value: this.bytes() } };
      case 5:
        return { field, value: { wireType, value: this.fixed32() } };
      default:
        throw new ProtoDecodeError(`unsupported wire type ${wireType} (field ${field})`);
    }
  }
}

const f32Scratch = new DataView(new ArrayBuffer(8));

function u32ToFloat(bits: number): number {
  f32Scratch.setUint32(0, bits, true);
  return f32Scratch.getFloat32(0, true);
}

function u64ToDouble(bits: bigint): number {
  f32Scratch.setBigUint64(0, bits, true);
  return f32Scratch.getFloat64(0, true);
}

/** Converts a raw 64-bit varint to a signed int64: a number when safe, else a bigint. */
export function toInt64(raw: bigint): number | bigint {
  const s = BigInt.asIntN(64, raw);
  return s >= BigInt(Number.MIN_SAFE_INTEGER) && s <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(s) : s;
}

/**
 * A decoded message: every field occurrence grouped by field number, with typed accessors.
 * Unknown fields are kept, so callers read only what they understand.
 */
export class ProtoMessage {
  readonly fields = new Map<number, ProtoValue[]>();

  constructor(bytes: Uint8Array) {
    const r = new ProtoReader(bytes);
    while (!r.done) {
      const { field, value } = r.field();
      let list = this.fields.get(field);
      if (!list) this.fields.set(field, (list = []));
      list.push(value);
    }
  }

  has(field: number): boolean {
    return this.fields.has(field);
  }

  private last(field: number, wireType: number): ProtoValue | undefined {
    const list = this.fields.get(field);
    if (!list) return undefined;
    const v = list[list.length - 1]!;
    if (v.wireType !== wireType) throw new ProtoDecodeError(`field ${field}: expected wire type ${wireType}, got ${v.wireType}`);
    return v;
  }

  private all(field: number, wireType: number): ProtoValue[] {
    const list = this.fields.get(field) ?? [];
    for (const v of list) {
      if (v.wireType !== wireType) throw new ProtoDecodeError(`field ${field}: expected wire type ${wireType}, got ${v.wireType}`);
    }
    return list;
  }

  /** Last value of a varint field as a signed int64 (number when safe), or `def`. */
  int(field: number, def = 0): number | bigint {
    const v = this.last(field, 0);
    return v ? toInt64(v.value as bigint) : def;
  }

  /** Last value of a varint field that must be a safe integer (enums, versions), or `def`. */
  num(field: number, def = 0): number {
    const v = this.int(field, def);
    if (typeof v === 'bigint') throw new ProtoDecodeError(`field ${field}: value ${v} is not a safe integer`);
    return v;
  }

  /** Last fixed32 value as float, or `def`. */
  float(field: number, def = 0): number {
    const v = this.last(field, 5);
    return v ? u32ToFloat(v.value as number) : def;
  }

  /** Last length-delimited value as raw bytes, or undefined. */
  bytes(field: number): Uint8Array | undefined {
    return this.last(field, 2)?.value as Uint8Array | undefined;
  }

  /** Last length-delimited value as a UTF-8 string, or `def`. */
  string(field: number, def = ''): string {
    const b = this.bytes(field);
    return b ? textDecoder.decode(b) : def;
  }

  /** All values of a repeated string field. */
  strings(field: number): string[] {
    return this.all(field, 2).map((v) => textDecoder.decode(v.value as Uint8Array));
  }

  /** All values of a repeated bytes field. */
  bytesList(field: number): Uint8Array[] {
    return this.all(field, 2).map((v) => v.value as Uint8Array);
  }

  /** Last value of a sub-message field, or undefined. */
  message(field: number): ProtoMessage | undefined {
    const b = this.bytes(field);
    return b ? new ProtoMessage(b) : undefined;
  }

  /** All values of a repeated sub-message field. */
  messages(field: number): ProtoMessage[] {
    return this.bytesList(field).map((b) => new ProtoMessage(b));
  }

  /** Repeated varint field as raw unsigned 64-bit values, accepting packed and unpacked encodings. */
  rawVarints(field: number): bigint[] {
    const out: bigint[] = [];
    for (const v of this.fields.get(field) ?? []) {
      if (v.wireType === 0) out.push(v.value);
      else if (v.wireType === 2) {
        const r = new ProtoReader(v.value);
        while (!r.done) out.push(r.varint());
      } else throw new ProtoDecodeError(`field ${field}: expected varints, got wire type ${v.wireType}`);
    }
    return out;
  }

  /** Repeated int64 field (packed or not); numbers when safe, bigints otherwise. */
  ints(field: number): (number | bigint)[] {
    return this.rawVarints(field).map(toInt64);
  }

  /** Repeated float field (packed or not). */
  floats(field: number): number[] {
    const out: number[] = [];
    for (const v of this.fields.get(field) ?? []) {
      if (v.wireType === 5) out.push(u32ToFloat(v.value));
      else if (v.wireType === 2) {
        const r = new ProtoReader(v.value);
        while (!r.done) out.push(u32ToFloat(r.fixed32()));
      } else throw new ProtoDecodeError(`field ${field}: expected floats, got wire type ${v.wireType}`);
    }
    return out;
  }

  /** Repeated double field (packed or not). */
  doubles(field: number): number[] {
    const out: number[] = [];
    for (const v of this.fields.get(field) ?? []) {
      if (v.wireType === 1) out.push(u64ToDouble(v.value));
      else if (v.wireType === 2) {
        const r = new ProtoReader(v.value);
        while (!r.done) out.push(u64ToDouble(r.fixed64()));
      } else throw new ProtoDecodeError(`field ${field}: expected doubles, got wire type ${v.wireType}`);
    }
    return out;
  }
}
