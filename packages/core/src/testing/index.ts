/**
 * @tubelet/core/testing — the backend conformance suite.
 *
 * Every backend package runs it with one call in a vitest file:
 *
 *   import { defineConformanceSuite } from '@tubelet/core/testing';
 *   defineConformanceSuite('webgpu', { skip: { 'nms/': 'no kernel yet' } });
 *
 * Cases (op, attributes, inputs, expected outputs, tolerance) carry their expected values from
 * independent references — onnxruntime-node running the equivalent ONNX op(s), official vectors,
 * or closed forms — never from our own backends. Non-vitest runners (browser pages) use
 * conformanceCases() and runConformanceCase().
 */
export type { CaseResult, CaseSource, ConformanceCase, GeneratedInfo, HostTensor, OpCase, ProgramCase, Tolerance } from './types';
export { compareOutputs, compareTensor } from './compare';
export { casesPerOp, caseDTypes, conformanceCases, opCase, principalDType, programCase } from './cases';
export { runConformanceCase, type RunCaseOptions } from './run';
export { DEFAULT_CONFORMANCE_DTYPES, defineConformanceSuite, selectConformanceCases, skipReason, type ConformanceOptions, type VitestApi } from './suite';
export { base64ToBytes, bytesToBase64, decodeTensor, encodeTensor, host, type RawCase, type RawTensor } from './codec';
export { GENERATED_INFO } from './cases.generated';

/**
 * The core this module runs against (every op of the catalogue, the cpu backend). Re-exported so a
 * page that loads only this entry has the full catalogue, and because the package marks its
 * sources side-effect free: without a use of the whole namespace a bundler may drop op modules
 * whose only effect is registering their descriptors.
 */
export * as core from '../index';
