import { describe, expect, it } from 'vitest';
import { backendRows } from '../src/report';

describe('backendRows', () => {
  it('shows the reason of unavailable backends and marks the default', () => {
    const rows = backendRows([
      { name: 'cpu', priority: 1, available: true, current: true },
      { name: 'cuda', priority: 0, available: false, reason: 'no CUDA-capable device is detected', current: false },
    ]);
    expect(rows).toEqual([
      { name: 'cpu', status: 'available', detail: 'default', cls: 'ok' },
      { name: 'cuda', status: 'unavailable', detail: 'no CUDA-capable device is detected', cls: 'no' },
    ]);
  });
});
