import { defineConfig } from 'vitest/config';

/** Tests run the development flavour of the code: internal assertions on. */
export default defineConfig({
  define: { __DEV__: 'true' },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
