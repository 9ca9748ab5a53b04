import { formatReport } from '@tubelet/core';
import { type UniformerPreset, VIVIT_PRESETS, createUniformer, traceUniformer, traceUniformerStages, traceVivit, uniformerPresets } from '@tubelet/models';
import { bytes, table } from '../format';

/** The input a named config is evaluated on (one view), for reports. */
export function presetInputShape(p: UniformerPreset): number[] {
  const pre = p.preprocess;
  switch (pre.type) {
    case 'video':
      return [1, 3, pre.numFrames, pre.crop, pre.crop];
    case 'image':
      return [1, 3, pre.crop, pre.crop];
    case 'pose':
      return [1, 3, pre.imageSize[1], pre.imageSize[0]];
    case 'detection':
    case 'segmentation': {
      // the longer side at scale[0], the shorter at scale[1], padded to /32 (a 4:3 image)
      const h = pre.scale[1];
      const w = Math.min(pre.scale[0], Math.round((h * 4) / 3));
      return [1, 3, Math.ceil(h / 32) * 32, Math.ceil(w / 32) * 32];
    }
  }
}

export function isModelName(name: string): boolean {
  return uniformerPresets().some((p) => p.name === name) || name in VIVIT_PRESETS;
}

export async function runModels(opts: { json: boolean }): Promise<void> {
  const rows = [
    ...uniformerPresets().map((p) => ({ name: p.name, family: 'uniformer', task: p.task, dataset: p.dataset, classes: p.numClasses })),
    ...Object.values(VIVIT_PRESETS).map((p) => ({ name: p.name, family: 'vivit', task: 'video-classification', dataset: 'kinetics-400', classes: p.config.numClasses })),
  ];
  if (opts.json) {
    console.log(JSON.stringify(rows, null, 2));
    return;
  }
  console.log(table([['name', 'task', 'dataset', 'classes'], ...rows.map((r) => [r.name, r.task, r.dataset, String(r.classes || '-')])]));
}

/** `tubelet inspect <model>`: exact parameters, FLOPs per stage, output shapes and peak activations (tracer). */
export async function inspectModel(name: string, opts: { json: boolean }): Promise<void> {
  const preset = uniformerPresets().find((p) => p.name === name);
  if (!preset) {
    const t = await traceVivit(name);
    if (opts.json) {
      console.log(JSON.stringify({ model: name, params: t.params, flops: t.flops, peakActivationBytes: t.summary.peakActivationBytes, outputs: t.graph.outputs.map((o) => ({ name: o.name, shape: o.shape })) }, null, 2));
      return;
    }
    console.log(t.report);
    return;
  }
  const shape = presetInputShape(preset);
  const full = await traceUniformer(preset.config, shape);
  const stages = await traceUniformerStages(preset.config, shape);
  const s = full.summary;
  const skeleton = createUniformer(preset.config);
  const params = skeleton.numParameters();
  const buffers = skeleton.numBufferElements();
  if (opts.json) {
    console.log(
      JSON.stringify(
        { model: name, input: shape, params, buffers, flops: s.flops, peakActivationBytes: s.peakActivationBytes, stages, outputs: full.graph.outputs.map((o) => ({ name: o.name, shape: o.shape })) },
        null,
        2,
      ),
    );
    return;
  }
  console.log(`${name} (${preset.task}, ${preset.dataset}; ${preset.official})`);
  console.log(`  input       [${shape.join(', ')}]`);
  console.log(`  parameters  ${params.toLocaleString('en-US')} (+ ${buffers.toLocaleString('en-US')} BatchNorm buffer values)`);
  console.log(`  FLOPs       ${(s.flops / 1e9).toFixed(2)} G (multiply-add = 2) per view`);
  console.log(`  peak activations ${bytes(s.peakActivationBytes)}`);
  console.log(`  outputs     ${full.graph.outputs.map((o) => `${o.name} [${o.shape.join(', ')}]`).join(', ')}\n`);
  console.log(table([['stage', 'GFLOPs', 'share', 'output'], ...stages.map((st) => [st.name, (st.flops / 1e9).toFixed(2), `${((100 * st.flops) / s.flops).toFixed(1)}%`, `[${st.shape.join(', ')}]`])], ['l', 'r', 'r', 'l']));
  console.log('');
  console.log(formatReport(s, { title: 'ops' }));
}
