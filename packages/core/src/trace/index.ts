/** The tracing backend: records the op graph with shapes (parameter / FLOP / memory reports, later ONNX export). */
export {
  TRACE_PRIORITY,
  TRACE_READ_MESSAGE,
  TraceBackend,
  registerDynamicBound,
  registerTraceBackend,
  type DynamicBound,
  type TraceBackendOptions,
  type TraceMemoryInfo,
} from './backend';
export type {
  TracedConstant,
  TracedGraph,
  TracedInput,
  TracedNode,
  TracedNodeOutput,
  TracedOutput,
  TracedRelease,
  TracedValueInfo,
} from './graph';
export {
  traceGraph,
  type ParamSpec,
  type TraceContext,
  type TraceFn,
  type TraceInputSpec,
  type TraceOptions,
  type TraceParams,
  type TraceResult,
} from './trace';
export { formatReport, summarizeGraph, type FormatReportOptions, type GraphSummary, type OpStats } from './report';
