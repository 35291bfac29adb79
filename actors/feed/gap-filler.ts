import { backoffDelay, sleep } from '../../runtime/backoff.js';
import type { Logger } from '../../runtime/logger.js';
import type { Trade } from '../../schemas/trade.js';
import type { TradeHistory, VenueAdapter } from '../../venues/kit/types.js';
import type { GapTracker } from './gap-tracker.js';
import type { FeedStats } from './metrics.js';
import type { MarketPublisher } from './publisher.js';

const HISTORY_ATTEMPTS = 3;
const HISTORY_BACKOFF = { initialMs: 200, maxMs: 2000, multiplier: 2 };
/** History requests in flight at once while catching up after a reconnect. */
const CATCH_UP_CONCURRENCY = 4;

export interface GapFillerDeps {
  venue: string;
  /** The connection's tracker (kept across incarnations in its slot). */
  gaps: GapTracker;
  /** The venue's trade history; null where it has none: gaps are then counted, not filled. */
  history: TradeHistory | null;
  publisher: MarketPublisher;
  stats: FeedStats;
  /** Largest gap (trade ids) fetched from history; larger gaps are counted unfilled. */
  maxBackfill: number;
  /** Last trade of a symbol already stored in MD_TRADES (seeds the tracker after a crash). */
  lastStoredTrade: (symbol: string) => Promise<Trade | null>;
  /** The incarnation's lifetime: history requests and waits end with it. */
  signal: AbortSignal;
  /** A publish JetStream did not store: the incarnation must fail (and the slot reconnect). */
  onLost: (err: unknown) => void;
  log: Logger;
}

/**
 * Trades of venues with sequential ids: publishes each once and in order, filling the holes a
 * disconnect leaves from the venue's trade history (the port `TradeHistory`) before the live trade
 * that revealed them, and catching up after a reconnect even if a symbol stays quiet.
 */
export class GapFiller {
  constructor(private readonly deps: GapFillerDeps) {}

  /**
   * Publishes one live trade: drops repeats, fills a gap before it, rewinds if it is not stored.
   * Synchronous unless a gap has to be filled first (then the returned promise settles after it).
   */
  publish(adapter: VenueAdapter, trade: Trade): void | Promise<void> {
    const seq = adapter.tradeSeq?.(trade);
    const { gaps, stats, publisher } = this.deps;
    if (!seq) {
      publisher.trade(trade, this.lostIfFailed);
      return;
    }
    // Time of the trade before this one: where a time-paged history (Kraken) starts a backfill.
    const prevTs = gaps.lastTs(trade.symbol) ?? Number.NaN;
    const verdict = gaps.observe(trade.symbol, seq.first, seq.last, trade.ts);
    if (verdict.kind === 'repeat') {
      stats.repeat(); // overlap after reconnect/rotation: already published
      return;
    }
    if (verdict.kind === 'gap') return this.fillThenPublish(adapter, trade, seq.first, verdict.from, verdict.to, prevTs);
    this.publishLive(trade, seq.first, prevTs);
  }

  private async fillThenPublish(adapter: VenueAdapter, trade: Trade, first: number, from: number, to: number, prevTs: number): Promise<void> {
    try {
      await this.fillGap(adapter, trade, from, to, prevTs);
    } catch (err) {
      // Ended mid-backfill (socket closed): this trade is not published either. Move back to
      // before the gap so the next incarnation, seeing the trades queued after it, refills both.
      this.deps.gaps.rewind(trade.symbol, from - 1, prevTs);
      throw err;
    }
    this.publishLive(trade, first, Number.NaN);
  }

  /** `prevTs`: time of the trade before it (NaN after a backfill: the position is then the backfill's). */
  private publishLive(trade: Trade, first: number, prevTs: number): void {
    this.deps.publisher.trade(trade, (err) => {
      if (err === null) return;
      // Not stored: move the position back so the next trade reveals the hole and backfills it.
      this.deps.gaps.rewind(trade.symbol, first - 1, prevTs);
      this.deps.onLost(err);
    });
  }

  private readonly lostIfFailed = (err: unknown): void => {
    if (err !== null) this.deps.onLost(err);
  };

