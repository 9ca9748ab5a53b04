import { type Tensor, fmtShape } from '@tubelet/core';

export interface ClassScore {
  classId: number;
  label: string;
  /** softmax probability */
  score: number;
  logit: number;
}

/**
 * Top-k classes of each row of `logits` [N, classes] (softmax probabilities, ties → lower id),
 * with names from `labels` when given (its length must equal the class count).
 */
export async function topkClasses(logits: Tensor, k = 5, labels?: readonly string[]): Promise<ClassScore[][]> {
  if (logits.rank !== 2) throw new Error(`topkClasses: logits must be [N, classes], got ${fmtShape(logits.shape)}`);
  const [n, c] = logits.shape as [number, number];
  if (labels && labels.length !== c) throw new Error(`topkClasses: ${labels.length} labels for ${c} classes`);
  if (!Number.isInteger(k) || k < 1) throw new Error(`topkClasses: k must be a positive integer, got ${k}`);
  const v = await logits.data();
  const out: ClassScore[][] = [];
  for (let r = 0; r < n; r++) {
    const row = Array.from(v.subarray(r * c, (r + 1) * c) as Float32Array);
    const m = Math.max(...row);
    const exps = row.map((x) => Math.exp(x - m));
    const z = exps.reduce((a, b) => a + b, 0);
    const order = row.map((_, i) => i).sort((a, b) => row[b]! - row[a]! || a - b);
    out.push(order.slice(0, Math.min(k, c)).map((i) => ({ classId: i, label: labels?.[i] ?? `class ${i}`, score: exps[i]! / z, logit: row[i]! })));
  }
  return out;
}
