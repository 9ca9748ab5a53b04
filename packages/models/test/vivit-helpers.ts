import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type StateDict, type Tensor, parseStateDict, rawToTensor, reshape, tidy, transpose } from '@tubelet/core';

export const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/vivit/${name}`, import.meta.url));

export interface Vector {
  config: Record<string, unknown>;
  dict: StateDict;
  /** Model weights only (no input. / output. keys). */
  weights(prefix?: string): Map<string, Tensor>;
  tensor(key: string): Tensor;
  outputs: string[];
}

export function readVector(name: string): Vector {
  const bytes = new Uint8Array(readFileSync(fixture(name)));
  const { stateDict, metadata } = parseStateDict(bytes, { source: name });
  const config = JSON.parse(metadata!.config!) as Record<string, unknown>;
  return {
    config,
    dict: stateDict,
    weights(prefix = '') {
      const m = new Map<string, Tensor>();
      for (const [k, v] of stateDict) {
        if (k.startsWith('input.') || k.startsWith('output.')) continue;
        if (!k.startsWith(prefix)) continue;
        m.set(k.slice(prefix.length), rawToTensor(v));
      }
      return m;
    },
    tensor(key: string) {
      const r = stateDict.get(key);
      if (!r) throw new Error(`${name} has no '${key}'`);
      return rawToTensor(r);
    },
    outputs: [...stateDict.keys()].filter((k) => k.startsWith('output.')).map((k) => k.slice('output.'.length)),
  };
}

export interface Diff {
  maxAbs: number;
  /** max over elements of |a − b| / (atol + rtol·|b|): ≤ 1 passes. */
  worst: number;
}

export function compare(a: ArrayLike<number>, b: ArrayLike<number>, atol: number, rtol: number): Diff {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let maxAbs = 0;
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= maxAbs)) maxAbs = d;
    const r = d / (atol + rtol * Math.abs(b[i]!));
    if (!(r <= worst)) worst = r;
  }
  return { maxAbs, worst };
}

// ---------------------------------------------------------------------------------------------
// HF names → scenic (Flax) names and layouts: an independent inverse of the library's key map.

const SCENIC_TRANSFORMER: Record<string, string> = { encoder: 'Transformer', spatial_encoder: 'SpatialTransformer', temporal_encoder: 'TemporalTransformer' };
const SCENIC_LN: Record<string, string> = {
  layernorm_before: 'LayerNorm_0',
  layernorm_after: 'LayerNorm_1',
  layernorm_spatial: 'LayerNorm_space',
  layernorm_temporal: 'LayerNorm_time',
};
const SCENIC_ATT: Record<string, string> = { attention: 'MultiHeadDotProductAttention_0', attention_spatial: 'MultiHeadDotProductAttention_space', attention_temporal: 'MultiHeadDotProductAttention_time' };

/** Converts HF-named ViViT weights (PyTorch layouts) to a flattened scenic tree ('/' names, Flax layouts). */
export function toScenic(weights: Map<string, Tensor>, heads: number, model3 = false, root = 'vivit'): Map<string, Tensor> {
  return tidy(() => toScenicInner(weights, heads, model3, root));
}

function toScenicInner(weights: Map<string, Tensor>, heads: number, model3: boolean, root: string): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  const leaf = (w: string) => (w === 'weight' ? 'kernel' : 'bias');
  for (const [k, t] of weights) {
    let m: RegExpExecArray | null;
    const s = t.shape;
    if ((m = new RegExp(`^${root}\\.embeddings\\.patch_embeddings\\.projection\\.(weight|bias)$`).exec(k))) {
      out.set(`embedding/${leaf(m[1]!)}`, m[1] === 'bias' ? t.clone() : transpose(t, s.length === 5 ? [2, 3, 4, 1, 0] : [2, 3, 1, 0]));
    } else if (k === `${root}.embeddings.cls_token`) out.set('cls', t.clone());
    else if ((m = new RegExp(`^${root}\\.(spatial|temporal)_embeddings\\.cls_token$`).exec(k))) out.set(`cls_${m[1] === 'spatial' ? 'Spatial' : 'Temporal'}Transformer`, t.clone());
    else if ((m = new RegExp(`^${root}\\.(|spatial_|temporal_)embeddings\\.position_embeddings$`).exec(k))) {
      out.set(`${SCENIC_TRANSFORMER[`${m[1]}encoder`]}/posembed_input/pos_embedding`, t.clone());
    } else if ((m = new RegExp(`^${root}\\.(|spatial_|temporal_)layernorm\\.(weight|bias)$`).exec(k))) {
      out.set(`${SCENIC_TRANSFORMER[`${m[1]}encoder`]}/encoder_norm/${m[2] === 'weight' ? 'scale' : 'bias'}`, t.clone());
    } else if ((m = new RegExp(`^${root}\\.(encoder|spatial_encoder|temporal_encoder)\\.layer\\.(\\d+)\\.(.+)$`).exec(k))) {
      const blk = `${SCENIC_TRANSFORMER[m[1]!]}/encoderblock_${m[2]}`;
      const sub = m[3]!;
      let q: RegExpExecArray | null;
      if ((q = /^(layernorm_\w+)\.(weight|bias)$/.exec(sub))) {
        const ln = model3 && q[1] === 'layernorm_after' ? 'LayerNorm_mlp' : SCENIC_LN[q[1]!]!;
        out.set(`${blk}/${ln}/${q[2] === 'weight' ? 'scale' : 'bias'}`, t.clone());
      } else if ((q = /^(attention\w*)\.attention\.(query|key|value)\.(weight|bias)$/.exec(sub))) {
        const D = s[0]!;
        const v = q[3] === 'weight' ? reshape(transpose(t, [1, 0]), [s[1]!, heads, D / heads]) : reshape(t, [heads, D / heads]);
        out.set(`${blk}/${SCENIC_ATT[q[1]!]}/${q[2]}/${leaf(q[3]!)}`, v);
      } else if ((q = /^(attention\w*)\.output\.dense\.(weight|bias)$/.exec(sub))) {
        const D = s[0]!;
        const v = q[2] === 'weight' ? reshape(transpose(t, [1, 0]), [heads, D / heads, D]) : t.clone();
        out.set(`${blk}/${SCENIC_ATT[q[1]!]}/out/${leaf(q[2]!)}`, v);
      } else if ((q = /^(intermediate|output)\.dense\.(weight|bias)$/.exec(sub))) {
        const v = q[2] === 'weight' ? transpose(t, [1, 0]) : t.clone();
        out.set(`${blk}/${model3 ? 'MlpBlock' : 'MlpBlock_0'}/${q[1] === 'intermediate' ? 'Dense_0' : 'Dense_1'}/${leaf(q[2]!)}`, v);
      } else throw new Error(`toScenic: ${k}`);
    } else if ((m = /^classifier\.(weight|bias)$/.exec(k))) out.set(`output_projection/${leaf(m[1]!)}`, m[1] === 'weight' ? transpose(t, [1, 0]) : t.clone());
    else throw new Error(`toScenic: ${k}`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// A minimal PyTorch zip checkpoint writer (what torch.save writes for a state dict: an
// OrderedDict of _rebuild_tensor_v2 tensors, pickle protocol 2, storages as archive/data/<key>).

const enc = new TextEncoder();

function pickleStateDict(entries: { key: string; shape: number[]; storage: string; numel: number }[]): Uint8Array {
  const out: number[] = [];
  const bytes = (...b: number[]) => out.push(...b);
  const str = (s: string) => {
    const b = enc.encode(s);
    bytes(0x58, b.length & 255, (b.length >> 8) & 255, (b.length >> 16) & 255, b.length >>> 24, ...b); // BINUNICODE
  };
  const global = (mod: string, name: string) => bytes(0x63, ...enc.encode(`${mod}\n${name}\n`));
  const int = (v: number) => bytes(0x4a, v & 255, (v >> 8) & 255, (v >> 16) & 255, (v >>> 24) & 255); // BININT
  const tuple = (vs: number[]) => {
    if (vs.length === 0) return bytes(0x29);
    bytes(0x28);
    vs.forEach(int);
    bytes(0x74);
  };
  bytes(0x80, 2);
  global('collections', 'OrderedDict');
  bytes(0x29, 0x52); // () REDUCE
  for (const e of entries) {
    str(e.key);
    global('torch._utils', '_rebuild_tensor_v2');
    bytes(0x28); // MARK (args)
    bytes(0x28);
    str('storage');
    global('torch', 'FloatStorage');
    str(e.storage);
    str('cpu');
    int(e.numel);
    bytes(0x74, 0x51); // TUPLE, BINPERSID
    int(0);
    tuple(e.shape);
    const strides = e.shape.map((_, i) => e.shape.slice(i + 1).reduce((a, b) => a * b, 1));
    tuple(strides);
    bytes(0x89); // False
    global('collections', 'OrderedDict');
    bytes(0x29, 0x52);
    bytes(0x74, 0x52, 0x73); // TUPLE, REDUCE, SETITEM
  }
  bytes(0x2e);
  return new Uint8Array(out);
}

function storedZip(files: [string, Uint8Array][]): Uint8Array {
  const chunks: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const [name, data] of files) {
    const nb = enc.encode(name);
    const local = new Uint8Array(30 + nb.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint32(18, data.length, true);
    lv.setUint32(22, data.length, true);
    lv.setUint16(26, nb.length, true);
    local.set(nb, 30);
    const cd = new Uint8Array(46 + nb.length);
    const cv = new DataView(cd.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint32(20, data.length, true);
    cv.setUint32(24, data.length, true);
    cv.setUint16(28, nb.length, true);
    cv.setUint32(42, offset, true);
    cd.set(nb, 46);
    central.push(cd);
    chunks.push(local, data);
    offset += local.length + data.length;
  }
  const cdOffset = offset;
  const cdSize = central.reduce((a, c) => a + c.length, 0);
  const end = new Uint8Array(22);
  const dv = new DataView(end.buffer);
  dv.setUint32(0, 0x06054b50, true);
  dv.setUint16(8, files.length, true);
  dv.setUint16(10, files.length, true);
  dv.setUint32(12, cdSize, true);
  dv.setUint32(16, cdOffset, true);
  const all = [...chunks, ...central, end];
  const res = new Uint8Array(all.reduce((a, c) => a + c.length, 0));
  let p = 0;
  for (const c of all) {
    res.set(c, p);
    p += c.length;
  }
  return res;
}

/** Bytes of a torch.save()-style zip .pth holding float32 tensors under their names. */
export function writePth(tensors: StateDict): Uint8Array {
  const entries = [...tensors].map(([key, t], i) => ({ key, shape: t.shape, storage: String(i), numel: t.data.length }));
  const files: [string, Uint8Array][] = [['archive/data.pkl', pickleStateDict(entries)], ['archive/byteorder', enc.encode('little')]];
  [...tensors.values()].forEach((t, i) => {
    if (t.dtype !== 'F32') throw new Error('writePth: float32 only');
    const d = t.data as Float32Array;
    files.push([`archive/data/${i}`, new Uint8Array(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength))]);
  });
  files.push(['archive/version', enc.encode('3\n')]);
  return storedZip(files);
}
