/**
 * COCO run-length encoding, the semantics of the COCO API's C mask library (maskApi.c) and its
 * Python wrapper (pycocotools.mask), reimplemented from the algorithm.
 *
 * An RLE covers an h×w mask in column-major order (down the first column, then the next):
 * `counts` alternates run lengths of 0s and 1s, starting with 0s (a leading 0 when the mask
 * starts with a 1). The compressed string form ("counts" as a string in COCO JSON) stores each
 * count (from the fourth on: minus the count two before it) in a LEB128-like code of 5 data bits
 * per character, a continuation bit 0x20, sign-extended from bit 0x10, offset by 48.
 */

/** A run-length encoded h×w binary mask (column-major runs, first run is 0s). */
export interface Rle {
  readonly h: number;
  readonly w: number;
  readonly counts: Uint32Array;
}

/** COCO JSON RLE: `size` is [height, width]; `counts` the compressed string or the plain run lengths. */
export interface CocoRleJson {
  size: [number, number] | number[];
  counts: string | number[];
}

/** COCO polygons: each `[x0, y0, x1, y1, ...]` in pixel coordinates (pixel i spans [i, i+1)). */
export type CocoPolygons = number[][];
export type CocoSegmentation = CocoPolygons | CocoRleJson;

const u32 = (x: number) => x >>> 0;

function makeRle(h: number, w: number, counts: ArrayLike<number>, m = counts.length): Rle {
  const c = new Uint32Array(m);
  for (let i = 0; i < m; i++) c[i] = counts[i]!;
  return { h, w, counts: c };
}

/**
 * Encodes a binary h×w mask. `order` says how `mask` is laid out: 'row' (default, index y*w+x,
 * as images are) or 'col' (index x*h+y, as pycocotools' Fortran-ordered arrays). Any nonzero
 * value counts as 1.
 */
export function rleEncode(mask: ArrayLike<number>, h: number, w: number, order: 'row' | 'col' = 'row'): Rle {
  const a = h * w;
  if (mask.length !== a) throw new Error(`rleEncode: mask has ${mask.length} values, expected ${h}x${w}=${a}`);
  const cnts: number[] = [];
  let p = 0;
  let c = 0;
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) {
      const v = (order === 'row' ? mask[y * w + x]! : mask[x * h + y]!) ? 1 : 0;
      if (v !== p) {
        cnts.push(c);
        c = 0;
        p = v;
      }
      c++;
    }
  }
  cnts.push(c);
  return makeRle(h, w, cnts);
}

/** Decodes to a 0/1 mask of h*w bytes, row-major (default) or column-major. */
export function rleDecode(rle: Rle, order: 'row' | 'col' = 'row'): Uint8Array {
  const { h, w, counts } = rle;
  const out = new Uint8Array(h * w);
  let k = 0;
  let v = 0;
  for (let j = 0; j < counts.length; j++) {
    const n = counts[j]!;
    if (k + n > h * w) throw new Error(`rleDecode: counts cover more than ${h}x${w} pixels`);
    if (v) {
      if (order === 'col') out.fill(1, k, k + n);
      else for (let i = k; i < k + n; i++) out[(i % h) * w + Math.floor(i / h)] = 1;
    }
    k += n;
    v = v ? 0 : 1;
  }
  return out;
}

/** Foreground pixel count (sum of the odd-indexed runs). */
export function rleArea(rle: Rle): number {
  let a = 0;
  for (let j = 1; j < rle.counts.length; j += 2) a += rle.counts[j]!;
  return u32(a);
}

/** Tight box [x, y, w, h] of the foreground (all zeros for an empty mask), as maskApi's rleToBbox. */
export function rleToBbox(rle: Rle): [number, number, number, number] {
  const { h, w, counts } = rle;
  const m = Math.floor(counts.length / 2) * 2;
  if (m === 0) return [0, 0, 0, 0];
  let xs = w;
  let ys = h;
  let xe = 0;
  let ye = 0;
  let cc = 0;
  let xp = 0;
  for (let j = 0; j < m; j++) {
    cc += counts[j]!;
    const t = u32(cc - (j % 2));
    const y = t % h;
    const x = (t - y) / h;
    if (j % 2 === 0) xp = x;
    else if (xp < x) {
      ys = 0;
      ye = h - 1;
    }
    xs = Math.min(xs, x);
    xe = Math.max(xe, x);
    ys = Math.min(ys, y);
    ye = Math.max(ye, y);
  }
  return [xs, ys, xe - xs + 1, ye - ys + 1];
}

