import { defineConfig } from 'vitest/config';

// GPU tests live in test/gpu and skip themselves without a device; everything else runs on the CPU.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
