import type { OutputSpec } from '../backend';
import type { DType } from '../dtype';
import { OpError, type TensorMeta } from '../op';
import { fmtShape } from '../shape';

/** Attribute validation helpers: every failure names the op and the attribute. */
export class Attrs {
  constructor(
    readonly op: string,
    private readonly raw: Record<string, unknown> = {},
  ) {
    if (raw !== undefined && (typeof raw !== 'object' || raw === null)) throw new OpError(op, 'attributes must be an object');
    const unknownKeys = Object.keys(raw).filter((k) => raw[k] !== undefined);
    this.#seen = new Set(unknownKeys);
  }
  #seen: Set<string>;

  private take(name: string): unknown {
    this.#seen.delete(name);
    return this.raw[name];
  }

  /** Throws for attribute names the op does not know (catches typos like `alignCorner`). */
  done<T>(value: T, allowed?: readonly string[]): T {
    const extra = [...this.#seen].filter((k) => !allowed?.includes(k));
    if (extra.length) throw new OpError(this.op, `unknown attribute${extra.length > 1 ? 's' : ''} ${extra.map((k) => `'${k}'`).join(', ')}`);
    return value;
  }

  has(name: string): boolean {
    return this.raw[name] !== undefined;
  }

  int(name: string, def?: number, min = -Infinity): number {
    const v = this.take(name) ?? def;
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new OpError(this.op, `attribute '${name}' must be an integer, got ${JSON.stringify(v)}`);
    if (v < min) throw new OpError(this.op, `attribute '${name}' must be >= ${min}, got ${v}`);
    return v;
  }

  num(name: string, def?: number): number {
    const v = this.take(name) ?? def;
    if (typeof v !== 'number' || Number.isNaN(v)) throw new OpError(this.op, `attribute '${name}' must be a number, got ${JSON.stringify(v)}`);
    return v;
  }

  optNum(name: string): number | undefined {
    return this.has(name) ? this.num(name) : (this.take(name), undefined);
  }

  bool(name: string, def?: boolean): boolean {
    const v = this.take(name) ?? def;
    if (typeof v !== 'boolean') throw new OpError(this.op, `attribute '${name}' must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }

  oneOf<T extends string>(name: string, options: readonly T[], def?: T): T {
    const v = this.take(name) ?? def;
    if (!options.includes(v as T)) throw new OpError(this.op, `attribute '${name}' must be one of ${options.map((o) => `'${o}'`).join(', ')}, got ${JSON.stringify(v)}`);
    return v as T;
  }

  /** An int or a list of `n` ints (a single int is repeated). */
  ints(name: string, n: number, def?: number | readonly number[], min = -Infinity): number[] {
    const v = this.take(name) ?? def;
    const arr = typeof v === 'number' ? new Array<number>(n).fill(v) : v;
    if (!Array.isArray(arr) || arr.length !== n || !arr.every((x) => Number.isInteger(x))) {
      throw new OpError(this.op, `attribute '${name}' must be an integer or ${n} integers, got ${JSON.stringify(v)}`);
    }
    if (arr.some((x) => x < min)) throw new OpError(this.op, `attribute '${name}' values must be >= ${min}, got ${JSON.stringify(arr)}`);
    return arr.slice();
  }

  /** A list of ints of any length. */
  intList(name: string, def?: readonly number[]): number[] {
    const v = this.take(name) ?? def;
    if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x))) throw new OpError(this.op, `attribute '${name}' must be a list of integers, got ${JSON.stringify(v)}`);
    return v.slice();
  }

  optIntList(name: string): number[] | undefined {
    return this.has(name) ? this.intList(name) : (this.take(name), undefined);
  }

  numList(name: string, n?: number): number[] {
    const v = this.take(name);
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'number') || (n !== undefined && v.length !== n)) {
      throw new OpError(this.op, `attribute '${name}' must be a list of ${n ?? ''} numbers, got ${JSON.stringify(v)}`);
    }
    return v.slice();
  }

  /** The raw value of an attribute whose form the op validates itself. */
  value(name: string): unknown {
    return this.take(name);
  }
}

export function req(op: string, metas: readonly (TensorMeta | null)[], i: number): TensorMeta {
  const m = metas[i];
  if (!m) throw new OpError(op, `input ${i} is required`);
  return m;
}

export function out(shape: readonly number[], dtype: DType): OutputSpec[] {
  return [{ shape: shape.slice(), dtype }];
}

export function expectRank(op: string, name: string, m: TensorMeta, ranks: readonly number[]): void {
  if (!ranks.includes(m.shape.length)) {
    throw new OpError(op, `${name} must have rank ${ranks.join(' or ')}, got shape ${fmtShape(m.shape)}`);
  }
}

export function sameDType(op: string, metas: readonly (TensorMeta | null)[], names: readonly string[]): DType {
  let d: DType | null = null;
  metas.forEach((m, i) => {
    if (!m) return;
    if (d === null) d = m.dtype;
    else if (m.dtype !== d) throw new OpError(op, `input '${names[i] ?? i}' has dtype ${m.dtype} but '${names[0]}' has ${d}; cast one explicitly`);
  });
  return d ?? 'float32';
}

export const FLOAT: readonly DType[] = ['float32', 'float16'];
export const NUMERIC: readonly DType[] = ['float32', 'float16', 'int32', 'int64', 'uint8'];
export const INDEX: readonly DType[] = ['int32', 'int64'];
