import { Type } from '@sinclair/typebox';

/** A decimal number as a string, exactly as the venue sent it (no exponent, optional sign and fraction). */
export const DecimalString = Type.String({ pattern: '^-?(0|[1-9][0-9]*|0[0-9]+)(\\.[0-9]+)?$', maxLength: 64 });
export const VenueId = Type.String({ pattern: '^[a-z][a-z0-9-]{1,31}$' });
/** Canonical `BASE-QUOTE`, upper case; perpetual swaps `BASE-QUOTE-PERP` (DESIGN.md extensions). */
export const Symbol = Type.String({ pattern: '^[A-Z0-9]{1,20}-[A-Z0-9]{1,20}(-PERP)?$' });
export const EpochMs = Type.Integer({ minimum: 0 });
export const Timeframe = Type.Union(['1s', '1m', '5m', '15m', '1h', '4h', '1d'].map((t) => Type.Literal(t)));

export const TIMEFRAMES = ['1s', '1m', '5m', '15m', '1h', '4h', '1d'] as const;
export type Tf = (typeof TIMEFRAMES)[number];
export const TF_MS: Record<Tf, number> = {
  '1s': 1_000,
  '1m': 60_000,
  '5m': 300_000,
  '15m': 900_000,
  '1h': 3_600_000,
  '4h': 14_400_000,
  '1d': 86_400_000,
};
