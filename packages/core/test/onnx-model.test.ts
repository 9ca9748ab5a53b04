import { describe, expect, it } from 'vitest';
import {
  attr,
  buildOnnxModel,
  decodeOnnxModel,
  dtypeFromOnnx,
  irVersionForOpset,
  onnxDataType,
  OnnxSpecError,
  toOnnxArray,
  validateOnnxGraph,
  type OnnxGraphSpec,
} from '../src/onnx/index';
import { ProtoMessage, ProtoWriter } from '../src/onnx/protobuf';

function spec(overrides: Partial<OnnxGraphSpec> = {}): OnnxGraphSpec {
  return {
    name: 'g',
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 3] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 3] }],
    initializers: [{ name: 'b', dtype: 'float32', shape: [3], data: Float32Array.of(1, 2, 3) }],
    nodes: [{ opType: 'Add', inputs: ['x', 'b'], outputs: ['y'] }],
    ...overrides,
  };
}

describe('buildOnnxModel / decodeOnnxModel round trip', () => {
  it('preserves model metadata, opsets, graph structure and attributes', () => {
    const w = Float32Array.from({ length: 12 }, (_, i) => i - 5.5);
    const bytes = buildOnnxModel({
      name: 'roundtrip',
      opset: 20,
      extraOpsets: [{ domain: 'com.microsoft', version: 1 }],
      producer: 'tubelet-test',
      producerVersion: '0.1',
      domain: 'ai.tubelet',
      modelVersion: 3,
      docString: 'model doc',
      graphDocString: 'graph doc',
      metadata: { author: 'me', 'ключ': 'значение' },
      inputs: [
        { name: 'x', dtype: 'float16', shape: ['N', 2, 3, 'W'] },
        { name: 's', dtype: 'bool', shape: [] },
        { name: 'u', dtype: 'int64' },
      ],
      outputs: [{ name: 'y', dtype: 'float32', shape: [0, 1] }],
      valueInfo: [{ name: 'h', dtype: 'int32', shape: [7] }],
      initializers: [
        { name: 'w', dtype: 'float32', shape: [3, 4], data: w },
        { name: 'i64', dtype: 'int64', shape: [3], data: BigInt64Array.of(-1n, 2n ** 62n, 0n) },
        { name: 'scalar', dtype: 'int32', shape: [], data: Int32Array.of(-9) },
        { name: 'h16', dtype: 'float16', shape: [2], data: Uint16Array.of(0x3c00, 0xc000) },
        { name: 'flags', dtype: 'bool', shape: [3], data: Uint8Array.of(0, 7, 1) },
        { name: 'empty', dtype: 'uint8', shape: [0, 4], data: new Uint8Array(0) },
      ],
      nodes: [
        {
          opType: 'Foo',
          name: 'foo',
          domain: 'com.microsoft',
          docString: 'node doc',
          inputs: ['x', '', 'w'],
          outputs: ['h', ''],
          attrs: {
            alpha: attr.float(0.5),
            axis: attr.int(-1),
            big: { i: 2n ** 60n },
            mode: 'tanh',
            raw: { s: Uint8Array.of(104, 105) },
            pads: attr.ints([1, 2, 3, 4]),
            empty: { ints: [] },
            scales: attr.floats([1.5, 2]),
            names: attr.strings(['a', 'b']),
            value: attr.tensor({ dtype: 'int64', shape: [2], data: BigInt64Array.of(5n, -6n) }),
            body: attr.graph({
              nodes: [{ opType: 'Identity', inputs: ['w'], outputs: ['z'] }],
              inputs: [],
              outputs: [{ name: 'z', dtype: 'float32', shape: [3, 4] }],
            }),
          },
        },
        { opType: 'Bar', inputs: ['h', 's', 'u'], outputs: ['y'] },
      ],
    });
    const m = decodeOnnxModel(bytes);
    expect(m.irVersion).toBe(9);
    expect(m.producerName).toBe('tubelet-test');
    expect(m.producerVersion).toBe('0.1');
    expect(m.domain).toBe('ai.tubelet');
    expect(m.modelVersion).toBe(3);
    expect(m.docString).toBe('model doc');
    expect(m.metadata).toEqual({ author: 'me', 'ключ': 'значение' });
    expect(m.opsets).toEqual([
      { domain: '', version: 20 },
      { domain: 'com.microsoft', version: 1 },
    ]);
    const g = m.graph;
    expect(g.name).toBe('roundtrip');
    expect(g.docString).toBe('graph doc');
    expect(g.inputs).toEqual([
      { name: 'x', elemType: 10, dtype: 'float16', shape: ['N', 2, 3, 'W'] },
      { name: 's', elemType: 9, dtype: 'bool', shape: [] },
      { name: 'u', elemType: 7, dtype: 'int64' },
    ]);
    expect(g.outputs).toEqual([{ name: 'y', elemType: 1, dtype: 'float32', shape: [0, 1] }]);
    expect(g.valueInfo).toEqual([{ name: 'h', elemType: 6, dtype: 'int32', shape: [7] }]);

    const inits = Object.fromEntries(g.initializers.map((t) => [t.name, t]));
    expect(inits.w).toMatchObject({ dataType: 1, dtype: 'float32', shape: [3, 4] });
    expect(inits.w!.data).toEqual(w);
    expect(inits.i64!.data).toEqual(BigInt64Array.of(-1n, 2n ** 62n, 0n));
    expect(inits.scalar).toMatchObject({ shape: [], data: Int32Array.of(-9) });
    expect(inits.h16!.data).toEqual(Uint16Array.of(0x3c00, 0xc000));
    expect(inits.flags!.data).toEqual(Uint8Array.of(0, 1, 1)); // bool normalized to 0/1
    expect(inits.empty).toMatchObject({ dtype: 'uint8', shape: [0, 4], data: new Uint8Array(0) });

    expect(g.nodes).toHaveLength(2);
    const [foo, bar] = g.nodes;
    expect(foo).toMatchObject({
      opType: 'Foo',
      name: 'foo',
      domain: 'com.microsoft',
      docString: 'node doc',
      inputs: ['x', '', 'w'],
      outputs: ['h', ''],
    });
    expect(bar).toMatchObject({ opType: 'Bar', name: 'Bar_1', domain: '', inputs: ['h', 's', 'u'], outputs: ['y'] });
    const a = foo!.attrs;
    expect(a.alpha).toEqual({ f: 0.5 });
    expect(a.axis).toEqual({ i: -1 });
    expect(a.big).toEqual({ i: 2n ** 60n });
    expect(a.mode).toEqual({ s: 'tanh' });
    expect(a.raw).toEqual({ s: 'hi' });
    expect(a.pads).toEqual({ ints: [1, 2, 3, 4] });
    expect(a.empty).toEqual({ ints: [] });
    expect(a.scales).toEqual({ floats: [1.5, 2] });
    expect(a.names).toEqual({ strings: ['a', 'b'] });
    expect(a.value).toEqual({ t: { name: '', dataType: 7, dtype: 'int64', shape: [2], data: BigInt64Array.of(5n, -6n) } });
    const body = (a.body as { g: ReturnType<typeof decodeOnnxModel>['graph'] }).g;
    expect(body.name).toBe('body'); // subgraphs default to the attribute name
    expect(body.nodes[0]).toMatchObject({ opType: 'Identity', inputs: ['w'], outputs: ['z'] });
    expect(body.outputs[0]).toMatchObject({ name: 'z', shape: [3, 4] });
  });

  it('defaults: opset 17 / IR 8, producer tubelet, graph name main', () => {
    const m = decodeOnnxModel(buildOnnxModel({ ...spec(), name: undefined }));
    expect(m.opsets).toEqual([{ domain: '', version: 17 }]);
    expect(m.irVersion).toBe(8);
    expect(m.producerName).toBe('tubelet');
    expect(m.graph.name).toBe('main');
    expect(m.graph.nodes[0]!.name).toBe('Add_0');
    expect(decodeOnnxModel(buildOnnxModel({ ...spec(), irVersion: 10 })).irVersion).toBe(10);
  });

  it('writes outputs without a declared type', () => {
    const m = decodeOnnxModel(buildOnnxModel(spec({ outputs: [{ name: 'y' }] })));
    expect(m.graph.outputs).toEqual([{ name: 'y', elemType: 0, dtype: undefined }]);
  });

  it('maps opsets to IR versions', () => {
    expect([7, 9, 10, 11, 13, 17, 18, 19, 20, 21, 22, 23].map(irVersionForOpset)).toEqual([3, 4, 5, 6, 7, 8, 8, 9, 9, 10, 10, 11]);
  });

  it('maps dtypes to TensorProto data types', () => {
    expect(onnxDataType('float32')).toBe(1);
    expect(onnxDataType('uint8')).toBe(2);
    expect(onnxDataType('int8')).toBe(3);
    expect(onnxDataType('int32')).toBe(6);
    expect(onnxDataType('int64')).toBe(7);
    expect(onnxDataType('bool')).toBe(9);
    expect(onnxDataType('float16')).toBe(10);
    expect(onnxDataType('float64')).toBe(11);
    expect(onnxDataType('bfloat16')).toBe(16);
    expect(dtypeFromOnnx(16)).toBe('bfloat16');
    expect(dtypeFromOnnx(8)).toBeUndefined(); // STRING
  });

  it('converts plain values with toOnnxArray', () => {
    expect(toOnnxArray('float16', [1, -2])).toEqual(Uint16Array.of(0x3c00, 0xc000));
    expect(toOnnxArray('bfloat16', [1])).toEqual(Uint16Array.of(0x3f80));
    expect(toOnnxArray('bool', [0, 2, true, false])).toEqual(Uint8Array.of(0, 1, 1, 0));
    expect(toOnnxArray('int64', [1, 2n])).toEqual(BigInt64Array.of(1n, 2n));
  });

  it('decodes typed *_data fields, unpacked dims and external data written by other tools', () => {
    // TensorProto with float_data (4), int64 dims unpacked, no raw_data
    const tensor = (build: (w: ProtoWriter) => void): Uint8Array => {
      const w = new ProtoWriter();
      build(w);
      return w.finish();
    };
    const model = new ProtoWriter()
      .varint(1, 8)
      .message(7, (g) => {
        g.bytes(5, tensor((t) => t.varint(1, 2).varint(1, 2).varint(2, 1).string(8, 'f').packedFloat(4, [1, 2, 3, 4])));
        g.bytes(5, tensor((t) => t.varint(1, 3).varint(2, 7).string(8, 'i').packedVarint(7, [-1, 0, 5])));
        g.bytes(5, tensor((t) => t.varint(1, 2).varint(2, 10).string(8, 'h').packedVarint(5, [0x3c00, 0xc000])));
        g.bytes(5, tensor((t) => t.varint(1, 1).varint(2, 11).string(8, 'd').packedDouble(10, [0.1])));
        g.bytes(
          5,
          tensor((t) =>
            t
              .varint(1, 4)
              .varint(2, 1)
              .string(8, 'ext')
              .varint(14, 1)
              .message(13, (e) => e.string(1, 'location').string(2, 'weights.bin'))
              .message(13, (e) => e.string(1, 'offset').string(2, '0')),
          ),
        );
        g.bytes(5, tensor((t) => t.varint(1, 1).varint(2, 8).string(8, 'str'))); // STRING: no host type
      })
      .finish();
    const inits = decodeOnnxModel(model).graph.initializers;
    expect(inits[0]).toMatchObject({ name: 'f', shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) });
    expect(inits[1]).toMatchObject({ name: 'i', dtype: 'int64', data: BigInt64Array.of(-1n, 0n, 5n) });
    expect(inits[2]).toMatchObject({ name: 'h', dtype: 'float16', data: Uint16Array.of(0x3c00, 0xc000) });
    expect(inits[3]).toMatchObject({ name: 'd', dtype: 'float64', data: Float64Array.of(0.1) });
    expect(inits[4]).toMatchObject({ name: 'ext', externalData: { location: 'weights.bin', offset: '0' } });
    expect(inits[4]!.data).toBeUndefined();
    expect(inits[5]).toMatchObject({ name: 'str', dataType: 8, dtype: undefined });
  });

  it('writes the documented field numbers', () => {
    const bytes = buildOnnxModel(spec({ metadata: { k: 'v' } }));
    const m = new ProtoMessage(bytes);
    expect(m.num(1)).toBe(8); // ir_version
    expect(m.string(2)).toBe('tubelet'); // producer_name
    expect(m.messages(8)[0]!.num(2)).toBe(17); // opset_import.version
    expect(m.messages(14)[0]!.string(1)).toBe('k'); // metadata_props.key
    const g = m.message(7)!;
    expect(g.string(2)).toBe('g');
    const node = g.messages(1)[0]!;
    expect(node.strings(1)).toEqual(['x', 'b']);
    expect(node.strings(2)).toEqual(['y']);
    expect(node.string(4)).toBe('Add');
    const init = g.messages(5)[0]!;
    expect(init.ints(1)).toEqual([3]); // dims
    expect(init.num(2)).toBe(1); // FLOAT
    expect(init.string(8)).toBe('b');
    expect(init.bytes(9)!.length).toBe(12); // raw_data
    const inp = g.messages(11)[0]!;
    expect(inp.string(1)).toBe('x');
    const tt = inp.message(2)!.message(1)!;
    expect(tt.num(1)).toBe(1);
    const dims = tt.message(2)!.messages(1);
    expect(dims[0]!.string(2)).toBe('N'); // dim_param
    expect(dims[1]!.num(1)).toBe(3); // dim_value
  });
});

