import { createReadStream, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { type Plugin, defineConfig } from 'vite';

/** The official reference vectors parity.html fetches (`fixtures/<path>`), served from packages/models in dev / preview. */
export const FIXTURES_DIR = fileURLToPath(new URL('../../packages/models/test/fixtures/', import.meta.url));
export const PARITY_FIXTURES = ['uniformer/video_tiny.io.safetensors', 'uniformer/video_tiny.weights.safetensors', 'vivit/m1_tubelet_token.safetensors'] as const;

function serveFixtures(): Plugin {
  const handler = (req: IncomingMessage, res: ServerResponse, next: () => void) => {
    const path = decodeURIComponent((req.url ?? '').split('?')[0]!).replace(/^\//, '');
    if (!(PARITY_FIXTURES as readonly string[]).includes(path)) return next();
    const file = FIXTURES_DIR + path;
    res.setHeader('content-type', 'application/octet-stream');
    res.setHeader('content-length', String(statSync(file).size));
    createReadStream(file).pipe(res);
  };
  return {
    name: 'tubelet-parity-fixtures',
    configureServer: (server) => void server.middlewares.use('/fixtures', handler),
    configurePreviewServer: (server) => void server.middlewares.use('/fixtures', handler),
  };
}

export default defineConfig({
  plugins: [serveFixtures()],
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    // the conformance cases (~800 kB, loaded lazily by parity.html) are one chunk on purpose
    chunkSizeWarningLimit: 1024,
    // two pages: the backend report and the parity check
    rolldownOptions: {
      input: {
        index: fileURLToPath(new URL('index.html', import.meta.url)),
        parity: fileURLToPath(new URL('parity.html', import.meta.url)),
      },
    },
  },
  // never pull Node-only packages into the browser bundle
  resolve: { conditions: ['browser', 'import'] },
});
