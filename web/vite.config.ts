import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/** `npm run build:web`: bundles the dashboard (lightweight-charts included, no CDN) into web/dist. */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 1024,
  },
});
