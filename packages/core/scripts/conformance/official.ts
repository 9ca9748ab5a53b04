/**
 * Official parity vectors (copied from the shared parity folder into test/fixtures/conformance/):
 * a tiny safetensors parser (u64 LE header length, JSON header, raw LE data) and the cases built
 * from them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type RawCase, encodeAttrs, encodeTensor } from '../../src/testing/codec';
import type { HostTensor } from '../../src/testing/types';

export const OFFICIAL_FILES = ['units.io.safetensors', 'ops_roi_align_s0.safetensors', 'ops_nms_s0.safetensors'] as const;

export interface Safetensors {
  tensors: Record<string, HostTensor>;
  metadata: Record<string, string>;
}

export function readSafetensors(path: string): Safetensors {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const base = 8 + n;
  const tensors: Record<string, HostTensor> = {};
  let metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(header)) {
    if (k === '__metadata__') {
      metadata = v as unknown as Record<string, string>;
      continue;
    }
    const [b, e] = v.data_offsets;
    const bytes = new Uint8Array(buf.subarray(base + b, base + e)); // copy: aligned
    if (v.dtype === 'F32') tensors[k] = { dtype: 'float32', shape: v.shape, data: new Float32Array(bytes.buffer) };
    else if (v.dtype === 'I64') tensors[k] = { dtype: 'int64', shape: v.shape, data: new BigInt64Array(bytes.buffer) };
    else throw new Error(`${path}: tensor ${k} has dtype ${v.dtype}, not F32/I64`);
  }
  return { tensors, metadata };
}

function maxAbs(t: HostTensor): number {
  let m = 0;
  for (const v of t.data as Float32Array) m = Math.max(m, Math.abs(v));
  return m;
}

function toInt32(t: HostTensor): HostTensor {
  return { dtype: 'int32', shape: t.shape.slice(), data: Int32Array.from(t.data as BigInt64Array, (v) => Number(v)) };
}

function raw(name: string, op: string, inputs: HostTensor[], attrs: Record<string, unknown>, expected: HostTensor[], t: [number, number], note: string, program?: string): RawCase {
  return { n: name, o: op, src: 'official', a: encodeAttrs(attrs), i: inputs.map(encodeTensor), e: expected.map(encodeTensor), t, note, ...(program ? { p: program } : {}) };
}

export function buildOfficialCases(dir: string): RawCase[] {
  const out: RawCase[] = [];

  // UniFormer units (official Sense-X/UniFormer code); tolerance max|ours-ref| <= 1e-4·max(1, max|ref|)
  const units = readSafetensors(join(dir, 'units.io.safetensors')).tensors;
  const u = (k: string) => units[k]!;
  for (const [unit, stride, padding] of [
    ['video_stem', [2, 4, 4], [1, 0, 0]],
    ['video_patch_embed', [1, 2, 2], [0, 0, 0]],
  ] as const) {
    const exp = u(`${unit}.output`);
    out.push(
      raw(
        `conv/official-uniformer-${unit.replace(/_/g, '-')}`,
        'conv',
        [u(`${unit}.input`), u(`${unit}.w.proj.weight`), u(`${unit}.w.proj.bias`), u(`${unit}.w.norm.weight`), u(`${unit}.w.norm.bias`)],
        { stride: [...stride], padding: [...padding], eps: 1e-5 },
        [exp],
        [1e-4 * Math.max(1, maxAbs(exp)), 0],
        `UniFormer ${unit} (official code): Conv3d stride (${stride.join(',')}) pad (${padding.join(',')}) + LayerNorm eps 1e-5 over channels; units.io.safetensors`,
        'patchEmbed3d',
      ),
    );
  }
  const det = u('det_out_norm.output');
  out.push(
    raw(
      'layerNorm/official-uniformer-det-out-norm',
      'layerNorm',
      [u('det_out_norm.input'), u('det_out_norm.w.weight'), u('det_out_norm.w.bias')],
      { eps: 1e-6 },
      [det],
      [1e-4 * Math.max(1, maxAbs(det)), 0],
      'UniFormer det/pose stage-output LayerNorm eps 1e-6, channel-last, input scaled 1e-3 (eps observable); units.io.safetensors',
    ),
  );

  // RoIAlign (torchvision == mmcv); tolerance 1e-4 + 1e-4·|b|
  const ra = readSafetensors(join(dir, 'ops_roi_align_s0.safetensors'));
  const cfg = JSON.parse(ra.metadata.config!) as { cases: { name: string; aligned: boolean; output_size: number[]; sampling_ratio: number; spatial_scale: number }[] };
  for (const c of cfg.cases) {
    out.push(
      raw(
        `roiAlign/official-${c.name.replace('.out', '')}-${c.aligned ? 'aligned' : 'legacy'}-${c.output_size.join('x')}-sr${c.sampling_ratio}-s${c.spatial_scale}`,
        'roiAlign',
        [ra.tensors.input!, ra.tensors.rois!],
        { outputSize: c.output_size, spatialScale: c.spatial_scale, samplingRatio: c.sampling_ratio, aligned: c.aligned },
        [ra.tensors[c.name]!],
        [1e-4, 1e-4],
        'torchvision.ops.roi_align (== mmcv RoIAlign avg); rois partly/fully outside, tiny, zero-size, whole-map; ops_roi_align_s0.safetensors',
      ),
    );
  }

  // NMS keep lists (torchvision 0.14 CPU); exact
  const nm = readSafetensors(join(dir, 'ops_nms_s0.safetensors'));
  const ncfg = JSON.parse(nm.metadata.config!) as { cases: { name: string; boxes: string; scores: string; idxs?: string; iou_threshold: number }[] };
  for (const c of ncfg.cases) {
    const base = c.name.replace(/[._]/g, '-');
    const keep = toInt32(nm.tensors[c.name]!);
    const ins = [nm.tensors[c.boxes]!, nm.tensors[c.scores]!];
    const note = 'torchvision nms / batched_nms keep indices (ties: lower index first; IoU > thr strict; zero-area pairs never suppress); ops_nms_s0.safetensors';
    if (c.idxs) {
      const cls = nm.tensors[c.idxs]!;
      out.push(raw(`nms/official-${base}-i64`, 'nms', [...ins, cls], { iouThreshold: c.iou_threshold }, [keep], [0, 0], note));
      out.push(raw(`nms/official-${base}-i32`, 'nms', [...ins, toInt32(cls)], { iouThreshold: c.iou_threshold }, [keep], [0, 0], `${note} (classes as int32)`));
    } else out.push(raw(`nms/official-${base}`, 'nms', ins, { iouThreshold: c.iou_threshold }, [keep], [0, 0], note));
  }
  return out;
}

/**
 * Informational: how onnxruntime's RoiAlign and NonMaxSuppression compare with the official
 * torchvision vectors (printed by the generator; not used for expected values).
 */
