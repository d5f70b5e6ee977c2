import { defineConfig } from 'vite';

// SharedArrayBuffer needs a cross-origin-isolated page: every response carries COOP/COEP.
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  base: './',
  server: { headers: isolation },
  preview: { headers: isolation },
});
