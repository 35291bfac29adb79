#!/usr/bin/env node
// Runs the ahead-of-time build (scripts/build.sh → dist/): no TypeScript compiler at run time.
// `npm start`, `npm test` and the image build it; from a bare checkout run `sh scripts/build.sh`.
import { existsSync } from 'node:fs';
import { URL } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('tickwork: dist/ is missing: run `sh scripts/build.sh` (or `npm start` / `npm test`, which build it)\n');
  process.exit(2);
}
await import(main.href);
