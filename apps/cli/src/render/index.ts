/**
 * Rendering for overlays (detection boxes/masks/labels, pose skeletons): a small RGB canvas with
 * drawing primitives, a built-in 5×7 bitmap font, colour palettes and PNG encode/decode (node:zlib).
 *
 * ```ts
 * import { Canvas, paletteColor, writePng } from './render';
 * const c = Canvas.fromRgb(image);                       // {width, height, data: RGB bytes}
 * c.mask({ x, y, width, height, data }, paletteColor(0), { alpha: 0.45 });
 * c.rect({ x1, y1, x2, y2 }, paletteColor(0), { thickness: 2 });
 * c.label({ x1, y1, x2, y2 }, 'person 0.93', paletteColor(0));
 * c.line(x0, y0, x1, y1, [255, 0, 0], { thickness: 3 }); // skeleton limb
 * c.circle(x, y, 3, [0, 255, 0]);                        // keypoint
 * writePng('overlay.png', c.toImage());
 * ```
 */
export { Canvas, readableTextColor, TEXT_LINE_HEIGHT, type Box, type MaskRegion, type Rgb, type StrokeOptions, type TextOptions } from './canvas';
export { PALETTE, paletteColor } from './colors';
export { drawDetections, type DrawDetectionsOptions, type DrawableDetection } from './detections';
export { CELL_HEIGHT, CELL_WIDTH, GLYPH_HEIGHT, GLYPH_WIDTH, glyph, hasGlyph, measureText } from './font';
export { PngError, crc32, decodePng, encodePng, writePng, type Image8 } from './png';