/**
 * Union (default) or intersection of RLEs of one size, as maskApi's rleMerge: no input gives a
 * 0×0 RLE, and so does a size mismatch.
 */
export function rleMerge(rles: readonly Rle[], intersect = false): Rle {
  const n = rles.length;
  if (n === 0) return makeRle(0, 0, []);
  let { h, w } = rles[0]!;
  if (n === 1) return makeRle(h, w, rles[0]!.counts);
  let cnts: number[] = Array.from(rles[0]!.counts);
  for (let i = 1; i < n; i++) {
    const B = rles[i]!;
    if (B.h !== h || B.w !== w) {
      h = 0;
      w = 0;
      cnts = [];
      break;
    }
    const A = cnts;
    const out: number[] = [];
    let ca = A[0] ?? 0;
    let cb = B.counts[0] ?? 0;
    let v = 0;
    let va = 0;
    let vb = 0;
    let a = 1;
    let b = 1;
    let cc = 0;
    let ct = 1;
    while (ct > 0) {
      const c = Math.min(ca, cb);
      cc += c;
      ct = 0;
      ca -= c;
      if (!ca && a < A.length) {
        ca = A[a++]!;
        va = va ? 0 : 1;
      }
      ct += ca;
      cb -= c;
      if (!cb && b < B.counts.length) {
        cb = B.counts[b++]!;
        vb = vb ? 0 : 1;
      }
      ct += cb;
      const vp = v;
      v = intersect ? (va && vb ? 1 : 0) : va || vb ? 1 : 0;
      if (v !== vp || ct === 0) {
        out.push(cc);
        cc = 0;
      }
    }
    cnts = out;
  }
  return makeRle(h, w, cnts);
}

/** Crowd flags: truthy means the ground truth is a crowd region. */
export type CrowdFlags = ArrayLike<number | boolean> | undefined;

/**
 * IoU between boxes [x, y, w, h] as maskApi's bbIou: a dt×gt matrix (row-major, `dt.length` rows).
 * For a crowd ground truth the union is the detection's area alone.
 */
export function bbIou(dt: readonly (readonly number[])[], gt: readonly (readonly number[])[], iscrowd?: CrowdFlags): Float64Array {
  const m = dt.length;
  const n = gt.length;
  const o = new Float64Array(m * n);
  for (let g = 0; g < n; g++) {
    const G = gt[g]!;
    const ga = G[2]! * G[3]!;
    const crowd = !!iscrowd && !!iscrowd[g];
    for (let d = 0; d < m; d++) {
      const D = dt[d]!;
      const da = D[2]! * D[3]!;
      const wi = Math.min(D[2]! + D[0]!, G[2]! + G[0]!) - Math.max(D[0]!, G[0]!);
      if (wi <= 0) continue;
      const hi = Math.min(D[3]! + D[1]!, G[3]! + G[1]!) - Math.max(D[1]!, G[1]!);
      if (hi <= 0) continue;
      const i = wi * hi;
      const u = crowd ? da : da + ga - i;
      o[d * n + g] = i / u;
    }
  }
  return o;
}

/**
 * IoU between RLEs as maskApi's rleIou: a dt×gt matrix (row-major). Pairs whose boxes do not
 * overlap are 0; pairs of different sizes are -1; for a crowd ground truth the union is the
 * detection's area (intersection over the detection).
 */
export function rleIou(dt: readonly Rle[], gt: readonly Rle[], iscrowd?: CrowdFlags): Float64Array {
  const m = dt.length;
  const n = gt.length;
  const o = bbIou(dt.map(rleToBbox), gt.map(rleToBbox), iscrowd);
  for (let g = 0; g < n; g++) {
    const G = gt[g]!;
    const crowd = !!iscrowd && !!iscrowd[g];
    for (let d = 0; d < m; d++) {
      if (!(o[d * n + g]! > 0)) continue;
      const D = dt[d]!;
      if (D.h !== G.h || D.w !== G.w) {
        o[d * n + g] = -1;
        continue;
      }
      const ka = D.counts.length;
      const kb = G.counts.length;
      let ca = D.counts[0]!;
      let cb = G.counts[0]!;
      let va = 0;
      let vb = 0;
      let a = 1;
      let b = 1;
      let i = 0;
      let u = 0;
      let ct = 1;
      while (ct > 0) {
        const c = Math.min(ca, cb);
        if (va || vb) {
          u += c;
          if (va && vb) i += c;
        }
        ct = 0;
        ca -= c;
        if (!ca && a < ka) {
          ca = D.counts[a++]!;
          va = va ? 0 : 1;
        }
        ct += ca;
        cb -= c;
        if (!cb && b < kb) {
          cb = G.counts[b++]!;
          vb = vb ? 0 : 1;
        }
        ct += cb;
      }
      if (i === 0) u = 1;
      else if (crowd) u = rleArea(D);
      o[d * n + g] = i / u;
    }
  }
  return o;
}

