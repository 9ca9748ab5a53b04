/**
 * PyTorch `.pth` / `.pt` readers: the torch.save zip format (torch >= 1.6) and the legacy stream format
 * (`_use_new_zipfile_serialization=False`, torch < 1.6). Only state dicts are loaded: the pickle is decoded by a
 * strict allowlisted unpickler, tensors are rebuilt from (storage, offset, size, stride) into contiguous arrays.
 */
import { withFile } from './fs';
import { PyDict, isTuple, unpickle } from './pickle';
import { Storage, StorageType, StorageView, TensorRef, isIndex, refuseGlobal, resolveTorchGlobal } from './torch-pickle';
import {
  CheckpointError,
  HOST_LITTLE_ENDIAN,
  type RawTensor,
  type StateDict,
  dtypeSize,
  fmtList,
  numelOf,
  swapBytes,
  viewAs,
} from './types';
import { type ZipArchive, type ZipEntry, openZipBytes, openZipFile } from './zip';

export interface PthCheckpoint {
  stateDict: StateDict;
  /** The top-level key that held the state dict ('model' | 'model_state' | 'state_dict'), or null for a bare state dict. */
  wrapperKey: string | null;
  /** The other top-level entries that are plain Python values (epoch, accuracy, config strings...); entries holding tensors or objects are left out. */
  extra: Record<string, unknown>;
  format: 'zip' | 'legacy';
}

/** Top-level keys that may hold the state dict of a training checkpoint, in the order they are tried. */
export const STATE_DICT_WRAPPER_KEYS: readonly string[] = ['model', 'model_state', 'state_dict'];

/** torch.save's zip format starts with a local file header (or, for an empty archive, the end record). */
export function isZipBytes(head: Uint8Array): boolean {
  return head[0] === 0x50 && head[1] === 0x4b && ((head[2] === 3 && head[3] === 4) || (head[2] === 5 && head[3] === 6));
}

/** Legacy torch files start with a pickle of the 10-byte magic number: PROTO n, LONG1 10. */
export function isLegacyPthBytes(head: Uint8Array): boolean {
  return head[0] === 0x80 && head[2] === 0x8a && head[3] === 0x0a;
}

/** Parses a `.pth` held in memory (zip entries must be stored, as torch.save writes them). */
export function parsePth(bytes: Uint8Array, opts: { source?: string } = {}): PthCheckpoint {
  const { source } = opts;
  if (isZipBytes(bytes)) {
    const zip = openZipBytes(bytes, source);
    const layout = torchZipLayout(zip, source);
    const little = parseByteorder(layout.byteorder && zip.read(layout.byteorder), source);
    const selected = selectStateDict(unpickleZipRoot(zip.read(layout.pkl), layout.pkl.name, source), source);
    for (const s of usedStorages(selected.tensors)) {
      attachStorage(s, zip.read(layout.storage(s.key)), false, layout.storageName(s.key), source);
    }
    return finish(selected, 'zip', little, source);
  }
  if (isLegacyPthBytes(bytes)) return parseLegacy(bytes, source);
  throw notPth(source);
}

/**
 * Reads a `.pth` file. Zip archives are read entry by entry with positioned reads, fetching only the storages the
 * state dict uses (optimizer state is skipped), and deflated entries are inflated; legacy files are read whole.
 */
export async function readPthFile(path: string): Promise<PthCheckpoint> {
  return withFile(path, async (file) => {
    const head = await file.read(0, Math.min(4, file.size));
    if (isLegacyPthBytes(head)) return parseLegacy(await file.read(0, file.size), path);
    if (!isZipBytes(head)) throw notPth(path);
    const zip = await openZipFile(file);
    const layout = torchZipLayout(zip, path);
    const little = parseByteorder(layout.byteorder && (await zip.read(layout.byteorder)), path);
    const selected = selectStateDict(unpickleZipRoot(await zip.read(layout.pkl), layout.pkl.name, path), path);
    for (const s of usedStorages(selected.tensors)) {
      attachStorage(s, await zip.read(layout.storage(s.key)), true, layout.storageName(s.key), path);
    }
    return finish(selected, 'zip', little, path);
  });
}

function notPth(source?: string): CheckpointError {
  return new CheckpointError('not a PyTorch checkpoint: expected a torch.save zip archive or a legacy pickle stream', source);
}

// ---- zip format

interface TorchZipLayout {
  pkl: ZipEntry;
  byteorder: ZipEntry | undefined;
  storageName(key: string): string;
  storage(key: string): ZipEntry;
}

