import { type Tensor, erf, exp, gelu, log, removeBackend, rsqrt, sigmoid, sqrt, tanh, reciprocal, tensor } from '@tubelet/core';
import { afterAll, it } from 'vitest';
import { setupWebGpu } from './helpers';
const { backend } = await setupWebGpu();
afterAll(() => removeBackend('webgpu'));
function ulp(x: number) { const a = Math.abs(Math.fround(x)); if (a < 1.1754943508222875e-38) return 2 ** -149; return 2 ** (Math.floor(Math.log2(a)) - 23); }
it.skipIf(!backend || !process.env.PROBE)('probe', async () => {
  const xs: number[] = [];
  for (let x = -9; x <= 9; x += 1 / 256) xs.push(x);
  for (let e = -30; e <= 0; e += 0.1) xs.push(10 ** e, -(10 ** e));
  const grid = Float32Array.from(xs);
  const pos = Float32Array.from({ length: 20000 }, (_, i) => 1e-4 * Math.pow(1e8, i / 20000));
  const ex = Float32Array.from({ length: 20000 }, (_, i) => -87 + (175.7 * i) / 20000);
  const fs: [string, (t: Tensor) => Tensor, Float32Array][] = [
    ['erf', erf, grid], ['tanh', tanh, grid], ['sigmoid', sigmoid, grid], ['gelu', (t) => gelu(t), grid], ['geluTanh', (t) => gelu(t, { approximate: 'tanh' }), grid],
    ['exp', exp, ex], ['log', log, pos], ['sqrt', sqrt, pos], ['rsqrt', rsqrt, pos], ['reciprocal', reciprocal, pos],
  ];
  for (const [n, f, x] of fs) {
    const g = tensor(x, [x.length], { backend: 'webgpu' }); const c = tensor(x, [x.length], { backend: 'cpu' });
    const gy = f(g); const cy = f(c);
    const a = (await gy.data()) as Float32Array; const b = (await cy.data()) as Float32Array;
    let rel = 0, ulps = 0, at = 0;
    for (let i = 0; i < x.length; i++) { const e = b[i]!; if (!Number.isFinite(e) || Math.abs(e) < 1e-30) continue; const d = Math.abs(a[i]! - e); const r = d / Math.abs(e); if (r > rel) { rel = r; at = x[i]!; } ulps = Math.max(ulps, d / ulp(e)); }
    console.log(`PROBE ${n}: max rel ${rel.toExponential(2)} (at x=${at}), max ${ulps.toFixed(2)} ulp over ${x.length} points`);
    for (const t of [g, c, gy, cy]) t.dispose();
  }
});