  /** After a crash nothing is in memory: the last trade stored in MD_TRADES says where we were. */
  async seed(adapter: VenueAdapter, symbols: readonly string[]): Promise<void> {
    if (!adapter.tradeSeq) return;
    const { gaps } = this.deps;
    await Promise.all(
      symbols
        .filter((s) => gaps.lastId(s) === undefined)
        .map(async (s) => {
          const t = await this.deps.lastStoredTrade(s);
          const seq = t ? adapter.tradeSeq?.(t) : null;
          if (t && seq) gaps.seed(s, seq.last, t.ts);
        }),
    );
  }

  /**
   * After a reconnect, once the new socket delivers (its subscriptions are live): fetches what
   * each symbol traded since the last id seen, so trades missed while disconnected are stored
   * even if the symbol does not trade again soon (a live trade would reveal the gap only then).
   */
  async catchUp(adapter: VenueAdapter, symbols: readonly string[]): Promise<void> {
    const { gaps, stats, venue, history, maxBackfill } = this.deps;
    if (history === null || !adapter.tradeSeq) return;
    const pending = symbols.filter((s) => gaps.lastId(s) !== undefined);
    const worker = async (): Promise<void> => {
      for (let symbol = pending.pop(); symbol !== undefined; symbol = pending.pop()) {
        const last = gaps.lastId(symbol);
        if (last === undefined) continue;
        const like: Trade = { venue, symbol, venueSymbol: adapter.toVenueSymbol(symbol), id: '', price: '0', qty: '0', side: 'buy', ts: 0, recvTs: 0 };
        const next = await this.backfillRange(history, adapter, like, last + 1, last + maxBackfill, gaps.lastTs(symbol));
        if (next > last + 1) {
          stats.gap();
          stats.gapFilled();
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CATCH_UP_CONCURRENCY, pending.length) }, worker));
  }

  /**
   * Publishes trades [from, to] from history before the live trade that revealed the gap. A gap
   * counts as detected once it is settled (filled or not): one aborted by the end of the
   * incarnation is detected again, and counted then.
   */
  private async fillGap(adapter: VenueAdapter, live: Trade, from: number, to: number, sinceTs: number): Promise<void> {
    const { stats, log, history, maxBackfill } = this.deps;
    const missing = to - from + 1;
    if (history === null || missing > maxBackfill) {
      stats.gap();
      stats.unfilled(missing);
      log.warn({ symbol: live.symbol, from, to, missing, reason: history ? 'too large' : 'no trade history' }, 'trade id gap not filled');
      return;
    }
    const next = await this.backfillRange(history, adapter, live, from, to, Number.isNaN(sinceTs) ? undefined : sinceTs);
    stats.gap();
    if (next > to) stats.gapFilled();
    else {
      stats.unfilled(to - next + 1);
      log.warn({ symbol: live.symbol, from: next, to, missing: to - next + 1 }, 'trade id gap partly filled');
    }
  }

  /**
   * Publishes the venue's trades with ids in [from, to] (pages in id order) and advances the
   * tracker over them. Returns the first id not published: `to + 1` when complete. Stops early
   * when the venue has no more (yet). `sinceTs`: time of trade `from − 1`, where known.
   */
  private async backfillRange(history: TradeHistory, adapter: VenueAdapter, like: Trade, from: number, to: number, sinceTs: number | undefined): Promise<number> {
    const { gaps, stats, log, publisher, signal } = this.deps;
    let next = from;
    let since = sinceTs;
    let failures = 0;
    while (next <= to) {
      const limit = Math.min(history.maxPerRequest, to - next + 1);
      let trades: Trade[];
      try {
        trades = await history.trades(like, next, limit, signal, since);
      } catch (err) {
        if (signal.aborted) throw err;
        if (++failures >= HISTORY_ATTEMPTS) {
          log.warn({ symbol: like.symbol, from: next, to, err: (err as Error).message }, 'backfill failed');
          break;
        }
        await sleep(backoffDelay(failures, HISTORY_BACKOFF), signal);
        continue;
      }
      let published = 0;
      for (const t of trades) {
        const s = adapter.tradeSeq?.(t);
        if (!s || s.last < next || s.first > to) continue;
        if (!publisher.hasRoom) await publisher.room();
        publisher.trade(t, this.lostIfFailed);
        gaps.advance(t.symbol, s.last, t.ts);
        published++;
        next = s.last + 1;
        since = t.ts;
      }
      stats.backfill(published);
      if (published === 0 || trades.length < limit) break; // the venue has nothing more in the range (yet)
    }
    return next;
  }
}
