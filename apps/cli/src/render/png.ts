/**
 * PNG encoding and decoding with node:zlib only (no dependencies).
 *
 * - `encodePng(image)` writes 8-bit greyscale, RGB or RGBA, non-interlaced, one IDAT chunk, filter
 *   type 1 ("Sub") on every row (a good cheap choice for overlays); `writePng(path, image)` saves it.
 * - `decodePng(bytes)` reads what encoders commonly write: 8-bit greyscale / grey+alpha / RGB / RGBA /
 *   palette (colour types 0, 4, 2, 6, 3), bit depth 8, non-interlaced, all five row filters. It always
 *   returns RGB or RGBA (palette and grey are expanded). Enough to check our own output in tests and to
 *   read the sample PNGs without ffmpeg.
 */
import { writeFileSync } from 'node:fs';
import { deflateSync, inflateSync } from 'node:zlib';

/** An 8-bit image, interleaved, row-major: channels 1 (grey), 3 (RGB) or 4 (RGBA). */
export interface Image8 {
  width: number;
  height: number;
  /** length width * height * channels */
  data: Uint8Array;
  /** default 3 */
  channels?: 1 | 3 | 4;
}

export class PngError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PngError';
  }
}

const SIGNATURE = Uint8Array.from([137, 80, 78, 71, 13, 10, 26, 10]);

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (ISO-HDLC, as PNG and zlib use) of `bytes`, continuing from `crc`. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 255]! ^ (c >>> 8);
  return ~c >>> 0;
}

function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, body.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  dv.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)));
  return out;
}

function checkImage(img: Image8, who: string): 1 | 3 | 4 {
  const ch = img.channels ?? 3;
  if (ch !== 1 && ch !== 3 && ch !== 4) throw new PngError(`${who}: channels must be 1, 3 or 4, got ${String(ch)}`);
  if (!Number.isInteger(img.width) || !Number.isInteger(img.height) || img.width < 1 || img.height < 1) {
    throw new PngError(`${who}: width and height must be positive integers, got ${img.width}x${img.height}`);
  }
  if (img.data.length !== img.width * img.height * ch) {
    throw new PngError(`${who}: ${img.data.length} bytes for a ${img.width}x${img.height} image with ${ch} channel${ch > 1 ? 's' : ''} (expected ${img.width * img.height * ch})`);
  }
  return ch;
}

/** Encodes an 8-bit image as PNG bytes. */
export function encodePng(img: Image8, opts: { level?: number } = {}): Uint8Array {
  const ch = checkImage(img, 'encodePng');
  const { width: w, height: h, data } = img;
  const stride = w * ch;
  const raw = new Uint8Array((stride + 1) * h);
  for (let y = 0; y < h; y++) {
    const o = y * (stride + 1);
    const r = y * stride;
    raw[o] = 1; // Sub
    for (let i = 0; i < stride; i++) raw[o + 1 + i] = (data[r + i]! - (i >= ch ? data[r + i - ch]! : 0)) & 255;
  }
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, w);
  dv.setUint32(4, h);
  ihdr[8] = 8;
  ihdr[9] = ch === 1 ? 0 : ch === 3 ? 2 : 6;
  const idat = deflateSync(raw, { level: opts.level ?? 6 });
  const parts = [SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', new Uint8Array(idat.buffer, idat.byteOffset, idat.length)), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let k = 0;
  for (const p of parts) {
    out.set(p, k);
    k += p.length;
  }
  return out;
}

