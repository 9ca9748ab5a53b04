import { readFile } from 'node:fs/promises';
import { parseSafetensors } from '@tubelet/core';
import { UserError } from './main';

const oneLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0]!.trim();

/** A `--config`: a JSON file, or the `config` metadata of a parity-vector .safetensors file. */
export async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    if (path.endsWith('.safetensors')) {
      const meta = parseSafetensors(new Uint8Array(await readFile(path)), { source: path }).metadata;
      if (!meta.config) throw new UserError(`${path} has no 'config' entry in its metadata`);
      text = meta.config;
    } else text = await readFile(path, 'utf8');
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`cannot read --config '${path}': ${oneLine(e)}`);
  }
  let cfg: unknown;
  try {
    cfg = JSON.parse(text);
  } catch (e) {
    throw new UserError(`--config '${path}' is not valid JSON: ${oneLine(e)}`);
  }
  if (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg)) throw new UserError(`--config '${path}' is not a JSON object`);
  return cfg as Record<string, unknown>;
}
