import { backendReport, dispose, matmul, tensor } from '@tubelet/core';
import { registerWebGpuBackend } from '@tubelet/kernels-webgpu';
import { backendRows } from './report';

async function start(): Promise<void> {
  registerWebGpuBackend();
  const table = document.getElementById('backends')!;
  for (const r of backendRows(await backendReport())) {
    const tr = document.createElement('tr');
    tr.className = r.cls;
    for (const v of [r.name, r.status, r.detail]) {
      const td = document.createElement('td');
      td.textContent = v;
      tr.appendChild(td);
    }
    table.appendChild(tr);
  }
  const a = tensor([[1, 2], [3, 4]]);
  const b = tensor([[5, 6], [7, 8]]);
  const c = matmul(a, b);
  document.getElementById('check')!.textContent = `cpu matmul [[1,2],[3,4]]·[[5,6],[7,8]] = ${JSON.stringify(Array.from((await c.data()) as Float32Array))}`;
  dispose([a, b, c]);
}

start().catch((e: unknown) => {
  document.getElementById('check')!.textContent = `error: ${e instanceof Error ? e.message : String(e)}`;
});
