/**
 * The weight-carrying parts of Mask R-CNN with mmdet 2.11 state-dict names: FPN (`neck.*`), RPN head
 * (`rpn_head.*`), Shared2FCBBoxHead (`roi_head.bbox_head.*`) and FCNMaskHead (`roi_head.mask_head.*`).
 * Forward passes here are the dense, synchronous parts; the data-dependent parts (proposals,
 * detections, paste-back) live in ./rpn, ./roi and ./heads.
 */
import { type Tensor, add, convTranspose, interpolate, maxPool, relu, reshape, tidy } from '@tubelet/core';
import { Conv, Linear, Module } from '@tubelet/models';
import { type MaskRcnnHeadsConfig, numAnchors } from './config';

/** mmcv ConvModule without norm / activation: the conv is the child `conv`. */
export class ConvModule extends Module {
  readonly conv: Conv;
  constructor(inC: number, outC: number, kernel: number, padding = 0) {
    super();
    this.conv = this.child('conv', new Conv(inC, outC, kernel, { padding }));
  }
  forward(x: Tensor): Tensor {
    return this.conv.forward(x);
  }
}

/** torch.nn.ModuleList: children named 0, 1, … */
export class ModuleList<M extends Module> extends Module {
  readonly items: readonly M[];
  constructor(items: M[]) {
    super();
    this.items = items.map((m, i) => this.child(String(i), m));
  }
}

/** torch.nn.ConvTranspose2d: weight [in, out, k, k], bias [out]. */
export class Deconv2d extends Module {
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernel: number,
    readonly stride: number,
  ) {
    super();
    this.param('weight', [inChannels, outChannels, kernel, kernel]);
    this.param('bias', [outChannels]);
  }
  forward(x: Tensor): Tensor {
    return convTranspose(x, this.p('weight'), this.p('bias'), { stride: this.stride });
  }
}

/**
 * mmdet FPN(in_channels, out_channels, num_outs=5), add_extra_convs=False: lateral 1×1 convs,
 * top-down nearest upsampling to the lower level's size (size mismatch allowed), 3×3 output convs;
 * P6 = max_pool2d(P5, kernel 1, stride 2).
 */
export class Fpn extends Module {
  readonly lateral_convs: ModuleList<ConvModule>;
  readonly fpn_convs: ModuleList<ConvModule>;
  constructor(
    readonly inChannels: readonly number[],
    readonly outChannels: number,
  ) {
    super();
    this.lateral_convs = this.child('lateral_convs', new ModuleList(inChannels.map((c) => new ConvModule(c, outChannels, 1))));
    this.fpn_convs = this.child('fpn_convs', new ModuleList(inChannels.map(() => new ConvModule(outChannels, outChannels, 3, 1))));
  }

  /** [C2..C5] → [P2..P6]; inputs are not disposed. */
  forward(feats: readonly Tensor[]): Tensor[] {
    if (feats.length !== this.inChannels.length) throw new Error(`FPN: expected ${this.inChannels.length} feature maps, got ${feats.length}`);
    feats.forEach((f, i) => {
      if (f.rank !== 4 || f.shape[1] !== this.inChannels[i]) throw new Error(`FPN: input ${i} must be [N, ${this.inChannels[i]}, H, W], got ${f.describe()}`);
    });
    return tidy(() => {
      const lat = feats.map((f, i) => this.lateral_convs.items[i]!.forward(f));
      for (let i = lat.length - 1; i > 0; i--) {
        const below = lat[i - 1]!;
        const up = interpolate(lat[i]!, { mode: 'nearest', size: below.shape.slice(2) as number[] });
        lat[i - 1] = add(below, up);
      }
      const outs = lat.map((l, i) => this.fpn_convs.items[i]!.forward(l));
      outs.push(maxPool(outs[outs.length - 1]!, { kernel: 1, stride: 2 }));
      return outs;
    });
  }
}

