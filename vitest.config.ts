import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Privileged tests build network namespaces and run daemons; they are slow
    // but bounded. Keep files in parallel (2 cores) and tests inside a file serial.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
