import { Scope, type Tensor, add, concat, conv, expand, gelu, layerNorm, reshape, sdpa, slice, transpose } from '@tubelet/core';
import { Linear, LayerNorm } from '../layers';
import { Module } from '../module';

/*
 * ViViT building blocks with the Hugging Face ViViT parameter names (spec §9): every block's
 * dotted parameter names are exactly the checkpoint's sub-keys, so a model's parameterShapes()
 * is its state-dict layout and loading is a strict key/shape check.
 */

/** A module that only groups children under a name (e.g. `attention.output`). */
export class Container extends Module {
  add<M extends Module>(name: string, m: M): M {
    return this.child(name, m);
  }
}

/** Free-standing parameters (cls_token, position_embeddings), optionally next to child modules. */
export class Params extends Container {
  constructor(spec: Record<string, number[]>) {
    super();
    for (const [k, s] of Object.entries(spec)) this.param(k, s);
  }

  get(name: string): Tensor {
    return this.p(name);
  }

  has(name: string): boolean {
    return this.parameterShapes().has(name);
  }
}

/** Convolution with kernel = stride and no padding (VALID): leftover frames / rows / columns are dropped. */
export class PatchConv extends Module {
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernel: number[],
  ) {
    super();
    this.param('weight', [outChannels, inChannels, ...kernel]);
    this.param('bias', [outChannels]);
  }

  forward(x: Tensor): Tensor {
    return conv(x, this.p('weight'), this.p('bias'), { stride: this.kernel, padding: 0 });
  }
}

/** Runs `fn` in a cleanup scope; what it returns and everything reachable from `keep` survives. */
export function scoped<T>(fn: () => T, keep?: unknown): T {
  const s = new Scope();
  try {
    const r = fn();
    s.end([r, keep]);
    return r;
  } catch (e) {
    s.end();
    throw e;
  }
}

/**
 * Collects named intermediates. Recorded tensors are clones (they share the storage), so the
 * forward pass may free its own handles early without invalidating what was recorded.
 */
export class Recorder {
  readonly out = new Map<string, Tensor>();
  constructor(readonly want: ReadonlySet<string> | 'all') {}

  wants(name: string): boolean {
    return this.want === 'all' || this.want.has(name);
  }

  /** Records `make()` (a view of an existing value in the vectors' layout) under `name` when wanted. */
  put(name: string, make: () => Tensor): void {
    if (!this.wants(name)) return;
    const t = make();
    this.out.get(name)?.dispose();
    this.out.set(name, t);
  }

  /** Records `t` itself (as a clone sharing its storage). */
  putSame(name: string, t: Tensor): void {
    this.put(name, () => t.clone());
  }
}

/** A layer-local view of a recorder (names get a prefix). */
export interface Rec {
  wants(name: string): boolean;
  put(name: string, make: () => Tensor): void;
  /** What a cleanup scope must keep alive (the recorded tensors). */
  readonly keep: unknown;
}

export function prefixed(rec: Recorder | null, prefix: string): Rec | null {
  if (!rec) return null;
  return { wants: (n) => rec.wants(prefix + n), put: (n, make) => rec.put(prefix + n, make), keep: rec.out };
}

/**
 * Multi-head self-attention, Flax `MultiHeadDotProductAttention` = HF `VivitAttention`:
 * `attention.{query,key,value}` then `output.dense`; head-major feature layout (row h·hd + j),
 * q scaled by 1/sqrt(head_dim), softmax over keys, no mask.
 */
export class VivitAttention extends Module {
  readonly query: Linear;
  readonly key: Linear;
  readonly value: Linear;
  readonly out: Linear;
  readonly headDim: number;

  constructor(
    readonly dim: number,
    readonly heads: number,
  ) {
    super();
    if (dim % heads) throw new Error(`VivitAttention: dim ${dim} is not divisible by ${heads} heads`);
    this.headDim = dim / heads;
    const inner = this.child('attention', new Container());
    this.query = inner.add('query', new Linear(dim, dim));
    this.key = inner.add('key', new Linear(dim, dim));
    this.value = inner.add('value', new Linear(dim, dim));
    this.out = this.child('output', new Container()).add('dense', new Linear(dim, dim));
  }

