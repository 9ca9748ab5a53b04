/** ViViT models 1–4 (scenic semantics, Hugging Face key layout), named configs, loading and image-ViT initialisation. */
export * from './config';
export * from './configs';
export * from './frame-sampling';
export { VivitModel, fromHfPixelValues } from './model';
export { VivitAttention, VivitLayer, FactorisedSelfAttentionLayer } from './modules';
export { SeededRandom, scenicInitRule, vivitRandomWeights, type InitRule } from './init';
export { convertScenicParams, isScenicLayout, normalizeVivitWeights, scenicToHfName } from './keymaps';
export { averageArpWeights, inflateImageVit, type InflateOptions, type InflateResult, type KernelInit, type PosEmbSizeChange } from './inflate';
export { loadVivit, normalizeVivitFrames, traceVivit, type LoadVivitOptions, type VivitTrace, type VivitWeightsSource } from './load';
