import { setupWebGpu } from './helpers';
import { it } from 'vitest';
import { gridSampleProgram } from '../src/kernels/resample';
const { backend: be } = await setupWebGpu();
it('dbg', async () => {
  const base = gridSampleProgram({ mode: 'nearest', paddingMode: 'reflection', alignCorners: false }, 'float32');
  const p = be!.program('dbg2', () => ({ ...base, key: 'dbg2', workgroupSize: 1,
    main: `let c = opq((Y[0] + 1.0) * 2.5) - 0.5; Y[1] = c; let a = abs(c - (-0.5)); Y[2] = a; Y[3] = fmod_exact(a, 5.0); Y[4] = floor(div_rn(a, 5.0)); Y[5] = reflect_coord(c, -0.5, 5.0); Y[6] = source_index(Y[0], 5.0, 2.5); Y[7] = div_rn(a, 5.0); Y[8] = a / 5.0;` }));
  const y = be!.write(new Float32Array([Math.fround(-1.8), 0, 0, 0, 0, 0, 0, 0, 0]), 'float32', [9]);
  const x = be!.allocate(16);
  be!.dispatch(p, [x.buffer, x.buffer, y.buffer], { size: 1, zero: 0, C: 1, H: 5, W: 7, P: 1 }, [1, 1, 1]);
  console.log('gpu', Array.from(await be!.read(y, 'float32', 9) as Float32Array).join(' '));
});
