import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, run } from './helpers';

const ASSET = fileURLToPath(new URL('../assets/uniformer-video-tiny.random.pth', import.meta.url));

let dir = '';
beforeAll(async () => {
  if (!existsSync(BIN)) throw new Error(`build the CLI first (pnpm build): ${BIN} is missing`);
  dir = await mkdtemp(join(tmpdir(), 'tubelet-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('tubelet CLI', () => {
  it('prints help and per-command help', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/usage: tubelet <command>/);
    const c = await run(['convert', '--help']);
    expect(c.stdout).toMatch(/tubelet convert <in.pth> <out.safetensors>/);
  });

  it('inspects an official-code .pth: keys, dtypes, parameter count', async () => {
    const r = await run(['inspect', ASSET, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.format).toBe('pth-zip');
    expect(j.tensors).toBe(109);
    expect(j.keys[2]).toEqual({ key: 'patch_embed1.proj.weight', dtype: 'F32', shape: [16, 3, 3, 4, 4] });
  });

  it('converts to safetensors and refuses to overwrite without --force', async () => {
    const out = join(dir, 'm.safetensors');
    const r = await run(['convert', ASSET, out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/wrote .*109 tensors/);
    const again = await run(['convert', ASSET, out]);
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toMatch(/exists; pass --force/);
    const back = await run(['inspect', out, '--json']);
    expect(JSON.parse(back.stdout).params).toBe(JSON.parse((await run(['inspect', ASSET, '--json'])).stdout).params);
  });

  it('reports user errors in one line with a non-zero exit', async () => {
    const missing = await run(['inspect', join(dir, 'nope.pth')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/neither a readable file nor a known model name/);
    const junk = join(dir, 'junk.pth');
    await writeFile(junk, 'this is not a checkpoint');
    const bad = await run(['inspect', junk]);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    const unknown = await run(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command 'frobnicate'/);
  });

  it('lists backends with reasons', async () => {
    const r = await run(['backends', '--json']);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as { name: string; available: boolean; reason?: string }[];
    expect(rows.find((x) => x.name === 'cpu')?.available).toBe(true);
    for (const x of rows) if (!x.available) expect(x.reason).toBeTruthy();
  });

  it('runs the demo end to end', async () => {
    const r = await run(['demo']);
    expect(r.stderr).not.toMatch(/^tubelet:/m);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/all 109 tensors identical after the round trip/);
    expect(r.stdout).toMatch(/output \[1, 16, 8, 28, 28\]/);
  });
});
