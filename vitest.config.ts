import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    // dist/ links node_modules back in (scripts/build.sh): packages that ship their own tests must not run.
    exclude: ['**/node_modules/**', 'dist/**', 'web/dist/**', '.tickwork/**'],
    // Whatever a test file spawned and left running is killed after it (test/support/children.ts).
    setupFiles: ['test/support/kill-children.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: run files in parallel, but not more than the machine can hold.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    pool: 'forks',
  },
});
