import type { Command } from 'commander';
import { positiveNumber } from '../arguments.js';

/** `tickwork up [--demo]`: every part in one process (feeds, workers, sink, spread, api). */
export function register(program: Command): void {
  program
    .command('up')
    .description('run everything in one process: feeds, workers, sink and api (--demo: in-process simulators instead of live venues)')
    .option('--demo', 'feed from in-process exchange simulators (offline)', false)
    .option('--demo-rate <n>', 'synthetic trades per second per demo venue', positiveNumber, 20)
    .action(async (opts: { demo: boolean; demoRate: number }) => (await import('../../app/up.js')).runUp({ demo: opts.demo, demoRate: opts.demoRate }));
}
