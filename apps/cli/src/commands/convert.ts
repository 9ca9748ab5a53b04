import { access } from 'node:fs/promises';
import { writeSafetensorsFile } from '@tubelet/core';
import { bytes } from '../format';
import { UserError } from '../main';
import { readCheckpoint, summarize } from './inspect';

export async function runConvert(input: string, output: string, opts: { force: boolean }): Promise<void> {
  if (!output.endsWith('.safetensors')) throw new UserError(`the output must be a .safetensors file, got '${output}'`);
  if (!opts.force) {
    const exists = await access(output).then(
      () => true,
      () => false,
    );
    if (exists) throw new UserError(`'${output}' exists; pass --force to overwrite it`);
  }
  const t0 = performance.now();
  const loaded = await readCheckpoint(input);
  const s = summarize(loaded.stateDict);
  await writeSafetensorsFile(output, loaded.stateDict, { format: 'pt', source: 'tubelet convert', source_format: loaded.format });
  console.log(`wrote ${output}: ${s.tensors} tensors, ${bytes(s.bytes)} from ${loaded.format} in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
}
