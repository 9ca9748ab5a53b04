/**
 * Media input for classification: a video file, a still image (jpg/png/…) or a folder of frames
 * (img_00001.jpg, …), decoded with ffmpeg to 8-bit RGB (`-f rawvideo -pix_fmt rgb24`, read from a pipe).
 *
 * - `probeMedia(path)`: kind, size, frame count (ffprobe's packet count — no decoding — or, without
 *   ffprobe, a count by decoding), fps.
 * - `readFrames(info, indices)`: only the requested frames, in request order. Videos are decoded once at
 *   their native frame rate; ffmpeg's `select` filter drops all the other frames before colour conversion,
 *   and the pipe is read frame by frame, so only the kept frames are ever held in memory.
 * - `loadClips(path, plan)`: probe → plan indices per clip → decode the union once → frames per clip;
 *   if the container's count was wrong (fewer decodable frames), it recounts by decoding and re-plans.
 *
 * Frames are decoded as the official pipelines read them: every frame at native fps, no resampling; the
 * container's rotation is applied (ffmpeg's default autorotate); colour conversion uses swscale's bicubic
 * with accurate rounding and bit-exact mode, so the RGB values are reproducible across machines.
 */
import { type Stats, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { RgbImage } from '../preprocess/types';
import { type FfmpegOptions, type FfmpegTools, MediaError, findFfmpeg, firstErrorLine, runTool } from './ffmpeg';

export { FFMPEG_MISSING, type FfmpegOptions, type FfmpegTools, MediaError, findFfmpeg } from './ffmpeg';
export type { RgbImage } from '../preprocess/types';

export type MediaKind = 'video' | 'image' | 'frames';

export interface MediaInfo {
  kind: MediaKind;
  path: string;
  /** size of the decoded frames (after rotation) */
  width: number;
  height: number;
  /** number of frames (1 for an image; number of files for a folder) */
  frameCount: number;
  /** frames per second when known (videos) */
  fps: number | null;
  durationSec: number | null;
  codec: string | null;
  /** frame files of a folder, in order */
  files?: string[];
  /** 'packets' (container count, not decoded), 'decoded' (counted by decoding), 'files' */
  countedBy: 'packets' | 'decoded' | 'files' | 'image';
}

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff'];

/** The filters that turn decoded video frames into RGB24 reproducibly (swscale's default bicubic, as the
 * official decoders use, plus accurate rounding and bit-exact mode). */
const RGB = 'scale=iw:ih:flags=bicubic+accurate_rnd+bitexact,format=rgb24';
/** For still images (and frame folders): full-resolution chroma interpolation, which is closer to
 * libjpeg's (Pillow's, OpenCV's) decoding of JPEGs (mean |diff| 0.6 instead of 1.0 levels on a test photo;
 * PNGs are exact either way). */
const RGB_IMAGE = 'scale=iw:ih:flags=bicubic+accurate_rnd+full_chroma_int+bitexact,format=rgb24';

function tools(opts: FfmpegOptions): FfmpegTools {
  return findFfmpeg(opts);
}

function ensureReadable(path: string): Stats {
  try {
    return statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new MediaError(code === 'ENOENT' ? `cannot read '${path}': no such file or directory` : `cannot read '${path}': ${(e as Error).message}`);
  }
}

function ratio(s: string | undefined): number | null {
  if (!s) return null;
  const [a, b] = s.split('/').map(Number);
  if (!a || !b || !Number.isFinite(a / b)) return null;
  return a / b;
}

interface ProbeJson {
  streams?: {
    codec_name?: string;
    width?: number;
    height?: number;
    r_frame_rate?: string;
    avg_frame_rate?: string;
    nb_frames?: string;
    nb_read_packets?: string;
    duration?: string;
    tags?: { rotate?: string };
    side_data_list?: { rotation?: number }[];
  }[];
  format?: { format_name?: string; duration?: string };
}

/** Frame count by decoding (1×1 grey frames, so it is cheap). */
async function countByDecoding(path: string, t: FfmpegTools, signal?: AbortSignal): Promise<number> {
  let bytes = 0;
  const r = await runTool(t.ffmpeg, ['-hide_banner', '-nostdin', '-v', 'error', '-i', path, '-map', '0:v:0', '-vf', 'scale=1:1', '-vsync', '0', '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'], {
    signal,
    onStdout: (c) => {
      bytes += c.length;
    },
  });
  if (r.code !== 0 && bytes === 0) throw new MediaError(`cannot read video or image '${path}': ${firstErrorLine(r.stderr, path)}`);
  return bytes;
}

async function probeFile(path: string, t: FfmpegTools, signal?: AbortSignal): Promise<MediaInfo> {
  if (!t.ffprobe) return probeWithoutFfprobe(path, t, signal);
  const r = await runTool(
    t.ffprobe,
    [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-count_packets',
      '-show_entries',
      'stream=codec_name,width,height,r_frame_rate,avg_frame_rate,nb_frames,nb_read_packets,duration:stream_tags=rotate:stream_side_data=rotation:format=format_name,duration',
      '-of',
      'json',
      path,
    ],
    { signal },
  );
  let j: ProbeJson = {};
  try {
    j = JSON.parse(r.stdout.toString('utf8') || '{}') as ProbeJson;
  } catch {
    /* handled below */
  }
  const s = j.streams?.[0];
  if (r.code !== 0 || !s || !s.width || !s.height) {
    const why = r.code !== 0 ? firstErrorLine(r.stderr, path) : 'no video stream';
    throw new MediaError(`cannot read video or image '${path}': ${why}`);
  }
  const rot = Math.abs(Number(s.side_data_list?.find((d) => d.rotation !== undefined)?.rotation ?? s.tags?.rotate ?? 0)) % 180;
  const [width, height] = rot === 90 ? [s.height, s.width] : [s.width, s.height];
  const format = j.format?.format_name ?? '';
  const image = /(^|,)image2($|,)|_pipe$/.test(format) && Number(s.nb_read_packets ?? 1) <= 1;
  let frameCount = Number(s.nb_read_packets ?? s.nb_frames ?? 0);
  let countedBy: MediaInfo['countedBy'] = image ? 'image' : 'packets';
  if (!frameCount || !Number.isFinite(frameCount)) {
    frameCount = await countByDecoding(path, t, signal);
    countedBy = 'decoded';
  }
  if (frameCount < 1) throw new MediaError(`cannot read video or image '${path}': no decodable video frames`);
  const duration = Number(s.duration ?? j.format?.duration);
  return {
    kind: image ? 'image' : 'video',
    path,
    width,
    height,
    frameCount,
    fps: image ? null : (ratio(s.avg_frame_rate) ?? ratio(s.r_frame_rate)),
    durationSec: image || !Number.isFinite(duration) ? null : duration,
    codec: s.codec_name ?? null,
    countedBy,
  };
}

/** Without ffprobe: size and fps from ffmpeg's stream banner, count by decoding. */
async function probeWithoutFfprobe(path: string, t: FfmpegTools, signal?: AbortSignal): Promise<MediaInfo> {
  const r = await runTool(t.ffmpeg, ['-hide_banner', '-nostdin', '-i', path], { signal });
  const m = /Stream #\d+:\d+[^:]*: Video: ([^\s,]+).*?, (\d{2,5})x(\d{2,5})[\s,]/.exec(r.stderr);
  if (!m) throw new MediaError(`cannot read video or image '${path}': ${firstErrorLine(r.stderr, path)}`);
  const fps = /, ([\d.]+) fps/.exec(r.stderr);
  const frameCount = await countByDecoding(path, t, signal);
  if (frameCount < 1) throw new MediaError(`cannot read video or image '${path}': no decodable video frames`);
  const image = frameCount === 1 && IMAGE_EXTENSIONS.includes(extname(path).toLowerCase());
  return {
    kind: image ? 'image' : 'video',
    path,
    width: Number(m[2]),
    height: Number(m[3]),
    frameCount,
    fps: image || !fps ? null : Number(fps[1]),
    durationSec: null,
    codec: m[1] ?? null,
    countedBy: image ? 'image' : 'decoded',
  };
}

/** Image files of a folder in natural order (img_2 before img_10). */
export function listFrameFiles(dir: string): string[] {
  const files = readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isFile() && IMAGE_EXTENSIONS.includes(extname(d.name).toLowerCase()))
    .map((d) => d.name)
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  return files.map((f) => join(dir, f));
}