describe('validation', () => {
  const bad = (s: OnnxGraphSpec, msg: RegExp): void => {
    expect(() => buildOnnxModel(s)).toThrow(OnnxSpecError);
    expect(() => validateOnnxGraph(s)).toThrow(msg);
  };

  it('accepts a valid spec and omitted optional inputs', () => {
    expect(() => validateOnnxGraph(spec())).not.toThrow();
    expect(() =>
      validateOnnxGraph(spec({ nodes: [{ opType: 'Clip', inputs: ['x', '', 'b'], outputs: ['y'] }] })),
    ).not.toThrow();
  });

  it('rejects undefined and out-of-order inputs', () => {
    bad(spec({ nodes: [{ opType: 'Add', inputs: ['x', 'nope'], outputs: ['y'] }] }), /input 'nope' is not a graph input, an initializer or an output of an earlier node/);
    bad(
      spec({
        nodes: [
          { opType: 'Relu', inputs: ['t'], outputs: ['y'] },
          { opType: 'Relu', inputs: ['x'], outputs: ['t'] },
        ],
      }),
      /node #0 \(Relu\): input 't'/,
    );
  });

  it('rejects duplicate definitions', () => {
    bad(
      spec({
        nodes: [
          { opType: 'Relu', inputs: ['x'], outputs: ['y'] },
          { opType: 'Relu', inputs: ['x'], outputs: ['y'] },
        ],
      }),
      /output 'y' is already defined as an earlier node output/,
    );
    bad(spec({ nodes: [{ opType: 'Relu', inputs: ['x'], outputs: ['x'] }] }), /output 'x' is already defined as a graph input/);
    bad(spec({ nodes: [{ opType: 'Relu', inputs: ['x'], outputs: ['b'] }] }), /already defined as an initializer/);
    bad(spec({ inputs: [{ name: 'x', dtype: 'float32' }, { name: 'x', dtype: 'float32' }] }), /duplicate graph input 'x'/);
    bad(
      spec({ outputs: [{ name: 'y', dtype: 'float32' }, { name: 'y', dtype: 'float32' }] }),
      /duplicate graph output 'y'/,
    );
    const b = { name: 'b', dtype: 'float32' as const, shape: [1], data: new Float32Array(1) };
    bad(spec({ initializers: [b, b] }), /duplicate initializer 'b'/);
  });

  it('rejects graph outputs nobody produces', () => {
    bad(spec({ outputs: [{ name: 'z', dtype: 'float32' }] }), /graph output 'z' is not produced/);
  });

  it('rejects bad tensors and value infos', () => {
    bad(spec({ initializers: [{ name: 'b', dtype: 'float32', shape: [4], data: new Float32Array(3) }] }), /3 elements but shape \[4\] needs 4/);
    bad(spec({ initializers: [{ name: 'b', dtype: 'int64', shape: [3], data: new Float32Array(3) as never }] }), /Float32Array, which does not store dtype int64/);
    bad(spec({ initializers: [{ name: 'b', dtype: 'float32', shape: [-1], data: new Float32Array(0) }] }), /invalid dimension -1/);
    bad(spec({ inputs: [{ name: 'x', dtype: 'float33' as never }] }), /unknown dtype 'float33'/);
    bad(spec({ inputs: [{ name: 'x', dtype: 'float32', shape: [1.5] }] }), /invalid dimension 1.5/);
    bad(spec({ inputs: [{ name: 'x', dtype: 'float32', shape: [''] }] }), /invalid dimension ""/);
    bad(spec({ inputs: [{ name: 'x' }] }), /input #0 'x': dtype is required/);
    bad(spec({ outputs: [{ name: 'y', shape: [3] }] }), /output #0 'y': a shape needs a dtype/);
  });

  it('rejects ambiguous or malformed attributes', () => {
    const withAttr = (a: unknown): OnnxGraphSpec =>
      spec({ nodes: [{ opType: 'Add', inputs: ['x', 'b'], outputs: ['y'], attrs: { a: a as never } }] });
    bad(withAttr(1), /bare number 1 is ambiguous; use \{i: 1\} for INT or \{f: 1\} for FLOAT/);
    bad(withAttr([1, 2]), /bare arrays are ambiguous/);
    bad(withAttr({ i: 1.5 }), /expected an integer/);
    bad(withAttr({ i: 1, f: 2 }), /exactly one key/);
    bad(withAttr({ x: 1 }), /unknown attribute kind 'x'/);
    bad(withAttr({ ints: [1, 'a'] }), /attribute 'a'\[1\]: expected an integer/);
    bad(withAttr({ floats: ['a'] }), /array of numbers/);
  });

  it('validates subgraphs with outer-scope visibility', () => {
    const ok = spec({
      nodes: [
        { opType: 'Relu', inputs: ['x'], outputs: ['r'] },
        {
          opType: 'If',
          inputs: ['c'],
          outputs: ['y'],
          attrs: {
            then_branch: { g: { nodes: [{ opType: 'Add', inputs: ['r', 'b'], outputs: ['t'] }], inputs: [], outputs: [{ name: 't', dtype: 'float32' }] } },
          },
        },
      ],
      inputs: [{ name: 'x', dtype: 'float32' }, { name: 'c', dtype: 'bool', shape: [] }],
    });
    expect(() => validateOnnxGraph(ok)).not.toThrow();
    const badSub = spec({
      nodes: [
        {
          opType: 'If',
          inputs: ['x'],
          outputs: ['y'],
          attrs: { then_branch: { g: { nodes: [{ opType: 'Relu', inputs: ['later'], outputs: ['t'] }], inputs: [], outputs: [{ name: 't', dtype: 'float32' }] } } },
        },
        { opType: 'Relu', inputs: ['x'], outputs: ['later'] },
      ],
    });
    bad(badSub, /^model graph 'g' > node #0 \(If\) > attribute 'then_branch' graph > node #0 \(Relu\): input 'later' is not/);
  });

  it('requires opset imports for custom domains', () => {
    bad(spec({ nodes: [{ opType: 'Gelu', domain: 'com.microsoft', inputs: ['x'], outputs: ['y'] }] }), /domain 'com.microsoft' has no opset import/);
    bad(spec({ extraOpsets: [{ domain: '', version: 17 }] }), /non-default domain/);
    bad(spec({ opset: 0 }), /invalid opset 0/);
    bad(
      spec({ extraOpsets: [{ domain: 'a', version: 1 }, { domain: 'a', version: 2 }] }),
      /duplicate opset import for domain 'a'/,
    );
  });
});
