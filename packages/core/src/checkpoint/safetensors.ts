/**
 * safetensors reader/writer: an 8-byte little-endian header length, a JSON header
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {string: string}}`, then the tensor bytes
 * (little-endian, row-major). Headers are validated strictly, like the reference implementation.
 */
import { type RandomAccessFile, withFile } from './fs';
import {
  CheckpointError,
  HOST_LITTLE_ENDIAN,
  type RawTensor,
  type StateDict,
  type StoredDType,
  STORED_DTYPES,
  arrayMatchesDType,
  bytesOf,
  dtypeSize,
  fmtList,
  isStoredDType,
  numelOf,
  swapBytes,
  viewAs,
} from './types';

export interface SafetensorsTensorInfo {
  name: string;
  dtype: StoredDType;
  shape: number[];
  /** [begin, end) byte range relative to the start of the data region. */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  /** Tensors in data order. */
  tensors: SafetensorsTensorInfo[];
  metadata: Record<string, string>;
  /** File offset of the data region (8 + header length). */
  dataStart: number;
}

export interface SafetensorsContents {
  tensors: StateDict;
  metadata: Record<string, string>;
}

/** Largest header accepted (as in the reference implementation): guards against reading garbage as a length. */
const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';

/** The JSON header length from the first 8 bytes, checked against the file size. */
function headerLength(prefix: Uint8Array, fileSize: number, source?: string): number {
  if (prefix.length < 8 || fileSize < 8) {
    throw new CheckpointError(`file is ${fileSize} bytes, too short for the 8-byte safetensors header length`, source);
  }
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(fileSize - 8)) throw new CheckpointError(`header length ${n} exceeds the file size (${fileSize} bytes)`, source);
  if (n > BigInt(MAX_HEADER_BYTES)) throw new CheckpointError(`header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`, source);
  return Number(n);
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isIndex(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/** Parses and validates the JSON header; `dataLength` is the size of the data region that must be covered exactly. */
function parseHeaderJson(json: Uint8Array, dataStart: number, dataLength: number, source?: string): SafetensorsHeader {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch (e) {
    throw new CheckpointError(`header is not valid UTF-8 JSON: ${(e as Error).message}`, source);
  }
  if (!isPlainObject(header)) throw new CheckpointError('header is not a JSON object', source);

  const metadata: Record<string, string> = {};
  const rawMeta = header[METADATA_KEY];
  if (rawMeta !== undefined) {
    if (!isPlainObject(rawMeta)) throw new CheckpointError(`${METADATA_KEY} is not an object`, source);
    for (const [k, v] of Object.entries(rawMeta)) {
      if (typeof v !== 'string') throw new CheckpointError(`${METADATA_KEY} value for '${k}' is a ${typeof v}, not a string`, source);
      metadata[k] = v;
    }
  }

  const tensors: SafetensorsTensorInfo[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === METADATA_KEY) continue;
    const bad = (what: string): CheckpointError => new CheckpointError(`tensor '${name}': ${what}`, source);
    if (!isPlainObject(info)) throw bad('header entry is not an object');
    const { dtype, shape, data_offsets: offsets } = info;
    if (!isStoredDType(dtype)) throw bad(`unsupported dtype ${JSON.stringify(dtype)} (supported: ${STORED_DTYPES.join(', ')})`);
    if (!Array.isArray(shape) || !shape.every(isIndex)) throw bad(`shape ${JSON.stringify(shape)} is not a list of non-negative ints`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isIndex) || offsets[0] > offsets[1]) {
      throw bad(`data_offsets ${JSON.stringify(offsets)} is not a [begin, end] pair with begin <= end`);
    }
    const [begin, end] = offsets as [number, number];
    const nbytes = numelOf(shape) * dtypeSize(dtype);
    if (end - begin !== nbytes) {
      throw bad(`shape ${fmtList(shape)} of ${dtype} needs ${nbytes} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`);
    }
    if (end > dataLength) throw bad(`data_offsets [${begin}, ${end}] run past the end of the ${dataLength}-byte data region`);
    tensors.push({ name, dtype, shape: [...shape], dataOffsets: [begin, end] });
  }

  // The tensors must tile the data region: no overlaps, no gaps, nothing left over.
  tensors.sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let covered = 0;
  let prev: SafetensorsTensorInfo | undefined;
  for (const t of tensors) {
    const [begin, end] = t.dataOffsets;
    if (begin < covered) {
      throw new CheckpointError(
        `tensor '${t.name}' data_offsets [${begin}, ${end}] overlap tensor '${prev!.name}' [${prev!.dataOffsets.join(', ')}]`,
        source,
      );
    }
    if (begin > covered) throw new CheckpointError(`data region bytes [${covered}, ${begin}) are not covered by any tensor`, source);
    covered = end;
    prev = t;
  }
  if (covered !== dataLength) {
    throw new CheckpointError(`data region has ${dataLength} bytes but the tensors cover only ${covered}`, source);
  }
  return { tensors, metadata, dataStart };
}

