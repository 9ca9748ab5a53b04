import { stat } from 'node:fs/promises';
import { type StateDict, loadStateDict } from '@tubelet/core';
import { bytes, human, table } from '../format';
import { UserError } from '../main';
import { inspectModel, isModelName } from './models';

export async function readCheckpoint(path: string) {
  try {
    await stat(path);
  } catch {
    throw new UserError(`'${path}' is neither a readable file nor a known model name (list them with 'tubelet models')`);
  }
  return loadStateDict(path);
}

export function summarize(dict: StateDict) {
  let params = 0;
  let size = 0;
  const dtypes = new Map<string, number>();
  for (const t of dict.values()) {
    params += t.data.length;
    size += t.data.byteLength;
    dtypes.set(t.dtype, (dtypes.get(t.dtype) ?? 0) + 1);
  }
  return { tensors: dict.size, params, bytes: size, dtypes: Object.fromEntries(dtypes) };
}

export async function runInspect(path: string, opts: { all: boolean; json: boolean }): Promise<void> {
  if (isModelName(path)) return inspectModel(path, opts);
  const loaded = await readCheckpoint(path);
  const s = summarize(loaded.stateDict);
  if (opts.json) {
    const keys = [...loaded.stateDict].map(([k, t]) => ({ key: k, dtype: t.dtype, shape: t.shape }));
    console.log(JSON.stringify({ file: path, format: loaded.format, wrapper: loaded.wrapperKey ?? null, ...s, keys }, null, 2));
    return;
  }
  console.log(`${path}`);
  console.log(`  format   ${loaded.format}${loaded.wrapperKey ? ` (state dict under '${loaded.wrapperKey}')` : ''}`);
  console.log(`  tensors  ${s.tensors}   parameters ${human(s.params)} (${s.params})   data ${bytes(s.bytes)}`);
  console.log(`  dtypes   ${Object.entries(s.dtypes).map(([d, n]) => `${d}×${n}`).join('  ')}`);
  const rows = [...loaded.stateDict];
  const shown = opts.all ? rows : rows.slice(0, 20);
  console.log('');
  console.log(table([['key', 'dtype', 'shape'], ...shown.map(([k, t]) => [k, t.dtype, `[${t.shape.join(', ')}]`])]));
  if (shown.length < rows.length) console.log(`  … ${rows.length - shown.length} more (--all lists every key)`);
}