/**
 * Rasterises one polygon `[x0, y0, x1, y1, ...]` into an h×w RLE exactly as maskApi's rleFrPoly:
 * the vertices are scaled 5× and rounded, the edges walked densely, and each crossing of a pixel
 * column's centre line becomes a run boundary at ceil of the downsampled y.
 */
export function rleFrPoly(xy: ArrayLike<number>, h: number, w: number): Rle {
  const k = Math.floor(xy.length / 2);
  const scale = 5;
  // (int)(scale*v+.5): C truncates toward zero
  const x = new Int32Array(k + 1);
  const y = new Int32Array(k + 1);
  for (let j = 0; j < k; j++) x[j] = Math.trunc(scale * xy[j * 2]! + 0.5);
  x[k] = x[0]!;
  for (let j = 0; j < k; j++) y[j] = Math.trunc(scale * xy[j * 2 + 1]! + 0.5);
  y[k] = y[0]!;
  let m = 0;
  for (let j = 0; j < k; j++) m += Math.max(Math.abs(x[j]! - x[j + 1]!), Math.abs(y[j]! - y[j + 1]!)) + 1;
  // v may be NaN for a zero-length edge (0/0 slope); such a point shares u with its neighbours and is never read
  const u = new Int32Array(m);
  const v = new Float64Array(m);
  m = 0;
  for (let j = 0; j < k; j++) {
    let xs = x[j]!;
    let xe = x[j + 1]!;
    let ys = y[j]!;
    let ye = y[j + 1]!;
    const dx = Math.abs(xe - xs);
    const dy = Math.abs(ys - ye);
    const flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) {
      let t = xs;
      xs = xe;
      xe = t;
      t = ys;
      ys = ye;
      ye = t;
    }
    const s = dx >= dy ? (ye - ys) / dx : (xe - xs) / dy;
    if (dx >= dy) {
      for (let d = 0; d <= dx; d++) {
        const t = flip ? dx - d : d;
        u[m] = t + xs;
        v[m] = Math.trunc(ys + s * t + 0.5);
        m++;
      }
    } else {
      for (let d = 0; d <= dy; d++) {
        const t = flip ? dy - d : d;
        v[m] = t + ys;
        u[m] = Math.trunc(xs + s * t + 0.5);
        m++;
      }
    }
  }
  // points on the column centre lines, downsampled
  const np = m;
  const bx: number[] = [];
  const by: number[] = [];
  for (let j = 1; j < np; j++) {
    if (u[j] === u[j - 1]) continue;
    let xd = u[j]! < u[j - 1]! ? u[j]! : u[j]! - 1;
    xd = (xd + 0.5) / scale - 0.5;
    if (Math.floor(xd) !== xd || xd < 0 || xd > w - 1) continue;
    let yd = v[j]! < v[j - 1]! ? v[j]! : v[j - 1]!;
    yd = (yd + 0.5) / scale - 0.5;
    if (yd < 0) yd = 0;
    else if (yd > h) yd = h;
    yd = Math.ceil(yd);
    bx.push(xd);
    by.push(yd);
  }
  // boundary positions → sorted → run lengths, with zero-length runs folded away
  const kk = bx.length;
  const a = new Uint32Array(kk + 1);
  for (let j = 0; j < kk; j++) a[j] = u32(bx[j]! * h + by[j]!);
  a[kk] = u32(h * w);
  a.sort();
  let p = 0;
  for (let j = 0; j <= kk; j++) {
    const t = a[j]!;
    a[j] = u32(a[j]! - p);
    p = t;
  }
  const b: number[] = [];
  let j = 0;
  b.push(a[j++]!);
  while (j < a.length) {
    if (a[j]! > 0) b.push(a[j++]!);
    else {
      j++;
      if (j < a.length) b[b.length - 1] += a[j++]!;
    }
  }
  return makeRle(h, w, b);
}

