import { Type, type Static } from '@sinclair/typebox';
import { lazyCheck } from './check.js';
import { DecimalString, EpochMs, Symbol, VenueId } from './common.js';

/**
 * A cross-venue opportunity (DESIGN.md: md.arb.<SYMBOL> in MD_ARB): buy at `buyVenue`'s best ask,
 * sell at `sellVenue`'s best bid. `id` is the message's Nats-Msg-Id, so a repeat is stored once.
 * Opportunities persist as episodes (the extension fields): md.arb carries each episode's open,
 * update and close events; PostgreSQL keeps one row per episode and `GET /v1/arbitrage` serves
 * those rows (`id` = `episodeId` there, the old fields describing the episode's peak).
 */
export const ArbitrageRecord = Type.Object({
  /** `<SYMBOL>:<buyVenue>:<sellVenue>:<ts>` (see `arbitrageId`). */
  id: Type.String({ minLength: 1, maxLength: 200 }),
  symbol: Symbol,
  /** The later of the two quotes' venue times, epoch ms. */
  ts: EpochMs,
  buyVenue: VenueId,
  sellVenue: VenueId,
  /** Best ask on buyVenue, as the venue sent it. */
  ask: DecimalString,
  /** Best bid on sellVenue, as the venue sent it. */
  bid: DecimalString,
  /** (bid − ask) / ask × 10000, exact, rounded half-up to 4 decimals. */
  spreadBps: DecimalString,

  // ---- episodes (issue 13): present on everything the spread actor emits and stores since ----
  /** `book`: buy on buyVenue's asks, sell on sellVenue's bids, net of taker fees; `funding`: long perpetual on buyVenue, short on sellVenue. */
  kind: Type.Optional(Type.Union([Type.Literal('book'), Type.Literal('funding')])),
  /** md.arb: what happened to the episode; stored rows: `open` while it lasts, then `close`. */
  event: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('update'), Type.Literal('close')])),
  /** `<SYMBOL>:<buyVenue>:<sellVenue>[:funding]:<startedAt>`; md.arb events carry it beside their own `id`. */
  episodeId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  /** When the opportunity first met the threshold (the episode opened TICKWORK_ARB_OPEN_AFTER_MS later), epoch ms. */
  startedAt: Type.Optional(EpochMs),
  /** When it fell below threshold − hysteresis; null while open. */
  endedAt: Type.Optional(Type.Union([EpochMs, Type.Null()])),
  /** Net bps of this event's observation (book: net of fees at size Q*; funding: rate spread per 8 h), rounded half-up to 4 decimals. */
  netBps: Type.Optional(DecimalString),
  /** Highest netBps of the episode so far (compared exactly, reported rounded). */
  peakBps: Type.Optional(DecimalString),
  /** Time-weighted mean of the reported netBps since startedAt, rounded half-up to 4 decimals. */
  avgBps: Type.Optional(DecimalString),
  /** Book: Q*, base units, rounded down to both venues' lot steps. */
  size: Type.Optional(DecimalString),
  /** Book: net profit at Q* in quote currency after fees and transfer cost, exact. */
  netQuote: Type.Optional(DecimalString),
  /** Book: Σ ask × qty bought at Q*, before fees. */
  notional: Type.Optional(DecimalString),
  /** The symbol's quote currency (the unit of netQuote and notional). */
  quote: Type.Optional(Type.String({ maxLength: 20 })),
  /** Funding: the rates (per their own interval) and the interval both were normalized to (8 h). */
  buyFundingRate: Type.Optional(DecimalString),
  sellFundingRate: Type.Optional(DecimalString),
  fundingIntervalMs: Type.Optional(Type.Integer({ minimum: 1 })),
});
export type ArbitrageRecord = Static<typeof ArbitrageRecord>;
export const ArbitrageRecordCheck = lazyCheck(ArbitrageRecord);

/** Deterministic id: two spread actors seeing the same quotes emit the same id (deduped in MD_ARB and PostgreSQL). */
export const arbitrageId = (symbol: string, buyVenue: string, sellVenue: string, ts: number): string =>
  `${symbol}:${buyVenue}:${sellVenue}:${ts}`;