  /** q, k, v of x [..., L, D] as [..., L, heads, headDim]. */
  qkv(x: Tensor): [Tensor, Tensor, Tensor] {
    const s = [...x.shape.slice(0, -1), this.heads, this.headDim];
    return [this.query, this.key, this.value].map((l) => reshape(l.forward(x), s)) as [Tensor, Tensor, Tensor];
  }

  /** Attention among the L tokens of x [B, L, D] → context [B, L, D] (before the output projection). */
  context(x: Tensor): Tensor {
    return scoped(() => {
      const [B, L] = [x.shape[0]!, x.shape[1]!];
      const [q, k, v] = this.qkv(x).map((t) => transpose(t, [0, 2, 1, 3]));
      const o = sdpa(q!, k!, v!); // [B, heads, L, hd]
      return reshape(transpose(o, [0, 2, 1, 3]), [B, L, this.dim]);
    });
  }

  forward(x: Tensor): Tensor {
    return scoped(() => this.out.forward(this.context(x)));
  }

  /**
   * Model 4's factorised dot-product attention on x [B, N, D] with N = nt·S tokens in (t, s)
   * order: heads [0, H/2) attend over time (per spatial location), heads [H/2, H) over space
   * (per temporal index); the context concatenates temporal then spatial heads (scenic's order).
   */
  factorisedContext(x: Tensor, nt: number, S: number): Tensor {
    return scoped(() => {
      const B = x.shape[0]!;
      const h = this.heads / 2;
      const split = (t: Tensor) => {
        const g = reshape(t, [B, nt, S, this.heads, this.headDim]);
        return [slice(g, { starts: [0], ends: [h], axes: [3] }), slice(g, { starts: [h], ends: [this.heads], axes: [3] })] as const;
      };
      const [q, k, v] = this.qkv(x).map(split) as [readonly [Tensor, Tensor], readonly [Tensor, Tensor], readonly [Tensor, Tensor]];
      // temporal half: [B, nt, S, h, hd] → [B, S, h, nt, hd]
      const tp = [0, 2, 3, 1, 4];
      const ot = sdpa(transpose(q[0], tp), transpose(k[0], tp), transpose(v[0], tp));
      const temporal = transpose(ot, [0, 3, 1, 2, 4]); // back to [B, nt, S, h, hd]
      // spatial half: [B, nt, S, h, hd] → [B, nt, h, S, hd]
      const sp = [0, 1, 3, 2, 4];
      const os = sdpa(transpose(q[1], sp), transpose(k[1], sp), transpose(v[1], sp));
      const spatial = transpose(os, sp);
      return reshape(concat([temporal, spatial], 3), [B, nt * S, this.dim]);
    });
  }
}

/** The transformer MLP with HF names: `intermediate.dense` → tanh-GELU → `output.dense`. */
export class VivitMlp {
  constructor(
    readonly fc1: Linear,
    readonly fc2: Linear,
  ) {}

  forward(x: Tensor): Tensor {
    return scoped(() => this.fc2.forward(gelu(this.fc1.forward(x), { approximate: 'tanh' })));
  }
}

/** Adds `intermediate.dense` and `output.dense` to a block through its child() adder. */
function mlpOf(addChild: <M extends Module>(n: string, c: M) => M, dim: number, hidden: number): VivitMlp {
  const fc1 = addChild('intermediate', new Container()).add('dense', new Linear(dim, hidden));
  const fc2 = addChild('output', new Container()).add('dense', new Linear(hidden, dim));
  return new VivitMlp(fc1, fc2);
}

/**
 * Pre-LN encoder block (scenic `EncoderBlock` = HF `VivitLayer`):
 *   x = x + MHSA(LN_before(x));  x = x + MLP(LN_after(x))
 * With `factorised` (Model 4) the attention is the head-factorised dot-product attention.
 */
export class VivitLayer extends Module {
  readonly layernormBefore: LayerNorm;
  readonly attention: VivitAttention;
  readonly layernormAfter: LayerNorm;
  readonly mlp: VivitMlp;

  constructor(
    readonly dim: number,
    heads: number,
    mlpDim: number,
    eps: number,
    readonly factorised = false,
  ) {
    super();
    this.layernormBefore = this.child('layernorm_before', new LayerNorm(dim, eps));
    this.attention = this.child('attention', new VivitAttention(dim, heads));
    this.layernormAfter = this.child('layernorm_after', new LayerNorm(dim, eps));
    this.mlp = mlpOf((n, c) => this.child(n, c), dim, mlpDim);
  }