/** mmdet RPNHead: shared 3×3 conv + ReLU, then 1×1 objectness (A, sigmoid) and deltas (4A) per level. */
export class RpnHead extends Module {
  readonly rpn_conv: Conv;
  readonly rpn_cls: Conv;
  readonly rpn_reg: Conv;
  constructor(inC: number, feat: number, anchors: number) {
    super();
    this.rpn_conv = this.child('rpn_conv', new Conv(inC, feat, 3, { padding: 1 }));
    this.rpn_cls = this.child('rpn_cls', new Conv(feat, anchors, 1));
    this.rpn_reg = this.child('rpn_reg', new Conv(feat, anchors * 4, 1));
  }
  /** One level: [cls [N, A, H, W], reg [N, 4A, H, W]]. */
  forward(p: Tensor): [Tensor, Tensor] {
    return tidy(() => {
      const h = relu(this.rpn_conv.forward(p));
      return [this.rpn_cls.forward(h), this.rpn_reg.forward(h)];
    });
  }
}

/** mmdet Shared2FCBBoxHead: flatten → fc → ReLU → fc → ReLU → fc_cls (classes + 1, background last) and fc_reg (4·classes). */
export class BBoxHead extends Module {
  readonly shared_fcs: ModuleList<Linear>;
  readonly fc_cls: Linear;
  readonly fc_reg: Linear;
  constructor(
    readonly inChannels: number,
    readonly roiSize: number,
    fc: number,
    readonly numClasses: number,
  ) {
    super();
    this.shared_fcs = this.child('shared_fcs', new ModuleList([new Linear(inChannels * roiSize * roiSize, fc), new Linear(fc, fc)]));
    this.fc_cls = this.child('fc_cls', new Linear(fc, numClasses + 1));
    this.fc_reg = this.child('fc_reg', new Linear(fc, numClasses * 4));
  }
  /** RoI features [K, C, s, s] → [cls_score [K, classes + 1], bbox_pred [K, 4·classes]]. */
  forward(x: Tensor): [Tensor, Tensor] {
    return tidy(() => {
      let h = reshape(x, [x.shape[0]!, -1]);
      for (const fc of this.shared_fcs.items) h = relu(fc.forward(h));
      return [this.fc_cls.forward(h), this.fc_reg.forward(h)];
    });
  }
}

/** mmdet FCNMaskHead: convs × (3×3 + ReLU), 2× deconv + ReLU, 1×1 to one logit map per class. */
export class MaskHead extends Module {
  readonly convs: ModuleList<ConvModule>;
  readonly upsample: Deconv2d;
  readonly conv_logits: Conv;
  constructor(inC: number, channels: number, numConvs: number, numClasses: number) {
    super();
    this.convs = this.child('convs', new ModuleList(Array.from({ length: numConvs }, (_, i) => new ConvModule(i === 0 ? inC : channels, channels, 3, 1))));
    const last = numConvs > 0 ? channels : inC;
    this.upsample = this.child('upsample', new Deconv2d(last, channels, 2, 2));
    this.conv_logits = this.child('conv_logits', new Conv(channels, numClasses, 1));
  }
  /** Mask RoI features [N, C, 14, 14] → logits [N, classes, 28, 28]. */
  forward(x: Tensor): Tensor {
    return tidy(() => {
      let h = x;
      for (const c of this.convs.items) h = relu(c.forward(h));
      h = relu(this.upsample.forward(h));
      return this.conv_logits.forward(h);
    });
  }
}

/** `roi_head`: its bbox_head and mask_head. */
export class RoiHead extends Module {
  readonly bbox_head: BBoxHead;
  readonly mask_head: MaskHead;
  constructor(c: MaskRcnnHeadsConfig) {
    super();
    this.bbox_head = this.child('bbox_head', new BBoxHead(c.fpnChannels, c.roiSize, c.fcChannels, c.numClasses));
    this.mask_head = this.child('mask_head', new MaskHead(c.fpnChannels, c.maskChannels, c.numMaskConvs, c.numClasses));
  }
}

/** Everything after the backbone, with the checkpoint's top-level names neck / rpn_head / roi_head. */
export class MaskRcnnHeadsModule extends Module {
  readonly neck: Fpn;
  readonly rpn_head: RpnHead;
  readonly roi_head: RoiHead;
  constructor(readonly config: MaskRcnnHeadsConfig) {
    super();
    this.neck = this.child('neck', new Fpn(config.inChannels, config.fpnChannels));
    this.rpn_head = this.child('rpn_head', new RpnHead(config.fpnChannels, config.rpnChannels, numAnchors(config)));
    this.roi_head = this.child('roi_head', new RoiHead(config));
  }
}
