import { Option, type Command } from 'commander';
import { loadVenueIds, venueId } from '../arguments.js';
import { instant, symbolList } from './backfill.js';

/** Before registering: the venue registry's ids for `--venue` (cli/arguments.ts). */
export const setup = loadVenueIds;

interface RebuildFlags {
  venue: string;
  symbol: string[];
  from: number;
  to: number;
  source: 'stream' | 'archive';
  dryRun?: boolean;
  dir?: string;
}

export function register(program: Command): void {
  program
    .command('rebuild')
    .description('recompute the stored candles of a range from the raw trades (MD_TRADES or the trade archive) and replace them; --dry-run prints the differences')
    .requiredOption('--venue <venue>', 'venue id, e.g. binance', venueId)
    .requiredOption('--symbol <symbol>', 'canonical symbol, e.g. BTC-USDT', symbolList)
    .requiredOption('--from <time>', 'range start (inclusive): epoch ms or ISO 8601', instant)
    .requiredOption('--to <time>', 'range end (exclusive): epoch ms or ISO 8601', instant)
    .addOption(new Option('--source <source>', 'raw trades from MD_TRADES (stream) or the archive').choices(['stream', 'archive']).default('stream'))
    .option('--dry-run', 'print the differences with the stored candles, write nothing')
    .option('--dir <path>', '--source archive: the archive folder (default TICKWORK_ARCHIVE_DIR)')
    .action(async (f: RebuildFlags) => {
      const { runRebuild } = await import('../../app/rebuild.js');
      await runRebuild({ venue: f.venue, symbol: f.symbol[0]!, from: f.from, to: f.to, source: f.source, dryRun: f.dryRun === true, ...(f.dir ? { archiveDir: f.dir } : {}) });
    });
}
