/**
 * Class-name maps shipped as data in `assets/labels/<dataset>.json` (index = class id). Sources are
 * recorded in each file's `source` field and in assets/labels/README.md.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Dataset = 'kinetics400' | 'kinetics600' | 'ssv2' | 'imagenet1k';

export const DATASETS: readonly Dataset[] = ['kinetics400', 'kinetics600', 'ssv2', 'imagenet1k'];

const ALIASES: Record<string, Dataset> = {
  kinetics400: 'kinetics400',
  'kinetics-400': 'kinetics400',
  k400: 'kinetics400',
  kinetics600: 'kinetics600',
  'kinetics-600': 'kinetics600',
  k600: 'kinetics600',
  ssv2: 'ssv2',
  sthv2: 'ssv2',
  'something-something-v2': 'ssv2',
  'something-something': 'ssv2',
  imagenet1k: 'imagenet1k',
  'imagenet-1k': 'imagenet1k',
  imagenet: 'imagenet1k',
  in1k: 'imagenet1k',
};

const COUNTS: Record<Dataset, number> = { kinetics400: 400, kinetics600: 600, ssv2: 174, imagenet1k: 1000 };

/** An unknown dataset name or a missing/corrupt label file: one line. */
export class LabelsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LabelsError';
  }
}

export interface LabelMap {
  dataset: Dataset;
  title: string;
  num_classes: number;
  source: string;
  labels: readonly string[];
}

/** Canonical dataset id for a name or alias ('K400', 'kinetics-600', 'sthv2', 'in1k', …). */
export function resolveDataset(name: string): Dataset {
  const d = ALIASES[name.trim().toLowerCase().replace(/_/g, '-')];
  if (!d) throw new LabelsError(`unknown label set '${name}' (known: ${DATASETS.join(', ')})`);
  return d;
}

/** The dataset whose label map has `n` classes (400, 600, 174, 1000), if any. */
export function datasetForClassCount(n: number): Dataset | undefined {
  return DATASETS.find((d) => COUNTS[d] === n);
}

/**
 * Where the label JSON files are: `assets/labels` of the CLI package, found from this module both in the
 * sources (src/labels) and in the bundle (dist); TUBELET_LABELS_DIR overrides.
 */
export function labelsDir(): string {
  const env = process.env.TUBELET_LABELS_DIR;
  if (env) return env;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const cand = join(dir, 'assets', 'labels');
    if (existsSync(join(cand, 'kinetics400.json'))) return cand;
    dir = dirname(dir);
  }
  throw new LabelsError('label maps not found (assets/labels of the tubelet CLI package)');
}

const cache = new Map<Dataset, LabelMap>();

/** The full label map (with title and source) of a dataset. */
export function labelMap(dataset: Dataset | string): LabelMap {
  const d = resolveDataset(dataset);
  const hit = cache.get(d);
  if (hit) return hit;
  const file = join(labelsDir(), `${d}.json`);
  let map: LabelMap;
  try {
    map = JSON.parse(readFileSync(file, 'utf8')) as LabelMap;
  } catch (e) {
    throw new LabelsError(`cannot read label map ${file}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (!Array.isArray(map.labels) || map.labels.length !== COUNTS[d] || map.labels.some((l) => typeof l !== 'string')) {
    throw new LabelsError(`label map ${file} is corrupt: expected ${COUNTS[d]} names`);
  }
  map.labels = Object.freeze([...map.labels]);
  cache.set(d, map);
  return map;
}

/** Class names of a dataset, index = class id: Kinetics-400/600, Something-Something v2, ImageNet-1k. */
export function labelsFor(dataset: Dataset | string): readonly string[] {
  return labelMap(dataset).labels;
}