/** Finds `<folder>/data.pkl` (the folder name is arbitrary: 'archive', the file stem, ...) and its sibling entries. */
function torchZipLayout(zip: ZipArchive<unknown>, source?: string): TorchZipLayout {
  const pkls = [...zip.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pkls.length !== 1) {
    throw new CheckpointError(
      pkls.length === 0
        ? `not a torch.save archive: no '<folder>/data.pkl' entry among ${zip.entries.size} entries`
        : `ambiguous torch.save archive: several data.pkl entries (${pkls.join(', ')})`,
      source,
    );
  }
  const prefix = pkls[0]!.slice(0, -'data.pkl'.length);
  const storageName = (key: string): string => `${prefix}data/${key}`;
  return {
    pkl: zip.entries.get(pkls[0]!)!,
    byteorder: zip.entries.get(`${prefix}byteorder`),
    storageName,
    storage(key) {
      const entry = zip.entries.get(storageName(key));
      if (!entry) throw new CheckpointError(`missing storage entry '${storageName(key)}' referenced by ${pkls[0]}`, source);
      return entry;
    },
  };
}

/** The `byteorder` entry (absent in older archives, which are little-endian). */
function parseByteorder(entry: Uint8Array | undefined, source?: string): boolean {
  if (entry === undefined) return true;
  const text = new TextDecoder().decode(entry).trim();
  if (text !== 'little' && text !== 'big') throw new CheckpointError(`unknown byteorder '${text}' in the archive`, source);
  return text === 'little';
}

/** Zip persistent ids: ('storage', storage_type, key, location, numel). */
function unpickleZipRoot(pkl: Uint8Array, where: string, source?: string): unknown {
  const storages = new Map<string, Storage>();
  return unpickle(pkl, 0, {
    where,
    source,
    resolveGlobal: resolveTorchGlobal,
    persistentLoad(pid) {
      if (!isTuple(pid) || pid[0] !== 'storage' || pid.length !== 5) throw new Error(`unexpected persistent id ${describe(pid)}`);
      const storage = internStorage(storages, pid[1], pid[2], pid[4]);
      return new StorageView(storage, 0, storage.numel);
    },
  }).value;
}

/** The storage with this key, created on first reference; later references must agree on its type and size. */
function internStorage(storages: Map<string, Storage>, type: unknown, key: unknown, numel: unknown): Storage {
  if (!(type instanceof StorageType)) throw new Error(`storage type ${describe(type)} is not a torch storage class`);
  if (typeof key !== 'string') throw new Error(`storage key ${describe(key)} is not a string`);
  if (!isIndex(numel)) throw new Error(`storage '${key}' has an invalid size ${describe(numel)}`);
  const known = storages.get(key);
  if (known) {
    if (known.dtype !== type.dtype || known.numel !== numel) throw new Error(`storage '${key}' is referenced with different types or sizes`);
    return known;
  }
  const storage = new Storage(key, type.dtype, numel);
  storages.set(key, storage);
  return storage;
}

// ---- legacy format

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL_VERSION = 1001;

/**
 * Legacy layout: pickled magic number, protocol version, sys_info, the main pickle (persistent ids name storages),
 * the pickled list of storage keys, then per storage an 8-byte little-endian element count and the raw bytes.
 */