/** Probes a video file, an image file or a folder of frames. */
export async function probeMedia(path: string, opts: FfmpegOptions = {}): Promise<MediaInfo> {
  const st = ensureReadable(path);
  const t = tools(opts);
  if (st.isDirectory()) {
    const files = listFrameFiles(path);
    if (files.length === 0) throw new MediaError(`cannot read frames from '${path}': the folder has no image files (${IMAGE_EXTENSIONS.join(', ')})`);
    const first = await probeFile(files[0]!, t, opts.signal);
    return { kind: 'frames', path, width: first.width, height: first.height, frameCount: files.length, fps: null, durationSec: null, codec: first.codec, files, countedBy: 'files' };
  }
  if (st.size === 0) throw new MediaError(`cannot read video or image '${path}': the file is empty`);
  return probeFile(path, t, opts.signal);
}

/**
 * Decodes the frames with the given indices (0-based, any order, repeats allowed) of one video or image
 * file, streaming: returns one RGB image per distinct index (sorted) and the number of frames that were
 * actually decodable when fewer than asked.
 */
async function decodeSelected(path: string, width: number, height: number, wanted: number[], t: FfmpegTools, signal?: AbortSignal): Promise<{ frames: Map<number, RgbImage>; decoded: number }> {
  const frameBytes = width * height * 3;
  // select only the wanted frames (by decode order n) before colour conversion
  const expr = wanted.map((i) => `eq(n\\,${i})`).join('+');
  const vf = `select='${expr}',${RGB}`;
  const frames = new Map<number, RgbImage>();
  let buf = new Uint8Array(frameBytes);
  let fill = 0;
  let k = 0;
  let extra = 0;
  const r = await runTool(t.ffmpeg, ['-hide_banner', '-nostdin', '-v', 'error', '-i', path, '-map', '0:v:0', '-an', '-sn', '-dn', '-vf', vf, '-vsync', '0', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], {
    signal,
    onStdout: (chunk) => {
      let off = 0;
      while (off < chunk.length) {
        const n = Math.min(frameBytes - fill, chunk.length - off);
        buf.set(chunk.subarray(off, off + n), fill);
        fill += n;
        off += n;
        if (fill === frameBytes) {
          if (k < wanted.length) frames.set(wanted[k]!, { width, height, data: buf });
          else extra++;
          k++;
          buf = new Uint8Array(frameBytes);
          fill = 0;
        }
      }
    },
  });
  if (r.code !== 0 && k === 0) throw new MediaError(`cannot decode '${path}': ${firstErrorLine(r.stderr, path)}`);
  if (fill !== 0 || extra !== 0) throw new MediaError(`cannot decode '${path}': ffmpeg returned frames of an unexpected size (expected ${width}x${height})`);
  return { frames, decoded: k };
}

