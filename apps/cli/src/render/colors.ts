/** Colour palettes for overlays. */
import type { Rgb } from './canvas';

/** 20 well-separated colours (Tableau 20 order, strong shades first). */
export const PALETTE: readonly Rgb[] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [127, 127, 127],
  [188, 189, 34],
  [23, 190, 207],
  [174, 199, 232],
  [255, 187, 120],
  [152, 223, 138],
  [255, 152, 150],
  [197, 176, 213],
  [196, 156, 148],
  [247, 182, 210],
  [199, 199, 199],
  [219, 219, 141],
  [158, 218, 229],
];

/** A stable colour for an index (class id, instance number, keypoint id…). */
export function paletteColor(i: number): Rgb {
  const n = PALETTE.length;
  return PALETTE[((Math.trunc(i) % n) + n) % n]!;
}
