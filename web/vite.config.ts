import { defineConfig } from 'vite';

// Assets are referenced from the root (/assets/...) so that the same
// index.html works for / and for /p/<id>/ (client-side routing).
export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 1024,
  },
  server: {
    proxy: {
      '/api': 'http://127.0.0.1:8080',
      '/login': 'http://127.0.0.1:8080',
      '^/p/[^/]+/(workspace|run)$': { target: 'ws://127.0.0.1:8080', ws: true },
    },
  },
});
