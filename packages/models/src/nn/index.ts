/**
 * Generic building blocks shared by the models (UniFormer, ViViT). Stable API:
 * - `Conv(in, out, kernel, { stride, padding, dilation, groups, bias })` — torch ConvNd (rank from kernel)
 * - `BatchNorm(C, eps = 1e-5)` — eval-mode BN over axis 1; buffers running_mean/var, extra num_batches_tracked
 * - `ChannelLayerNorm(C, eps = 1e-5)` / `layerNormChannels(x, w, b, eps)` — LayerNorm over axis 1 of [N, C, ...]
 * - `MultiHeadAttention(dim, heads, { qkvBias, scale })` — timm Attention (fused qkv [q|k|v], proj), [B, L, C]
 * - `ConvMlp(dim, hidden, dims)` — 1×1 conv MLP with erf GELU (UniFormer CMlp)
 * - `Sequential([...])` — torch-style positional child names (weightless functions keep their index)
 * - `OutputRecorder` / `collectOutputs` / `release` — named intermediates without leaks
 * Linear, LayerNorm (last dim) and Mlp live in ../layers.
 */
export { Conv, type ConvOptions } from './conv';
export { BatchNorm, ChannelLayerNorm, channelsLastPerm, layerNormChannels } from './norm';
export { MultiHeadAttention, type AttentionOptions } from './attention';
export { ConvMlp } from './mlp';
export { Sequential, type Layer, type SequentialItem } from './sequential';
export { OutputRecorder, collectOutputs, release, type ForwardOptions } from './outputs';
