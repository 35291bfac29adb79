import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { DecimalString } from '../../schemas/common.js';
import { Rfc3339, SafeId, VenueSymbolText } from '../kit/raw.js';

/**
 * Coinbase book frames. Advanced Trade (`wss://advanced-trade-ws.coinbase.com`, channel `level2`,
 * pushed as `l2_data`): https://docs.cdp.coinbase.com/advanced-trade/docs/ws-channels#level2-channel
 * Also the older Exchange feed of the recordings (`snapshot` / `l2update`, no sequence numbers).
 */

/** Every Advanced Trade message carries the connection-wide counter `sequence_num`. */
export const CoinbaseSequenced = Type.Object({ channel: Type.String({ maxLength: 64 }), sequence_num: SafeId });
export type CoinbaseSequenced = Static<typeof CoinbaseSequenced>;
export const CoinbaseSequencedCheck = TypeCompiler.Compile(CoinbaseSequenced);

const L2Update = Type.Object({
  side: Type.Union([Type.Literal('bid'), Type.Literal('offer')]),
  event_time: Type.Optional(Rfc3339),
  price_level: DecimalString,
  /** "0" removes the level. */
  new_quantity: DecimalString,
});

export const CoinbaseL2Event = Type.Object({
  type: Type.Union([Type.Literal('snapshot'), Type.Literal('update')]),
  product_id: VenueSymbolText,
  updates: Type.Array(L2Update, { maxItems: 200_000 }),
});
export type CoinbaseL2Event = Static<typeof CoinbaseL2Event>;

export const CoinbaseL2Data = Type.Object({
  channel: Type.Literal('l2_data'),
  client_id: Type.Optional(Type.String({ maxLength: 128 })),
  timestamp: Rfc3339,
  sequence_num: SafeId,
  events: Type.Array(CoinbaseL2Event, { maxItems: 1_000 }),
});
export type CoinbaseL2Data = Static<typeof CoinbaseL2Data>;
export const CoinbaseL2DataCheck = TypeCompiler.Compile(CoinbaseL2Data);

const ExchangeLevel = Type.Tuple([DecimalString, DecimalString]);

/** Exchange feed `snapshot`: the whole book of one product. */
export const CoinbaseExchangeSnapshot = Type.Object({
  type: Type.Literal('snapshot'),
  product_id: VenueSymbolText,
  bids: Type.Array(ExchangeLevel, { maxItems: 200_000 }),
  asks: Type.Array(ExchangeLevel, { maxItems: 200_000 }),
});
export type CoinbaseExchangeSnapshot = Static<typeof CoinbaseExchangeSnapshot>;

/** Exchange feed `l2update`: `[side buy|sell, price, size]`, size "0" removes. */
export const CoinbaseExchangeL2Update = Type.Object({
  type: Type.Literal('l2update'),
  product_id: VenueSymbolText,
  changes: Type.Array(Type.Tuple([Type.Union([Type.Literal('buy'), Type.Literal('sell')]), DecimalString, DecimalString]), { maxItems: 10_000 }),
  time: Type.Optional(Rfc3339),
});
export type CoinbaseExchangeL2Update = Static<typeof CoinbaseExchangeL2Update>;

export const CoinbaseExchangeBook = Type.Union([CoinbaseExchangeSnapshot, CoinbaseExchangeL2Update]);
export type CoinbaseExchangeBook = Static<typeof CoinbaseExchangeBook>;
export const CoinbaseExchangeBookCheck = TypeCompiler.Compile(CoinbaseExchangeBook);
