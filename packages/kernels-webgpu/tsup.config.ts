import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { 'index': 'src/index.ts',  },
  format: ['esm', 'cjs'],
  // The public types name GPUDevice & co.: point consumers at the WebGPU type declarations.
  dts: { banner: '/// <reference types="@webgpu/types" />' },
  sourcemap: true,
  clean: true,
  target: 'node20',
});
