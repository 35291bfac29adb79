import { InvalidArgumentError, Option, type Command } from 'commander';
import type { BackfillSource } from '../../app/backfill.js';
import { REPLAY_FORMATS, type ReplayFormat } from '../../actors/replay/sources.js';
import { loadVenueIds, venueId } from '../arguments.js';

/** Before registering: the venue registry's ids for `--venue` (cli/arguments.ts). */
export const setup = loadVenueIds;

/** `--from` / `--to`: epoch milliseconds or an ISO 8601 time (`2024-01-02`, `2024-01-02T10:00:00Z`). */
export const instant = (v: string): number => {
  const ms = /^\d{1,15}$/.test(v) ? Number(v) : /^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(v) ? Date.parse(v.length === 10 ? `${v}T00:00:00Z` : v) : NaN;
  if (!Number.isFinite(ms)) throw new InvalidArgumentError('expected epoch milliseconds or an ISO 8601 time, e.g. 2024-01-02 or 2024-01-02T10:00:00Z');
  return ms;
};

/** Canonical BASE-QUOTE symbols, comma-separated. */
export const symbolList = (v: string): string[] => {
  const list = v.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean);
  if (list.length === 0 || !list.every((s) => /^[A-Z0-9]{1,20}-[A-Z0-9]{1,20}(-PERP)?$/.test(s))) throw new InvalidArgumentError('expected BASE-QUOTE symbols, e.g. BTC-USDT,ETH-USDT');
  return list;
};

interface BackfillFlags {
  venue: string;
  symbols: string[];
  from: number;
  to: number;
  source: BackfillSource;
  file?: string;
  format?: ReplayFormat;
  dir?: string;
}

export function register(program: Command): void {
  program
    .command('backfill')
    .description("candles of a past range from the venue's REST history, a file or the trade archive, by the live path's window kernel, written to PostgreSQL (live state untouched; re-runs change nothing)")
    .requiredOption('--venue <venue>', 'venue id, e.g. binance', venueId)
    .requiredOption('--symbols <list>', 'canonical symbols, e.g. BTC-USDT,ETH-USDT', symbolList)
    .requiredOption('--from <time>', 'range start (inclusive): epoch ms or ISO 8601', instant)
    .requiredOption('--to <time>', 'range end (exclusive): epoch ms or ISO 8601', instant)
    .addOption(new Option('--source <source>', 'where the trades come from').choices(['venue', 'file', 'archive']).default('venue'))
    .option('--file <path>', '--source file: the input file')
    .addOption(new Option('--format <format>', '--source file: its layout').choices(REPLAY_FORMATS))
    .option('--dir <path>', '--source archive: the archive folder (default TICKWORK_ARCHIVE_DIR)')
    .action(async (f: BackfillFlags) => {
      const { runBackfill } = await import('../../app/backfill.js');
      await runBackfill({
        venue: f.venue,
        symbols: f.symbols,
        from: f.from,
        to: f.to,
        source: f.source,
        ...(f.file ? { file: f.file } : {}),
        ...(f.format ? { format: f.format } : {}),
        ...(f.dir ? { archiveDir: f.dir } : {}),
      });
    });
}
