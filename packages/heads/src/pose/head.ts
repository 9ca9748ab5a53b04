/**
 * mmpose 0.16 `TopDownSimpleHead` (UniFormer's copy): `num_deconv_layers` × [ConvTranspose2d
 * (bias=False) → BatchNorm2d → ReLU] then a `final_layer` Conv2d to the joint heatmaps. State dict
 * names as the mmpose checkpoint (under `keypoint_head.`): `deconv_layers.{0,3,6}.weight`
 * [C_in, C_out, k, k], `deconv_layers.{1,4,7}.{weight,bias,running_mean,running_var,
 * num_batches_tracked}`, `final_layer.{weight,bias}`.
 */
import { type Tensor, convTranspose, relu, tidy } from '@tubelet/core';
import { BatchNorm, Conv, Module, Sequential } from '@tubelet/models';

export interface PoseHeadConfig {
  /** Channels of the backbone map (UniFormer out4: 512). */
  inChannels: number;
  /** Heatmaps (17 COCO keypoints). */
  numJoints: number;
  /** Output channels of each deconv stage (UniFormer configs: 256, 256, 256). */
  deconvFilters: number[];
  /** Kernel of each deconv stage (4, 3 or 2; UniFormer: 4, 4, 4). */
  deconvKernels: number[];
  /** `extra.final_conv_kernel`: 1 (UniFormer) or 3. */
  finalConvKernel: 1 | 3;
}

export const UNIFORMER_POSE_HEAD: Omit<PoseHeadConfig, 'inChannels'> = Object.freeze({
  numJoints: 17,
  deconvFilters: [256, 256, 256],
  deconvKernels: [4, 4, 4],
  finalConvKernel: 1,
}) as Omit<PoseHeadConfig, 'inChannels'>;

/** mmpose `_get_deconv_cfg`: kernel → (padding, output_padding). */
function deconvCfg(kernel: number): { padding: number; outputPadding: number } {
  if (kernel === 4) return { padding: 1, outputPadding: 0 };
  if (kernel === 3) return { padding: 1, outputPadding: 1 };
  if (kernel === 2) return { padding: 0, outputPadding: 0 };
  throw new Error(`TopDownSimpleHead: deconv kernel must be 4, 3 or 2 (mmpose _get_deconv_cfg), got ${kernel}`);
}

/** torch.nn.ConvTranspose2d: weight [in, out, k, k], optional bias [out]. */
export class ConvTranspose2d extends Module {
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernel: number,
    readonly opts: { stride: number; padding: number; outputPadding: number; bias: boolean },
  ) {
    super();
    this.param('weight', [inChannels, outChannels, kernel, kernel]);
    if (opts.bias) this.param('bias', [outChannels]);
  }

  forward(x: Tensor): Tensor {
    return convTranspose(x, this.p('weight'), this.optionalP('bias'), { stride: this.opts.stride, padding: this.opts.padding, outputPadding: this.opts.outputPadding });
  }
}

export class TopDownSimpleHead extends Module {
  readonly config: PoseHeadConfig;
  readonly deconvLayers: Sequential;
  readonly finalLayer: Conv;

  constructor(config: PoseHeadConfig) {
    super();
    const c = { ...config, deconvFilters: config.deconvFilters.slice(), deconvKernels: config.deconvKernels.slice() };
    if (c.deconvFilters.length !== c.deconvKernels.length) throw new Error(`TopDownSimpleHead: ${c.deconvFilters.length} deconv filters but ${c.deconvKernels.length} kernels`);
    if (c.finalConvKernel !== 1 && c.finalConvKernel !== 3) throw new Error(`TopDownSimpleHead: finalConvKernel must be 1 or 3, got ${String(c.finalConvKernel)}`);
    this.config = Object.freeze(c);
    const items: (Module | ((x: Tensor) => Tensor))[] = [];
    let cin = c.inChannels;
    c.deconvFilters.forEach((cout, i) => {
      const k = c.deconvKernels[i]!;
      items.push(new ConvTranspose2d(cin, cout, k, { stride: 2, ...deconvCfg(k), bias: false }), new BatchNorm(cout), relu);
      cin = cout;
    });
    this.deconvLayers = this.child('deconv_layers', new Sequential(items as never));
    this.finalLayer = this.child('final_layer', new Conv(cin, c.numJoints, c.finalConvKernel, { padding: c.finalConvKernel === 3 ? 1 : 0 }));
  }

  /** Heatmaps [N, numJoints, H·2^L, W·2^L] from the backbone map [N, inChannels, H, W]. */
  forward(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[1] !== this.config.inChannels) throw new Error(`TopDownSimpleHead: input must be [N, ${this.config.inChannels}, H, W], got [${x.shape.join(', ')}]`);
    return tidy(() => this.finalLayer.forward(this.deconvLayers.forward(x)));
  }
}
