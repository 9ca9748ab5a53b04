export { Module, StateDictError, type StateEntry } from './module';
export { Linear, LayerNorm, Mlp } from './layers';
export * from './nn/index';
export * from './uniformer/index';
export type { EntryKind, InitKind } from './module';
export * from './vivit/index';