/**
 * Parses and validates the header of a safetensors file. `bytes` needs to hold at least the first 8 + header-length
 * bytes; pass `fileSize` when it is only a prefix of the file.
 */
export function readSafetensorsHeader(bytes: Uint8Array, opts: { source?: string; fileSize?: number } = {}): SafetensorsHeader {
  const fileSize = opts.fileSize ?? bytes.length;
  const n = headerLength(bytes, fileSize, opts.source);
  if (bytes.length < 8 + n) throw new CheckpointError(`need the first ${8 + n} bytes to read the header, got ${bytes.length}`, opts.source);
  return parseHeaderJson(bytes.subarray(8, 8 + n), 8 + n, fileSize - 8 - n, opts.source);
}

/** Copies little-endian tensor bytes into a fresh host array. */
function tensorFromBytes(info: SafetensorsTensorInfo, bytes: Uint8Array): RawTensor {
  // Uint8Array's slice: a Node Buffer's own slice() would return a view into the whole file
  const copy = Uint8Array.prototype.slice.call(bytes);
  if (!HOST_LITTLE_ENDIAN) swapBytes(copy, dtypeSize(info.dtype));
  return { dtype: info.dtype, shape: info.shape, data: viewAs(info.dtype, copy.buffer, 0, numelOf(info.shape)) };
}

/** Parses a whole safetensors file held in memory; tensors are copied out (in data order). */
export function parseSafetensors(bytes: Uint8Array, opts: { source?: string } = {}): SafetensorsContents {
  const header = readSafetensorsHeader(bytes, { source: opts.source });
  const tensors: StateDict = new Map();
  for (const info of header.tensors) {
    const [begin, end] = info.dataOffsets;
    tensors.set(info.name, tensorFromBytes(info, bytes.subarray(header.dataStart + begin, header.dataStart + end)));
  }
  return { tensors, metadata: header.metadata };
}

async function readHeaderFromFile(file: RandomAccessFile): Promise<SafetensorsHeader> {
  const prefix = await file.read(0, Math.min(8, file.size));
  const n = headerLength(prefix, file.size, file.path);
  return parseHeaderJson(await file.read(8, n), 8 + n, file.size - 8 - n, file.path);
}

/**
 * Reads a safetensors file: the header, then each tensor (all, or `keys` in the given order) with one positioned
 * read straight into its own array, so the whole file is never held in memory.
 */
export async function readSafetensorsFile(path: string, opts: { keys?: string[] } = {}): Promise<SafetensorsContents> {
  return withFile(path, async (file) => {
    const header = await readHeaderFromFile(file);
    const byName = new Map(header.tensors.map((t) => [t.name, t]));
    const infos = (opts.keys ?? header.tensors.map((t) => t.name)).map((key) => {
      const info = byName.get(key);
      if (!info) throw new CheckpointError(`no tensor named '${key}' in the file`, path);
      return info;
    });
    const tensors: StateDict = new Map();
    for (const info of infos) {
      const data = viewAs(info.dtype, new ArrayBuffer(info.dataOffsets[1] - info.dataOffsets[0]), 0, numelOf(info.shape));
      const bytes = bytesOf(data);
      await file.readInto(bytes, header.dataStart + info.dataOffsets[0]);
      if (!HOST_LITTLE_ENDIAN) swapBytes(bytes, dtypeSize(info.dtype));
      tensors.set(info.name, { dtype: info.dtype, shape: info.shape, data });
    }
    return { tensors, metadata: header.metadata };
  });
}

