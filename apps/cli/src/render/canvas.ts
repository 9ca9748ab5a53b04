/**
 * Drawing on an 8-bit RGB image (interleaved, row-major) for overlays: lines, rectangles, filled
 * circles, alpha-blended masks and bitmap-font text.
 *
 * Coordinates are continuous pixels, as in the detection and pose outputs: pixel (i, j) covers
 * [i, i+1) × [j, j+1) and its centre is (i + 0.5, j + 0.5). A shape covers the pixels whose centre it
 * contains (lines and circles), or, for axis-aligned boxes, every pixel the box overlaps. Everything is
 * clipped to the image; nothing outside it is an error. Alpha is in [0, 1]; blending is
 * `round(a·colour + (1 − a)·under)` per channel.
 */
import { CELL_HEIGHT, CELL_WIDTH, GLYPH_HEIGHT, GLYPH_WIDTH, glyph, measureText } from './font';
import type { Image8 } from './png';

export type Rgb = readonly [number, number, number];

export interface Box {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

/**
 * A binary (or soft) mask placed in the image: `data[r * width + c]` is the coverage of image pixel
 * (x + c, y + r); values > 0 are painted (values in (0, 1] scale the alpha; values > 1 count as 1).
 * The detection API's masks have this shape (a region of the original image).
 */
export interface MaskRegion {
  x: number;
  y: number;
  width: number;
  height: number;
  data: ArrayLike<number>;
}

export interface StrokeOptions {
  /** line width in pixels (default 1) */
  thickness?: number;
  /** opacity in [0, 1] (default 1) */
  alpha?: number;
}

export interface TextOptions {
  /** integer pixel scale of the 5×7 font (default 1) */
  scale?: number;
  /** filled box behind the text */
  background?: Rgb;
  /** opacity of the background (default 1) */
  backgroundAlpha?: number;
  /** padding of the background box in pixels (default 1·scale) */
  padding?: number;
}

const clampByte = (v: number) => (v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v));

function checkColor(c: Rgb): void {
  if (!Array.isArray(c) || c.length !== 3 || c.some((v) => typeof v !== 'number' || !Number.isFinite(v))) {
    throw new TypeError(`colour must be [r, g, b] with numbers in 0..255, got ${JSON.stringify(c)}`);
  }
}

export class Canvas {
  readonly data: Uint8Array;

