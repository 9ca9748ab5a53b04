/** Small text-formatting helpers for terminal output. */
export function table(rows: string[][], align: ('l' | 'r')[] = []): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => (align[c] === 'r' ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd()).join('\n');
}

export function human(n: number, unit = ''): string {
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${(n / 1e9).toFixed(2)} G${unit}`;
  if (abs >= 1e6) return `${(n / 1e6).toFixed(2)} M${unit}`;
  if (abs >= 1e3) return `${(n / 1e3).toFixed(2)} k${unit}`;
  return `${n} ${unit}`.trim();
}

export function bytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(2)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}