function parseLegacy(bytes: Uint8Array, source?: string): PthCheckpoint {
  const header = (where: string, start: number): { value: unknown; end: number } =>
    unpickle(bytes, start, {
      where,
      source,
      resolveGlobal: refuseGlobal,
      persistentLoad: () => {
        throw new Error('unexpected persistent id');
      },
    });
  const magic = header('legacy magic number', 0);
  if (magic.value !== LEGACY_MAGIC) throw new CheckpointError('not a PyTorch checkpoint: the legacy magic number is missing', source);
  const version = header('legacy protocol version', magic.end);
  if (version.value !== LEGACY_PROTOCOL_VERSION) {
    throw new CheckpointError(`unsupported legacy protocol version ${describe(version.value)} (expected ${LEGACY_PROTOCOL_VERSION})`, source);
  }
  const sysInfo = header('legacy sys_info', version.end);
  if (sysInfo.value instanceof PyDict && sysInfo.value.get('little_endian') === false) {
    throw new CheckpointError('big-endian legacy checkpoints are not supported', source);
  }

  const storages = new Map<string, Storage>();
  const main = unpickle(bytes, sysInfo.end, {
    where: 'legacy data pickle',
    source,
    resolveGlobal: resolveTorchGlobal,
    persistentLoad(pid) {
      if (isTuple(pid) && pid[0] === 'module') throw new Error('the file pickles a whole nn.Module; save and load model.state_dict() instead');
      if (!isTuple(pid) || pid[0] !== 'storage' || pid.length !== 6) throw new Error(`unexpected persistent id ${describe(pid)}`);
      const storage = internStorage(storages, pid[1], pid[2], pid[4]);
      const viewMeta = pid[5];
      if (viewMeta === null) return new StorageView(storage, 0, storage.numel);
      // (view_key, offset, size): a slice of the root storage
      if (!isTuple(viewMeta) || viewMeta.length !== 3 || !isIndex(viewMeta[1]) || !isIndex(viewMeta[2])) {
        throw new Error(`storage '${storage.key}' has malformed view metadata`);
      }
      if (viewMeta[1] + viewMeta[2] > storage.numel) {
        throw new Error(`storage view ${describe(viewMeta[0])} exceeds storage '${storage.key}' of ${storage.numel} elements`);
      }
      return new StorageView(storage, viewMeta[1], viewMeta[2]);
    },
  });

  const keyList = header('legacy storage key list', main.end);
  if (!Array.isArray(keyList.value) || !keyList.value.every((k) => typeof k === 'string')) {
    throw new CheckpointError('the legacy storage key list is not a list of strings', source);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = keyList.end;
  for (const key of keyList.value as string[]) {
    const storage = storages.get(key);
    if (!storage) throw new CheckpointError(`the legacy storage list names storage '${key}', which the data pickle never references`, source);
    const nbytes = storage.numel * dtypeSize(storage.dtype);
    if (pos + 8 + nbytes > bytes.length) {
      throw new CheckpointError(`truncated file: storage '${key}' needs bytes ${pos}..${pos + 8 + nbytes} but the file has ${bytes.length}`, source);
    }
    const count = dv.getBigInt64(pos, true);
    if (count !== BigInt(storage.numel)) {
      throw new CheckpointError(`storage '${key}' has ${count} elements in the file but ${storage.numel} in the data pickle`, source);
    }
    attachStorage(storage, bytes.subarray(pos + 8, pos + 8 + nbytes), false, `storage '${key}'`, source);
    pos += 8 + nbytes;
  }
  for (const s of storages.values()) {
    if (!s.bytes) throw new CheckpointError(`storage '${s.key}' is referenced by the data pickle but missing from the storage list`, source);
  }
  return finish(selectStateDict(main.value, source), 'legacy', true, source);
}

// ---- state dict selection and tensor materialization

interface SelectedStateDict {
  tensors: Map<string, TensorRef>;
  wrapperKey: string | null;
  extra: Record<string, unknown>;
}

/** Why `v` is not a dict of tensors keyed by strings, or null when it is one. */
function tensorDictProblem(v: unknown): string | null {
  if (!(v instanceof PyDict)) return `is ${describe(v)}, not a dict`;
  for (const [k, x] of v) {
    if (typeof k !== 'string') return `has a non-string key ${describe(k)}`;
    if (!(x instanceof TensorRef)) return `entry '${k}' is ${describe(x)}, not a tensor`;
  }
  return null;
}

/** A bare state dict, or the state dict under one of STATE_DICT_WRAPPER_KEYS with the plain other entries as `extra`. */
function selectStateDict(root: unknown, source?: string): SelectedStateDict {
  if (!(root instanceof PyDict)) throw new CheckpointError(`the checkpoint holds ${describe(root)}, not a state dict or checkpoint dict`, source);
  if (tensorDictProblem(root) === null) return { tensors: root as Map<string, TensorRef>, wrapperKey: null, extra: {} };
  const problems: string[] = [];
  for (const key of STATE_DICT_WRAPPER_KEYS) {
    if (!root.has(key)) continue;
    const problem = tensorDictProblem(root.get(key));
    if (problem !== null) {
      problems.push(`'${key}' ${problem}`);
      continue;
    }
    const extra: [string, unknown][] = [];
    for (const [k, v] of root) {
      const plain = k === key || typeof k !== 'string' ? OPAQUE : toPlain(v);
      if (plain !== OPAQUE) extra.push([k as string, plain]);
    }
    return { tensors: root.get(key) as Map<string, TensorRef>, wrapperKey: key, extra: Object.fromEntries(extra) };
  }
  const keys = [...root.keys()].map((k) => describe(k)).join(', ');
  throw new CheckpointError(
    `no state dict found: the top-level dict (keys ${keys}) is not a dict of tensors and none of ${STATE_DICT_WRAPPER_KEYS.map((k) => `'${k}'`).join(', ')} holds one${problems.length ? ` (${problems.join('; ')})` : ''}`,
    source,
  );
}

const OPAQUE = Symbol('opaque');

/** A pickled value as plain JS (dicts with string keys become objects, others Maps), or OPAQUE if it holds tensors or objects. */
function toPlain(v: unknown): unknown {
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return v;
  if (Array.isArray(v)) {
    const items = v.map(toPlain);
    return items.includes(OPAQUE) ? OPAQUE : items;
  }
  if (v instanceof PyDict) {
    const pairs = [...v].map(([k, x]) => [toPlain(k), toPlain(x)] as const);
    if (pairs.some(([k, x]) => k === OPAQUE || x === OPAQUE)) return OPAQUE;
    return pairs.every(([k]) => typeof k === 'string') ? Object.fromEntries(pairs) : new Map(pairs);
  }
  return OPAQUE;
}

/** The storages the tensors read, counting users per storage. */
function usedStorages(tensors: Map<string, TensorRef>): Set<Storage> {
  const used = new Set<Storage>();
  for (const t of tensors.values()) {
    t.view.storage.users++;
    used.add(t.view.storage);
  }
  return used;
}

function attachStorage(storage: Storage, bytes: Uint8Array, owned: boolean, name: string, source?: string): void {
  const expected = storage.numel * dtypeSize(storage.dtype);
  if (bytes.length !== expected) {
    throw new CheckpointError(
      `${name} holds ${bytes.length} bytes but the pickle declares ${storage.numel} ${storage.dtype} elements (${expected} bytes)`,
      source,
    );
  }
  storage.bytes = bytes;
  storage.owned = owned;
}

function finish(selected: SelectedStateDict, format: 'zip' | 'legacy', littleEndian: boolean, source?: string): PthCheckpoint {
  const stateDict: StateDict = new Map();
  for (const [key, t] of selected.tensors) stateDict.set(key, materialize(key, t, littleEndian, source));
  return { stateDict, wrapperKey: selected.wrapperKey, extra: selected.extra, format };
}

/** Copies a strided view into a contiguous tensor (or adopts a private storage buffer the tensor covers exactly). */
function materialize(key: string, t: TensorRef, littleEndian: boolean, source?: string): RawTensor {
  const { storage } = t.view;
  const esz = dtypeSize(storage.dtype);
  const numel = numelOf(t.size);
  let last = t.offset;
  t.size.forEach((s, i) => (last += (s - 1) * t.stride[i]!));
  if (numel > 0 && last >= t.view.numel) {
    throw new CheckpointError(
      `tensor '${key}' (shape ${fmtList(t.size)}, stride ${fmtList(t.stride)}, storage offset ${t.offset}) reads element ${last} of storage '${storage.key}', which holds ${t.view.numel} elements`,
      source,
    );
  }
  const bytes = storage.bytes!;
  const base = t.view.offset + t.offset;
  const adopt =
    storage.owned && storage.users === 1 && base === 0 && numel * esz === bytes.length && bytes.byteOffset % esz === 0 && isContiguous(t);
  const out = adopt ? bytes : gather(bytes, esz, base, t.size, t.stride, numel);
  if (littleEndian !== HOST_LITTLE_ENDIAN) swapBytes(out, esz);
  return { dtype: storage.dtype, shape: [...t.size], data: viewAs(storage.dtype, out.buffer, out.byteOffset, numel) };
}

/** Number of leading dims left after merging the trailing dims that are laid out contiguously. */
function outerDims(size: readonly number[], stride: readonly number[]): { dims: number; run: number } {
  let run = 1;
  let dims = size.length;
  while (dims > 0 && (size[dims - 1] === 1 || stride[dims - 1] === run)) run *= size[--dims]!;
  return { dims, run };
}

function isContiguous(t: TensorRef): boolean {
  return outerDims(t.size, t.stride).dims === 0;
}

/** Gathers `numel` elements of a strided view (starting at element `base`) into a fresh row-major buffer. */
function gather(src: Uint8Array, esz: number, base: number, size: readonly number[], stride: readonly number[], numel: number): Uint8Array {
  const out = new Uint8Array(numel * esz);
  if (numel === 0) return out;
  const { dims, run } = outerDims(size, stride);
  const runBytes = run * esz;
  const index = new Array<number>(dims).fill(0);
  let elem = base;
  for (let dst = 0; dst < out.length; dst += runBytes) {
    out.set(src.subarray(elem * esz, elem * esz + runBytes), dst);
    for (let d = dims - 1; d >= 0; d--) {
      elem += stride[d]!;
      if (++index[d]! < size[d]!) break;
      elem -= stride[d]! * size[d]!;
      index[d] = 0;
    }
  }
  return out;
}

/** Short description of a pickled value for error messages. */
function describe(v: unknown): string {
  if (v === null) return 'None';
  if (typeof v === 'string') return `'${v.length > 40 ? `${v.slice(0, 40)}...` : v}'`;
  if (typeof v !== 'object') return String(v);
  if (v instanceof TensorRef) return 'a tensor';
  if (v instanceof StorageView) return 'a storage';
  if (v instanceof PyDict) return 'a dict';
  if (isTuple(v)) return `a tuple of ${v.length}`;
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  return `a ${v.constructor.name}`;
}
