import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { DecimalString, EpochMs, Symbol, VenueId } from './common.js';

/**
 * A cross-venue opportunity (DESIGN.md: md.arb.<SYMBOL> in MD_ARB): buy at `buyVenue`'s best ask,
 * sell at `sellVenue`'s best bid. The same shape is stored in PostgreSQL and served by
 * `GET /v1/arbitrage`; `id` is the message's Nats-Msg-Id, so a repeat is stored once.
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
});
export type ArbitrageRecord = Static<typeof ArbitrageRecord>;
export const ArbitrageRecordCheck = TypeCompiler.Compile(ArbitrageRecord);

/** Deterministic id: two spread actors seeing the same quotes emit the same id (deduped in MD_ARB and PostgreSQL). */
export const arbitrageId = (symbol: string, buyVenue: string, sellVenue: string, ts: number): string =>
  `${symbol}:${buyVenue}:${sellVenue}:${ts}`;
