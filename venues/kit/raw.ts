import { Type } from '@sinclair/typebox';

/**
 * Building blocks of the raw venue frame schemas. They are stricter than the contract types in
 * `schemas/common.ts` (every value they accept is also a valid contract value), so a frame that
 * passes its raw schema normalizes into a valid Trade/Quote without a second validation pass.
 */

/** Unsigned decimal text, zero allowed (quotes: an empty book side is sent as "0"). */
export const VenueDecimal = Type.String({ pattern: '^[0-9]{1,40}(\\.[0-9]{1,40})?$', maxLength: 64 });

/** Unsigned decimal text that is not zero (trade price and quantity). */
export const PositiveDecimal = Type.String({ pattern: '^(?=[0-9.]*[1-9])[0-9]{1,40}(\\.[0-9]{1,40})?$', maxLength: 64 });

/** Epoch milliseconds as a JSON number; the upper bound (year 2286) rejects "huge number" garbage. */
export const VenueMs = Type.Integer({ minimum: 0, maximum: 9_999_999_999_999 });

/** Epoch milliseconds sent as a digit string (OKX `ts`, Bybit v2 `trade_time_ms`). */
export const VenueMsString = Type.String({ pattern: '^[0-9]{1,13}$' });

/** A numeric id that survives JSON.parse exactly. */
export const SafeId = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });

/** An id sent as a string (UUIDs, digit strings); bounded to the contract's 64 characters. */
export const IdString = Type.String({ minLength: 1, maxLength: 64 });

/** A venue's own symbol text; mapping to the canonical symbol happens in the adapter. */
export const VenueSymbolText = Type.String({ minLength: 1, maxLength: 64 });

/** RFC 3339 / ISO 8601 UTC-or-offset timestamp with optional fraction (Coinbase, Kraken v2, Bybit v2). */
export const Rfc3339 = Type.String({
  pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$',
  maxLength: 40,
});

/** Epoch seconds with an optional fraction, as text (Kraken v1 `"1618678133.123456"`). */
export const EpochSecondsText = Type.String({ pattern: '^[0-9]{1,10}(\\.[0-9]{1,9})?$' });
