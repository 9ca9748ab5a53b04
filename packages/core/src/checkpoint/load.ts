/** Format-agnostic state-dict loading: safetensors or .pth, chosen by the file's magic bytes, never its extension. */
import { withFile } from './fs';
import { type PthCheckpoint, isLegacyPthBytes, isZipBytes, parsePth, readPthFile } from './pth';
import { parseSafetensors, readSafetensorsFile } from './safetensors';
import { CheckpointError, type StateDict } from './types';

export type CheckpointFormat = 'safetensors' | 'pth-zip' | 'pth-legacy';

export interface LoadedStateDict {
  stateDict: StateDict;
  format: CheckpointFormat;
  /** safetensors `__metadata__`. */
  metadata?: Record<string, string>;
  /** .pth only: the top-level key that held the state dict (null for a bare one). */
  wrapperKey?: string | null;
  /** .pth only: the plain top-level values next to the state dict. */
  extra?: Record<string, unknown>;
}

/** Bytes needed by detectCheckpointFormat. */
export const FORMAT_SNIFF_BYTES = 9;

/** Identifies a checkpoint from its first bytes (at least FORMAT_SNIFF_BYTES), or null when unrecognized. */
export function detectCheckpointFormat(head: Uint8Array): CheckpointFormat | null {
  if (isZipBytes(head)) return 'pth-zip';
  if (isLegacyPthBytes(head)) return 'pth-legacy';
  // safetensors: u64 header length (realistically < 2^32), then the JSON header's '{'
  if (head.length >= FORMAT_SNIFF_BYTES && head[4] === 0 && head[5] === 0 && head[6] === 0 && head[7] === 0 && head[8] === 0x7b) {
    return 'safetensors';
  }
  return null;
}

function unrecognized(source?: string): CheckpointError {
  return new CheckpointError('unrecognized checkpoint format: expected safetensors or a PyTorch .pth (zip or legacy)', source);
}

function fromPth(ckpt: PthCheckpoint): LoadedStateDict {
  return {
    stateDict: ckpt.stateDict,
    format: ckpt.format === 'zip' ? 'pth-zip' : 'pth-legacy',
    wrapperKey: ckpt.wrapperKey,
    extra: ckpt.extra,
  };
}

/** Parses a checkpoint held in memory (e.g. fetched in a browser). */
export function parseStateDict(bytes: Uint8Array, opts: { source?: string } = {}): LoadedStateDict {
  const format = detectCheckpointFormat(bytes);
  if (format === null) throw unrecognized(opts.source);
  if (format !== 'safetensors') return fromPth(parsePth(bytes, opts));
  const { tensors, metadata } = parseSafetensors(bytes, opts);
  return { stateDict: tensors, format, metadata };
}

/** Loads the state dict of a checkpoint file of any supported format. */
export async function loadStateDict(path: string): Promise<LoadedStateDict> {
  const head = await withFile(path, (file) => file.read(0, Math.min(FORMAT_SNIFF_BYTES, file.size)));
  const format = detectCheckpointFormat(head);
  if (format === null) throw unrecognized(path);
  if (format !== 'safetensors') return fromPth(await readPthFile(path));
  const { tensors, metadata } = await readSafetensorsFile(path);
  return { stateDict: tensors, format, metadata };
}
