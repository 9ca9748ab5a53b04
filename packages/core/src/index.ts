import { registerCpuBackend } from './cpu/index';

export * from './dtype';
export * from './shape';
export * from './backend';
export * from './tensor';
export * from './op';
export * from './ops/index';
export * from './checkpoint/index';
export * from './weights';
export * from './onnx/index';
export * from './trace/index';
export { registerCpuBackend, CpuBackend, cpuKernel, type CpuKernelBody, type CpuKernelOptions } from './cpu/index';

registerCpuBackend();
