/**
 * Minimal zip reader for torch.save archives: stored (uncompressed) entries, zip64 records and extra fields,
 * data descriptors (sizes come from the central directory). Deflated entries can be read from files only
 * (via DecompressionStream); other methods and encryption are rejected.
 */
import type { RandomAccessFile } from './fs';
import { CheckpointError } from './types';

export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflate. */
  method: number;
  flags: number;
  compressedSize: number;
  size: number;
  /** File offset of the entry's local header. */
  headerOffset: number;
}

/** An opened archive: its entries by name, and a reader for an entry's (uncompressed) bytes. */
export interface ZipArchive<T> {
  entries: Map<string, ZipEntry>;
  read(entry: ZipEntry): T;
}

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CENTRAL_HEADER_SIG = 0x02014b50;
const LOCAL_HEADER_SIG = 0x04034b50;
const EOCD_BYTES = 22;
const ZIP64_LOCATOR_BYTES = 20;
const ZIP64_EOCD_BYTES = 56;
const LOCAL_HEADER_BYTES = 30;
/** Enough trailing bytes to hold the end record (with the longest comment) and the zip64 record + locator. */
const TAIL_BYTES = EOCD_BYTES + 0xffff + ZIP64_LOCATOR_BYTES + ZIP64_EOCD_BYTES;

const METHOD_STORED = 0;
const METHOD_DEFLATE = 8;

function dataView(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function u64(dv: DataView, offset: number, what: string, source?: string): number {
  const v = dv.getBigUint64(offset, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new CheckpointError(`zip ${what} ${v} is too large`, source);
  return Number(v);
}

/** Locates the central directory from the last bytes of an archive (`tail` starts at file offset `tailStart`). */
function findCentralDirectory(
  tail: Uint8Array,
  tailStart: number,
  fileSize: number,
  source?: string,
): { offset: number; size: number; count: number } {
  const dv = dataView(tail);
  let eocd = -1;
  for (let i = tail.length - EOCD_BYTES; i >= Math.max(0, tail.length - EOCD_BYTES - 0xffff); i--) {
    if (dv.getUint32(i, true) === EOCD_SIG && i + EOCD_BYTES + dv.getUint16(i + 20, true) <= tail.length) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) {
    throw new CheckpointError(
      `not a zip archive or truncated: no end-of-central-directory record in the last ${tail.length} bytes`,
      source,
    );
  }
  let count = dv.getUint16(eocd + 10, true);
  let size = dv.getUint32(eocd + 12, true);
  let offset = dv.getUint32(eocd + 16, true);
  if (dv.getUint16(eocd + 4, true) !== 0 || dv.getUint16(eocd + 6, true) !== 0) {
    throw new CheckpointError('multi-disk zip archives are not supported', source);
  }
  const locator = eocd - ZIP64_LOCATOR_BYTES;
  if (locator >= 0 && dv.getUint32(locator, true) === ZIP64_LOCATOR_SIG) {
    const rec = u64(dv, locator + 8, 'zip64 end record offset', source) - tailStart;
    if (rec < 0 || rec + ZIP64_EOCD_BYTES > locator || dv.getUint32(rec, true) !== ZIP64_EOCD_SIG) {
      throw new CheckpointError('corrupt zip: the zip64 locator does not point at a zip64 end record', source);
    }
    count = u64(dv, rec + 32, 'entry count', source);
    size = u64(dv, rec + 40, 'central directory size', source);
    offset = u64(dv, rec + 48, 'central directory offset', source);
  }
  if (offset + size > fileSize) {
    throw new CheckpointError(
      `truncated zip: the central directory (bytes ${offset}..${offset + size}) lies beyond the end of the file (${fileSize} bytes)`,
      source,
    );
  }
  return { offset, size, count };
}

function parseCentralDirectory(cd: Uint8Array, count: number, source?: string): Map<string, ZipEntry> {
  const dv = dataView(cd);
  const decoder = new TextDecoder();
  const entries = new Map<string, ZipEntry>();
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || dv.getUint32(p, true) !== CENTRAL_HEADER_SIG) {
      throw new CheckpointError(`corrupt zip: central directory entry ${i} of ${count} is missing or malformed`, source);
    }
    const nameLen = dv.getUint16(p + 28, true);
    const extraLen = dv.getUint16(p + 30, true);
    const commentLen = dv.getUint16(p + 32, true);
    const end = p + 46 + nameLen + extraLen + commentLen;
    if (end > cd.length) throw new CheckpointError(`corrupt zip: central directory entry ${i} overruns the directory`, source);
    const name = decoder.decode(cd.subarray(p + 46, p + 46 + nameLen));
    const entry: ZipEntry = {
      name,
      flags: dv.getUint16(p + 8, true),
      method: dv.getUint16(p + 10, true),
      compressedSize: dv.getUint32(p + 20, true),
      size: dv.getUint32(p + 24, true),
      headerOffset: dv.getUint32(p + 42, true),
    };
    readZip64Extra(entry, cd.subarray(p + 46 + nameLen, p + 46 + nameLen + extraLen), source);
    if (entries.has(name)) throw new CheckpointError(`corrupt zip: duplicate entry '${name}'`, source);
    entries.set(name, entry);
    p = end;
  }
  return entries;
}

