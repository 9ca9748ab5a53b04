export * from './elementwise';
export * from './linalg';
export * from './conv';
export * from './norm';
export * from './reduce';
export * from './layout';
export * from './vision';
export type { PaddingArg } from './conv';
