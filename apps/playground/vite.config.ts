import { defineConfig } from 'vite';

export default defineConfig({
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true },
  // never pull Node-only packages into the browser bundle
  resolve: { conditions: ['browser', 'import'] },
});
