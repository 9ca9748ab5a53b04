/** Checkpoint readers and writers: safetensors, PyTorch .pth (zip and legacy), format-agnostic state-dict loading. */
export {
  CheckpointError,
  STORED_DTYPES,
  dtypeSize,
  type RawTensor,
  type RawTensorData,
  type StateDict,
  type StoredDType,
} from './types';
export {
  parseSafetensors,
  readSafetensorsFile,
  readSafetensorsFileHeader,
  readSafetensorsHeader,
  serializeSafetensors,
  writeSafetensorsFile,
  type SafetensorsContents,
  type SafetensorsHeader,
  type SafetensorsTensorInfo,
} from './safetensors';
export { STATE_DICT_WRAPPER_KEYS, parsePth, readPthFile, type PthCheckpoint } from './pth';
export {
  FORMAT_SNIFF_BYTES,
  detectCheckpointFormat,
  loadStateDict,
  parseStateDict,
  type CheckpointFormat,
  type LoadedStateDict,
} from './load';
