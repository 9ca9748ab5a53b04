export { Module, StateDictError, type StateEntry } from './module';
export { Linear, LayerNorm, Mlp } from './layers';
