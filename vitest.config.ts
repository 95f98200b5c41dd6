import { defineConfig } from 'vitest/config';

// GPU tests live in test/gpu and skip themselves without a device; everything else runs on the CPU:
// GLAM_DEVICE=cpu pins Policy.load's default device, so CPU tolerances hold on GPU machines too
// (GPU tests name their device explicitly).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    env: { GLAM_DEVICE: 'cpu' },
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