/** Replaces the 0xFFFFFFFF placeholders of `entry` with the values of its zip64 extra field (id 0x0001). */
function readZip64Extra(entry: ZipEntry, extra: Uint8Array, source?: string): void {
  const FULL = 0xffffffff;
  const fields = (['size', 'compressedSize', 'headerOffset'] as const).filter((f) => entry[f] === FULL);
  if (fields.length === 0) return;
  const dv = dataView(extra);
  for (let p = 0; p + 4 <= extra.length; ) {
    const id = dv.getUint16(p, true);
    const len = dv.getUint16(p + 2, true);
    if (id === 0x0001) {
      if (len < 8 * fields.length || p + 4 + len > extra.length) break;
      fields.forEach((f, k) => (entry[f] = u64(dv, p + 4 + 8 * k, `entry '${entry.name}' ${f}`, source)));
      return;
    }
    p += 4 + len;
  }
  throw new CheckpointError(`corrupt zip: entry '${entry.name}' lacks the zip64 extra field its sizes require`, source);
}

/** File offset where an entry's data starts, from the fixed 30-byte part of its local header. */
function entryDataOffset(header: Uint8Array, entry: ZipEntry, source?: string): number {
  const dv = dataView(header);
  if (header.length < LOCAL_HEADER_BYTES || dv.getUint32(0, true) !== LOCAL_HEADER_SIG) {
    throw new CheckpointError(`corrupt zip: no local header for entry '${entry.name}' at offset ${entry.headerOffset}`, source);
  }
  return entry.headerOffset + LOCAL_HEADER_BYTES + dv.getUint16(26, true) + dv.getUint16(28, true);
}

function checkEntry(entry: ZipEntry, dataStart: number, fileSize: number, source?: string): void {
  if (entry.flags & 1) throw new CheckpointError(`zip entry '${entry.name}' is encrypted`, source);
  if (dataStart + entry.compressedSize > fileSize) {
    throw new CheckpointError(
      `truncated zip: entry '${entry.name}' needs bytes ${dataStart}..${dataStart + entry.compressedSize} but the file has ${fileSize}`,
      source,
    );
  }
  if (entry.method === METHOD_STORED && entry.compressedSize !== entry.size) {
    throw new CheckpointError(
      `corrupt zip: stored entry '${entry.name}' has compressed size ${entry.compressedSize} != size ${entry.size}`,
      source,
    );
  }
  if (entry.method !== METHOD_STORED && entry.method !== METHOD_DEFLATE) {
    throw new CheckpointError(
      `zip entry '${entry.name}' uses compression method ${entry.method}; only stored (0) and deflate (8) are supported`,
      source,
    );
  }
}

/** Opens an archive held in memory. Entries are zero-copy views; deflated entries are refused (use the file reader). */
export function openZipBytes(bytes: Uint8Array, source?: string): ZipArchive<Uint8Array> {
  const cd = findCentralDirectory(bytes, 0, bytes.length, source);
  const entries = parseCentralDirectory(bytes.subarray(cd.offset, cd.offset + cd.size), cd.count, source);
  return {
    entries,
    read(entry) {
      const start = entryDataOffset(bytes.subarray(entry.headerOffset, entry.headerOffset + LOCAL_HEADER_BYTES), entry, source);
      checkEntry(entry, start, bytes.length, source);
      if (entry.method !== METHOD_STORED) {
        throw new CheckpointError(
          `zip entry '${entry.name}' is deflate-compressed; in-memory parsing reads stored entries only (read the file with readPthFile / loadStateDict)`,
          source,
        );
      }
      return bytes.subarray(start, start + entry.size);
    },
  };
}

/** Opens an archive on disk with positioned reads; each entry read returns a fresh buffer. */
export async function openZipFile(file: RandomAccessFile): Promise<ZipArchive<Promise<Uint8Array>>> {
  const source = file.path;
  const tailStart = Math.max(0, file.size - TAIL_BYTES);
  const tail = await file.read(tailStart, file.size - tailStart);
  const cd = findCentralDirectory(tail, tailStart, file.size, source);
  const cdBytes = cd.offset >= tailStart ? tail.subarray(cd.offset - tailStart, cd.offset - tailStart + cd.size) : await file.read(cd.offset, cd.size);
  const entries = parseCentralDirectory(cdBytes, cd.count, source);
  return {
    entries,
    async read(entry) {
      const headerLen = Math.min(LOCAL_HEADER_BYTES, Math.max(0, file.size - entry.headerOffset));
      const start = entryDataOffset(await file.read(entry.headerOffset, headerLen), entry, source);
      checkEntry(entry, start, file.size, source);
      const raw = await file.read(start, entry.compressedSize);
      return entry.method === METHOD_STORED ? raw : inflateRaw(raw, entry, source);
    },
  };
}

async function inflateRaw(data: Uint8Array, entry: ZipEntry, source?: string): Promise<Uint8Array> {
  let out: Uint8Array;
  try {
    const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
    out = new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (e) {
    throw new CheckpointError(`corrupt deflate data in zip entry '${entry.name}': ${(e as Error).message}`, source);
  }
  if (out.length !== entry.size) {
    throw new CheckpointError(`zip entry '${entry.name}' inflates to ${out.length} bytes, expected ${entry.size}`, source);
  }
  return out;
}
