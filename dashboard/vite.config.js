import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// `npm run build` writes dist/, which examples/fastapi/dashboard.py serves
// (index.html at / and /jobs/<id>, the bundle under /assets/).
// `npm run dev` proxies the API to a service on 127.0.0.1:8000 (`make dashboard`).
export default defineConfig({
  plugins: [react()],
  base: '/',
  build: { outDir: 'dist', emptyOutDir: true, assetsDir: 'assets' },
  server: {
    proxy: {
      '/api': 'http://127.0.0.1:8000',
      '/health': 'http://127.0.0.1:8000',
    },
  },
});
