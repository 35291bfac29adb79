/** NATS subjects and streams of the DESIGN.md contract (before namespacing, see runtime/namespace.ts). */
export const STREAMS = {
  trades: 'MD_TRADES',
  quotes: 'MD_QUOTES',
  candles: 'MD_CANDLES',
  arb: 'MD_ARB',
  dlq: 'MD_DLQ',
} as const;

export const STREAM_SUBJECTS = {
  trades: 'md.trade.>',
  quotes: 'md.quote.>',
  candles: 'md.candle.>',
  arb: 'md.arb.>',
  dlq: 'md.dlq.>',
} as const;

export const tradeSubject = (venue: string, symbol: string): string => `md.trade.${venue}.${symbol}`;
export const quoteSubject = (venue: string, symbol: string): string => `md.quote.${venue}.${symbol}`;
export const candleSubject = (tf: string, venue: string, symbol: string): string => `md.candle.${tf}.${venue}.${symbol}`;
export const arbSubject = (symbol: string): string => `md.arb.${symbol}`;
export const dlqSubject = (venue: string): string => `md.dlq.${venue}`;

/** DLQ message headers (set by the publisher: runtime/nats). */
export { DLQ_HEADERS } from '../runtime/nats/publisher.js';

/**
 * The dead-letter subject of a market subject (un-namespaced): `md.trade.<venue>.<SYMBOL>`,
 * `md.quote.<venue>.<SYMBOL>` and `md.candle.<tf>.<venue>.<SYMBOL>` → `md.dlq.<venue>`.
 */
export function dlqSubjectOf(subject: string): string {
  const t = subject.split('.');
  const venue = t[1] === 'candle' ? t[3] : t[2];
  return dlqSubject(venue ?? 'unknown');
}

/**
 * Extension (not stored in a stream): open-candle updates the symbol actor publishes on core NATS,
 * throttled, for live views (API WebSocket, dashboard). Payload: Candle with closed=false.
 */
export const liveCandleSubject = (tf: string, venue: string, symbol: string): string =>
  `md.live.candle.${tf}.${venue}.${symbol}`;
