import { traceUniformer, traceVivit, configFromOfficial } from '@tubelet/models';
import { readSt } from '../test/fixtures/uniformer/helpers';
import { readVector } from '../test/vivit-helpers';
const all = new Map<string, Set<string>>();
const add = (g: any) => { for (const n of g.nodes) { const k = n.op; if (!all.has(k)) all.set(k, new Set()); all.get(k)!.add(JSON.stringify(n.attrs).slice(0, 160)); } };
for (const c of ['video_tiny', 'image_tiny', 'image_convstem_tiny', 'det_hybrid_tiny', 'pose_tiny']) {
  const io = readSt(`${c}.io.safetensors`);
  const cfg = configFromOfficial(JSON.parse(io.metadata.config!));
  const t = await traceUniformer(cfg, io.tensors.get('input')!.shape);
  add(t.graph);
  console.log(c, t.graph.nodes.length, t.graph.inputs.map((i: any) => i.shape), t.graph.outputs.map((o: any) => o.name + ':' + o.shape), 'consts', t.graph.constants.filter((c: any) => !c.name).map((c: any) => c.shape.join('x')).join(','));
}
for (const m of ['m1_tubelet_token','m1_framesample_gap','m2_tubelet_token','m2_framesample_gap','m3_tubelet_gap','m4_tubelet_gap']) {
  const v = readVector(`${m}.safetensors`);
  const t = await traceVivit(v.config as any, { batch: 2 });
  add(t.graph);
  console.log(m, t.graph.nodes.length, 'consts', t.graph.constants.filter((c: any) => !c.name).map((c: any) => c.shape.join('x') + c.dtype).join(','));
}
for (const [k, s] of all) console.log(k, s.size, [...s].slice(0, 8).join(' | '));
