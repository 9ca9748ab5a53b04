import * as ort from 'onnxruntime-node';
import { buildOnnxModel } from '@tubelet/core';
const shape = [1, 2, 5, 8];
const model = buildOnnxModel({
  name: 'attn', opset: 23,
  nodes: [{ opType: 'Attention', inputs: ['q', 'k', 'v'], outputs: ['y'], attrs: {} }],
  inputs: ['q', 'k', 'v'].map((name) => ({ name, dtype: 'float32' as const, shape })),
  outputs: [{ name: 'y', dtype: 'float32' }],
  initializers: [],
});
const s = await ort.InferenceSession.create(model, { intraOpNumThreads: 2 });
const t = () => new ort.Tensor('float32', Float32Array.from({ length: 80 }, (_, i) => Math.sin(i)), shape);
const r = await s.run({ q: t(), k: t(), v: t() });
console.log(r.y.dims, (r.y.data as Float32Array).slice(0, 4));
