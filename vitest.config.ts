import { defineConfig } from 'vitest/config';

// Tests spawn real servers as real processes; they run against the compiled dist/ (npm test builds first),
// so what is tested is what `npx` ships.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Two cores: end-to-end files measure heap inside servers, so they must not compete with each other.
    fileParallelism: false,
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
