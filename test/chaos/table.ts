import { appendFileSync, existsSync, readFileSync } from 'node:fs';

/**
 * One row of the chaos suite's table (issue 9 item 8). Rows are appended as JSON lines to the
 * file named by TICKWORK_CHAOS_TABLE (set by vitest.chaos.config.ts), so every test file of the
 * run adds to one table, printed by the global teardown.
 */
export interface ChaosRow {
  fault: string;
  /** Trades the source emitted (file lines, or simulator aggregate trades since the first stored). */
  tradesIn: number;
  /** Distinct trades in MD_TRADES (by Nats-Msg-Id). */
  stored: number;
  /** Sum of the symbols' tradesApplied in their live state. */
  applied: number;
  /** Copies the worker saw and skipped (tickwork_symbol_duplicates_skipped_total). */
  duplicates: number;
  lost: number;
  doubleCounted: number;
  /** Closed candles in PostgreSQL, and whether they equal the reference computed from the trades. */
  candles: number;
  candlesEqual: boolean;
  /** Ms from the end of the fault until the worker's /readyz answered 200. */
  timeToReadyMs: number;
  /** The worker's peak resident set (VmHWM), MiB. */
  peakRssMiB: number;
}

export function recordRow(row: ChaosRow): void {
  const file = process.env.TICKWORK_CHAOS_TABLE;
  console.log(`chaos row: ${JSON.stringify(row)}`);
  if (file) appendFileSync(file, `${JSON.stringify(row)}\n`);
}

export function readRows(file: string): ChaosRow[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as ChaosRow);
}

const COLUMNS: [string, (r: ChaosRow) => string][] = [
  ['fault', (r) => r.fault],
  ['trades in', (r) => String(r.tradesIn)],
  ['stored', (r) => String(r.stored)],
  ['applied', (r) => String(r.applied)],
  ['duplicates', (r) => String(r.duplicates)],
  ['lost', (r) => String(r.lost)],
  ['double counted', (r) => String(r.doubleCounted)],
  ['candles = ref', (r) => `${r.candles} ${r.candlesEqual ? 'yes' : 'NO'}`],
  ['time to ready', (r) => `${(r.timeToReadyMs / 1000).toFixed(1)} s`],
  ['peak RSS', (r) => `${r.peakRssMiB} MiB`],
];

/** A Markdown table of the rows. */
export function formatTable(rows: ChaosRow[]): string {
  const lines = [`| ${COLUMNS.map(([h]) => h).join(' | ')} |`, `|${COLUMNS.map(() => '---').join('|')}|`];
  for (const r of rows) lines.push(`| ${COLUMNS.map(([, f]) => f(r)).join(' | ')} |`);
  return lines.join('\n');
}
