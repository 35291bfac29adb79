import { loadWorkerConfig, timeframes, type WorkerConfig } from '../actors/symbol/config.js';
import { sessionsFromJson } from '../actors/symbol/sessions.js';
import { SessionCalendar, UTC_CALENDAR, type Bar, type WindowsConfig, type WindowsSnapshot } from '../actors/windows/index.js';
import { compare, parseDecimal } from '../runtime/decimal.js';
import type { Logger } from '../runtime/logger.js';
import type { Namespace } from '../runtime/namespace.js';
import { StreamSource, type NatsHandles } from '../runtime/nats/index.js';
import type { Redis } from '../runtime/redis.js';
import type { Candle } from '../schemas/candle.js';
import { TF_MS, type Tf } from '../schemas/common.js';
import { STREAMS, tradeSubject } from '../schemas/subjects.js';
import { TradeCheck, type Trade } from '../schemas/trade.js';
import type { CandleStore } from '../store/candles.js';
import { SnapshotStore } from '../store/snapshots.js';

/**
 * What backfill, rebuild and archive share: the kernel configuration the live actors have, the
 * raw trades of one symbol in MD_TRADES, the seam with the live candles, and the comparison of
 * computed candles with stored ones.
 */

/** The window kernel's configuration of a venue+symbol, as a live worker builds it (timeframes, session); no VWAPs (candles only). */
export function batchWindowsConfig(cfg: WorkerConfig, venue: string, symbol: string): WindowsConfig {
  return { venue, symbol, timeframes: timeframes(cfg), vwapWindows: [], session: sessionsFromJson(cfg.TICKWORK_SESSIONS)(venue, symbol) };
}

/** The worker variables the kernel configuration comes from (TICKWORK_TIMEFRAMES, TICKWORK_SESSIONS), checked. */
export const loadBatchWorkerConfig = (env: NodeJS.ProcessEnv): WorkerConfig => loadWorkerConfig(env);

export interface StoredTrade {
  seq: number;
  trade: Trade;
}

/**
 * The trades of one venue+symbol in MD_TRADES, oldest first, in batches, up to the last one stored
 * when the read began (an ordered consumer filtered on the symbol's subject: nothing to clean up).
 */
export async function* storedTrades(nats: NatsHandles, ns: Namespace, log: Logger, venue: string, symbol: string): AsyncGenerator<StoredTrade[]> {
  const stream = ns.stream(STREAMS.trades);
  const subject = ns.subject(tradeSubject(venue, symbol));
  const last = await nats.jsm.streams.getMessage(stream, { last_by_subj: subject }).catch(() => null);
  if (!last) return;
  const source = await StreamSource.open<Trade>({ nats, stream, filter: subject, start: { afterSeq: 0 }, check: TradeCheck, maxBatch: 2000, name: 'history', log });
  try {
    for await (const batch of source) {
      const out: StoredTrade[] = [];
      for (const item of batch.items) if (item.seq <= last.seq) out.push({ seq: item.seq, trade: item.value });
      if (out.length) yield out;
      if (batch.lastSeq >= last.seq) return;
    }
  } finally {
    await source.close();
  }
}

/** The first trade of a venue+symbol still in MD_TRADES, or null. */
export async function firstStoredTrade(nats: NatsHandles, ns: Namespace, log: Logger, venue: string, symbol: string): Promise<Trade | null> {
  for await (const batch of storedTrades(nats, ns, log, venue, symbol)) return batch[0]?.trade ?? null;
  return null;
}

/**
 * Per timeframe, openTime of the live path's first bar of a venue+symbol: from the symbol actor's
 * snapshot (its windows' first bar, kept through restarts); without one, the bar of the first
 * trade in MD_TRADES (a worker that has not run yet will start there). Empty: no live candles.
 */
export async function liveSeam(
  deps: { redis: Redis; nats: NatsHandles; ns: Namespace; log: Logger },
  windows: WindowsConfig,
): Promise<Partial<Record<Tf, number>>> {
  const { venue, symbol } = windows;
  const seam: Partial<Record<Tf, number>> = {};
  const snap = await new SnapshotStore(deps.redis, deps.ns).load<WindowsSnapshot>(venue, symbol);
  if (snap) {
    for (const s of snap.windows.series) if (s.firstStart !== null) seam[s.tf] = s.firstStart;
    return seam;
  }
  const first = await firstStoredTrade(deps.nats, deps.ns, deps.log, venue, symbol);
  if (!first) return seam;
  const calendar = windows.session ? new SessionCalendar(windows.session) : UTC_CALENDAR;
  const bar: Bar = { start: 0, end: 0 };
  for (const tf of windows.timeframes ?? []) {
    calendar.barOf(first.ts, TF_MS[tf], bar);
    seam[tf] = bar.start;
  }
  return seam;
}

export interface CandleDiff {
  tf: string;
  openTime: number;
  /** Fields that differ, or `missing` (not stored) / `extra` (stored, not computed). */
  fields: string[];
}

const DECIMALS = ['open', 'high', 'low', 'close', 'volume', 'quoteVolume', 'vwap', 'buyVolume'] as const;

/** The fields in which two versions of one candle differ (decimals compared as numbers: 1.50 = 1.5). */
export function candleDifferences(a: Candle, b: Candle): string[] {
  const out: string[] = [];
  for (const k of DECIMALS) if (compare(parseDecimal(a[k]), parseDecimal(b[k])) !== 0) out.push(k);
  if (a.trades !== b.trades) out.push('trades');
  if (a.firstTradeId !== b.firstTradeId) out.push('firstTradeId');
  if (a.lastTradeId !== b.lastTradeId) out.push('lastTradeId');
  if (a.closed !== b.closed) out.push('closed');
  return out;
}

/**
 * Computed candles of one venue+symbol against the stored ones of the same timeframes: the
 * differences, including bars only one side has. Stored bars are looked up over `range` (per
 * timeframe, the bars wholly inside it) or, without one, over [first, last] computed openTime.
 */
export async function diffStored(
  store: CandleStore,
  venue: string,
  symbol: string,
  computed: readonly Candle[],
  range?: { fromMs: number; toMs: number; tfs: readonly Tf[] },
): Promise<{ compared: number; diffs: CandleDiff[] }> {
  const byTf = new Map<string, Candle[]>();
  for (const tf of range?.tfs ?? []) byTf.set(tf, []);
  for (const c of computed) {
    const list = byTf.get(c.tf) ?? [];
    list.push(c);
    byTf.set(c.tf, list);
  }
  const diffs: CandleDiff[] = [];
  let compared = 0;
  for (const [tf, list] of byTf) {
    const want = new Map(list.map((c) => [c.openTime, c]));
    const lo = range ? range.fromMs : Math.min(...want.keys());
    const hi = range ? range.toMs - 1 : Math.max(...want.keys());
    const stored = (await store.query({ venue, symbol, tf: tf as Tf, from: lo, to: hi, limit: want.size + 1_000_000 })).filter((c) => !range || c.closeTime < range.toMs);
    const have = new Map(stored.map((c) => [c.openTime, c]));
    for (const [openTime, c] of want) {
      compared++;
      const s = have.get(openTime);
      const fields = s ? candleDifferences(c, s) : ['missing'];
      if (fields.length) diffs.push({ tf, openTime, fields });
    }
    for (const openTime of have.keys()) if (!want.has(openTime)) diffs.push({ tf, openTime, fields: ['extra'] });
  }
  return { compared, diffs };
}
