import type { Command } from 'commander';
import { startProcess } from '../../runtime/process.js';

/** `tickwork up [--demo]`: every part in one process (feeds, workers, sink, api). */
export function register(program: Command): void {
  program
    .command('up')
    .description('run everything in one process: feeds, workers, sink and api (--demo: in-process simulators instead of live venues)')
    .option('--demo', 'feed from in-process exchange simulators (offline)', false)
    .action(async (opts: { demo: boolean }) => {
      const ctx = await startProcess({ role: 'up', needs: ['nats', 'redis', 'pg'] });
      const port = await ctx.listen();
      ctx.log.info({ port, demo: opts.demo }, 'tickwork up');
    });
}
