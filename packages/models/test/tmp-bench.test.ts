import { it } from 'vitest';
import { tensor, linear, sdpa, conv, transpose, dispose } from '@tubelet/core';
const r = (s: number[]) => tensor(new Float32Array(s.reduce((a, b) => a * b, 1)).map((_, i) => Math.sin(i * 0.37)), s);
const time = (name: string, flops: number, f: () => any) => { const t0 = performance.now(); const y = f(); const dt = (performance.now() - t0) / 1000; console.log(`${name}: ${dt.toFixed(2)} s ${(flops / 1e9 / dt).toFixed(2)} GFLOP/s`); dispose(y); };
it('bench', () => {
  const x = r([1, 3137, 768]); const w = r([768, 768]); const b = r([768]);
  time('linear 3137x768x768', 2 * 3137 * 768 * 768, () => linear(x, w, b));
  const w2 = r([3072, 768]);
  time('linear 3137x768x3072', 2 * 3137 * 768 * 3072, () => linear(x, w2));
  const q = r([1, 12, 3137, 64]);
  time('sdpa 12x3137x64', 12 * (4 * 3137 * 3137 * 64), () => sdpa(q, q, q));
  const qt = transpose(q, [0, 1, 2, 3]);
  const v = r([1, 3, 32, 224, 224]); const cw = r([768, 3, 2, 16, 16]);
  time('conv tubelet', 2 * 3136 * 768 * 1536, () => conv(v, cw, null, { stride: [2, 16, 16] }));
  dispose([x, w, b, w2, q, qt, v, cw]);
}, 300000);
