import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Canvas, crc32, decodePng, encodePng, glyph, measureText, paletteColor } from '../src/render';

const RED = [255, 0, 0] as const;

function painted(c: Canvas): Set<string> {
  const s = new Set<string>();
  for (let y = 0; y < c.height; y++) for (let x = 0; x < c.width; x++) if (c.get(x, y).some((v) => v !== 0)) s.add(`${x},${y}`);
  return s;
}

describe('png', () => {
  it('crc32 matches the standard check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });

  it('round-trips RGB, RGBA and grey images through encode/decode', () => {
    for (const ch of [1, 3, 4] as const) {
      const w = 7;
      const h = 5;
      const data = Uint8Array.from({ length: w * h * ch }, (_, i) => (i * 37 + 11) & 255);
      const png = encodePng({ width: w, height: h, data, channels: ch });
      expect(Array.from(png.subarray(1, 4))).toEqual([80, 78, 71]);
      const back = decodePng(png);
      expect([back.width, back.height]).toEqual([w, h]);
      for (let i = 0; i < w * h; i++) {
        const want = ch === 1 ? [data[i]!, data[i]!, data[i]!] : Array.from(data.subarray(i * ch, i * ch + 3));
        expect(Array.from(back.data.subarray(i * back.channels, i * back.channels + 3))).toEqual(want);
        if (ch === 4) expect(back.data[i * 4 + 3]).toBe(data[i * 4 + 3]);
      }
    }
  });

  it('writes valid chunks (CRCs check, IDAT inflates to filtered rows)', () => {
    const png = encodePng({ width: 3, height: 2, data: new Uint8Array(18).fill(9) });
    const dv = new DataView(png.buffer, png.byteOffset);
    let p = 8;
    const types: string[] = [];
    while (p < png.length) {
      const len = dv.getUint32(p);
      const type = String.fromCharCode(...png.subarray(p + 4, p + 8));
      types.push(type);
      expect(dv.getUint32(p + 8 + len)).toBe(crc32(png.subarray(p + 4, p + 8 + len)));
      if (type === 'IDAT') expect(inflateSync(png.subarray(p + 8, p + 8 + len)).length).toBe(2 * (1 + 9));
      p += 12 + len;
    }
    expect(types).toEqual(['IHDR', 'IDAT', 'IEND']);
  });

  it('rejects bad sizes and non-PNG bytes with clear errors', () => {
    expect(() => encodePng({ width: 2, height: 2, data: new Uint8Array(5) })).toThrow(/5 bytes for a 2x2 image with 3 channels \(expected 12\)/);
    expect(() => decodePng(new Uint8Array([1, 2, 3]))).toThrow(/not a PNG/);
  });
});

describe('canvas primitives draw where the numbers say', () => {
  it('rect: outline of the pixels the box overlaps, thickness inward, clipped', () => {
    const c = new Canvas(10, 8);
    c.rect({ x1: 2.3, y1: 1, x2: 6, y2: 4.5 }, RED);
    // columns floor(2.3)=2 .. ceil(6)-1=5, rows 1 .. ceil(4.5)-1=4
    const want = new Set<string>();
    for (let x = 2; x <= 5; x++) want.add(`${x},1`).add(`${x},4`);
    for (let y = 1; y <= 4; y++) want.add(`2,${y}`).add(`5,${y}`);
    expect(painted(c)).toEqual(want);
    const d = new Canvas(6, 6);
    d.rect({ x1: -3, y1: -3, x2: 3, y2: 3 }, RED, { thickness: 2 });
    // clipped to columns/rows 0..2; the 2-pixel band is x >= 1 or y >= 1 (right/bottom edges at 2)
    expect(painted(d)).toEqual(new Set(['1,0', '2,0', '1,1', '2,1', '0,1', '0,2', '1,2', '2,2']));
  });

  it('fillRect and alpha blending round per channel', () => {
    const c = Canvas.filled(4, 4, [100, 100, 100]);
    c.fillRect({ x1: 1, y1: 1, x2: 3, y2: 3 }, [200, 0, 50], 0.25);
    expect(c.get(1, 1)).toEqual([125, 75, 88]);
    expect(c.get(0, 0)).toEqual([100, 100, 100]);
    expect(c.get(3, 3)).toEqual([100, 100, 100]);
  });

  it('line: pixel centres within thickness/2 of the segment', () => {
    const c = new Canvas(10, 10);
    c.line(0, 5, 10, 5, RED); // horizontal line on the boundary between rows 4 and 5
    expect([...painted(c)].every((p) => p.endsWith(',4') || p.endsWith(',5'))).toBe(true);
    expect(painted(c).size).toBe(20);
    const d = new Canvas(10, 10);
    d.line(0.5, 0.5, 9.5, 9.5, RED);
    expect(painted(d)).toEqual(new Set(Array.from({ length: 10 }, (_, i) => `${i},${i}`)));
  });

  it('circle: filled disc, and a dot for radius 0', () => {
    const c = new Canvas(9, 9);
    c.circle(4.5, 4.5, 1, RED);
    expect(painted(c)).toEqual(new Set(['4,4', '3,4', '5,4', '4,3', '4,5']));
    const d = new Canvas(3, 3);
    d.circle(1.2, 2.7, 0, RED);
    expect(painted(d)).toEqual(new Set(['1,2']));
  });

  it('mask: blends covered pixels of the region, with an opaque outline', () => {
    const c = new Canvas(6, 5);
    const m = { x: 1, y: 1, width: 3, height: 3, data: [0, 1, 0, 1, 1, 1, 0, 1, 0] };
    c.mask(m, [200, 100, 0], { alpha: 0.5 });
    expect(c.get(2, 2)).toEqual([100, 50, 0]);
    expect(c.get(1, 1)).toEqual([0, 0, 0]);
    expect(painted(c).size).toBe(5);
    const d = new Canvas(6, 5);
    d.mask({ x: 0, y: 0, width: 3, height: 3, data: [1, 1, 1, 1, 1, 1, 1, 1, 1] }, [200, 100, 0], { alpha: 0.5, outline: [255, 255, 255] });
    expect(d.get(1, 1)).toEqual([100, 50, 0]);
    expect(d.get(0, 1)).toEqual([255, 255, 255]);
    expect(() => d.mask({ x: 0, y: 0, width: 2, height: 2, data: [1] }, RED)).toThrow(/1 values for a 2x2 region/);
  });

  it('text: the 5×7 glyph bits at the given top-left, scaled', () => {
    const c = new Canvas(20, 10);
    c.text(1, 2, 'T', RED);
    const want = new Set<string>();
    glyph('T').forEach((bits, r) => {
      for (let col = 0; col < 5; col++) if (bits & (1 << (4 - col))) want.add(`${1 + col},${2 + r}`);
    });
    expect(painted(c)).toEqual(want);
    expect(measureText('ab', 2)).toEqual({ width: 22, height: 14 });
    const d = new Canvas(40, 20);
    const tag = d.label({ x1: 5, y1: 12, x2: 30, y2: 19 }, 'hi', paletteColor(0));
    expect(tag.y2).toBeLessThanOrEqual(12);
  });
});
