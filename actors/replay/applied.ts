import type { Trade } from '../../schemas/trade.js';
import { TradeGuard, type LegacyTradeGuardSnapshot, type TradeGuardSnapshot } from '../symbol/trade-guard.js';

/** What a symbol actor has applied (store/applied-state.ts reads it from its snapshot). */
export interface AppliedView {
  lastTrade: { id: string; ts: number } | null;
  guard: unknown;
}

/**
 * - `new`: the worker will apply it (publish).
 * - `applied`: the symbol's snapshot already holds this trade id (a re-run): nothing to publish.
 * - `too-old`: unseen, and older than what the symbol applied by more than the worker's grace (or
 *   below the ids its guard remembers): the live path would not build its candles (history
 *   belongs to the batch path).
 */
export type ReplayVerdict = 'new' | 'applied' | 'too-old';

interface SymbolView {
  /** Trades before this time are too old for the live path; -Infinity when nothing is applied. */
  horizon: number;
  guard: TradeGuard | null;
}

/**
 * Sorts a replay's trades by what the symbol actors already applied, so that a replay says what
 * happened instead of publishing trades the worker then drops. The state is read once per symbol
 * (before its first trade is published), so the replay's own trades never count against it.
 */
export class AppliedFilter {
  private readonly views = new Map<string, SymbolView>();

  constructor(
    private readonly load: (venue: string, symbol: string) => Promise<AppliedView | null>,
    /** The worker's TICKWORK_GRACE_MS: trades within it of the last applied one still land in open bars. */
    private readonly graceMs: number,
  ) {}

  /** Synchronous once the trade's symbol is known; the first trade of a symbol waits for its state. */
  classify(t: Trade): ReplayVerdict | Promise<ReplayVerdict> {
    const view = this.views.get(`${t.venue}:${t.symbol}`);
    if (view !== undefined) return verdict(view, t);
    return this.loadView(t).then((v) => verdict(v, t));
  }

  /** Symbols whose applied state was read, with the time before which their trades are too old. */
  horizons(): { symbol: string; before: number }[] {
    return [...this.views].filter(([, v]) => v.horizon > -Infinity).map(([symbol, v]) => ({ symbol, before: v.horizon }));
  }

  private async loadView(t: Trade): Promise<SymbolView> {
    const key = `${t.venue}:${t.symbol}`;
    const state = await this.load(t.venue, t.symbol);
    const view: SymbolView = state?.lastTrade
      ? { horizon: state.lastTrade.ts - this.graceMs, guard: TradeGuard.fromSnapshot(state.guard as TradeGuardSnapshot | LegacyTradeGuardSnapshot | null) }
      : { horizon: -Infinity, guard: null };
    this.views.set(key, view);
    return view;
  }
}

function verdict(view: SymbolView, t: Trade): ReplayVerdict {
  if (view.guard === null) return 'new';
  // The guard is this replay's own copy: admitting marks the id, so a repeated line is `applied` too.
  // `expired` (below what the guard remembers): the worker would drop it as seen, applied or not.
  const seen = view.guard.admit(t.id);
  if (seen === 'duplicate') return 'applied';
  return seen === 'expired' || t.ts < view.horizon ? 'too-old' : 'new';
}
