/**
 * Download progress on stderr: a redrawn bar on a terminal, plain periodic lines otherwise (CI logs).
 */

export interface DownloadProgress {
  url: string;
  /** bytes of the file we have (including a resumed part) */
  received: number;
  /** expected size, when known */
  total: number | null;
  /** bytes that were already on disk when this attempt started */
  resumedFrom: number;
  /** average speed of this attempt */
  bytesPerSecond: number;
  done: boolean;
}

export type ProgressMode = 'auto' | 'bar' | 'lines' | 'none';

export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export const mb = (n: number): string => (n / 1e6).toFixed(1);

/** "[########------------]  42%  12.3/29.0 MB  5.1 MB/s" (no bar or percent when the size is unknown). */
export function formatProgress(p: DownloadProgress, width = 24): string {
  const speed = `${mb(p.bytesPerSecond)} MB/s`;
  if (p.total && p.total > 0) {
    const frac = Math.min(1, p.received / p.total);
    const fill = Math.round(frac * width);
    const pct = `${Math.floor(frac * 100)}%`.padStart(4);
    return `[${'#'.repeat(fill)}${'-'.repeat(width - fill)}] ${pct}  ${mb(p.received)}/${mb(p.total)} MB  ${speed}`;
  }
  return `${mb(p.received)} MB  ${speed}`;
}

/** Renders progress events to a stream; `update` is cheap to call per chunk (it throttles itself). */
export class ProgressPrinter {
  private last = Number.NEGATIVE_INFINITY;
  private lastLine = 0;
  private drawn = false;
  private readonly mode: 'bar' | 'lines' | 'none';

  constructor(
    private readonly stream: ProgressStream,
    mode: ProgressMode,
    private readonly label: string,
    private readonly now: () => number = () => performance.now(),
    private readonly lineEveryMs = 5000,
  ) {
    this.mode = mode === 'auto' ? (stream.isTTY ? 'bar' : 'lines') : mode;
  }

  start(resumedFrom: number, total: number | null): void {
    if (this.mode === 'none') return;
    const what = total ? `${mb(total)} MB` : 'size unknown';
    const resume = resumedFrom > 0 ? `, resuming at ${mb(resumedFrom)} MB` : '';
    if (this.mode === 'lines') this.stream.write(`downloading ${this.label} (${what}${resume})\n`);
    else if (resume) this.stream.write(`resuming ${this.label} at ${mb(resumedFrom)} MB\n`);
    this.lastLine = this.now();
  }

  update(p: DownloadProgress): void {
    if (this.mode === 'none') return;
    const t = this.now();
    if (this.mode === 'bar') {
      if (!p.done && t - this.last < 100) return;
      this.last = t;
      const cols = this.stream.columns || 100;
      let line = `${this.label} ${formatProgress(p)}`;
      if (line.length > cols - 1) line = line.slice(line.length - (cols - 1));
      this.stream.write(`\r${line}\u001b[K`);
      this.drawn = true;
      if (p.done) {
        this.stream.write('\n');
        this.drawn = false;
      }
      return;
    }
    if (p.done) {
      this.stream.write(`downloaded ${this.label}: ${mb(p.received)} MB\n`);
      return;
    }
    if (t - this.lastLine >= this.lineEveryMs) {
      this.lastLine = t;
      this.stream.write(`  ${formatProgress(p, 0).replace(/^\[\] +/, '')}\n`);
    }
  }

  /** Ends a half-drawn bar line (before an error message is printed). */
  abort(): void {
    if (this.mode === 'bar' && this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}
