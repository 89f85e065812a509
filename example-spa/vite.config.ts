/**
 * Vite config of the example SPA. Run from the repository root:
 *
 *   vite build --config example-spa/vite.config.ts   → example-spa/dist (served by the BFF)
 *   vite --config example-spa/vite.config.ts         → dev server on http://localhost:5173
 *
 * In dev, /bff and /api are proxied to the BFF on 127.0.0.1:3000 with the
 * browser's Host and Origin left as they are (changeOrigin: false), so the BFF
 * must be started with BFF_PUBLIC_URL=http://localhost:5173 (see README.md).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const bff = 'http://127.0.0.1:3000';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  resolve: {
    // The SPA imports the browser helper by its package name, as an app would;
    // here it resolves to the TypeScript source next door.
    alias: { 'hono-bff/client': fileURLToPath(new URL('../src/client/index.ts', import.meta.url)) },
  },
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // Default hashed names (assets/[name]-[hash].js): safe to cache forever.
  },
  server: {
    host: '127.0.0.1',
    port: 5173,
    strictPort: true,
    proxy: {
      '/bff': { target: bff, changeOrigin: false },
      '/api': { target: bff, changeOrigin: false },
    },
  },
});
