import { afterAll } from 'vitest';
import { killTracked } from './children.js';

// A setup file (vitest.config.ts): after each test file's own hooks, whatever it spawned and left
// running is killed (a failed test's worker and sink, a node a crashed test never stopped).
afterAll(() => {
  const n = killTracked();
  if (n > 0) console.warn(`killed ${n} process(es) this test file left running`);
});
