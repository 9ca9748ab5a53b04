import { backendReport } from '@tubelet/core';
import { table } from '../format';
import { registerOptionalBackends } from '../optional-backends';

export async function runBackends(opts: { json: boolean }): Promise<void> {
  const missing = await registerOptionalBackends();
  const report = await backendReport();
  for (const m of missing) report.push({ name: m.name, priority: -1, available: false, reason: m.reason, current: false });
  if (opts.json) {
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  console.log(table([['backend', 'status', 'detail'], ...report.map((r) => [r.name, r.available ? 'available' : 'unavailable', r.available ? (r.current ? 'default' : '') : (r.reason ?? '')])]));
}
