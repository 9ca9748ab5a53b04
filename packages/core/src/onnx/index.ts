/** ONNX model writer/reader (dependency-free). */
export {
  attr,
  buildOnnxModel,
  decodeOnnxModel,
  DEFAULT_OPSET,
  dtypeFromOnnx,
  irVersionForOpset,
  isOnnxDType,
  onnxArrayMatchesDType,
  OnnxDataType,
  onnxDataType,
  OnnxSpecError,
  tensorRawBytes,
  toOnnxArray,
  validateOnnxGraph,
} from './model';
export type {
  DecodedOnnxAttr,
  DecodedOnnxGraph,
  DecodedOnnxModel,
  DecodedOnnxNode,
  DecodedOnnxTensor,
  DecodedOnnxValueInfo,
  OnnxAttr,
  OnnxDType,
  OnnxGraphSpec,
  OnnxInitializer,
  OnnxNode,
  OnnxSubgraph,
  OnnxTensor,
  OnnxTypedArray,
  OnnxValueInfo,
  OpsetId,
} from './model';
export { ProtoDecodeError, ProtoMessage, ProtoReader, ProtoWriter, toInt64, WireType } from './protobuf';
export type { ProtoValue } from './protobuf';
export { EXPORT_OPSET, exportOnnx, exportOnnxSpec, onnxExportableOps, onnxUnmappedOps, OnnxExportError, traceForExport, type ExportNodeContext, type ExportOnnxOptions, type ExportValueInfo, type ExportTraces, type TraceForExportOptions } from './export';
