/** Small helpers shared by the detection modules. */
import { type Tensor, getKernel } from '@tubelet/core';

export const f32 = Math.fround;

/** Collects temporaries of an async computation and disposes them together. */
export class Bag {
  #items: Tensor[] = [];
  add<T extends Tensor>(t: T): T {
    this.#items.push(t);
    return t;
  }
  addAll<T extends Tensor>(ts: T[]): T[] {
    for (const t of ts) this.#items.push(t);
    return ts;
  }
  dispose(): void {
    for (const t of this.#items) t.dispose();
    this.#items = [];
  }
}

/**
 * Runs `fn` on the inputs' backend when it has a kernel for `op`, else on copies moved to 'cpu' with
 * the outputs moved back (the ops no GPU backend has yet: box coding, anchors, mask paste). Inputs
 * are never disposed; the returned tensors are new and owned by the caller.
 */
export async function onBackendWith(op: string, inputs: Tensor[], fn: (ins: Tensor[]) => Tensor | Promise<Tensor>): Promise<Tensor> {
  const be = inputs[0]!.backendInstance;
  if (be.name === 'cpu' || getKernel(op, be)) return fn(inputs);
  const moved: Tensor[] = [];
  try {
    for (const t of inputs) moved.push(await t.to('cpu'));
    const r = await fn(moved);
    try {
      return await r.to(be.name);
    } finally {
      r.dispose();
    }
  } finally {
    for (const t of moved) t.dispose();
  }
}

/** Float32 host data of a tensor. */
export async function f32Data(t: Tensor): Promise<Float32Array> {
  if (t.dtype !== 'float32') throw new Error(`expected a float32 tensor, got ${t.describe()}`);
  return (await t.data()) as Float32Array;
}

/** Host integer data of an int32 / int64 tensor as an Int32Array. */
export async function intData(t: Tensor): Promise<Int32Array> {
  const d = await t.data();
  if (d instanceof Int32Array) return d;
  if (d instanceof BigInt64Array) return Int32Array.from(d, Number);
  throw new Error(`expected an int32 or int64 tensor, got ${t.describe()}`);
}
