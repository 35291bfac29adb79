import { InvalidArgumentError, type Command } from 'commander';
import { loadVenueIds, venueIds } from '../arguments.js';
import { symbolList } from './backfill.js';

interface ArchiveFlags {
  olderThan: number;
  venues?: string[];
  symbols?: string[];
  keep?: boolean;
  dir?: string;
}

let parseOlderThan: (v: string) => number = () => Number.NaN;

/** Before registering: the venue registry's ids and the archive's duration parser (app/archive.ts loads Parquet and NATS: not for the list of commands). */
export async function setup(): Promise<void> {
  [{ parseOlderThan }] = await Promise.all([import('../../app/archive.js'), loadVenueIds()]);
}

const olderThan = (v: string): number => {
  try {
    return parseOlderThan(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
};

export function register(program: Command): void {
  program
    .command('archive')
    .description('move raw trades of whole UTC days older than --older-than out of MD_TRADES into Parquet files (venue/symbol/day, with manifests) under TICKWORK_ARCHIVE_DIR; verified before anything is removed, idempotent')
    .requiredOption('--older-than <duration>', 'archive trades of UTC days that ended at least this long ago, e.g. 7d, 36h', olderThan)
    .option('--venues <list>', 'only these venues (default: every venue in MD_TRADES)', venueIds)
    .option('--symbols <list>', 'only these canonical symbols', symbolList)
    .option('--keep', 'write and verify the files, remove nothing from MD_TRADES')
    .option('--dir <path>', 'the archive folder (default TICKWORK_ARCHIVE_DIR)')
    .action(async (f: ArchiveFlags) => {
      const { runArchive } = await import('../../app/archive.js');
      await runArchive({
        olderThanMs: f.olderThan,
        ...(f.venues ? { venues: f.venues } : {}),
        ...(f.symbols ? { symbols: f.symbols } : {}),
        ...(f.keep ? { keep: true } : {}),
        ...(f.dir ? { archiveDir: f.dir } : {}),
      });
    });
}
