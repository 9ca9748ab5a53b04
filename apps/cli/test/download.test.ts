import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DownloadError, type DownloadProgress, ProgressPrinter, cachePathFor, defaultCacheDir, fetchWeights, formatProgress } from '../src/download';

// A deterministic 3 MiB "weights" file (xorshift32 bytes).
const SIZE = 3 * 1024 * 1024;
const DATA = (() => {
  const b = Buffer.alloc(SIZE);
  let x = 2463534242;
  for (let i = 0; i < SIZE; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x & 255;
  }
  return b;
})();
const SHA = createHash('sha256').update(DATA).digest('hex');
const CORRUPT = Buffer.from(DATA);
CORRUPT[123456] ^= 0xff;
const CORRUPT_SHA = createHash('sha256').update(CORRUPT).digest('hex');

interface Hit {
  path: string;
  range: string | undefined;
  ifRange: string | undefined;
  status: number;
}
let hits: Hit[] = [];
/** paths whose next response is cut after this many bytes (then the socket is destroyed) */
const cutOnce = new Map<string, number>();

function send(req: IncomingMessage, res: ServerResponse, body: Buffer, ranges: boolean): void {
  const path = req.url ?? '';
  const m = ranges ? /^bytes=(\d+)-$/.exec(req.headers.range ?? '') : null;
  const ifRange = req.headers['if-range'] as string | undefined;
  const etag = '"v1"';
  let start = 0;
  let status = 200;
  if (m && (!ifRange || ifRange === etag)) {
    start = Number(m[1]);
    if (start >= body.length) {
      res.writeHead(416, { 'content-range': `bytes */${body.length}` });
      hits.push({ path, range: req.headers.range, ifRange, status: 416 });
      res.end();
      return;
    }
    status = 206;
  }
  hits.push({ path, range: req.headers.range, ifRange, status });
  const chunk = body.subarray(start);
  const headers: Record<string, string | number> = { 'content-type': 'application/octet-stream', 'content-length': chunk.length };
  if (ranges) {
    headers['accept-ranges'] = 'bytes';
    headers.etag = etag;
  }
  if (status === 206) headers['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
  res.writeHead(status, headers);
  const cut = cutOnce.get(path);
  if (cut !== undefined) {
    cutOnce.delete(path);
    res.write(chunk.subarray(0, cut), () => setTimeout(() => res.socket?.destroy(), 20));
    return;
  }
  res.end(chunk);
}

let server: Server;
let base = '';
let dir = '';
let n = 0;
const fresh = () => join(dir, `cache-${n++}`);
const files = (d: string) => (existsSync(d) ? readdirSync(d).sort() : []);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tubelet-dl-'));
  server = createServer((req, res) => {
    const p = (req.url ?? '').split('?')[0]!;
    if (p.startsWith('/ok/') || p.startsWith('/flaky/')) return send(req, res, DATA, true);
    if (p.startsWith('/norange/')) return send(req, res, DATA, false);
    if (p.startsWith('/corrupt/')) return send(req, res, CORRUPT, true);
    if (p.startsWith('/busy/')) {
      hits.push({ path: req.url ?? '', range: req.headers.range, ifRange: undefined, status: 503 });
      res.writeHead(503, { 'content-length': 0 });
      return res.end();
    }
    hits.push({ path: req.url ?? '', range: req.headers.range, ifRange: undefined, status: 404 });
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  hits = [];
  cutOnce.clear();
});

const quiet = { progress: 'none' as const };

describe('fetchWeights on a loopback server', () => {
  it('downloads, verifies, and reuses the cached file without a request', async () => {
    const cacheDir = fresh();
    const url = `${base}/ok/uniformer_small_k400_16x4.pth`;
    const events: DownloadProgress[] = [];
    const p = await fetchWeights(url, { ...quiet, cacheDir, sha256: SHA, size: SIZE, onProgress: (e) => events.push(e) });
    expect(p).toBe(cachePathFor(url, { cacheDir }));
    expect(p.endsWith('-uniformer_small_k400_16x4.pth')).toBe(true);
    expect(readFileSync(p).equals(DATA)).toBe(true);
    expect(hits).toHaveLength(1);
    expect(hits[0]!.range).toBeUndefined();
    expect(events.at(-1)).toMatchObject({ received: SIZE, total: SIZE, done: true, resumedFrom: 0 });
    expect(events.every((e, i) => i === 0 || e.received >= events[i - 1]!.received)).toBe(true);
    expect(files(cacheDir).filter((f) => f.endsWith('.part') || f.endsWith('.part.json'))).toEqual([]);

    // second time: from the cache, no request (size and hash verified)
    expect(await fetchWeights(url, { ...quiet, cacheDir, sha256: SHA })).toBe(p);
    expect(await fetchWeights(url, { ...quiet, cacheDir })).toBe(p);
    expect(hits).toHaveLength(1);

    // a cached file damaged on disk is detected (hash) and fetched again
    const bad = Buffer.from(DATA);
    bad[10] ^= 1;
    writeFileSync(p, bad);
    expect(await fetchWeights(url, { ...quiet, cacheDir, sha256: SHA })).toBe(p);
    expect(hits).toHaveLength(2);
    expect(readFileSync(p).equals(DATA)).toBe(true);
    // a truncated cached file is detected by its size even without a hash
    writeFileSync(p, DATA.subarray(0, 1000));
    await fetchWeights(url, { ...quiet, cacheDir });
    expect(hits).toHaveLength(3);
    expect(readFileSync(p).equals(DATA)).toBe(true);
  });

  it('an interrupted download fails with a network error, keeps the .part, and the next run resumes with Range', async () => {
    const cacheDir = fresh();
    const url = `${base}/flaky/w.pth`;
    cutOnce.set('/flaky/w.pth', 1_000_000);
    const err = await fetchWeights(url, { ...quiet, cacheDir, retries: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as DownloadError).kind).toBe('network');
    expect((err as Error).message).toMatch(/network error downloading .*\/flaky\/w\.pth after \d+ of 3145728 bytes: .* \(run again to resume\)/);
    const dest = cachePathFor(url, { cacheDir });
    expect(existsSync(dest)).toBe(false);
    const partSize = readFileSync(`${dest}.part`).length;
    expect(partSize).toBeGreaterThan(0);
    expect(partSize).toBeLessThanOrEqual(1_000_000);

    const events: DownloadProgress[] = [];
    const p = await fetchWeights(url, { ...quiet, cacheDir, sha256: SHA, onProgress: (e) => events.push(e) });
    expect(hits.map((h) => [h.range, h.status])).toEqual([
      [undefined, 200],
      [`bytes=${partSize}-`, 206],
    ]);
    expect(hits[1]!.ifRange).toBe('"v1"');
    expect(events[0]!.resumedFrom).toBe(partSize);
    expect(readFileSync(p).equals(DATA)).toBe(true);
    expect(files(cacheDir).some((f) => f.includes('.part'))).toBe(false);
  });

  it('a connection dropped mid-download is resumed within the same call', async () => {
    const cacheDir = fresh();
    cutOnce.set('/flaky/again.bin', 2_000_000);
    const p = await fetchWeights(`${base}/flaky/again.bin`, { ...quiet, cacheDir, sha256: SHA, size: SIZE });
    expect(hits).toHaveLength(2);
    expect(hits[1]!.range).toMatch(/^bytes=\d+-$/);
    expect(Number(/\d+/.exec(hits[1]!.range!)![0])).toBeGreaterThan(0);
    expect(readFileSync(p).equals(DATA)).toBe(true);
  });

  it('a corrupt download is a hash mismatch naming both hashes, and leaves nothing in the cache', async () => {
    const cacheDir = fresh();
    const err = await fetchWeights(`${base}/corrupt/w.pth`, { ...quiet, cacheDir, sha256: SHA }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as DownloadError).kind).toBe('hash');
    expect((err as Error).message).toBe(`sha256 mismatch for ${base}/corrupt/w.pth: expected ${SHA}, got ${CORRUPT_SHA}`);
    expect(files(cacheDir)).toEqual([]);
  });

  it('a server without Range support: the resumed request gets a 200 and the download restarts from 0', async () => {
    const cacheDir = fresh();
    const url = `${base}/norange/w.pth`;
    cutOnce.set('/norange/w.pth', 700_000);
    await expect(fetchWeights(url, { ...quiet, cacheDir, retries: 0 })).rejects.toThrow(DownloadError);
    const dest = cachePathFor(url, { cacheDir });
    const partSize = readFileSync(`${dest}.part`).length;
    expect(partSize).toBeGreaterThan(0);
    const p = await fetchWeights(url, { ...quiet, cacheDir, sha256: SHA });
    expect(hits.map((h) => [h.range, h.status])).toEqual([
      [undefined, 200],
      [`bytes=${partSize}-`, 200],
    ]);
    expect(readFileSync(p).equals(DATA)).toBe(true);
  });

  it('HTTP errors: 404 is one line with the status; 5xx are retried then reported', async () => {
    const cacheDir = fresh();
    const err = await fetchWeights(`${base}/nothing/here.pth`, { ...quiet, cacheDir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as DownloadError).status).toBe(404);
    expect((err as Error).message).toBe(`download of ${base}/nothing/here.pth failed: HTTP 404 Not Found`);
    expect(hits).toHaveLength(1);
    expect(files(cacheDir)).toEqual([]);
    await expect(fetchWeights(`${base}/busy/w.pth`, { ...quiet, cacheDir, retries: 1 })).rejects.toThrow(/HTTP 503 Service Unavailable/);
    expect(hits).toHaveLength(3);
  });

  it('size mismatch against the expected size is reported before downloading', async () => {
    const cacheDir = fresh();
    const err = await fetchWeights(`${base}/ok/w.pth`, { ...quiet, cacheDir, size: SIZE + 1 }).catch((e: unknown) => e);
    expect((err as DownloadError).kind).toBe('size');
    expect((err as Error).message).toBe(`size mismatch for ${base}/ok/w.pth: expected ${SIZE + 1} bytes, the server reports ${SIZE}`);
    expect(files(cacheDir)).toEqual([]);
  });

  it('network errors and bad input are one-line DownloadErrors', async () => {
    const cacheDir = fresh();
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const err = await fetchWeights(`http://127.0.0.1:${port}/w.pth`, { ...quiet, cacheDir, retries: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as Error).message).toMatch(/^network error downloading http:\/\/127\.0\.0\.1:\d+\/w\.pth: .*ECONNREFUSED/);
    await expect(fetchWeights('ftp://example.org/x.pth', quiet)).rejects.toThrow(/only http and https URLs are supported/);
    await expect(fetchWeights('not a url', quiet)).rejects.toThrow(/not a URL/);
    await expect(fetchWeights(`${base}/ok/w.pth`, { ...quiet, cacheDir, sha256: 'abc' })).rejects.toThrow(/bad sha256 'abc'/);
  });

  it('can be cancelled with an AbortSignal (the part is kept)', async () => {
    const cacheDir = fresh();
    const ac = new AbortController();
    const url = `${base}/ok/cancel.pth`;
    const err = await fetchWeights(url, {
      ...quiet,
      cacheDir,
      signal: ac.signal,
      onProgress: (p) => {
        if (p.received > 500_000) ac.abort();
      },
    }).catch((e: unknown) => e);
    expect((err as DownloadError).kind).toBe('aborted');
    expect(existsSync(`${cachePathFor(url, { cacheDir })}.part`)).toBe(true);
  });
});

