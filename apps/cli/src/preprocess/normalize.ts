/**
 * Pixel normalisation of uint8 RGB, as float32 look-up tables (one per channel), computed with the
 * reference float32 arithmetic:
 * - mean/std (torch): `((x / 255) - mean) / std`, each step rounded to float32 — UniFormer video
 *   (mean 0.45, std 0.225 on every channel) and ImageNet (DeiT/torchvision ToTensor + Normalize);
 * - zero-centre (DMVR `normalize_image`, ViViT): `x * (2/255) - 1` in float32, range [-1, 1].
 */
const f32 = Math.fround;

export type Normalization =
  | { kind: 'mean-std'; mean: readonly [number, number, number]; std: readonly [number, number, number] }
  | { kind: 'zero-centre' };

export const UNIFORMER_VIDEO_NORM: Normalization = { kind: 'mean-std', mean: [0.45, 0.45, 0.45], std: [0.225, 0.225, 0.225] };
export const IMAGENET_NORM: Normalization = { kind: 'mean-std', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
export const VIVIT_NORM: Normalization = { kind: 'zero-centre' };

/** Three 256-entry tables: `lut[c][v]` is the normalised value of byte v in channel c. */
export function normalizationLut(norm: Normalization): [Float32Array, Float32Array, Float32Array] {
  const luts = [new Float32Array(256), new Float32Array(256), new Float32Array(256)] as [Float32Array, Float32Array, Float32Array];
  for (let c = 0; c < 3; c++) {
    const lut = luts[c]!;
    for (let v = 0; v < 256; v++) {
      if (norm.kind === 'zero-centre') {
        lut[v] = f32(f32(v * f32(2 / 255)) - 1);
      } else {
        lut[v] = f32(f32(f32(v / 255) - f32(norm.mean[c]!)) / f32(norm.std[c]!));
      }
    }
  }
  return luts;
}
