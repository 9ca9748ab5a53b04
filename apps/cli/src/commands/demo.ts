import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Tensor, conv, dispose, formatReport, layerNorm, loadStateDict, memory, rawToTensor, summarizeGraph, tensor, tidy, traceGraph, transpose } from '@tubelet/core';
import { runBackends } from './backends';
import { runConvert } from './convert';
import { runInspect } from './inspect';
import { randn } from '../random';

const ASSET = fileURLToPath(new URL('../assets/uniformer-video-tiny.random.pth', import.meta.url));

function heading(s: string): void {
  console.log(`\n== ${s} ==`);
}

/**
 * The foundation demo (`tubelet demo`; the README's main job is now `tubelet classify` on the shipped clip,
 * see scripts/start.sh): backends, the strict .pth reader on an official-code checkpoint, the safetensors
 * round trip, and UniFormer's video stem (Conv3d 3×4×4 stride 2×4×4 + LayerNorm) on the cpu backend.
 */
export async function runDemo(): Promise<void> {
  console.log('tubelet demo — the foundation: backends, checkpoints, ops on the cpu reference backend');
  heading('backends');
  await runBackends({ json: false });

  heading('checkpoint (saved by the official UniFormer code; random weights)');
  await runInspect(ASSET, { all: false, json: false });

  heading('convert .pth → .safetensors and compare');
  const dir = await mkdtemp(join(tmpdir(), 'tubelet-demo-'));
  try {
    const out = join(dir, 'uniformer-video-tiny.safetensors');
    await runConvert(ASSET, out, { force: true });
    const [a, b] = await Promise.all([loadStateDict(ASSET), loadStateDict(out)]);
    let same = a.stateDict.size === b.stateDict.size;
    for (const [k, t] of a.stateDict) {
      const u = b.stateDict.get(k);
      same &&= !!u && u.dtype === t.dtype && Buffer.compare(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength), Buffer.from(u.data.buffer, u.data.byteOffset, u.data.byteLength)) === 0;
    }
    console.log(same ? `all ${a.stateDict.size} tensors identical after the round trip` : 'MISMATCH after the round trip');
    if (!same) throw new Error('safetensors round trip changed the checkpoint');

    heading('UniFormer video stem on cpu: Conv3d 3×4×4 / stride 2×4×4 / pad 1×0×0 + LayerNorm');
    const before = memory('cpu');
    const w = rawToTensor(a.stateDict.get('patch_embed1.proj.weight')!);
    const bias = rawToTensor(a.stateDict.get('patch_embed1.proj.bias')!);
    const g = rawToTensor(a.stateDict.get('patch_embed1.norm.weight')!);
    const beta = rawToTensor(a.stateDict.get('patch_embed1.norm.bias')!);
    const clip = tensor(randn(3 * 16 * 112 * 112, 1), [1, 3, 16, 112, 112]);
    const stem = (x: Tensor, p: ReadonlyMap<string, Tensor>) =>
      tidy(() => {
        const c = conv(x, p.get('proj.weight')!, p.get('proj.bias')!, { stride: [2, 4, 4], padding: [1, 0, 0] });
        const cl = transpose(c, [0, 2, 3, 4, 1]);
        return transpose(layerNorm(cl, p.get('norm.weight')!, p.get('norm.bias')!, { eps: 1e-5 }), [0, 4, 1, 2, 3]);
      });
    const params = new Map([
      ['proj.weight', w],
      ['proj.bias', bias],
      ['norm.weight', g],
      ['norm.bias', beta],
    ]);
    const t0 = performance.now();
    const y = stem(clip, params);
    const vals = await y.data();
    const ms = performance.now() - t0;
    let s = 0;
    for (const v of vals as Float32Array) s += v;
    console.log(`input [${clip.shape.join(', ')}] → output [${y.shape.join(', ')}] in ${ms.toFixed(1)} ms; mean ${(s / vals.length).toFixed(5)}`);
    const graph = await traceGraph((x, ctx) => stem(x, ctx.params), [{ name: 'video', shape: clip.shape.slice() }], { params });
    const flops = summarizeGraph(graph).flops;
    console.log(`${(flops / 1e9).toFixed(3)} GFLOP → ${(flops / 1e6 / ms).toFixed(2)} GFLOP/s on cpu (pure TypeScript)\n`);
    console.log(formatReport(summarizeGraph(graph), { title: 'traced graph of the stem' }));
    dispose([w, bias, g, beta, clip, y]);
    const after = memory('cpu');
    console.log(`live tensors before ${before.numTensors}, after ${after.numTensors} (bytes ${before.numBytes} → ${after.numBytes})`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  console.log('\nnext: `tubelet classify apps/cli/assets/vtest-clip.mp4 --model uniformer-s-k400-8x8 --views 1x1` (the whole model on a real clip), `tubelet inspect <your .pth>` or `tubelet convert <in.pth> <out.safetensors>`; run `tubelet --help` for all commands');
}
