import { describe, expect, it } from 'vitest';
import { DATASETS, LabelsError, datasetForClassCount, labelMap, labelsFor, resolveDataset } from '../src/labels';

describe('label maps', () => {
  it('have the right number of unique names', () => {
    const counts = Object.fromEntries(DATASETS.map((d) => [d, labelsFor(d).length]));
    expect(counts).toEqual({ kinetics400: 400, kinetics600: 600, ssv2: 174, imagenet1k: 1000 });
    for (const d of DATASETS) {
      const l = labelsFor(d);
      expect(new Set(l).size, d).toBe(l.length);
      expect(l.every((s) => s.length > 0 && s === s.trim()), d).toBe(true);
      expect(labelMap(d).source.length).toBeGreaterThan(10);
    }
  });

  it('contain known entries at known ids', () => {
    const k400 = labelsFor('kinetics400');
    expect([k400[0], k400[1], k400[6], k400[399]]).toEqual(['abseiling', 'air drumming', 'arm wrestling', 'zumba']);
    expect(k400.indexOf('playing guitar')).toBeGreaterThan(0);
    const k600 = labelsFor('K600');
    expect([k600[0], k600[1], k600[599]]).toEqual(['abseiling', 'acting in play', 'zumba']);
    expect(k600).toContain('dyeing hair');
    expect(k400).toContain('dying hair');
    const ssv2 = labelsFor('sthv2');
    expect(ssv2[0]).toBe('Approaching something with your camera');
    expect(ssv2[67]).toBe('Pretending to open something without actually opening it');
    expect(ssv2[173]).toBe('Wiping something off of something');
    const inet = labelsFor('imagenet');
    expect([inet[0], inet[1], inet[281], inet[999]]).toEqual(['tench', 'goldfish', 'tabby', 'toilet tissue']);
  });

  it('resolve aliases, class counts and reject unknown names in one line', () => {
    expect(resolveDataset('Kinetics-400')).toBe('kinetics400');
    expect(resolveDataset('something_something_v2')).toBe('ssv2');
    expect(resolveDataset('IN1K')).toBe('imagenet1k');
    expect([400, 600, 174, 1000, 7].map(datasetForClassCount)).toEqual(['kinetics400', 'kinetics600', 'ssv2', 'imagenet1k', undefined]);
    expect(() => labelsFor('kinetics700')).toThrow(LabelsError);
    expect(() => labelsFor('kinetics700')).toThrow(/unknown label set 'kinetics700' \(known: kinetics400, kinetics600, ssv2, imagenet1k\)/);
  });

  it('returns frozen, cached arrays', () => {
    const a = labelsFor('ssv2');
    expect(labelsFor('ssv2')).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
  });
});