/** Rasterises a box [x, y, w, h] as maskApi's rleFrBbox (the box as a 4-vertex polygon). */
export function rleFrBbox(bb: ArrayLike<number>, h: number, w: number): Rle {
  const xs = bb[0]!;
  const xe = xs + bb[2]!;
  const ys = bb[1]!;
  const ye = ys + bb[3]!;
  return rleFrPoly([xs, ys, xs, ye, xe, ye, xe, ys], h, w);
}

/** The compressed string form of the counts (maskApi's rleToString). */
export function rleToString(rle: Rle): string {
  const { counts } = rle;
  let s = '';
  for (let i = 0; i < counts.length; i++) {
    let x = counts[i]!;
    if (i > 2) x -= counts[i - 2]!;
    let more = true;
    while (more) {
      // two's-complement low 5 bits and arithmetic shift, on doubles (exact for any count)
      const q = Math.floor(x / 32);
      let c = x - q * 32;
      x = q;
      more = c & 0x10 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      s += String.fromCharCode(c + 48);
    }
  }
  return s;
}

/** Parses the compressed string form (maskApi's rleFrString). */
export function rleFrString(s: string, h: number, w: number): Rle {
  const cnts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let x = 0;
    let k = 0;
    let more = true;
    while (more) {
      if (p >= s.length) throw new Error('rleFrString: truncated counts string');
      const c = s.charCodeAt(p) - 48;
      x += (c & 0x1f) * 2 ** (5 * k);
      more = (c & 0x20) !== 0;
      p++;
      k++;
      if (!more && c & 0x10) x -= 2 ** (5 * k);
    }
    const m = cnts.length;
    if (m > 2) x += cnts[m - 2]!;
    cnts.push(u32(x));
  }
  return makeRle(h, w, cnts);
}

/** COCO JSON with the compressed string counts (what pycocotools' encode/merge/frPyObjects return). */
export function rleToJson(rle: Rle): { size: [number, number]; counts: string } {
  return { size: [rle.h, rle.w], counts: rleToString(rle) };
}

/** Reads a COCO JSON RLE with string (compressed) or array (uncompressed) counts; its own `size` is used. */
export function rleFromJson(obj: CocoRleJson): Rle {
  const [h, w] = obj.size as [number, number];
  if (typeof obj.counts === 'string') return rleFrString(obj.counts, h, w);
  return makeRle(h, w, obj.counts.map(u32));
}

function isRleJson(o: unknown): o is CocoRleJson {
  return typeof o === 'object' && o !== null && !Array.isArray(o) && 'counts' in o && 'size' in o;
}

/**
 * pycocotools' frPyObjects: a list whose first entry has 4 numbers is read as boxes, one with
 * more as polygons; a list of RLE objects, or one RLE object, as uncompressed RLEs (their own size).
 */
export function frPyObjects(obj: readonly (readonly number[])[] | readonly CocoRleJson[] | CocoRleJson, h: number, w: number): Rle[] {
  if (isRleJson(obj)) return [rleFromJson(obj)];
  const list = obj as readonly unknown[];
  if (list.length === 0) throw new Error('frPyObjects: empty input');
  const first = list[0];
  if (Array.isArray(first) && first.length === 4) return (list as number[][]).map((bb) => rleFrBbox(bb, h, w));
  if (Array.isArray(first) && first.length > 4) return (list as number[][]).map((p) => rleFrPoly(p, h, w));
  if (isRleJson(first)) return (list as CocoRleJson[]).map(rleFromJson);
  throw new Error('frPyObjects: input type is not supported');
}

/**
 * A COCO annotation's segmentation as one RLE, as pycocotools' COCO.annToRLE: polygons are
 * rasterised at the image size and merged (union); RLE objects are decoded at their own size.
 * An empty polygon list gives an all-zero h×w mask (pycocotools raises there).
 */
export function segmentationToRle(segm: CocoSegmentation, h: number, w: number): Rle {
  if (Array.isArray(segm)) {
    if (segm.length === 0) return makeRle(h, w, [h * w]);
    return rleMerge(frPyObjects(segm, h, w));
  }
  return rleFromJson(segm as CocoRleJson);
}
