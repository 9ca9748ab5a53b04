import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const pkg = (p: string) => fileURLToPath(new URL(`../../packages/${p}`, import.meta.url));

export default defineConfig({
  // Node-side tests (test/webgpu-models*.test.ts) run against the workspace sources, so they never
  // depend on a stale or half-written dist/ — and core, kernels-webgpu and models all resolve to one
  // copy of @tubelet/core (one backend registry, one set of memory counters). The browser check
  // builds parity.html with vite.config.ts, which these aliases do not touch.
  resolve: {
    alias: [
      { find: /^@tubelet\/core\/testing$/, replacement: pkg('core/src/testing.ts') },
      { find: /^@tubelet\/core$/, replacement: pkg('core/src/index.ts') },
      { find: /^@tubelet\/kernels-webgpu$/, replacement: pkg('kernels-webgpu/src/index.ts') },
      { find: /^@tubelet\/models$/, replacement: pkg('models/src/index.ts') },
    ],
  },
  // forks: the vm pools cannot load Dawn (the `webgpu` package)
  test: { pool: 'forks', include: ['test/**/*.test.ts'], testTimeout: 60_000 },
});
