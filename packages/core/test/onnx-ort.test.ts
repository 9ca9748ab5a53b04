/** onnxruntime-node loads and runs models built by buildOnnxModel; results checked against closed forms. */
import { describe, expect, it } from 'vitest';
import { f16BitsToF32, f32ToF16Bits } from '../src/dtype';
import { attr, buildOnnxModel, decodeOnnxModel, onnxDataType, type OnnxGraphSpec } from '../src/onnx/index';
import { runOnnx, runSingleOp, type HostTensor } from '../scripts/ort';

const f32 = (shape: number[], values: number[]): HostTensor => ({ dtype: 'float32', shape, data: Float32Array.from(values) });
const i64 = (shape: number[], values: bigint[]): HostTensor => ({ dtype: 'int64', shape, data: BigInt64Array.from(values) });

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-6): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Math.abs(a - e) > tol * Math.max(1, Math.abs(e))) {
      throw new Error(`element ${i}: got ${a}, expected ${e} (tol ${tol})`);
    }
  }
}

/** erf by its Maclaurin series (accurate to ~1e-13 for |x| <= 3). */
function erf(x: number): number {
  let term = x;
  let sum = x;
  for (let n = 1; n < 80; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

describe('onnxruntime runs built models', () => {
  it('Add with broadcasting', async () => {
    const [y] = await runSingleOp('Add', {}, [f32([2, 3], [1, 2, 3, 4, 5, 6]), f32([3], [10, 20, 30])]);
    expect(y!.shape).toEqual([2, 3]);
    expect(Array.from(y!.data as Float32Array)).toEqual([11, 22, 33, 14, 25, 36]);
    // [2,1] + [1,3] -> [2,3] outer sum
    const [z] = await runSingleOp('Add', {}, [f32([2, 1], [1, 2]), f32([1, 3], [10, 20, 30])]);
    expect(z!.shape).toEqual([2, 3]);
    expect(Array.from(z!.data as Float32Array)).toEqual([11, 21, 31, 12, 22, 32]);
  });

  it('MatMul', async () => {
    const [y] = await runSingleOp('MatMul', {}, [f32([2, 3], [1, 2, 3, 4, 5, 6]), f32([3, 2], [7, 8, 9, 10, 11, 12])]);
    expect(y!.shape).toEqual([2, 2]);
    expect(Array.from(y!.data as Float32Array)).toEqual([58, 64, 139, 154]);
  });

  it('Conv 2D with pads, strides and bias (hand-computed)', async () => {
    // X = 1..9 in 3x3, W = [[1,0],[0,-1]], pads 1, stride 2: out[i][j] = P[2i][2j] - P[2i+1][2j+1] + 0.5
    const [y] = await runSingleOp('Conv', { pads: attr.ints([1, 1, 1, 1]), strides: attr.ints([2, 2]) }, [
      f32([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]),
      f32([1, 1, 2, 2], [1, 0, 0, -1]),
      f32([1], [0.5]),
    ]);
    expect(y!.shape).toEqual([1, 1, 2, 2]);
    expect(Array.from(y!.data as Float32Array)).toEqual([-0.5, -2.5, -6.5, -3.5]);
  });

  it('Conv 2D depthwise group (hand-computed)', async () => {
    // group=2, 1x1 kernels [2] and [-1]: channel 0 doubled, channel 1 negated
    const [y] = await runSingleOp('Conv', { group: attr.int(2) }, [
      f32([1, 2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]),
      f32([2, 1, 1, 1], [2, -1]),
    ]);
    expect(y!.shape).toEqual([1, 2, 2, 2]);
    expect(Array.from(y!.data as Float32Array)).toEqual([2, 4, 6, 8, -5, -6, -7, -8]);
  });

  it('Conv 2D grouped, asymmetric pads, strides, dilations (vs. direct loops)', async () => {
    const [N, C, H, W, M, G, KH, KW] = [2, 4, 5, 6, 6, 2, 3, 2];
    const [sh, sw, dh, dw] = [2, 1, 1, 2];
    const [pt, pl, pb, pr] = [1, 0, 2, 1];
    const x = Array.from({ length: N * C * H * W }, (_, i) => Math.sin(i * 0.37));
    const w = Array.from({ length: M * (C / G) * KH * KW }, (_, i) => Math.cos(i * 0.91));
    const b = Array.from({ length: M }, (_, i) => i * 0.1 - 0.2);
    const OH = Math.floor((H + pt + pb - dh * (KH - 1) - 1) / sh) + 1;
    const OW = Math.floor((W + pl + pr - dw * (KW - 1) - 1) / sw) + 1;
    const cpg = C / G;
    const mpg = M / G;
    const expected = new Float64Array(N * M * OH * OW);
    for (let n = 0; n < N; n++)
      for (let m = 0; m < M; m++)
        for (let oh = 0; oh < OH; oh++)
          for (let ow = 0; ow < OW; ow++) {
            let acc = b[m]!;
            const g = Math.floor(m / mpg);
            for (let c = 0; c < cpg; c++)
              for (let kh = 0; kh < KH; kh++)
                for (let kw = 0; kw < KW; kw++) {
                  const ih = oh * sh - pt + kh * dh;
                  const iw = ow * sw - pl + kw * dw;
                  if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                  acc += x[((n * C + g * cpg + c) * H + ih) * W + iw]! * w[((m * cpg + c) * KH + kh) * KW + kw]!;
                }
            expected[((n * M + m) * OH + oh) * OW + ow] = acc;
          }
    const [y] = await runSingleOp(
      'Conv',
      {
        group: attr.int(G),
        strides: attr.ints([sh, sw]),
        dilations: attr.ints([dh, dw]),
        pads: attr.ints([pt, pl, pb, pr]),
        kernel_shape: attr.ints([KH, KW]),
      },
      [f32([N, C, H, W], x), f32([M, cpg, KH, KW], w), f32([M], b)],
    );
    expect(y!.shape).toEqual([N, M, OH, OW]);
    expectClose(y!.data as Float32Array, expected, 1e-5);
  });

  it('Gelu (opset 20), exact and tanh approximations', async () => {
    const xs = [-3, -1, -0.5, 0, 0.5, 1, 2, 3];
    const [exact] = await runSingleOp('Gelu', {}, [f32([xs.length], xs)], { opset: 20 });
    expectClose(exact!.data as Float32Array, xs.map((x) => 0.5 * x * (1 + erf(x / Math.SQRT2))), 1e-6);
    // spot values: gelu(1) = 0.8413447460685429, gelu(-1) = -0.15865525393145707
    expectClose([(exact!.data as Float32Array)[5]!, (exact!.data as Float32Array)[1]!], [0.8413447460685429, -0.15865525393145707], 1e-6);

    const [none] = await runSingleOp('Gelu', { approximate: 'none' }, [f32([xs.length], xs)], { opset: 20 });
    expect(Array.from(none!.data as Float32Array)).toEqual(Array.from(exact!.data as Float32Array));

    const [tanh] = await runSingleOp('Gelu', { approximate: attr.string('tanh') }, [f32([xs.length], xs)], { opset: 20 });
    const k = Math.sqrt(2 / Math.PI);
    const tanhRef = xs.map((x) => 0.5 * x * (1 + Math.tanh(k * (x + 0.044715 * x ** 3))));
    expectClose(tanh!.data as Float32Array, tanhRef, 1e-6);
    // the two approximations really differ (so the attribute reached the kernel)
    expect(Math.abs((tanh!.data as Float32Array)[1]! - (exact!.data as Float32Array)[1]!)).toBeGreaterThan(1e-5);
  });

  it('graph with initializers and a dynamic batch dim, run at two batch sizes', async () => {
    // y = Relu(x @ W + b), x: [N, 3], W: [3, 2], b: [2]
    const W = [1, -1, 2, 0.5, -3, 1];
    const b = [0.25, -0.5];
    const spec: OnnxGraphSpec = {
      name: 'linear_relu',
      inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 3] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 2] }],
      initializers: [
        { name: 'W', dtype: 'float32', shape: [3, 2], data: Float32Array.from(W) },
        { name: 'b', dtype: 'float32', shape: [2], data: Float32Array.from(b) },
      ],
      nodes: [
        { opType: 'MatMul', inputs: ['x', 'W'], outputs: ['xw'] },
        { opType: 'Add', inputs: ['xw', 'b'], outputs: ['pre'] },
        { opType: 'Relu', inputs: ['pre'], outputs: ['y'] },
      ],
    };
    const model = buildOnnxModel(spec);
    expect(decodeOnnxModel(model).graph.inputs[0]!.shape).toEqual(['N', 3]);
    const ref = (x: number[]): number[] => {
      const out: number[] = [];
      for (let n = 0; n < x.length / 3; n++)
        for (let j = 0; j < 2; j++) {
          let acc = b[j]!;
          for (let k = 0; k < 3; k++) acc += x[n * 3 + k]! * W[k * 2 + j]!;
          out.push(Math.max(0, acc));
        }
      return out;
    };
    for (const N of [1, 4]) {
      const x = Array.from({ length: N * 3 }, (_, i) => (i % 5) - 2 + 0.5 * N);
      const { y } = await runOnnx(model, { x: f32([N, 3], x) });
      expect(y!.shape).toEqual([N, 2]);
      expectClose(y!.data as Float32Array, ref(x));
    }
  });

  it('int64 and bool tensors: Greater, Where, Cast', async () => {
    const a = i64([4], [1n, -5n, 2n ** 60n, 7n]);
    const b = i64([4], [3n, -6n, 0n, 7n]);
    const [gt] = await runSingleOp('Greater', {}, [a, b], { outputDTypes: ['bool'] });
    expect(gt).toEqual({ dtype: 'bool', shape: [4], data: Uint8Array.of(0, 1, 1, 0) });
    const [mx] = await runSingleOp('Where', {}, [gt!, b, a]); // where(a > b, b, a) = min; output type inferred by ORT
    expect(mx!.dtype).toBe('int64');
    expect(mx!.data).toEqual(BigInt64Array.of(1n, -6n, 0n, 7n));
    // Where with a bool tensor fed from outside and int64 broadcasting
    const [w] = await runSingleOp('Where', {}, [{ dtype: 'bool', shape: [2, 1], data: Uint8Array.of(1, 0) }, i64([1, 2], [10n, 20n]), i64([], [-1n])], {
      outputDTypes: ['int64'],
    });
    expect(w).toEqual({ dtype: 'int64', shape: [2, 2], data: BigInt64Array.of(10n, 20n, -1n, -1n) });
    // Cast float -> int64 truncates toward zero; int64 -> bool is x != 0
    const [c] = await runSingleOp('Cast', { to: attr.int(onnxDataType('int64')) }, [f32([4], [2.9, -2.9, 0, 1e10])], { outputDTypes: ['int64'] });
    expect(c!.data).toEqual(BigInt64Array.of(2n, -2n, 0n, 10_000_000_000n));
    const [cb] = await runSingleOp('Cast', { to: attr.int(onnxDataType('bool')) }, [i64([3], [0n, -3n, 2n ** 40n])], { outputDTypes: ['bool'] });
    expect(cb!.data).toEqual(Uint8Array.of(0, 1, 1));
    // Shape: int64 output inferred without outputDTypes
    const [shape] = await runSingleOp('Shape', {}, [f32([2, 3, 1], [1, 2, 3, 4, 5, 6])]);
    expect(shape).toEqual({ dtype: 'int64', shape: [3], data: BigInt64Array.of(2n, 3n, 1n) });
  });

  it('float16 in and out (Cast)', async () => {
    const values = [1, -2.5, 65504, 0.1, 2 ** -24];
    const bits = Uint16Array.from(values, f32ToF16Bits);
    const [up] = await runSingleOp('Cast', { to: attr.int(onnxDataType('float32')) }, [{ dtype: 'float16', shape: [5], data: bits }], {
      outputDTypes: ['float32'],
    });
    expect(Array.from(up!.data as Float32Array)).toEqual(Array.from(bits, f16BitsToF32));
    expect((up!.data as Float32Array)[3]).toBeCloseTo(0.0999755859375, 12);
    const [down] = await runSingleOp('Cast', { to: attr.int(onnxDataType('float16')) }, [f32([5], values)], { outputDTypes: ['float16'] });
    expect(down!.dtype).toBe('float16');
    expect(down!.data).toEqual(bits);
    // float16 arithmetic with a float16 initializer
    const [sum] = await runSingleOp('Add', {}, [{ dtype: 'float16', shape: [2], data: Uint16Array.of(0x3c00, 0x4000) }, { dtype: 'float16', shape: [2], data: Uint16Array.of(0x3c00, 0x3c00) }], {
      constantInputs: [1],
    });
    expect(Array.from(sum!.data as Uint16Array, f16BitsToF32)).toEqual([2, 3]);
  });

  it('omitted optional inputs, multiple outputs, attribute tensors and subgraphs', async () => {
    // Clip(x, min omitted, max)
    const [clip] = await runSingleOp('Clip', {}, [f32([4], [-5, 0, 5, 10]), null, f32([], [6])]);
    expect(Array.from(clip!.data as Float32Array)).toEqual([-5, 0, 5, 6]);
    // TopK: two outputs of different dtypes
    const [vals, idx] = await runSingleOp('TopK', { axis: attr.int(-1) }, [f32([5], [3, 9, 1, 7, 5]), i64([1], [2n])], {
      outputDTypes: ['float32', 'int64'],
    });
    expect(Array.from(vals!.data as Float32Array)).toEqual([9, 7]);
    expect(idx!.data).toEqual(BigInt64Array.of(1n, 3n));
    // Constant with a tensor attribute, If with subgraphs reading outer-scope values
    const model = buildOnnxModel({
      inputs: [{ name: 'c', dtype: 'bool', shape: [] }, { name: 'x', dtype: 'float32', shape: [2] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [2] }],
      nodes: [
        { opType: 'Constant', inputs: [], outputs: ['k'], attrs: { value: attr.tensor({ dtype: 'float32', shape: [2], data: Float32Array.of(100, 200) }) } },
        {
          opType: 'If',
          inputs: ['c'],
          outputs: ['y'],
          attrs: {
            then_branch: attr.graph({ nodes: [{ opType: 'Add', inputs: ['x', 'k'], outputs: ['t'] }], inputs: [], outputs: [{ name: 't', dtype: 'float32', shape: [2] }] }),
            else_branch: attr.graph({ nodes: [{ opType: 'Sub', inputs: ['x', 'k'], outputs: ['e'] }], inputs: [], outputs: [{ name: 'e', dtype: 'float32', shape: [2] }] }),
          },
        },
      ],
    });
    const x = f32([2], [1, 2]);
    const t = await runOnnx(model, { c: { dtype: 'bool', shape: [], data: Uint8Array.of(1) }, x });
    expect(Array.from(t.y!.data as Float32Array)).toEqual([101, 202]);
    const e = await runOnnx(model, { c: { dtype: 'bool', shape: [], data: Uint8Array.of(0) }, x });
    expect(Array.from(e.y!.data as Float32Array)).toEqual([-99, -198]);
  });

  it('custom-domain op via extraOpsets (com.microsoft FastGelu)', async () => {
    const xs = [-1, 0, 1, 2];
    const [y] = await runSingleOp('FastGelu', {}, [f32([4], xs)], { domain: 'com.microsoft', extraOpsets: [{ domain: 'com.microsoft', version: 1 }] });
    const k = Math.sqrt(2 / Math.PI);
    expectClose(y!.data as Float32Array, xs.map((x) => 0.5 * x * (1 + Math.tanh(k * (x + 0.044715 * x ** 3)))), 1e-5);
  });

  it('loads models at several opsets / IR versions', async () => {
    for (const opset of [13, 17, 18, 20, 21, 22, 23]) {
      const [y] = await runSingleOp('Add', {}, [f32([1], [1]), f32([1], [2])], { opset });
      expect(Array.from(y!.data as Float32Array)).toEqual([3]);
    }
  });
});