/** Encodes and writes a PNG file. */
export function writePng(path: string, img: Image8): void {
  writeFileSync(path, encodePng(img));
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Decodes an 8-bit non-interlaced PNG to RGB (or RGBA when it has alpha). */
export function decodePng(bytes: Uint8Array): Image8 & { channels: 3 | 4 } {
  if (bytes.length < 8 || SIGNATURE.some((v, i) => bytes[i] !== v)) throw new PngError('decodePng: not a PNG file (bad signature)');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = 8;
  let width = 0;
  let height = 0;
  let colorType = -1;
  let palette: Uint8Array | null = null;
  let trns: Uint8Array | null = null;
  const idat: Uint8Array[] = [];
  while (p + 12 <= bytes.length) {
    const len = dv.getUint32(p);
    const type = String.fromCharCode(...bytes.subarray(p + 4, p + 8));
    if (p + 12 + len > bytes.length) throw new PngError(`decodePng: chunk ${type} runs past the end of the file`);
    const body = bytes.subarray(p + 8, p + 8 + len);
    if (type === 'IHDR') {
      width = dv.getUint32(p + 8);
      height = dv.getUint32(p + 12);
      const depth = body[8]!;
      colorType = body[9]!;
      if (depth !== 8) throw new PngError(`decodePng: bit depth ${depth} is not supported (only 8)`);
      if (body[12] !== 0) throw new PngError('decodePng: interlaced PNGs are not supported');
      if (![0, 2, 3, 4, 6].includes(colorType)) throw new PngError(`decodePng: unknown colour type ${colorType}`);
    } else if (type === 'PLTE') palette = body.slice();
    else if (type === 'tRNS') trns = body.slice();
    else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
    p += 12 + len;
  }
  if (colorType < 0 || width < 1 || height < 1) throw new PngError('decodePng: no IHDR chunk');
  const ch = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[colorType as 0 | 2 | 3 | 4 | 6]!;
  const total = idat.reduce((n, c) => n + c.length, 0);
  const z = new Uint8Array(total);
  let k = 0;
  for (const c of idat) {
    z.set(c, k);
    k += c.length;
  }
  const raw = inflateSync(z);
  const stride = width * ch;
  if (raw.length < (stride + 1) * height) throw new PngError(`decodePng: image data is truncated (${raw.length} of ${(stride + 1) * height} bytes)`);
  const px = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)]!;
    const src = y * (stride + 1) + 1;
    const o = y * stride;
    for (let i = 0; i < stride; i++) {
      const a = i >= ch ? px[o + i - ch]! : 0;
      const b = y > 0 ? px[o - stride + i]! : 0;
      const c = i >= ch && y > 0 ? px[o - stride + i - ch]! : 0;
      const v = raw[src + i]!;
      let r: number;
      switch (f) {
        case 0: r = v; break;
        case 1: r = v + a; break;
        case 2: r = v + b; break;
        case 3: r = v + ((a + b) >> 1); break;
        case 4: r = v + paeth(a, b, c); break;
        default: throw new PngError(`decodePng: unknown row filter ${f} in row ${y}`);
      }
      px[o + i] = r & 255;
    }
  }
  const alpha = colorType === 4 || colorType === 6 || (colorType === 3 && trns !== null);
  const outCh = alpha ? 4 : 3;
  const out = new Uint8Array(width * height * outCh);
  for (let i = 0; i < width * height; i++) {
    let r: number, g: number, b: number, a = 255;
    if (colorType === 0) r = g = b = px[i]!;
    else if (colorType === 4) {
      r = g = b = px[2 * i]!;
      a = px[2 * i + 1]!;
    } else if (colorType === 3) {
      const j = px[i]!;
      if (!palette || 3 * j + 2 >= palette.length) throw new PngError(`decodePng: palette index ${j} out of range`);
      r = palette[3 * j]!;
      g = palette[3 * j + 1]!;
      b = palette[3 * j + 2]!;
      a = trns && j < trns.length ? trns[j]! : 255;
    } else {
      r = px[ch * i]!;
      g = px[ch * i + 1]!;
      b = px[ch * i + 2]!;
      if (ch === 4) a = px[ch * i + 3]!;
    }
    out[outCh * i] = r;
    out[outCh * i + 1] = g;
    out[outCh * i + 2] = b;
    if (alpha) out[outCh * i + 3] = a;
  }
  return { width, height, data: out, channels: outCh };
}
