/**
 * The GPU backends live in their own packages; the CLI registers whichever is installed.
 * Returns the ones that could not even be imported, with the reason.
 */
export async function registerOptionalBackends(): Promise<{ name: string; reason: string }[]> {
  const missing: { name: string; reason: string }[] = [];
  const tries: [string, string, string][] = [
    ['webgpu', '@tubelet/kernels-webgpu', 'registerWebGpuBackend'],
    ['cuda', '@tubelet/kernels-cuda', 'registerCudaBackend'],
  ];
  for (const [name, pkg, fn] of tries) {
    try {
      const mod = (await import(pkg)) as Record<string, unknown>;
      const register = mod[fn];
      if (typeof register !== 'function') throw new Error(`${pkg} has no ${fn}()`);
      (register as () => void)();
    } catch (e) {
      missing.push({ name, reason: `${pkg} is not installed or failed to load: ${(e as Error).message.split('\n')[0]}` });
    }
  }
  return missing;
}