export async function crossCheckOfficialWithOrt(dir: string): Promise<string[]> {
  const { runGraph, attr } = await import('./graph');
  const lines: string[] = [];
  const ra = readSafetensors(join(dir, 'ops_roi_align_s0.safetensors'));
  const cfg = JSON.parse(ra.metadata.config!) as { cases: { name: string; aligned: boolean; output_size: number[]; sampling_ratio: number; spatial_scale: number }[] };
  const rois = ra.tensors.rois!.data as Float32Array;
  const K = ra.tensors.rois!.shape[0]!;
  const boxes: HostTensor = { dtype: 'float32', shape: [K, 4], data: Float32Array.from({ length: K * 4 }, (_, i) => rois[Math.floor(i / 4) * 5 + 1 + (i % 4)]!) };
  const bidx: HostTensor = { dtype: 'int64', shape: [K], data: BigInt64Array.from({ length: K }, (_, k) => BigInt(rois[k * 5]!)) };
  for (const c of cfg.cases) {
    const [y] = await runGraph([ra.tensors.input!, boxes, bidx], (g) => [
      g.op1('RoiAlign', [g.x(0), g.x(1), g.x(2)], {
        mode: attr.string('avg'),
        output_height: attr.int(c.output_size[0]!),
        output_width: attr.int(c.output_size[1]!),
        sampling_ratio: attr.int(c.sampling_ratio),
        spatial_scale: attr.float(c.spatial_scale),
        coordinate_transformation_mode: attr.string(c.aligned ? 'half_pixel' : 'output_half_pixel'),
      }),
    ], 16);
    const ref = ra.tensors[c.name]!.data as Float32Array;
    let m = 0;
    (y!.data as Float32Array).forEach((v, i) => (m = Math.max(m, Math.abs(v - ref[i]!))));
    lines.push(`onnxruntime RoiAlign vs official ${c.name} (aligned ${c.aligned}, sr ${c.sampling_ratio}): max|diff| ${m.toExponential(2)}`);
  }
  return lines;
}
