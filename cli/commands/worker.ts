import type { Command } from 'commander';
import { shard } from '../arguments.js';

export function register(program: Command): void {
  program
    .command('worker')
    .description('run symbol actors: candles, VWAPs and snapshots for one shard of venue+symbol pairs')
    .option('--shard <i/N>', 'this worker owns the symbols whose hash mod N is i (default: TICKWORK_SHARD, else 0/1)', shard)
    .action(async (opts: { shard?: string }) => (await import('../../app/worker.js')).runWorker(opts.shard ? { shard: opts.shard } : {}));
}
