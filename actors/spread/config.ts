import { Type, type Static } from '@sinclair/typebox';
import { configError, list, loadEnv } from '../../runtime/config.js';
import { parseDecimal, type Decimal } from '../../runtime/decimal.js';

const DEC = '(0|[1-9][0-9]*)(\\.[0-9]+)?';
const Bps = (dflt: string, description: string) => Type.String({ default: dflt, pattern: `^${DEC}$`, maxLength: 32, description });

export const SpreadEnv = Type.Object({
  TICKWORK_ARB_STALE_MS: Type.Integer({
    default: 5000,
    minimum: 1,
    description: 'milliseconds >= 1: a book (or quote) received longer ago than this takes no part',
  }),
  TICKWORK_ARB_MIN_BPS: Bps('1', 'a non-negative decimal number of basis points, like 1 or 0.5 (net of fees)'),
  TICKWORK_ARB_FLUSH_MS: Type.Integer({
    default: 250,
    minimum: 10,
    description: 'milliseconds >= 10 between PostgreSQL batch writes of episodes',
  }),
  TICKWORK_ARB_FEES_BPS: Type.String({
    default: '',
    pattern: `^([a-z][a-z0-9-]*:${DEC}(,[a-z][a-z0-9-]*:${DEC})*)?$`,
    maxLength: 2000,
    description: 'comma-separated venue:takerFeeBps like binance:10,okx:8 (venues not listed pay TICKWORK_ARB_DEFAULT_FEE_BPS)',
  }),
  TICKWORK_ARB_DEFAULT_FEE_BPS: Bps('10', 'a non-negative decimal number of basis points: the taker fee of venues TICKWORK_ARB_FEES_BPS does not list'),
  TICKWORK_ARB_TRANSFER_BPS: Bps('0', 'a non-negative decimal number of basis points of the notional: transfer/rebalancing cost per trade'),
  TICKWORK_ARB_MAX_NOTIONAL: Type.String({
    default: '100000',
    pattern: `^(${DEC}|none)$`,
    maxLength: 40,
    description: 'a positive decimal amount of quote currency (the most one opportunity buys, before fees), or none',
  }),
  TICKWORK_ARB_MIN_NET: Type.String({ default: '0', pattern: `^${DEC}$`, maxLength: 40, description: 'a non-negative decimal amount of quote currency the net profit must reach' }),
  TICKWORK_ARB_LOT_STEPS: Type.String({
    default: '',
    pattern: `^([a-z][a-z0-9-]*(:[A-Z0-9-]+)?=${DEC}(,[a-z][a-z0-9-]*(:[A-Z0-9-]+)?=${DEC})*)?$`,
    maxLength: 4000,
    description: 'comma-separated venue=step or venue:SYMBOL=step like okx=0.0001,binance:BTC-USDT=0.00001 (sizes are rounded down to both venues\' steps)',
  }),
  TICKWORK_ARB_OPEN_AFTER_MS: Type.Integer({ default: 500, minimum: 0, description: 'milliseconds >= 0 an opportunity must persist before its episode opens' }),
  TICKWORK_ARB_HYSTERESIS_BPS: Bps('0.5', 'a non-negative decimal number of basis points: an open episode closes below TICKWORK_ARB_MIN_BPS minus this'),
  TICKWORK_ARB_UPDATE_MS: Type.Integer({ default: 1000, minimum: 0, description: 'milliseconds >= 0 between two update events of one open episode' }),
  TICKWORK_ARB_TICK_MS: Type.Integer({ default: 100, minimum: 10, description: 'milliseconds >= 10 between evaluations without new data (episode timers, book ages)' }),
  TICKWORK_ARB_FUNDING_MIN_BPS: Bps('1', 'a non-negative decimal number of basis points per 8 hours: the funding spread that opens a funding episode'),
  TICKWORK_ARB_FUNDING_STALE_MS: Type.Integer({ default: 120_000, minimum: 1, description: 'milliseconds >= 1: a derivative ticker older than this takes no part in funding spreads' }),
});
export type SpreadConfig = Static<typeof SpreadEnv>;

/** The variables with their lists checked beyond the patterns (ConfigError naming the variable). */
export function loadSpreadConfig(env: NodeJS.ProcessEnv): SpreadConfig {
  const cfg = loadEnv(SpreadEnv, env);
  const costs = spreadCosts(cfg);
  if (costs.maxNotional !== null && costs.maxNotional.units === 0n) throw configError('TICKWORK_ARB_MAX_NOTIONAL', env.TICKWORK_ARB_MAX_NOTIONAL, 'a positive decimal amount of quote currency, or none');
  for (const [key, step] of costs.lotSteps) if (step.units === 0n) throw configError('TICKWORK_ARB_LOT_STEPS', env.TICKWORK_ARB_LOT_STEPS, `a positive step for ${key}`);
  return cfg;
}

/** The cost model the actors use, as exact decimals. */
export interface SpreadCosts {
  /** Taker fee per venue, bps. */
  feesBps: ReadonlyMap<string, Decimal>;
  defaultFeeBps: Decimal;
  transferBps: Decimal;
  maxNotional: Decimal | null;
  minNet: Decimal;
  minBps: Decimal;
  hysteresisBps: Decimal;
  /** `venue` or `venue:SYMBOL` → lot step. */
  lotSteps: ReadonlyMap<string, Decimal>;
  fundingMinBps: Decimal;
}

export function spreadCosts(cfg: SpreadConfig): SpreadCosts {
  const fees = new Map<string, Decimal>();
  for (const e of list(cfg.TICKWORK_ARB_FEES_BPS)) {
    const i = e.indexOf(':');
    fees.set(e.slice(0, i), parseDecimal(e.slice(i + 1)));
  }
  const steps = new Map<string, Decimal>();
  for (const e of list(cfg.TICKWORK_ARB_LOT_STEPS)) {
    const i = e.indexOf('=');
    steps.set(e.slice(0, i), parseDecimal(e.slice(i + 1)));
  }
  return {
    feesBps: fees,
    defaultFeeBps: parseDecimal(cfg.TICKWORK_ARB_DEFAULT_FEE_BPS),
    transferBps: parseDecimal(cfg.TICKWORK_ARB_TRANSFER_BPS),
    maxNotional: cfg.TICKWORK_ARB_MAX_NOTIONAL === 'none' ? null : parseDecimal(cfg.TICKWORK_ARB_MAX_NOTIONAL),
    minNet: parseDecimal(cfg.TICKWORK_ARB_MIN_NET),
    minBps: parseDecimal(cfg.TICKWORK_ARB_MIN_BPS),
    hysteresisBps: parseDecimal(cfg.TICKWORK_ARB_HYSTERESIS_BPS),
    lotSteps: steps,
    fundingMinBps: parseDecimal(cfg.TICKWORK_ARB_FUNDING_MIN_BPS),
  };
}

/** A venue's taker fee in bps. */
export const feeOf = (c: SpreadCosts, venue: string): Decimal => c.feesBps.get(venue) ?? c.defaultFeeBps;

/** A venue's lot step for a symbol (`venue:SYMBOL` before `venue`), or null. */
export const lotStepOf = (c: SpreadCosts, venue: string, symbol: string): Decimal | null => c.lotSteps.get(`${venue}:${symbol}`) ?? c.lotSteps.get(venue) ?? null;
