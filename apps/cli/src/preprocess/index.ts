export * from './types';
export * from './sampling';
export * from './resize';
export * from './crop';
export * from './normalize';
export * from './views';
export * from './pipelines';
