/**
 * `fetchWeights(url)`: download a weights file once into the user's cache and reuse it.
 *
 * - Cache: `$TUBELET_CACHE_DIR`, else `$XDG_CACHE_HOME/tubelet`, else `~/.cache/tubelet`; the file is
 *   `<16 hex of sha256(url)>-<file name of the URL>`, with a `.json` note of its size/hash/ETag.
 * - Downloads go to `<file>.part` and are renamed into place only after the size (Content-Length /
 *   Content-Range / the `size` option) and, when given, the sha256 have been checked — the cache never
 *   holds a partial or corrupt file under the final name.
 * - Resume: when a `.part` exists (an earlier run was interrupted, or a connection drops during this one),
 *   the next request asks for `Range: bytes=<have>-` (with `If-Range` when the server gave a strong ETag
 *   or a Last-Modified). A 206 appends; a 200 (server without ranges, or the file changed) starts over;
 *   a 416 on an already complete part is accepted.
 * - Errors are `DownloadError`s with one-line messages: HTTP status, size mismatch, sha256 mismatch
 *   (expected and actual hashes), network error (the `.part` is kept: run again to resume), cancelled.
 * - Progress on stderr: a bar on a terminal (percent, MB, MB/s), a line every few seconds otherwise,
 *   nothing with `progress: 'none'`.
 * Node's built-in fetch; no other dependency.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { type DownloadProgress, type ProgressMode, ProgressPrinter, type ProgressStream } from './progress';

export { type DownloadProgress, type ProgressMode, type ProgressStream, ProgressPrinter, formatProgress } from './progress';

export type DownloadErrorKind = 'url' | 'http' | 'size' | 'hash' | 'network' | 'aborted' | 'cache';

/** A failed download, with a one-line message. */
export class DownloadError extends Error {
  constructor(
    message: string,
    readonly kind: DownloadErrorKind,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'DownloadError';
  }
}

export interface FetchWeightsOptions {
  /** where to keep downloads (default: `defaultCacheDir()`) */
  cacheDir?: string;
  /** expected sha256 (hex); checked after download and on every reuse */
  sha256?: string;
  /** expected size in bytes; checked against the server's and the file's */
  size?: number;
  onProgress?: (p: DownloadProgress) => void;
  signal?: AbortSignal;
  /** stderr display: 'auto' (bar on a TTY, lines otherwise; default), 'bar', 'lines', 'none' */
  progress?: ProgressMode;
  /** where the display goes (default process.stderr) */
  stream?: ProgressStream;
  /** how many times a dropped connection is resumed within this call (default 3) */
  retries?: number;
  /** file name in the cache (default: from the URL) */
  fileName?: string;
}

interface Meta {
  url: string;
  size: number;
  sha256?: string;
  etag?: string | null;
  lastModified?: string | null;
}

/** `$TUBELET_CACHE_DIR`, else `$XDG_CACHE_HOME/tubelet`, else `~/.cache/tubelet`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TUBELET_CACHE_DIR) return env.TUBELET_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'tubelet');
  return join(env.HOME || homedir(), '.cache', 'tubelet');
}

function parseUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new DownloadError(`not a URL: '${url}'`, 'url');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new DownloadError(`cannot download '${url}': only http and https URLs are supported`, 'url');
  return u;
}

/** The cache path a URL downloads to. */
export function cachePathFor(url: string, opts: Pick<FetchWeightsOptions, 'cacheDir' | 'fileName'> = {}): string {
  const u = parseUrl(url);
  const base = opts.fileName ?? decodeURIComponent(u.pathname.split('/').filter(Boolean).pop() ?? '');
  const safe = base.replace(/[^A-Za-z0-9._+-]/g, '_').replace(/^\.+/, '').slice(0, 120) || 'download';
  const key = createHash('sha256').update(u.href).digest('hex').slice(0, 16);
  return join(opts.cacheDir ?? defaultCacheDir(), `${key}-${safe}`);
}

async function fileSize(p: string): Promise<number | null> {
  try {
    return (await stat(p)).size;
  } catch {
    return null;
  }
}

async function hashFile(p: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(p)) h.update(c as Buffer);
  return h.digest('hex');
}

