/**
 * A COCO-format dataset with pycocotools' indexing (`COCO`) and its result loader (`loadRes`).
 */
import { type CocoSegmentation, type Rle, rleArea, rleFromJson, rleToBbox, segmentationToRle } from './rle';

export interface CocoImage {
  id: number;
  width: number;
  height: number;
  file_name?: string;
  [key: string]: unknown;
}

export interface CocoCategory {
  id: number;
  name?: string;
  supercategory?: string;
  keypoints?: string[];
  skeleton?: number[][];
  [key: string]: unknown;
}

export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  /** [x, y, w, h] */
  bbox?: number[];
  area?: number;
  iscrowd?: number | boolean;
  segmentation?: CocoSegmentation;
  /** [x0, y0, v0, x1, y1, v1, ...] */
  keypoints?: number[];
  num_keypoints?: number;
  score?: number;
  [key: string]: unknown;
}

export interface CocoDataset {
  images: CocoImage[];
  annotations?: CocoAnnotation[];
  categories?: CocoCategory[];
  [key: string]: unknown;
}

/** One detection in the COCO results format. Which of bbox / segmentation / keypoints is present decides how it is read. */
export interface CocoResult {
  image_id: number;
  category_id: number;
  score: number;
  bbox?: number[];
  segmentation?: CocoSegmentation;
  keypoints?: number[];
  [key: string]: unknown;
}

export interface AnnIdFilter {
  imgIds?: readonly number[] | number;
  catIds?: readonly number[] | number;
  /** keeps area strictly inside (lo, hi) */
  areaRng?: readonly number[];
  iscrowd?: number | boolean | null;
}

const asList = (v: readonly number[] | number | undefined): readonly number[] => (v === undefined ? [] : typeof v === 'number' ? [v] : v);

/** A COCO dataset with pycocotools' indexes. */
export class COCO {
  readonly dataset: CocoDataset;
  readonly anns = new Map<number, CocoAnnotation>();
  readonly imgs = new Map<number, CocoImage>();
  readonly cats = new Map<number, CocoCategory>();
  readonly imgToAnns = new Map<number, CocoAnnotation[]>();
  readonly catToImgs = new Map<number, number[]>();

  constructor(dataset: CocoDataset = { images: [] }) {
    if (typeof dataset !== 'object' || dataset === null || Array.isArray(dataset)) throw new Error('COCO: the dataset must be an object with images / annotations / categories');
    this.dataset = dataset;
    for (const ann of dataset.annotations ?? []) {
      const list = this.imgToAnns.get(ann.image_id);
      if (list) list.push(ann);
      else this.imgToAnns.set(ann.image_id, [ann]);
      this.anns.set(ann.id, ann);
    }
    for (const img of dataset.images ?? []) this.imgs.set(img.id, img);
    for (const cat of dataset.categories ?? []) this.cats.set(cat.id, cat);
    if (dataset.categories) {
      for (const ann of dataset.annotations ?? []) {
        const list = this.catToImgs.get(ann.category_id);
        if (list) list.push(ann.image_id);
        else this.catToImgs.set(ann.category_id, [ann.image_id]);
      }
    }
  }

  /** Parses COCO JSON text (e.g. the contents of instances_val2017.json). */
  static fromJson(text: string): COCO {
    return new COCO(JSON.parse(text) as CocoDataset);
  }

  getImgIds(): number[] {
    return [...this.imgs.keys()];
  }

  getCatIds(): number[] {
    return (this.dataset.categories ?? []).map((c) => c.id);
  }

  getCatNames(): string[] {
    return (this.dataset.categories ?? []).map((c) => c.name ?? String(c.id));
  }

  /** Annotation ids in dataset order per image (image order as given), filtered as pycocotools' getAnnIds. */
  getAnnIds(filter: AnnIdFilter = {}): number[] {
    const imgIds = asList(filter.imgIds);
    const catIds = asList(filter.catIds);
    const areaRng = filter.areaRng ?? [];
    let anns: CocoAnnotation[];
    if (imgIds.length === 0 && catIds.length === 0 && areaRng.length === 0) anns = this.dataset.annotations ?? [];
    else {
      anns = imgIds.length ? imgIds.flatMap((i) => this.imgToAnns.get(i) ?? []) : (this.dataset.annotations ?? []);
      if (catIds.length) {
        const s = new Set(catIds);
        anns = anns.filter((a) => s.has(a.category_id));
      }
      if (areaRng.length) anns = anns.filter((a) => (a.area ?? NaN) > areaRng[0]! && (a.area ?? NaN) < areaRng[1]!);
    }
    if (filter.iscrowd !== undefined && filter.iscrowd !== null) {
      const want = Number(filter.iscrowd);
      anns = anns.filter((a) => Number(a.iscrowd ?? 0) === want);
    }
    return anns.map((a) => a.id);
  }

