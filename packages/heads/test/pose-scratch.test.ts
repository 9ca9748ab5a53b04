import { writeFileSync } from 'node:fs';
import { it } from 'vitest';
import { boxToCenterScale, getAffineTransform } from '../src/pose/affine';
import { readPoseFixture } from './pose-helpers';

it('gen', () => {
  const f = readPoseFixture('pose_affine_s0.safetensors');
  const img = f.get('image_rgb_hwc');
  const out: any = { image: Buffer.from(Uint8Array.from(img.data as Float32Array)).toString('base64'), shape: img.shape, crops: [] };
  for (const c of (f.config.crops as any[])) {
    if (c.name === 'a') continue;
    const cs = boxToCenterScale(c.box_xywh, c.out_wh);
    const M = getAffineTransform(cs.center, cs.scale, c.rot, c.out_wh);
    const crop = f.get(`${c.name}.crop_uint8_hwc`);
    out.crops.push({ ...c, M, shape: crop.shape, crop: Buffer.from(Uint8Array.from(crop.data as Float32Array)).toString('base64') });
  }
  writeFileSync('/tmp/pose-cases.json', JSON.stringify(out));
});