/** Reads only the header of a safetensors file. */
export async function readSafetensorsFileHeader(path: string): Promise<SafetensorsHeader> {
  return withFile(path, readHeaderFromFile);
}

interface SafetensorsPlan {
  /** Length prefix + JSON header, padded with spaces to a multiple of 8 bytes. */
  head: Uint8Array;
  /** Each tensor's little-endian bytes, in order. */
  parts: Uint8Array[];
}

/** Validates the tensors and lays out the file: header in the given key order, data back to back. */
function planSafetensors(tensors: StateDict | Record<string, RawTensor>, metadata?: Record<string, string>): SafetensorsPlan {
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const fields: string[] = [];
  if (metadata) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new CheckpointError(`metadata value for '${k}' is a ${typeof v}, not a string`);
    }
    fields.push(`${JSON.stringify(METADATA_KEY)}:${JSON.stringify(metadata)}`);
  }
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of entries) {
    const bad = (what: string): CheckpointError => new CheckpointError(`cannot serialize tensor '${name}': ${what}`);
    if (name === METADATA_KEY) throw bad(`'${METADATA_KEY}' is reserved`);
    if (!isStoredDType(t.dtype)) throw bad(`unknown dtype ${JSON.stringify(t.dtype)}`);
    if (!Array.isArray(t.shape) || !t.shape.every(isIndex)) throw bad(`shape ${JSON.stringify(t.shape)} is not a list of non-negative ints`);
    if (!arrayMatchesDType(t.data, t.dtype)) throw bad(`a ${t.data?.constructor?.name} cannot hold ${t.dtype} data`);
    if (t.data.length !== numelOf(t.shape)) throw bad(`shape ${fmtList(t.shape)} needs ${numelOf(t.shape)} elements, data has ${t.data.length}`);
    let bytes = bytesOf(t.data);
    if (!HOST_LITTLE_ENDIAN) {
      bytes = bytes.slice();
      swapBytes(bytes, dtypeSize(t.dtype));
    }
    fields.push(`${JSON.stringify(name)}:${JSON.stringify({ dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] })}`);
    parts.push(bytes);
    offset += bytes.length;
  }
  const json = new TextEncoder().encode(`{${fields.join(',')}}`);
  const padded = Math.ceil(json.length / 8) * 8;
  const head = new Uint8Array(8 + padded).fill(0x20, 8 + json.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(padded), true);
  head.set(json, 8);
  return { head, parts };
}

/** Serializes tensors (keys in the given order) and optional string metadata to safetensors bytes. */
export function serializeSafetensors(tensors: StateDict | Record<string, RawTensor>, metadata?: Record<string, string>): Uint8Array {
  const { head, parts } = planSafetensors(tensors, metadata);
  const out = new Uint8Array(head.length + parts.reduce((n, p) => n + p.length, 0));
  out.set(head, 0);
  let offset = head.length;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Writes a safetensors file tensor by tensor, without building the whole file in memory. */
export async function writeSafetensorsFile(
  path: string,
  tensors: StateDict | Record<string, RawTensor>,
  metadata?: Record<string, string>,
): Promise<void> {
  const { head, parts } = planSafetensors(tensors, metadata);
  const fs = await import('node:fs/promises');
  const handle = await fs.open(path, 'w');
  try {
    for (const chunk of [head, ...parts]) {
      for (let done = 0; done < chunk.length; ) done += (await handle.write(chunk, done, chunk.length - done)).bytesWritten;
    }
  } finally {
    await handle.close();
  }
}
