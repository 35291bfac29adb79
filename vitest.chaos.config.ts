import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

/**
 * `npm run test:chaos` (issue 9 item 8): every fault row of test/chaos/*.chaos.ts plus the venue
 * parser and API/NATS query fuzzers and the exactly-once fault variants at their large sizes. `TICKWORK_CHAOS_SHORT=1 npm run
 * test:chaos` runs the reduced set CI runs (fewer rows, smaller sizes, no fuzzers). The rows'
 * table is collected in one file across test files and printed at the end.
 */
const short = process.env.TICKWORK_CHAOS_SHORT === '1';
process.env.TICKWORK_CHAOS_TABLE ??= join(tmpdir(), `tickwork-chaos-${process.pid}.jsonl`);

export default defineConfig({
  test: {
    // The short set (CI, after `npm test`, which already ran both fuzzers at their normal sizes) leaves them out.
    include: ['test/chaos/**/*.chaos.ts', ...(short ? [] : ['test/venues/fuzz.test.ts', 'test/api/fuzz.test.ts', 'test/exactly-once/faults.test.ts'])],
    exclude: ['**/node_modules/**', 'dist/**', 'web/dist/**', '.tickwork/**'],
    // Whatever a test file spawned and left running is killed after it (test/support/children.ts).
    setupFiles: ['test/support/kill-children.ts'],
    globalSetup: ['test/chaos/setup.ts'],
    env: {
      // 6 adapters × 20,000 = 120,000 generated frames; 10,000 API/NATS query inputs.
      TICKWORK_FUZZ_FRAMES: process.env.TICKWORK_FUZZ_FRAMES ?? '20000',
      TICKWORK_FUZZ_N: process.env.TICKWORK_FUZZ_N ?? '10000',
      // The exactly-once fault variants (duplicated feed + SIGKILLs, Redis flushed, stale Redis, PostgreSQL down) at full size.
      TICKWORK_EO_FAULT_TRADES: process.env.TICKWORK_EO_FAULT_TRADES ?? '200000',
    },
    testTimeout: 600_000,
    hookTimeout: 300_000,
    // Each row runs its own servers, worker, sink and feeds: one file at a time on two cores.
    poolOptions: { forks: { maxForks: 1, minForks: 1 } },
    pool: 'forks',
    fileParallelism: false,
  },
});
