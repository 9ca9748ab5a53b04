/**
 * Locating and running ffmpeg / ffprobe (Debian package `ffmpeg`) as child processes. No shell is
 * involved: arguments are passed as an array.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/** A problem with an input file or with ffmpeg itself: printed by the CLI as one line. */
export class MediaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MediaError';
  }
}

export const FFMPEG_MISSING = 'ffmpeg is not installed: apt-get install ffmpeg';

export interface FfmpegOptions {
  /** explicit ffmpeg binary (default: TUBELET_FFMPEG, then `ffmpeg` on PATH) */
  ffmpegPath?: string;
  /** explicit ffprobe binary (default: TUBELET_FFPROBE, then `ffprobe` on PATH / next to ffmpeg); null: do
   * not use ffprobe (frames are then counted by decoding) */
  ffprobePath?: string | null;
  /** environment used for the PATH search (default process.env) */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

export interface FfmpegTools {
  ffmpeg: string;
  /** null when only ffmpeg is available: frame counts are then found by decoding */
  ffprobe: string | null;
}

function isExecutable(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function which(name: string, env: NodeJS.ProcessEnv): string | null {
  if (isAbsolute(name)) return isExecutable(name) ? name : null;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    if (isExecutable(p)) return p;
  }
  return null;
}

/** Finds ffmpeg (required) and ffprobe (optional); throws MediaError(FFMPEG_MISSING) without ffmpeg. */
export function findFfmpeg(opts: FfmpegOptions = {}): FfmpegTools {
  const env = opts.env ?? process.env;
  const ffmpeg = which(opts.ffmpegPath ?? env.TUBELET_FFMPEG ?? 'ffmpeg', env);
  if (!ffmpeg) throw new MediaError(FFMPEG_MISSING);
  if (opts.ffprobePath === null) return { ffmpeg, ffprobe: null };
  const ffprobe = which(opts.ffprobePath ?? env.TUBELET_FFPROBE ?? 'ffprobe', env) ?? (opts.ffprobePath ? null : which(join(ffmpeg, '..', 'ffprobe'), env));
  return { ffmpeg, ffprobe };
}

export interface RunResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/**
 * Runs a tool; stdout goes to `onStdout` when given (streaming, nothing kept) or is collected; stderr is
 * collected (capped). Rejects only if the process cannot be started or is aborted.
 */
export function runTool(bin: string, args: string[], opts: { signal?: AbortSignal; onStdout?: (chunk: Buffer) => void } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], signal: opts.signal });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      if (opts.onStdout) opts.onStdout(c);
      else out.push(c);
    });
    child.stderr.on('data', (c: Buffer) => {
      if (err.length < 64_000) err += c.toString('utf8');
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.name === 'AbortError') reject(new MediaError('decoding was cancelled'));
      else if (e.code === 'ENOENT') reject(new MediaError(FFMPEG_MISSING));
      else reject(new MediaError(`cannot run ${bin}: ${e.message}`));
    });
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: err }));
  });
}

/** The most useful line of an ffmpeg/ffprobe error output. */
export function firstErrorLine(stderr: string, path?: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  // "path: Invalid data found when processing input" is the clearest; otherwise the last line
  const pick = lines.find((l) => /Invalid data|No such file|Permission denied|moov atom not found|does not contain any stream/i.test(l)) ?? lines.at(-1) ?? 'unknown error';
  let line = pick.replace(/^\[[^\]]+\]\s*/, '');
  if (path && line.startsWith(`${path}: `)) line = line.slice(path.length + 2);
  return line.slice(0, 300);
}
