import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    // Each file runs in its own forked process: tfjs/wasm state and spawned servers stay isolated.
    pool: 'forks',
    maxWorkers: 2,
  },
});