describe('cache location and progress display', () => {
  it('TUBELET_CACHE_DIR, then XDG_CACHE_HOME/tubelet, then ~/.cache/tubelet', () => {
    expect(defaultCacheDir({ TUBELET_CACHE_DIR: '/x/t', XDG_CACHE_HOME: '/x/c', HOME: '/h' })).toBe('/x/t');
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/x/c', HOME: '/h' })).toBe('/x/c/tubelet');
    expect(defaultCacheDir({ HOME: '/h' })).toBe('/h/.cache/tubelet');
    expect(cachePathFor('https://h.example/a/b/model%20v2.pth?x=1', { cacheDir: '/c' })).toMatch(/^\/c\/[0-9a-f]{16}-model_v2\.pth$/);
  });

  it('draws a bar on a TTY and plain lines otherwise, nothing when silent', async () => {
    const p = (received: number, done = false): DownloadProgress => ({ url: 'u', received, total: 4e6, resumedFrom: 0, bytesPerSecond: 2e6, done });
    expect(formatProgress(p(1e6), 10)).toBe('[###-------]  25%  1.0/4.0 MB  2.0 MB/s');
    let t = 0;
    const tty = { out: '', isTTY: true, columns: 120, write(s: string) { this.out += s; } };
    const bar = new ProgressPrinter(tty, 'auto', 'w.pth', () => t);
    bar.start(0, 4e6);
    bar.update(p(1e6));
    t = 50;
    bar.update(p(2e6)); // throttled
    t = 200;
    bar.update(p(4e6, true));
    expect(tty.out).toContain('\rw.pth [######------------------]  25%  1.0/4.0 MB  2.0 MB/s');
    expect(tty.out).not.toContain(' 50%');
    expect(tty.out).toMatch(/100% {2}4\.0\/4\.0 MB {2}2\.0 MB\/s\u001b\[K\n$/);

    const log = { out: '', isTTY: false, write(s: string) { this.out += s; } };
    const lines = new ProgressPrinter(log, 'auto', 'w.pth', () => t, 5000);
    t = 0;
    lines.start(1e6, 4e6);
    t = 6000;
    lines.update(p(3e6));
    lines.update(p(4e6, true));
    expect(log.out).toBe('downloading w.pth (4.0 MB, resuming at 1.0 MB)\n  75%  3.0/4.0 MB  2.0 MB/s\ndownloaded w.pth: 4.0 MB\n');
    expect(log.out).not.toContain('\r');

    const none = { out: '', write(s: string) { this.out += s; } };
    await fetchWeights(`${base}/ok/silent.pth`, { cacheDir: fresh(), progress: 'none', stream: none });
    expect(none.out).toBe('');
    const some = { out: '', isTTY: false, write(s: string) { this.out += s; } };
    await fetchWeights(`${base}/ok/loud.pth`, { cacheDir: fresh(), stream: some });
    expect(some.out).toMatch(/^downloading loud\.pth \(3\.1 MB\)\n(.*\n)*downloaded loud\.pth: 3\.1 MB\n$/);
  });
});
