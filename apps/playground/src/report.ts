import type { BackendStatus } from '@tubelet/core';

/** Table rows for the backend report (pure, so it is unit-tested). */
export function backendRows(report: readonly BackendStatus[]): { name: string; status: 'available' | 'unavailable'; detail: string; cls: 'ok' | 'no' }[] {
  return report.map((r) => ({
    name: r.name,
    status: r.available ? 'available' : 'unavailable',
    detail: r.available ? (r.current ? 'default' : '') : (r.reason ?? 'unknown reason'),
    cls: r.available ? 'ok' : 'no',
  }));
}