/**
 * The frames with the given indices, in the order asked (repeats share one buffer). Indices must be
 * within [0, frameCount). Throws MediaError when a frame cannot be decoded (see `loadClips` for the
 * recovery from wrong container frame counts).
 */
export async function readFrames(info: MediaInfo, indices: readonly number[], opts: FfmpegOptions = {}): Promise<RgbImage[]> {
  for (const i of indices) {
    if (!Number.isInteger(i) || i < 0 || i >= info.frameCount) throw new MediaError(`frame index ${i} is outside '${info.path}' (${info.frameCount} frames)`);
  }
  const wanted = [...new Set(indices)].sort((a, b) => a - b);
  const t = tools(opts);
  let frames: Map<number, RgbImage>;
  if (info.kind === 'frames') {
    frames = new Map();
    const files = info.files ?? listFrameFiles(info.path);
    const queue = [...wanted];
    const worker = async () => {
      for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
        const img = await decodeImage(files[i]!, opts);
        if (img.width !== info.width || img.height !== info.height)
          throw new MediaError(`frame '${files[i]}' is ${img.width}x${img.height}, but '${files[0]}' is ${info.width}x${info.height}`);
        frames.set(i, img);
      }
    };
    await Promise.all(Array.from({ length: Math.min(4, wanted.length) }, worker));
  } else if (info.kind === 'image') {
    frames = new Map([[0, await decodeImage(info.path, opts)]]);
  } else {
    const r = await decodeSelected(info.path, info.width, info.height, wanted, t, opts.signal);
    if (r.decoded < wanted.length) {
      throw new MediaError(`cannot decode '${info.path}': only ${r.decoded} of the ${wanted.length} requested frames could be decoded (container says ${info.frameCount} frames)`);
    }
    frames = r.frames;
  }
  return indices.map((i) => frames.get(i)!);
}

