import { BYTES_PER_ELEMENT, type DType } from '../dtype';
import { sizeOf } from '../shape';
import type { TracedGraph } from './graph';

export interface OpStats {
  op: string;
  /** Nodes of this op. */
  count: number;
  flops: number;
  /** Fraction of the graph's FLOPs (0 when the graph has none). */
  share: number;
}

export interface GraphSummary {
  /** Elements of all constants (named parameters and constants created while tracing); graph inputs excluded. */
  params: number;
  /** Elements of the named constants only (the `params` passed to traceGraph). */
  namedParams: number;
  /** Bytes of all constants. */
  paramBytes: number;
  /** Sum of the nodes' FLOP estimates (multiply-add = 2). */
  flops: number;
  /** Per op, sorted by FLOPs (descending), then count. */
  byOp: OpStats[];
  /**
   * The most bytes of non-constant values (graph inputs and node outputs) alive at once over the
   * node sequence, honouring the recorded release order; reshape outputs share their input's buffer.
   */
  peakActivationBytes: number;
  /** Bytes of the graph inputs. */
  inputBytes: number;
  /** Bytes of the graph outputs (each distinct value once). */
  outputBytes: number;
  /** Number of nodes. */
  nodes: number;
  /** Nodes whose output shapes are data dependent (their shapes, FLOPs and bytes are upper bounds). */
  dynamicNodes: number;
}

const bytesOf = (shape: readonly number[], dtype: DType) => sizeOf(shape) * BYTES_PER_ELEMENT[dtype];

/** Parameter, FLOP and activation-memory totals of a traced graph. */
export function summarizeGraph(g: TracedGraph): GraphSummary {
  let params = 0;
  let namedParams = 0;
  let paramBytes = 0;
  const constant = new Set<number>();
  for (const c of g.constants) {
    const n = sizeOf(c.shape);
    params += n;
    if (c.name !== undefined) namedParams += n;
    paramBytes += bytesOf(c.shape, c.dtype);
    constant.add(c.valueId);
  }

  // activation buffers: every input and node output is a buffer, except views that share their
  // source's buffer (the chain is followed to its root); a view of a constant is not an activation
  const root = new Map<number, number>();
  const bufferBytes = new Map<number, number>();
  for (const i of g.inputs) {
    root.set(i.valueId, i.valueId);
    bufferBytes.set(i.valueId, bytesOf(i.shape, i.dtype));
  }
  for (const n of g.nodes) {
    for (const o of n.outputs) {
      if (o.aliasOf !== undefined && (root.has(o.aliasOf) || constant.has(o.aliasOf))) {
        if (root.has(o.aliasOf)) root.set(o.valueId, root.get(o.aliasOf)!);
        else constant.add(o.valueId);
      } else {
        root.set(o.valueId, o.valueId);
        bufferBytes.set(o.valueId, bytesOf(o.shape, o.dtype));
      }
    }
  }
  const refs = new Map<number, number>();
  let live = 0;
  const alloc = (v: number) => {
    const r = root.get(v);
    if (r === undefined) return;
    const k = refs.get(r) ?? 0;
    if (k === 0) live += bufferBytes.get(r)!;
    refs.set(r, k + 1);
  };
  const free = (v: number) => {
    const r = root.get(v);
    if (r === undefined) return;
    const k = refs.get(r) ?? 0;
    if (k <= 0) return;
    if (k === 1) live -= bufferBytes.get(r)!;
    refs.set(r, k - 1);
  };

  for (const i of g.inputs) alloc(i.valueId);
  let peak = live;
  let r = 0;
  const rel = g.releases;
  const byOp = new Map<string, { count: number; flops: number }>();
  let flops = 0;
  let dynamicNodes = 0;
  g.nodes.forEach((n, idx) => {
    while (r < rel.length && rel[r]!.afterNode <= idx) free(rel[r++]!.valueId);
    for (const o of n.outputs) alloc(o.valueId);
    peak = Math.max(peak, live);
    flops += n.flops;
    if (n.dynamic) dynamicNodes++;
    const s = byOp.get(n.op) ?? { count: 0, flops: 0 };
    s.count++;
    s.flops += n.flops;
    byOp.set(n.op, s);
  });

  let inputBytes = 0;
  for (const i of g.inputs) inputBytes += bytesOf(i.shape, i.dtype);
  let outputBytes = 0;
  const seenOut = new Set<number>();
  for (const o of g.outputs) {
    if (seenOut.has(o.valueId)) continue;
    seenOut.add(o.valueId);
    outputBytes += bytesOf(o.shape, o.dtype);
  }

  const ops = [...byOp]
    .map(([op, s]) => ({ op, count: s.count, flops: s.flops, share: flops > 0 ? s.flops / flops : 0 }))
    .sort((a, b) => b.flops - a.flops || b.count - a.count || (a.op < b.op ? -1 : a.op > b.op ? 1 : 0));

  return {
    params,
    namedParams,
    paramBytes,
    flops,
    byOp: ops,
    peakActivationBytes: peak,
    inputBytes,
    outputBytes,
    nodes: g.nodes.length,
    dynamicNodes,
  };
}

export interface FormatReportOptions {
  /** How many ops to list (default 10); the rest are summed in one line. */
  top?: number;
  /** A heading line, e.g. the model name. */
  title?: string;
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`;

function pad(s: string, w: number, right = false): string {
  return right ? s.padStart(w) : s.padEnd(w);
}

/**
 * A readable multi-line report (for the CLI's `inspect`): parameters in millions, FLOPs in
 * GFLOPs, memory in MB (10^6 bytes), then the top ops by FLOPs.
 */
export function formatReport(s: GraphSummary, opts: FormatReportOptions = {}): string {
  const top = opts.top ?? 10;
  const lines: string[] = [];
  if (opts.title) lines.push(opts.title, '');
  const row = (k: string, v: string) => lines.push(`${pad(k, 18)}${v}`);
  row('nodes', `${int(s.nodes)}${s.dynamicNodes ? ` (${s.dynamicNodes} data-dependent: shapes are upper bounds)` : ''}`);
  row('parameters', `${(s.params / 1e6).toFixed(3)} M (${int(s.params)}; ${mb(s.paramBytes)})`);
  row('compute', `${(s.flops / 1e9).toFixed(3)} GFLOPs (${int(s.flops)} FLOPs)`);
  row('peak activations', mb(s.peakActivationBytes));
  row('inputs', mb(s.inputBytes));
  row('outputs', mb(s.outputBytes));
  if (s.byOp.length) {
    const shown = s.byOp.slice(0, Math.max(0, top));
    const rest = s.byOp.slice(shown.length);
    const w = Math.max(10, ...s.byOp.map((o) => o.op.length)) + 2;
    lines.push('', `${pad('op', w)}${pad('count', 8, true)}${pad('GFLOPs', 12, true)}${pad('share', 9, true)}`);
    const line = (name: string, count: number, flops: number, share: number) =>
      lines.push(`${pad(name, w)}${pad(int(count), 8, true)}${pad((flops / 1e9).toFixed(3), 12, true)}${pad(`${(share * 100).toFixed(1)}%`, 9, true)}`);
    for (const o of shown) line(o.op, o.count, o.flops, o.share);
    if (rest.length) {
      line(
        `(${rest.length} more)`,
        rest.reduce((a, o) => a + o.count, 0),
        rest.reduce((a, o) => a + o.flops, 0),
        rest.reduce((a, o) => a + o.share, 0),
      );
    }
  }
  return lines.join('\n');
}
