import { describe, it } from 'vitest';
import { memory } from '@tubelet/core';
import { MaskRcnnHeadsModule, applyHeadsWeights, headsConfigFromVectorConfig, runHeads, splitDetectorStateDict } from '../src/detection/index';
import { compare, fixture, values } from './fixtures/detection/helpers';

for (const name of ['maskrcnn_mmdet_s0', 'maskrcnn_tv_s0']) {
  describe(name, () => {
    it('runs', async () => {
      const fx = fixture(name);
      const cfg = headsConfigFromVectorConfig(fx.config);
      const m = new MaskRcnnHeadsModule(cfg);
      applyHeadsWeights(m, splitDetectorStateDict(fx.tensors).heads);
      const before = memory().numTensors;
      const feats = ['in.c2', 'in.c3', 'in.c4', 'in.c5'].map((k) => fx.tensor(k));
      const meta = fx.config.meta;
      const t0 = performance.now();
      const r = await runHeads(m, feats, { oriShape: meta.ori_shape, imgShape: meta.img_shape, padShape: meta.pad_shape, scaleFactor: meta.scale_factor }, { record: 'all' });
      console.log(name, 'ms', performance.now() - t0);
      for (const [k, t] of r.outputs) {
        if (!fx.has(k)) { console.log('  (not in vector)', k, t.shape); continue; }
        const want = fx.ints ? Array.from(fx.raw(k).data as ArrayLike<number|bigint>, Number) : [];
        const got = await values(t);
        if (got.length !== want.length) { console.log('  LEN', k, t.shape, fx.raw(k).shape); continue; }
        const c = compare(got, want, 1e-4, 1e-4);
        console.log('  ', k.padEnd(24), 'maxAbs', c.maxAbs.toExponential(2), c.excess > 0 ? `FAIL at ${c.at} got ${got[c.at]} want ${want[c.at]}` : '');
      }
      for (const k of fx.tensors.keys()) if (!k.startsWith('weights.') && !k.startsWith('in.') && !r.outputs.has(k)) console.log('  MISSING', k);
      for (const t of r.outputs.values()) t.dispose();
      r.masks?.probs.dispose();
      feats.forEach((f) => f.dispose());
      console.log('leak', memory().numTensors - before);
      m.dispose();
    });
  });
}