/**
 * Decodes a still image (or the first frame of a video) to RGB with a single ffmpeg run: the size is read
 * from ffmpeg's description of its raw output stream.
 */
export async function decodeImage(path: string, opts: FfmpegOptions = {}): Promise<RgbImage> {
  const st = ensureReadable(path);
  if (st.isDirectory()) throw new MediaError(`cannot read image '${path}': it is a folder`);
  if (st.size === 0) throw new MediaError(`cannot read video or image '${path}': the file is empty`);
  const t = tools(opts);
  const r = await runTool(t.ffmpeg, ['-hide_banner', '-nostdin', '-v', 'info', '-i', path, '-map', '0:v:0', '-frames:v', '1', '-vf', RGB_IMAGE, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], {
    signal: opts.signal,
  });
  const out = r.stderr.slice(r.stderr.indexOf('Output #0'));
  const m = /Stream #\d+:\d+: Video: rawvideo.*?, (\d+)x(\d+)[\s,]/.exec(out);
  if (r.code !== 0 || !m) throw new MediaError(`cannot read video or image '${path}': ${firstErrorLine(r.stderr.split('Output #0')[0] ?? r.stderr, path)}`);
  const width = Number(m[1]);
  const height = Number(m[2]);
  if (r.stdout.length !== width * height * 3) throw new MediaError(`cannot decode '${path}': expected ${width}x${height} RGB, got ${r.stdout.length} bytes`);
  return { width, height, data: new Uint8Array(r.stdout.buffer, r.stdout.byteOffset, r.stdout.length) };
}

/**
 * Probe, plan and decode in one go: `plan(frameCount)` returns frame indices per clip (e.g. a
 * preprocessing recipe's `sample`); the union is decoded once. When the container's frame count was too
 * high (some packets are not frames), the frames are recounted by decoding and the plan is redone.
 */
export async function loadClips(path: string, plan: (frameCount: number) => number[][], opts: FfmpegOptions = {}): Promise<{ info: MediaInfo; indices: number[][]; clips: RgbImage[][] }> {
  let info = await probeMedia(path, opts);
  let indices = plan(info.frameCount);
  let flat: RgbImage[];
  try {
    flat = await readFrames(info, indices.flat(), opts);
  } catch (e) {
    if (!(e instanceof MediaError) || info.kind !== 'video' || info.countedBy !== 'packets' || !/only \d+ of the/.test(e.message)) throw e;
    const n = await countByDecoding(path, tools(opts), opts.signal);
    if (n < 1) throw new MediaError(`cannot read video or image '${path}': no decodable video frames`);
    info = { ...info, frameCount: n, countedBy: 'decoded' };
    indices = plan(n);
    flat = await readFrames(info, indices.flat(), opts);
  }
  const clips: RgbImage[][] = [];
  let k = 0;
  for (const c of indices) {
    clips.push(flat.slice(k, k + c.length));
    k += c.length;
  }
  return { info, indices, clips };
}