  /** Annotations by id (the last one of an id wins, as in pycocotools' dict index). */
  loadAnns(ids: readonly number[]): CocoAnnotation[] {
    return ids.map((id) => {
      const a = this.anns.get(id);
      if (!a) throw new Error(`COCO: no annotation with id ${id}`);
      return a;
    });
  }

  /** The annotation's segmentation as one RLE at its image's size (pycocotools' annToRLE). */
  annToRLE(ann: CocoAnnotation): Rle {
    const img = this.imgs.get(ann.image_id);
    if (!img) throw new Error(`COCO: annotation ${ann.id} refers to unknown image ${ann.image_id}`);
    if (ann.segmentation === undefined) throw new Error(`COCO: annotation ${ann.id} has no segmentation`);
    return segmentationToRle(ann.segmentation, img.height, img.width);
  }

  /**
   * Loads detection results against this ground truth, as pycocotools' loadRes: results are copied
   * (the input is left alone), numbered 1.. in order, `iscrowd` 0, and, decided by the first result:
   * - with a non-empty `bbox`: area = w·h, and a missing segmentation becomes the box polygon;
   * - else with `segmentation`: area and (if missing) bbox from the RLE (polygons are accepted too);
   * - else with `keypoints`: bbox and area from the keypoints' extent (unlabelled (0,0) points included).
   * Every result's image must be in the ground truth. An empty list gives an empty result set.
   */
  loadRes(results: readonly CocoResult[] | string): COCO {
    const anns = (typeof results === 'string' ? JSON.parse(results) : structuredClone(results)) as CocoAnnotation[];
    if (!Array.isArray(anns)) throw new Error('loadRes: results must be an array of objects');
    const imgIds = new Set(this.imgs.keys());
    for (const a of anns) if (!imgIds.has(a.image_id)) throw new Error('loadRes: results do not correspond to the ground truth set (image ' + a.image_id + ')');
    const first = anns[0];
    const categories = structuredClone(this.dataset.categories ?? []);
    if (first && 'caption' in first) {
      anns.forEach((a, i) => (a.id = i + 1));
    } else if (first && first.bbox !== undefined && first.bbox.length !== 0) {
      anns.forEach((a, i) => {
        const bb = a.bbox!;
        const x1 = bb[0]!;
        const x2 = bb[0]! + bb[2]!;
        const y1 = bb[1]!;
        const y2 = bb[1]! + bb[3]!;
        if (!('segmentation' in a)) a.segmentation = [[x1, y1, x1, y2, x2, y2, x2, y1]];
        a.area = bb[2]! * bb[3]!;
        a.id = i + 1;
        a.iscrowd = 0;
      });
    } else if (first && 'segmentation' in first) {
      anns.forEach((a, i) => {
        const seg = a.segmentation!;
        const rle = Array.isArray(seg) ? this.annToRLE(a) : rleFromJson(seg);
        a.area = rleArea(rle);
        if (!('bbox' in a)) a.bbox = rleToBbox(rle);
        a.id = i + 1;
        a.iscrowd = 0;
      });
    } else if (first && 'keypoints' in first) {
      anns.forEach((a, i) => {
        const s = a.keypoints!;
        let x0 = Infinity;
        let x1 = -Infinity;
        let y0 = Infinity;
        let y1 = -Infinity;
        for (let j = 0; j + 1 < s.length; j += 3) {
          x0 = npMin(x0, s[j]!);
          x1 = npMax(x1, s[j]!);
          y0 = npMin(y0, s[j + 1]!);
          y1 = npMax(y1, s[j + 1]!);
        }
        a.area = (x1 - x0) * (y1 - y0);
        a.id = i + 1;
        a.bbox = [x0, y0, x1 - x0, y1 - y0];
      });
    }
    return new COCO({ images: [...this.dataset.images], categories, annotations: anns });
  }
}

// np.min / np.max propagate NaN
const npMin = (a: number, b: number) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b));
const npMax = (a: number, b: number) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b));
