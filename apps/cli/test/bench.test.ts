import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, run as runBin } from './helpers';

const run = (args: string[]) => runBin(args, { timeout: 170_000 });

beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`build the CLI first (pnpm build): ${BIN} is missing`);
});

describe('tubelet bench', () => {
  it('times a named model on cpu and the same model in onnxruntime-node, with GFLOP/s and progress', async () => {
    const r = await run(['bench', 'uniformer-s-in1k', '--iters', '1', '--warmup', '0', '--vs', 'onnx', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { flops: number; input: number[]; results: { runtime: string; runs: number; medianMs: number; gflops: number }[] };
    expect(j.input).toEqual([1, 3, 224, 224]);
    expect(j.flops / 1e9).toBeCloseTo(7.34, 1); // UniFormer-S image: 3.6 GMACs (paper)
    expect(j.results.map((x) => x.runtime)).toEqual(['cpu', expect.stringMatching(/^onnxruntime-node \(\d+ threads\)$/)]);
    for (const x of j.results) {
      expect(x.runs).toBe(1);
      expect(x.medianMs).toBeGreaterThan(0);
      expect(x.gflops).toBeCloseTo(j.flops / 1e6 / x.medianMs, 6);
    }
    expect(r.stderr).toMatch(/\[bench\] cpu: run 1\/1/);
    expect(r.stderr).toMatch(/exporting the same model to ONNX/);
  }, 180_000);

  it('rejects bad arguments in one line', async () => {
    const a = await run(['bench', 'nope']);
    expect(a.code).toBe(2);
    expect(a.stderr.trim()).toMatch(/^tubelet: unknown model 'nope'/);
    const b = await run(['bench', 'uniformer-s-in1k', '--iters', '0']);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/--iters must be an integer >= 1/);
    const c = await run(['bench', 'uniformer-s-in1k', '--vs', 'tflite']);
    expect(c.stderr).toMatch(/--vs takes 'onnx'/);
  });
});
