import { Type, type Static } from '@sinclair/typebox';
import { loadEnv } from '../../runtime/config.js';

/** The derivatives feed's variables (actors/feed/derivs-feed.ts); the venues and symbols are the feed's own. */
export const DerivsEnv = Type.Object({
  TICKWORK_DERIVS: Type.Union([Type.Literal('on'), Type.Literal('off')], {
    default: 'on',
    description: 'on (derivatives of every configured BASE-QUOTE-PERP symbol on the venues that publish them) or off',
  }),
  TICKWORK_DERIVS_EMIT_MS: Type.Integer({ default: 1000, minimum: 100, description: 'milliseconds >= 100 between two md.deriv tickers of one symbol' }),
  TICKWORK_DERIVS_OI_POLL_MS: Type.Integer({ default: 10_000, minimum: 1000, description: 'milliseconds >= 1000 between two REST open-interest reads of one symbol (Binance USD-M)' }),
  TICKWORK_DERIVS_RESUME_MS: Type.Integer({
    default: 300_000,
    minimum: 0,
    description:
      'milliseconds >= 0: a restarted feed resumes from its last published ticker (Redis) when it is at most this old, so a funding settlement passed meanwhile is recorded with the last rate seen; 0 = never',
  }),
  TICKWORK_DERIVS_SILENCE_MS: Type.Integer({ default: 60_000, minimum: 1000, description: 'milliseconds >= 1000 without a frame before a derivatives connection reconnects' }),
});
export type DerivsConfig = Static<typeof DerivsEnv>;

export const loadDerivsConfig = (env: NodeJS.ProcessEnv): DerivsConfig => loadEnv(DerivsEnv, env);
