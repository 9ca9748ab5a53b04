#!/usr/bin/env node
// Builds native/build/Release/tubelet_cuda.node with node-gyp when nvcc is available.
// Without nvcc it prints one line and exits 0: the package then works as an "unavailable"
// backend that says why. Set TUBELET_CUDA_SKIP_BUILD=1 to skip even where nvcc exists.
// nvcc is looked up as $TUBELET_NVCC or $NVCC, then on PATH, then in $CUDA_HOME/bin, $CUDA_PATH/bin, /usr/local/cuda/bin.
import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(pkgDir, 'native');
const addon = join(nativeDir, 'build', 'Release', 'tubelet_cuda.node');

function isFile(p) {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function findNvcc() {
  const given = process.env.TUBELET_NVCC || process.env.NVCC; // TUBELET_* passes turbo's env filter
  if (given) return isFile(given) ? given : null;
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const v of ['CUDA_HOME', 'CUDA_PATH']) if (process.env[v]) dirs.push(join(process.env[v], 'bin'));
  dirs.push('/usr/local/cuda/bin');
  for (const d of dirs) {
    const p = join(d, process.platform === 'win32' ? 'nvcc.exe' : 'nvcc');
    if (isFile(p)) return p;
  }
  return null;
}

if (process.env.TUBELET_CUDA_SKIP_BUILD === '1') {
  console.log('skipping CUDA addon: TUBELET_CUDA_SKIP_BUILD=1');
  process.exit(0);
}
const nvcc = findNvcc();
if (!nvcc) {
  console.log('skipping CUDA addon: nvcc not found');
  process.exit(0);
}

// The toolkit holding cuda_runtime.h and libcudart_static.a: $CUDA_HOME / $CUDA_PATH, nvcc's
// real location (…/cuda-13.0/bin/nvcc → …/cuda-13.0; nvcc may be a wrapper script), /usr/local/cuda.
const candidates = [process.env.CUDA_HOME, process.env.CUDA_PATH, dirname(dirname(realpathSync(nvcc))), '/usr/local/cuda'];
const cudaHome = candidates.find(
  (d) => d && isFile(join(d, 'include', 'cuda_runtime.h')) && isFile(join(d, 'lib64', 'libcudart_static.a')),
);
if (!cudaHome) {
  console.error(`CUDA addon build failed: nvcc is ${nvcc} but no toolkit with include/cuda_runtime.h and lib64/libcudart_static.a was found (set CUDA_HOME)`);
  process.exit(1);
}
const require = createRequire(import.meta.url);
let nodeGyp;
try {
  nodeGyp = require.resolve('node-gyp/bin/node-gyp.js');
} catch {
  console.error('CUDA addon build failed: node-gyp is not installed here (npm i -D node-gyp@11 to rebuild the addon)');
  process.exit(1);
}
// Node headers: the configured nodedir, else the system's (/usr/include/node, no download);
// only where neither exists does node-gyp fetch headers.
const nodedir = process.env.npm_config_nodedir || (existsSync('/usr/include/node/node_api.h') ? '/usr' : '');
const args = [nodeGyp, 'rebuild', '--release'];
if (nodedir) args.push(`--nodedir=${nodedir}`);
if (process.env.TUBELET_CUDA_JOBS) args.push(`--jobs=${process.env.TUBELET_CUDA_JOBS}`);

const t0 = Date.now();
console.log(`building CUDA addon with ${nvcc} (CUDA_HOME=${cudaHome})`);
const r = spawnSync(process.execPath, args, {
  cwd: nativeDir,
  stdio: 'inherit',
  env: { ...process.env, NVCC: nvcc, CUDA_HOME: cudaHome },
});
if (r.status !== 0 || !existsSync(addon)) {
  console.error(`CUDA addon build failed (node-gyp exit ${r.status ?? r.signal}); set TUBELET_CUDA_SKIP_BUILD=1 to build without it`);
  process.exit(r.status || 1);
}
console.log(`built ${addon} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