async function readMeta(p: string): Promise<Partial<Meta> | null> {
  try {
    return JSON.parse(await readFile(p, 'utf8')) as Partial<Meta>;
  } catch {
    return null;
  }
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

function normHash(h: string | undefined): string | undefined {
  if (h === undefined) return undefined;
  const x = h.trim().toLowerCase().replace(/^sha256:/, '');
  if (!/^[0-9a-f]{64}$/.test(x)) throw new DownloadError(`bad sha256 '${h}': expected 64 hex digits`, 'hash');
  return x;
}

/**
 * Downloads `url` into the cache (or reuses the cached copy) and returns the local path.
 */
export async function fetchWeights(url: string, opts: FetchWeightsOptions = {}): Promise<string> {
  parseUrl(url);
  const want = normHash(opts.sha256);
  if (opts.size !== undefined && (!Number.isInteger(opts.size) || opts.size < 0)) throw new DownloadError(`bad size ${opts.size}`, 'size');
  const dest = cachePathFor(url, opts);
  const part = `${dest}.part`;
  const metaPath = `${dest}.json`;
  const partMetaPath = `${part}.json`;
  const name = basename(dest).slice(17) || basename(dest);
  try {
    await mkdir(join(dest, '..'), { recursive: true });
  } catch (e) {
    throw new DownloadError(`cannot create the cache directory ${join(dest, '..')}: ${(e as Error).message}`, 'cache');
  }

  // 1. reuse a verified cached copy
  const have = await fileSize(dest);
  if (have !== null) {
    const meta = await readMeta(metaPath);
    const expectSize = opts.size ?? meta?.size;
    let ok = expectSize === undefined || have === expectSize;
    if (ok && want) ok = (await hashFile(dest)) === want;
    if (ok) return dest;
    await rm(dest, { force: true });
    await rm(metaPath, { force: true });
  }

  // 2. download (resuming a .part), retrying dropped connections
  const printer = new ProgressPrinter(opts.stream ?? process.stderr, opts.progress ?? 'auto', name);
  const retries = opts.retries ?? 3;
  let lastError: DownloadError | null = null;
  for (let attempt = 0; attempt <= retries; attempt++) {
    if (attempt > 0) await wait(Math.min(2000, 250 * attempt));
    if (opts.signal?.aborted) throw new DownloadError(`download of ${url} was cancelled (partial file kept for resuming)`, 'aborted');
    try {
      const done = await downloadOnce(url, part, partMetaPath, opts, printer);
      // 3. verify, then move into place atomically (same directory)
      const size = await fileSize(part);
      if (opts.size !== undefined && size !== opts.size) {
        await rm(part, { force: true });
        await rm(partMetaPath, { force: true });
        throw new DownloadError(`size mismatch for ${url}: expected ${opts.size} bytes, downloaded ${size}`, 'size');
      }
      if (want && done.sha256 !== want) {
        await rm(part, { force: true });
        await rm(partMetaPath, { force: true });
        throw new DownloadError(`sha256 mismatch for ${url}: expected ${want}, got ${done.sha256}`, 'hash');
      }
      await rename(part, dest);
      const meta: Meta = { url, size: size ?? 0, sha256: done.sha256, etag: done.etag, lastModified: done.lastModified };
      await writeFile(metaPath, `${JSON.stringify(meta, null, 2)}\n`);
      await rm(partMetaPath, { force: true });
      return dest;
    } catch (e) {
      printer.abort();
      if (!(e instanceof DownloadError)) throw e;
      if (e.kind !== 'network') throw e;
      lastError = e;
    }
  }
  throw lastError ?? new DownloadError(`download of ${url} failed`, 'network');
}

interface Done {
  sha256: string;
  etag: string | null;
  lastModified: string | null;
}

/** One HTTP request: continues `part` (Range) or starts it over; throws DownloadError('network') on a drop. */
async function downloadOnce(url: string, part: string, partMetaPath: string, opts: FetchWeightsOptions, printer: ProgressPrinter): Promise<Done> {
  let offset = (await fileSize(part)) ?? 0;
  const pm = offset > 0 ? await readMeta(partMetaPath) : null;
  if (offset > 0 && (!pm || pm.url !== url)) offset = 0; // a part we know nothing about: start over
  const known = opts.size ?? pm?.size;
  if (known !== undefined && offset > known) offset = 0;

  const headers: Record<string, string> = { 'accept-encoding': 'identity', 'user-agent': 'tubelet' };
  if (offset > 0) {
    headers.range = `bytes=${offset}-`;
    if (pm?.etag && !pm.etag.startsWith('W/')) headers['if-range'] = pm.etag;
    else if (pm?.lastModified) headers['if-range'] = pm.lastModified;
  }
  let res: Response;
  try {
    res = await fetch(url, { headers, signal: opts.signal, redirect: 'follow' });
  } catch (e) {
    throw netError(url, e, opts.signal);
  }
  const etag = res.headers.get('etag');
  const lastModified = res.headers.get('last-modified');
  let total: number | null = null;
  if (res.status === 416 && offset > 0) {
    // nothing left to send: complete if the server's size is what we have
    const m = /\*\/(\d+)/.exec(res.headers.get('content-range') ?? '');
    await res.body?.cancel();
    if (m && Number(m[1]) === offset) {
      return { sha256: await hashFile(part), etag: pm?.etag ?? etag, lastModified: pm?.lastModified ?? lastModified };
    }
    await rm(part, { force: true });
    throw new DownloadError(`server rejected resuming ${url} (HTTP 416); starting over`, 'network');
  }
  if (res.status === 206 && offset > 0) {
    const m = /bytes (\d+)-(\d+)\/(\d+|\*)/.exec(res.headers.get('content-range') ?? '');
    if (!m || Number(m[1]) !== offset) {
      await res.body?.cancel();
      await rm(part, { force: true });
      throw new DownloadError(`server sent the wrong range for ${url} (${res.headers.get('content-range') ?? 'no Content-Range'}); starting over`, 'network');
    }
    total = m[3] === '*' ? null : Number(m[3]);
  } else if (res.status === 200 || res.status === 206) {
    offset = 0; // no range support, or the file changed (If-Range): start over
    const len = res.headers.get('content-length');
    const m = /bytes 0-(\d+)\/(\d+)/.exec(res.headers.get('content-range') ?? '');
    total = res.status === 206 ? (m ? Number(m[2]) : null) : len !== null && !res.headers.get('content-encoding') ? Number(len) : null;
  } else {
    await res.body?.cancel().catch(() => undefined);
    const retryable = res.status >= 500 || res.status === 429 || res.status === 408;
    const what = `download of ${url} failed: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
    if (retryable) throw new DownloadError(what, 'network', res.status);
    throw new DownloadError(what, 'http', res.status);
  }
  if (!res.body) throw new DownloadError(`download of ${url} failed: empty response`, 'network');
  if (opts.size !== undefined && total !== null && total !== opts.size) {
    await res.body.cancel();
    await rm(part, { force: true });
    await rm(partMetaPath, { force: true });
    throw new DownloadError(`size mismatch for ${url}: expected ${opts.size} bytes, the server reports ${total}`, 'size');
  }
  const size = total ?? opts.size;
  await writeFile(partMetaPath, JSON.stringify({ url, size, etag, lastModified }));

  const hash = createHash('sha256');
  if (offset > 0) for await (const c of createReadStream(part, { end: offset - 1 })) hash.update(c as Buffer);
  const fh = await open(part, offset > 0 ? 'r+' : 'w');
  let received = offset;
  const t0 = performance.now();
  const progress = (done: boolean): DownloadProgress => {
    const dt = (performance.now() - t0) / 1000;
    return { url, received, total: size ?? null, resumedFrom: offset, bytesPerSecond: dt > 0 ? (received - offset) / dt : 0, done };
  };
  printer.start(offset, size ?? null);
  try {
    await fh.truncate(offset);
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      if (size !== undefined && received + chunk.length > size) {
        throw new DownloadError(`size mismatch for ${url}: the server sent more than the ${size} bytes it announced`, 'size');
      }
      await fh.write(chunk, 0, chunk.length, received);
      hash.update(chunk);
      received += chunk.length;
      const p = progress(false);
      opts.onProgress?.(p);
      printer.update(p);
    }
  } catch (e) {
    await fh.close();
    if (e instanceof DownloadError) {
      if (e.kind === 'size') {
        await rm(part, { force: true });
        await rm(partMetaPath, { force: true });
      }
      throw e;
    }
    throw netError(url, e, opts.signal, received, size);
  }
  await fh.close();
  if (size !== undefined && received < size) {
    throw new DownloadError(`download of ${url} was interrupted at ${received} of ${size} bytes (run again to resume)`, 'network');
  }
  const p = progress(true);
  opts.onProgress?.(p);
  printer.update(p);
  return { sha256: hash.digest('hex'), etag, lastModified };
}

function netError(url: string, e: unknown, signal?: AbortSignal, received?: number, size?: number): DownloadError {
  if (signal?.aborted) return new DownloadError(`download of ${url} was cancelled (partial file kept for resuming)`, 'aborted');
  const err = e as Error & { cause?: { code?: string; message?: string } };
  const why = err.cause?.message ?? err.cause?.code ?? err.message;
  const where = received !== undefined ? ` after ${received}${size ? ` of ${size}` : ''} bytes` : '';
  return new DownloadError(`network error downloading ${url}${where}: ${why} (run again to resume)`, 'network');
}

/** True when the path is a finished cache entry of `url` (for tests and `tubelet` diagnostics). */
export function isCached(url: string, opts: Pick<FetchWeightsOptions, 'cacheDir' | 'fileName'> = {}): boolean {
  return existsSync(cachePathFor(url, opts));
}