  /** A canvas over `data` (RGB, width·height·3 bytes; used in place) or a new black one. */
  constructor(
    readonly width: number,
    readonly height: number,
    data?: Uint8Array,
  ) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) throw new RangeError(`Canvas: bad size ${width}x${height}`);
    if (data && data.length !== width * height * 3) throw new RangeError(`Canvas: ${data.length} bytes for ${width}x${height} RGB (expected ${width * height * 3})`);
    this.data = data ?? new Uint8Array(width * height * 3);
  }

  /** A canvas holding a copy of an RGB image (the image is not modified). */
  static fromRgb(img: { width: number; height: number; data: Uint8Array }): Canvas {
    return new Canvas(img.width, img.height, img.data.slice());
  }

  /** A canvas filled with one colour. */
  static filled(width: number, height: number, color: Rgb): Canvas {
    const c = new Canvas(width, height);
    c.fillRect({ x1: 0, y1: 0, x2: width, y2: height }, color);
    return c;
  }

  /** The image (shares this canvas' bytes), ready for encodePng. */
  toImage(): Image8 {
    return { width: this.width, height: this.height, data: this.data, channels: 3 };
  }

  /** RGB of pixel (x, y) (integers). */
  get(x: number, y: number): [number, number, number] {
    const i = (y * this.width + x) * 3;
    return [this.data[i]!, this.data[i + 1]!, this.data[i + 2]!];
  }

  /** Blends one pixel (integer coordinates; ignored outside the image). */
  blend(x: number, y: number, color: Rgb, alpha = 1): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height || !(alpha > 0)) return;
    const i = (y * this.width + x) * 3;
    const d = this.data;
    if (alpha >= 1) {
      d[i] = clampByte(color[0]);
      d[i + 1] = clampByte(color[1]);
      d[i + 2] = clampByte(color[2]);
      return;
    }
    const b = 1 - alpha;
    d[i] = clampByte(color[0] * alpha + d[i]! * b);
    d[i + 1] = clampByte(color[1] * alpha + d[i + 1]! * b);
    d[i + 2] = clampByte(color[2] * alpha + d[i + 2]! * b);
  }

  /** Fills every pixel the box overlaps: columns floor(x1) … ceil(x2) − 1, rows likewise. */
  fillRect(box: Box, color: Rgb, alpha = 1): void {
    checkColor(color);
    const x0 = Math.max(0, Math.floor(box.x1));
    const y0 = Math.max(0, Math.floor(box.y1));
    const x1 = Math.min(this.width, Math.ceil(box.x2));
    const y1 = Math.min(this.height, Math.ceil(box.y2));
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) this.blend(x, y, color, alpha);
  }

  /**
   * Outline of a box: the band of `thickness` pixels just inside its edges (the outermost pixels are
   * the ones the box edges fall in: columns floor(x1) and ceil(x2) − 1, rows floor(y1) and ceil(y2) − 1).
   * Boxes partly outside the image are clipped; a degenerate box (x2 ≤ x1) still marks its pixel column.
   */
  rect(box: Box, color: Rgb, opts: StrokeOptions = {}): void {
    checkColor(color);
    const t = Math.max(1, Math.round(opts.thickness ?? 1));
    const alpha = opts.alpha ?? 1;
    const l = Math.floor(box.x1);
    const top = Math.floor(box.y1);
    const r = Math.max(l, Math.ceil(box.x2) - 1);
    const b = Math.max(top, Math.ceil(box.y2) - 1);
    for (let y = Math.max(0, top); y <= Math.min(this.height - 1, b); y++) {
      for (let x = Math.max(0, l); x <= Math.min(this.width - 1, r); x++) {
        if (x - l < t || r - x < t || y - top < t || b - y < t) this.blend(x, y, color, alpha);
      }
    }
  }

  /** A straight line from (x0, y0) to (x1, y1) with round caps: pixels whose centre is within thickness/2 of the segment. */
  line(x0: number, y0: number, x1: number, y1: number, color: Rgb, opts: StrokeOptions = {}): void {
    checkColor(color);
    const half = Math.max(0.5, (opts.thickness ?? 1) / 2);
    const alpha = opts.alpha ?? 1;
    const dx = x1 - x0;
    const dy = y1 - y0;
    const len2 = dx * dx + dy * dy;
    const xa = Math.max(0, Math.floor(Math.min(x0, x1) - half));
    const xb = Math.min(this.width - 1, Math.ceil(Math.max(x0, x1) + half));
    const ya = Math.max(0, Math.floor(Math.min(y0, y1) - half));
    const yb = Math.min(this.height - 1, Math.ceil(Math.max(y0, y1) + half));
    const h2 = half * half + 1e-9;
    for (let y = ya; y <= yb; y++) {
      const py = y + 0.5;
      for (let x = xa; x <= xb; x++) {
        const px = x + 0.5;
        let t = len2 > 0 ? ((px - x0) * dx + (py - y0) * dy) / len2 : 0;
        t = t < 0 ? 0 : t > 1 ? 1 : t;
        const ex = px - (x0 + t * dx);
        const ey = py - (y0 + t * dy);
        if (ex * ex + ey * ey <= h2) this.blend(x, y, color, alpha);
      }
    }
  }

  /** A filled disc: pixels whose centre is within `radius` of (cx, cy) (at least the pixel containing the centre). */
  circle(cx: number, cy: number, radius: number, color: Rgb, opts: { alpha?: number } = {}): void {
    checkColor(color);
    const alpha = opts.alpha ?? 1;
    const r = Math.max(0, radius);
    const r2 = r * r + 1e-9;
    const xa = Math.max(0, Math.floor(cx - r));
    const xb = Math.min(this.width - 1, Math.ceil(cx + r));
    const ya = Math.max(0, Math.floor(cy - r));
    const yb = Math.min(this.height - 1, Math.ceil(cy + r));
    let any = false;
    for (let y = ya; y <= yb; y++) {
      for (let x = xa; x <= xb; x++) {
        const ex = x + 0.5 - cx;
        const ey = y + 0.5 - cy;
        if (ex * ex + ey * ey <= r2) {
          this.blend(x, y, color, alpha);
          any = true;
        }
      }
    }
    if (!any) this.blend(Math.floor(cx), Math.floor(cy), color, alpha);
  }

  /**
   * Alpha-blends a mask region: each pixel with coverage v > 0 gets `color` at alpha·min(v, 1).
   * With `outline`, the mask's boundary pixels (covered, with an uncovered or outside 4-neighbour) are
   * painted opaque in `outline` colour.
   */
  mask(m: MaskRegion, color: Rgb, opts: { alpha?: number; outline?: Rgb } = {}): void {
    checkColor(color);
    if (m.data.length !== m.width * m.height) throw new RangeError(`mask: ${m.data.length} values for a ${m.width}x${m.height} region`);
    const alpha = opts.alpha ?? 0.5;
    const at = (c: number, r: number) => (c >= 0 && r >= 0 && c < m.width && r < m.height ? m.data[r * m.width + c]! > 0 : false);
    for (let r = 0; r < m.height; r++) {
      const y = m.y + r;
      if (y < 0 || y >= this.height) continue;
      for (let c = 0; c < m.width; c++) {
        const v = m.data[r * m.width + c]!;
        if (!(v > 0)) continue;
        const x = m.x + c;
        if (x < 0 || x >= this.width) continue;
        if (opts.outline && (!at(c - 1, r) || !at(c + 1, r) || !at(c, r - 1) || !at(c, r + 1))) this.blend(x, y, opts.outline, 1);
        else this.blend(x, y, color, alpha * Math.min(v, 1));
      }
    }
  }

  /**
   * Draws one line of text with its top-left glyph pixel at integer (x, y) and returns the drawn
   * box (including the background padding when there is a background).
   */
  text(x: number, y: number, text: string, color: Rgb, opts: TextOptions = {}): Box {
    checkColor(color);
    const s = Math.max(1, Math.round(opts.scale ?? 1));
    const { width, height } = measureText(text, s);
    const pad = opts.background ? Math.max(0, Math.round(opts.padding ?? s)) : 0;
    const x0 = Math.round(x);
    const y0 = Math.round(y);
    const bg = { x1: x0 - pad, y1: y0 - pad, x2: x0 + width + pad, y2: y0 + height + pad };
    if (opts.background) this.fillRect(bg, opts.background, opts.backgroundAlpha ?? 1);
    let cx = x0;
    for (const ch of text) {
      const rows = glyph(ch);
      for (let r = 0; r < GLYPH_HEIGHT; r++) {
        const bits = rows[r]!;
        if (!bits) continue;
        for (let c = 0; c < GLYPH_WIDTH; c++) {
          if (!(bits & (1 << (GLYPH_WIDTH - 1 - c)))) continue;
          for (let dy = 0; dy < s; dy++) for (let dx = 0; dx < s; dx++) this.blend(cx + c * s + dx, y0 + r * s + dy, color, 1);
        }
      }
      cx += CELL_WIDTH * s;
    }
    return bg;
  }

  /**
   * A label tag for a box: text on a filled background just above the box's top-left corner, or just
   * inside the box when there is no room above. Returns the tag's box.
   */
  label(box: Box, text: string, background: Rgb, opts: { color?: Rgb; scale?: number } = {}): Box {
    const s = Math.max(1, Math.round(opts.scale ?? 1));
    const { height } = measureText(text, s);
    const pad = s;
    const x = Math.max(pad, Math.min(Math.floor(box.x1) + pad, this.width - 1));
    const above = Math.floor(box.y1) - height - pad;
    const y = above - pad >= 0 ? above : Math.max(pad, Math.floor(box.y1) + pad);
    return this.text(x, y, text, opts.color ?? readableTextColor(background), { scale: s, background, padding: pad });
  }
}

/** Black or white, whichever reads better on `bg` (luma threshold). */
export function readableTextColor(bg: Rgb): Rgb {
  return 0.299 * bg[0] + 0.587 * bg[1] + 0.114 * bg[2] > 140 ? [0, 0, 0] : [255, 255, 255];
}

export { CELL_HEIGHT as TEXT_LINE_HEIGHT };
