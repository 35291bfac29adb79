import { Option, type Command } from 'commander';
import { REPLAY_FORMATS, type ReplayFormat } from '../../actors/replay/sources.js';
import { loadVenueIds, speed, venueId } from '../arguments.js';

/** Before registering: the venue registry's ids for `--venue` (cli/arguments.ts). */
export const setup = loadVenueIds;

export function register(program: Command): void {
  program
    .command('replay')
    .description(
      "publish a file's trades into MD_TRADES exactly as a live feed would (same subjects and Nats-Msg-Ids); " +
        'exits non-zero when trades were lost, refused as older than what a symbol applied, or not read (Ctrl-C): running it again completes the job',
    )
    .requiredOption('--file <path>', 'input file')
    .addOption(new Option('--format <format>', 'input layout').choices(REPLAY_FORMATS).makeOptionMandatory())
    .requiredOption('--venue <venue>', 'venue id, e.g. binance', venueId)
    .option('--symbol <symbol>', 'canonical BASE-QUOTE (required for CSV; filters recordings)')
    .option('--speed <speed>', 'max | 1x | Nx', speed, Infinity)
    .option('--to-batch', 'send trades older than what a symbol applied to the batch path (tickwork backfill --source file) instead of refusing them')
    .action(async (opts: { file: string; format: ReplayFormat; venue: string; symbol?: string; speed: number; toBatch?: boolean }) => {
      const { runReplay } = await import('../../app/replay.js');
      await runReplay({ file: opts.file, format: opts.format, venue: opts.venue, speed: opts.speed, ...(opts.symbol ? { symbol: opts.symbol } : {}), ...(opts.toBatch ? { toBatch: true } : {}) });
    });
}