  /** x [B, L, D]; for a factorised layer L = grid.nt · grid.S. */
  forward(x: Tensor, rec: Rec | null = null, grid?: { nt: number; S: number }): Tensor {
    return scoped(() => {
      const y = this.layernormBefore.forward(x);
      let a: Tensor;
      if (this.factorised) {
        if (!grid) throw new Error('VivitLayer: factorised attention needs the token grid { nt, S }');
        const ctx = this.attention.factorisedContext(y, grid!.nt, grid!.S);
        rec?.put('attn_context', () => ctx.clone());
        a = this.attention.out.forward(ctx);
      } else {
        a = this.attention.forward(y);
      }
      const h = add(x, a);
      return add(h, this.mlp.forward(this.layernormAfter.forward(h)));
    }, rec?.keep);
  }
}

/**
 * Model 3 block (scenic `EncoderFactorizedSelfAttentionBlock`), input [B, nt·S, D] in (t, s) order:
 *   spatial:  z = z + MHSA_s(LN_s(z)) among the S tokens of each temporal index
 *   temporal: z = z + MHSA_t(LN_t(z)) among the nt tokens of each spatial location
 *   z = z + MLP(LN_mlp(z))
 * 'space_time' runs spatial first (the paper's Model 3); 'time_space' temporal first.
 */
export class FactorisedSelfAttentionLayer extends Module {
  readonly layernormSpatial: LayerNorm;
  readonly attentionSpatial: VivitAttention;
  readonly layernormTemporal: LayerNorm;
  readonly attentionTemporal: VivitAttention;
  readonly layernormAfter: LayerNorm;
  readonly mlp: VivitMlp;

  constructor(
    readonly dim: number,
    heads: number,
    mlpDim: number,
    eps: number,
    readonly order: 'space_time' | 'time_space',
  ) {
    super();
    this.layernormSpatial = this.child('layernorm_spatial', new LayerNorm(dim, eps));
    this.attentionSpatial = this.child('attention_spatial', new VivitAttention(dim, heads));
    this.layernormTemporal = this.child('layernorm_temporal', new LayerNorm(dim, eps));
    this.attentionTemporal = this.child('attention_temporal', new VivitAttention(dim, heads));
    this.layernormAfter = this.child('layernorm_after', new LayerNorm(dim, eps));
    this.mlp = mlpOf((n, c) => this.child(n, c), dim, mlpDim);
  }

  #spatial(x: Tensor, B: number, nt: number, S: number): Tensor {
    return scoped(() => {
      const z = reshape(x, [B * nt, S, this.dim]);
      const out = add(z, this.attentionSpatial.forward(this.layernormSpatial.forward(z)));
      return reshape(out, [B, nt * S, this.dim]);
    });
  }

  #temporal(x: Tensor, B: number, nt: number, S: number): Tensor {
    return scoped(() => {
      const z = reshape(transpose(reshape(x, [B, nt, S, this.dim]), [0, 2, 1, 3]), [B * S, nt, this.dim]);
      const out = add(z, this.attentionTemporal.forward(this.layernormTemporal.forward(z)));
      return reshape(transpose(reshape(out, [B, S, nt, this.dim]), [0, 2, 1, 3]), [B, nt * S, this.dim]);
    });
  }

  forward(x: Tensor, rec: Rec | null, grid: { nt: number; S: number }): Tensor {
    const B = x.shape[0]!;
    const { nt, S } = grid;
    return scoped(() => {
      let z = x;
      for (const axis of this.order === 'space_time' ? (['spatial', 'temporal'] as const) : (['temporal', 'spatial'] as const)) {
        const next = axis === 'spatial' ? this.#spatial(z, B, nt, S) : this.#temporal(z, B, nt, S);
        if (z !== x) z.dispose();
        z = next;
        const cur = z;
        rec?.put(`after_${axis}`, () => cur.clone());
      }
      return add(z, this.mlp.forward(this.layernormAfter.forward(z)));
    }, rec?.keep);
  }
}

/** CLS prepend: x [B, L, D], cls [1, 1, D] → [B, 1 + L, D]. */
export function prependCls(x: Tensor, cls: Tensor): Tensor {
  return scoped(() => concat([expand(cls, [x.shape[0]!, 1, x.shape[2]!]), x], 1));
}
