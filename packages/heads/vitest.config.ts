import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(`../${p}`, import.meta.url));

export default defineConfig({
  // tests run against the workspace sources, so they never depend on a stale or half-written dist/
  resolve: {
    alias: [
      { find: /^@tubelet\/core\/testing$/, replacement: src('core/src/testing.ts') },
      { find: /^@tubelet\/core$/, replacement: src('core/src/index.ts') },
      { find: /^@tubelet\/models$/, replacement: src('models/src/index.ts') },
    ],
  },
  test: { pool: 'forks', include: ['test/**/*.test.ts'], testTimeout: 60_000 },
});
