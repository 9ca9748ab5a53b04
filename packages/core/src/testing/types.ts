import type { DType, DTypeArrayMap } from '../dtype';
import type { Tensor } from '../tensor';

/** Host values of one tensor: `data` is the host array of `dtype` (float16 as raw bits, bool as 0/1 bytes). */
export interface HostTensor<D extends DType = DType> {
  dtype: D;
  shape: number[];
  data: DTypeArrayMap[D];
}

/**
 * Elementwise tolerance of a float output: an element passes iff |got - exp| <= abs + rel·|exp|.
 * Integer and bool outputs are always compared exactly; NaN and ±Infinity compare by identity.
 */
export interface Tolerance {
  abs: number;
  rel: number;
}

/**
 * Where a case's expected values come from — never from our own backends:
 * - `closed-form`: derived by hand (or a closed-form expression) in the case definition;
 * - `onnxruntime`: onnxruntime-node running the equivalent ONNX op(s) on the same inputs
 *   (scripts/gen-conformance.ts);
 * - `official`: vectors produced by the official reference code (shared parity files).
 */
export type CaseSource = 'closed-form' | 'onnxruntime' | 'official';

interface CaseBase {
  /** Unique, `<op>/<description>`; `skip` prefixes match against it. */
  readonly name: string;
  /** The op under test (a name in opCatalogue()). */
  readonly op: string;
  readonly source: CaseSource;
  /** The case's principal dtype (float16 if any tensor is float16, else int64 if any is, else the first input's). */
  readonly dtype: DType;
  /** Every dtype the case's inputs and outputs use; a suite runs a case only if its backend covers all of them. */
  readonly dtypes: readonly DType[];
  readonly expected: readonly HostTensor[];
  readonly tol: Tolerance;
  /** Why the case exists / what it pins down. */
  readonly note?: string;
}

/** One op applied to host inputs with attributes. */
export interface OpCase extends CaseBase {
  readonly kind: 'op';
  /** Inputs in descriptor order; null is an omitted optional input. */
  readonly inputs: readonly (HostTensor | null)[];
  /** User-level attributes, as passed to runOp (the descriptor normalises them). */
  readonly attrs: Readonly<Record<string, unknown>>;
}

/** A small composite (e.g. an official module: conv + layerNorm) built only from core ops. */
export interface ProgramCase extends CaseBase {
  readonly kind: 'program';
  readonly inputs: readonly HostTensor[];
  /** All ops the program uses. */
  readonly ops: readonly string[];
  /** Builds the outputs from the input tensors (created on the backend under test). Intermediates are disposed by the runner. */
  run(inputs: Tensor[]): Tensor[] | Promise<Tensor[]>;
}

export type ConformanceCase = OpCase | ProgramCase;

export interface CaseResult {
  ok: boolean;
  /** Largest |got - expected| over the compared elements (Infinity on a NaN/Inf or shape mismatch, NaN when the case did not run). */
  maxAbsErr: number;
  /** 'ok' or what went wrong (first mismatching elements, error message, leaked tensors). */
  message: string;
}

/** Provenance of the generated data (src/testing/cases.generated.ts). */
export interface GeneratedInfo {
  generator: string;
  onnxruntime: string;
  ortCases: number;
  officialCases: number;
  /** Generated configurations left out, with the reason (e.g. onnxruntime disagreeing with PyTorch semantics). */
  dropped: readonly { name: string; reason: string }[];
}
