import type { Command } from 'commander';
import { loadVenueIds, venueIds } from '../arguments.js';

/** Before registering: the venue registry's ids for `--venue` (cli/arguments.ts). */
export const setup = loadVenueIds;

export function register(program: Command): void {
  program
    .command('feed')
    .description('run the supervised venue feeds only: normalize trades/quotes into JetStream')
    .requiredOption('--venue <venues>', 'venue id, e.g. binance (comma-separated for several)', venueIds)
    .option('--symbols <list>', 'comma-separated BASE-QUOTE symbols (default: TICKWORK_SYMBOLS)')
    .action(async (opts: { venue: string[]; symbols?: string }) => (await import('../../app/feed.js')).runFeed({ venues: opts.venue, ...(opts.symbols ? { symbols: opts.symbols } : {}) }));
}
