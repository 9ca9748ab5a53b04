import { setBackend } from '../backend';
import { registerCpuBackend } from '../cpu/index';
import { type DType, type TypedArray } from '../dtype';
import { getOp, runOp, runOpAsync } from '../op';
import { type Tensor, Scope, memory, tensor } from '../tensor';
import { compareOutputs } from './compare';
import type { CaseResult, ConformanceCase, HostTensor, Tolerance } from './types';

export interface RunCaseOptions {
  /** Overrides the case's tolerance (return undefined to keep it). */
  tolerance?: (c: ConformanceCase) => Tolerance | undefined;
}

function errMessage(e: unknown): string {
  return e instanceof Error ? `${e.name === 'Error' ? '' : `${e.name}: `}${e.message}` : String(e);
}

/**
 * Runs one case on `backend` (made current with setBackend): creates the inputs there, runs the
 * op (or program), reads every output with `await t.data()`, compares with the expected values,
 * disposes everything and checks that the backend's live-tensor count is back where it started.
 * Never throws: failures, errors and leaks come back as `ok: false` with a message.
 */
export async function runConformanceCase(c: ConformanceCase, backend: string, opts: RunCaseOptions = {}): Promise<CaseResult> {
  registerCpuBackend(); // idempotent: lets a page that imports only @tubelet/core/testing run on 'cpu'
  try {
    await setBackend(backend);
  } catch (e) {
    return { ok: false, maxAbsErr: NaN, message: `backend '${backend}' unavailable: ${errMessage(e)}` };
  }
  const tol = opts.tolerance?.(c) ?? c.tol;
  const before = memory(backend).numTensors;
  const owned: Tensor[] = [];
  let result: CaseResult;
  try {
    const inputs = c.inputs.map((h: HostTensor | null) => {
      if (!h) return null;
      const t = tensor(h.data as TypedArray, h.shape, { dtype: h.dtype as DType, backend });
      owned.push(t);
      return t;
    });
    let outputs: Tensor[];
    if (c.kind === 'program') {
      // intermediates die with the scope; the returned outputs survive it
      const scope = new Scope();
      try {
        outputs = scope.end(await c.run(inputs as Tensor[]));
      } catch (e) {
        scope.end();
        throw e;
      }
    } else {
      const desc = getOp(c.op);
      outputs = desc.async ? await runOpAsync(desc, inputs, c.attrs, backend) : runOp(desc, inputs, c.attrs, backend);
    }
    owned.push(...outputs);
    for (const t of outputs) {
      if (t.backend !== backend) throw new Error(`output ${t.describe()} is on backend '${t.backend}', not '${backend}'`);
    }
    const got: HostTensor[] = [];
    for (const t of outputs) got.push({ dtype: t.dtype, shape: t.shape.slice(), data: (await t.data()) as never });
    result = compareOutputs(got, c.expected, tol);
  } catch (e) {
    result = { ok: false, maxAbsErr: NaN, message: `threw: ${errMessage(e)}` };
  } finally {
    for (const t of owned) t.dispose();
  }
  const leaked = memory(backend).numTensors - before;
  if (leaked !== 0) {
    const msg = `live tensors on '${backend}' went from ${before} to ${before + leaked} (${leaked > 0 ? 'leaked' : 'over-freed'} ${Math.abs(leaked)})`;
    result = { ok: false, maxAbsErr: result.maxAbsErr, message: result.ok ? msg : `${result.message}\n${msg}` };
  }
  return result;
}
