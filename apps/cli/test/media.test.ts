import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FFMPEG_MISSING, MediaError, type RgbImage, decodeImage, findFfmpeg, listFrameFiles, loadClips, probeMedia, readFrames } from '../src/media';
import { uniformerKineticsRecipe } from '../src/preprocess';

const CLIP = fileURLToPath(new URL('../assets/vtest-clip.mp4', import.meta.url));
const sha = (d: Uint8Array) => createHash('sha256').update(d).digest('hex');
const mean = (img: RgbImage, c: number) => {
  let s = 0;
  for (let i = c; i < img.data.length; i += 3) s += img.data[i]!;
  return s / (img.width * img.height);
};

let dir = '';
let ffmpeg = '';
beforeAll(() => {
  try {
    ffmpeg = findFfmpeg().ffmpeg;
  } catch {
    throw new Error('these tests need ffmpeg: run scripts/bootstrap.sh (or apt-get install ffmpeg)');
  }
  dir = mkdtempSync(join(tmpdir(), 'tubelet-media-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Writes an RGB image losslessly (PNG) with ffmpeg itself. */
function writePng(path: string, img: RgbImage): void {
  execFileSync(ffmpeg, ['-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${img.width}x${img.height}`, '-i', 'pipe:0', '-frames:v', '1', path], { input: img.data });
}

function pattern(width: number, height: number, seed: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + seed * 31 + ((i * i) % 13)) % 256;
  return { width, height, data };
}

describe('the shipped clip (assets/vtest-clip.mp4)', () => {
  it('probes: 64 frames of 426x320 at 10 fps, H.264', async () => {
    const info = await probeMedia(CLIP);
    expect(info).toMatchObject({ kind: 'video', width: 426, height: 320, frameCount: 64, fps: 10, codec: 'h264', durationSec: 6.4 });
  });

  it('decodes only the requested frames, in request order, with a deterministic checksum', async () => {
    const info = await probeMedia(CLIP);
    const f = await readFrames(info, [32, 0, 63, 32]);
    expect(f.map((x) => [x.width, x.height, x.data.length])).toEqual(Array(4).fill([426, 320, 426 * 320 * 3]));
    expect(f[3]).toBe(f[0]); // repeated index: same buffer
    expect(sha(f[0]!.data)).toBe('99f6a8d551f5b2e8d243ab7eccff2ff855163aafcb7bc5766eedf4f255e32a59');
    expect(Array.from(f[0]!.data.subarray(0, 9))).toEqual([179, 145, 105, 180, 146, 107, 182, 148, 109]);
    expect([0, 1, 2].map((c) => Math.round(mean(f[0]!, c)))).toEqual([119, 125, 88]);
    expect(sha(f[1]!.data)).not.toBe(sha(f[0]!.data)); // people walk
  });

  it('selecting frames gives exactly the frames of a full decode', async () => {
    const info = await probeMedia(CLIP);
    const all = await readFrames(info, Array.from({ length: 64 }, (_, i) => i));
    const some = await readFrames(info, [5, 47]);
    expect(sha(some[0]!.data)).toBe(sha(all[5]!.data));
    expect(sha(some[1]!.data)).toBe(sha(all[47]!.data));
  });

  it('counts frames by decoding when ffprobe is not used', async () => {
    const info = await probeMedia(CLIP, { ffprobePath: null });
    expect(info).toMatchObject({ kind: 'video', width: 426, height: 320, frameCount: 64, countedBy: 'decoded' });
  });

  it('loadClips: plan from the frame count, decode the union once, split per clip', async () => {
    const recipe = uniformerKineticsRecipe(16, 4);
    const r = await loadClips(CLIP, (n) => recipe.sample(n, 2));
    expect(r.indices).toEqual(recipe.sample(64, 2));
    expect(r.clips.map((c) => c.length)).toEqual([16, 16]);
    expect(r.clips[0]![5]!.data).toBe(r.clips[1]![5]!.data); // 64 frames, both clips start at 0
  });

  it('rejects out-of-range indices', async () => {
    const info = await probeMedia(CLIP);
    await expect(readFrames(info, [64])).rejects.toThrow(/frame index 64 is outside/);
  });
});

describe('images and folders of frames', () => {
  it('decodes a PNG exactly and a JPEG approximately', async () => {
    const img = pattern(37, 23, 1);
    const png = join(dir, 'p.png');
    writePng(png, img);
    const info = await probeMedia(png);
    expect(info).toMatchObject({ kind: 'image', width: 37, height: 23, frameCount: 1 });
    const back = await decodeImage(png);
    expect(back.width).toBe(37);
    expect(Buffer.from(back.data).equals(Buffer.from(img.data))).toBe(true);

    // a JPEG of a frame of the clip: close to the original
    const frame = (await readFrames(await probeMedia(CLIP), [10]))[0]!;
    const jpg = join(dir, 'f.jpg');
    execFileSync(ffmpeg, ['-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', '426x320', '-i', 'pipe:0', '-frames:v', '1', '-q:v', '2', jpg], { input: frame.data });
    const j = await decodeImage(jpg);
    expect([j.width, j.height]).toEqual([426, 320]);
    for (let c = 0; c < 3; c++) expect(Math.abs(mean(j, c) - mean(frame, c))).toBeLessThan(2);
  });

  it('reads a folder of frames in natural order, decoding only the needed files', async () => {
    const frames = join(dir, 'frames');
    mkdirSync(frames);
    const colors = [10, 60, 110, 160, 210, 250];
    // names: img_1 … img_6 without padding, plus a non-image file; natural order must put img_2 before img_10
    colors.forEach((v, i) => writePng(join(frames, `img_${i + 1}.png`), { width: 8, height: 6, data: new Uint8Array(8 * 6 * 3).fill(v) }));
    writePng(join(frames, 'img_10.png'), { width: 8, height: 6, data: new Uint8Array(8 * 6 * 3).fill(99) });
    writeFileSync(join(frames, 'notes.txt'), 'not a frame');
    expect(listFrameFiles(frames).map((f) => f.split('/').pop())).toEqual(['img_1.png', 'img_2.png', 'img_3.png', 'img_4.png', 'img_5.png', 'img_6.png', 'img_10.png']);
    const info = await probeMedia(frames);
    expect(info).toMatchObject({ kind: 'frames', width: 8, height: 6, frameCount: 7 });
    const got = await readFrames(info, [6, 1, 0, 1]);
    expect(got.map((g) => g.data[0])).toEqual([99, 60, 10, 60]);
  });

  it('a folder with frames of different sizes is an error naming the file', async () => {
    const frames = join(dir, 'mixed');
    mkdirSync(frames);
    writePng(join(frames, 'img_00001.png'), pattern(8, 6, 2));
    writePng(join(frames, 'img_00002.png'), pattern(9, 6, 3));
    const info = await probeMedia(frames);
    await expect(readFrames(info, [0, 1])).rejects.toThrow(/img_00002\.png' is 9x6/);
  });
});

describe('errors are one clear line naming the file', () => {
  const oneLine = async (p: Promise<unknown>): Promise<string> => {
    try {
      await p;
    } catch (e) {
      expect(e).toBeInstanceOf(MediaError);
      const m = (e as Error).message;
      expect(m).not.toContain('\n');
      return m;
    }
    throw new Error('expected a MediaError');
  };

  it('missing file', async () => {
    const p = join(dir, 'nope.mp4');
    expect(await oneLine(probeMedia(p))).toBe(`cannot read '${p}': no such file or directory`);
    expect(await oneLine(decodeImage(p))).toMatch(/no such file/);
  });

  it('corrupt, truncated and empty files', async () => {
    const bad = join(dir, 'bad.mp4');
    writeFileSync(bad, Buffer.from('this is not a video at all, just text'.repeat(50)));
    expect(await oneLine(probeMedia(bad))).toMatch(new RegExp(`^cannot read video or image '${bad}': `));
    expect(await oneLine(decodeImage(bad))).toMatch(new RegExp(`^cannot read video or image '${bad}': `));
    const trunc = join(dir, 'trunc.avi');
    writeFileSync(trunc, Buffer.from('RIFF\u0000\u0000\u0000\u0000AVI LIST'));
    expect(await oneLine(probeMedia(trunc))).toContain(trunc);
    const empty = join(dir, 'empty.jpg');
    writeFileSync(empty, '');
    expect(await oneLine(probeMedia(empty))).toBe(`cannot read video or image '${empty}': the file is empty`);
    const emptyDir = join(dir, 'nothing');
    mkdirSync(emptyDir);
    expect(await oneLine(probeMedia(emptyDir))).toMatch(/has no image files/);
  });

  it('ffmpeg not installed', async () => {
    const env = { PATH: join(dir, 'no-such-bin') };
    expect(() => findFfmpeg({ env })).toThrow(FFMPEG_MISSING);
    expect(FFMPEG_MISSING).toBe('ffmpeg is not installed: apt-get install ffmpeg');
    expect(await oneLine(probeMedia(CLIP, { env }))).toBe(FFMPEG_MISSING);
  });
});
