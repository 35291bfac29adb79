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

/** DLQ message headers. */
export const DLQ_HEADERS = {
  reason: 'Tickwork-Reason',
  schemaPath: 'Tickwork-Schema-Path',
  detail: 'Tickwork-Detail',
  source: 'Tickwork-Source',
} as const;

/**
 * Extension (not stored in a stream): open-candle updates the symbol actor publishes on core NATS,
 * throttled, for live views (API WebSocket, dashboard). Payload: Candle with closed=false.
 */
export const liveCandleSubject = (tf: string, venue: string, symbol: string): string =>
  `md.live.candle.${tf}.${venue}.${symbol}`;
