import { SymbolWindows } from '../../actors/windows/index.js';
import type { Tf } from '../../schemas/common.js';
import type { Trade } from '../../schemas/trade.js';
import type { Isolated } from '../harness.js';

/**
 * The closed candles a fault-free worker emits for `trades` (in publish order, event time only:
 * a bar closes when a later trade passes it), computed with the window kernel directly, as
 * `venue|symbol|tf|openTime|o|h|l|c|volume|trades` rows sorted like `candleRows`.
 */
export function referenceCandles(trades: Iterable<Trade>, timeframes: Tf[]): string[] {
  const windows = new Map<string, SymbolWindows<Trade>>();
  const rows: string[] = [];
  for (const t of trades) {
    let w = windows.get(t.symbol);
    if (!w) windows.set(t.symbol, (w = new SymbolWindows<Trade>({ venue: t.venue, symbol: t.symbol, timeframes, vwapWindows: ['1m'] })));
    w.apply(t);
    for (const c of w.drainClosed()) rows.push(`${c.venue}|${c.symbol}|${c.tf}|${c.openTime}|${c.open}|${c.high}|${c.low}|${c.close}|${c.volume}|${c.trades}`);
  }
  return rows.sort();
}

/** The candles the sink wrote to PostgreSQL, in the same row format. */
export async function candleRows(iso: Isolated): Promise<string[]> {
  const rows = await iso.sql().unsafe(
    `select venue, symbol, tf, (extract(epoch from open_time) * 1000)::bigint as open_ms, open::text, high::text, low::text, close::text, volume::text, trades
       from "${iso.ns.pgSchema}".candles`,
  );
  return rows.map((r) => Object.values(r).join('|')).sort();
}
