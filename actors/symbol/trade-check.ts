import { TickworkError } from '../../runtime/errors.js';
import type { Trade } from '../../schemas/trade.js';

/**
 * Semantic check of a trade taken off the bus (which is not trusted), before the symbol actor
 * applies it: the schema said the shape is right, this says the values are plausible. Pure: the
 * clock (`now`) and the symbol's recent state are passed in.
 */

/** Why a trade was refused; stable, for DLQ reasons and metric labels. */
export type TradeRejectCode =
  /** The body's venue or symbol is not the subject's. */
  | 'TRADE_SUBJECT_MISMATCH'
  /** The id does not have a format the venue uses, or runs implausibly far ahead. */
  | 'TRADE_ID_INVALID'
  /** Price not above zero, or more digits than candles can carry. */
  | 'TRADE_PRICE_INVALID'
  /** Quantity not above zero, or more digits than candles can carry. */
  | 'TRADE_QTY_INVALID'
  /** `count` above the configured bound. */
  | 'TRADE_COUNT_INVALID'
  /** ts or recvTs ahead of the clock. */
  | 'TRADE_TS_FUTURE'
  /** ts too far from recvTs (either way). */
  | 'TRADE_TS_SKEW'
  /** ts before the plausible range (minTs, or older than maxAgeMs). */
  | 'TRADE_TS_TOO_OLD'
  /** ts too far before the symbol's latest trade. */
  | 'TRADE_TS_STALE';

export interface TradeReject {
  code: TradeRejectCode;
  /** Names the field and the bound, e.g. `qty has 60 integer digits (at most 15)`. */
  message: string;
}

/** What the actor knows about its symbol (both null before its first trade). */
export interface SymbolRecent {
  /** Latest trade time applied. */
  lastTs: number | null;
  /** Highest numeric trade id applied (TradeGuard.highest). */
  highestId: bigint | null;
}

/** The id formats of one venue; an id passes if it has one of them. */
export interface IdRule {
  /** Canonical decimal numerals (`0`, or no leading zero) of at most this many digits. */
  numericDigits?: number;
  /** Textual UUIDs (8-4-4-4-12 hex digits). */
  uuid?: boolean;
  /** Any other format the venue's ids have (e.g. Kraken v1's synthetic `<µs>-<hash>`). */
  pattern?: RegExp;
  /**
   * For per-symbol sequential numeric ids: an id may exceed the symbol's highest id by at most
   * `slack + perSecond × seconds of trade time since its latest trade`, so one forged huge id is
   * refused while ids after a real outage (time moved on too) pass.
   */
  advance?: { perSecond: number; slack: number };
}

/** Most integer and fraction digits, as written (trailing zeros count: candles keep them). */
export interface DigitBounds {
  int: number;
  frac: number;
}

export interface TradeCheckConfig {
  /** ts and recvTs may be ahead of `now` by at most this (clock skew). */
  maxFutureMs: number;
  /** ts may be ahead of recvTs (the venue's clock ahead of ours) by at most this. */
  maxAheadOfRecvMs: number;
  /** ts may be behind recvTs by at most this (REST gap fills after an outage arrive late). */
  maxBehindRecvMs: number;
  /** ts may be behind the symbol's latest trade by at most this. */
  maxBehindRecentMs: number;
  /** ts may be behind `now` by at most this; null for none (replays of history). */
  maxAgeMs: number | null;
  /** No venue traded before this (epoch ms). */
  minTs: number;
  price: DigitBounds;
  qty: DigitBounds;
  /** Most trades one normalized trade may aggregate (`count`). */
  maxCount: number;
  /** Id rules per venue id (from the venue registry); venues without one get `defaultIdRule`. */
  idRules: Readonly<Record<string, IdRule>>;
  defaultIdRule: IdRule;
}

/**
 * Sums over one candle are sized for up to 10^10 trades: with every trade inside the digit
 * bounds, volume, quoteVolume and vwap stay within the candle schema's 64 characters.
 */
export const CANDLE_SUM_HEADROOM_DIGITS = 10;
/** `DecimalString`'s maxLength in schemas/common.ts. */
const CANDLE_DECIMAL_MAX_LENGTH = 64;

const DAY = 86_400_000;

export const DEFAULT_TRADE_CHECK: Readonly<TradeCheckConfig> = Object.freeze({
  maxFutureMs: 60_000,
  maxAheadOfRecvMs: 60_000,
  maxBehindRecvMs: 7 * DAY,
  maxBehindRecentMs: DAY,
  maxAgeMs: null,
  minTs: Date.UTC(2010, 0, 1),
  price: Object.freeze({ int: 12, frac: 12 }),
  qty: Object.freeze({ int: 15, frac: 12 }),
  maxCount: 1_000_000,
  idRules: Object.freeze({}),
  defaultIdRule: Object.freeze({ numericDigits: 20, uuid: true }),
});

/** Defaults with `overrides`, validated: digit bounds whose sums could not fit a candle are refused. */
export function tradeCheckConfig(overrides: Partial<TradeCheckConfig> = {}): TradeCheckConfig {
  const cfg: TradeCheckConfig = { ...DEFAULT_TRADE_CHECK, ...overrides };
  for (const k of ['maxFutureMs', 'maxAheadOfRecvMs', 'maxBehindRecvMs', 'maxBehindRecentMs', 'minTs', 'maxCount'] as const) {
    if (!(Number.isSafeInteger(cfg[k]) && cfg[k] >= 0)) bad(`${k} must be a non-negative integer, got ${String(cfg[k])}`);
  }
  if (cfg.maxAgeMs !== null && !(Number.isSafeInteger(cfg.maxAgeMs) && cfg.maxAgeMs >= 0)) bad(`maxAgeMs must be a non-negative integer or null, got ${String(cfg.maxAgeMs)}`);
  for (const k of ['price', 'qty'] as const) {
    const d = cfg[k];
    if (!(Number.isInteger(d.int) && d.int >= 1 && Number.isInteger(d.frac) && d.frac >= 0)) bad(`${k} digit bounds must be integers (int ≥ 1, frac ≥ 0), got ${JSON.stringify(d)}`);
  }
  const longest = widestCandleDecimal(cfg.price, cfg.qty);
  if (longest > CANDLE_DECIMAL_MAX_LENGTH) {
    bad(`price ${JSON.stringify(cfg.price)} and qty ${JSON.stringify(cfg.qty)} digit bounds allow candle sums of ${longest} characters (the candle schema takes ${CANDLE_DECIMAL_MAX_LENGTH})`);
  }
  for (const [venue, rule] of Object.entries(cfg.idRules)) checkRule(rule, `idRules.${venue}`);
  checkRule(cfg.defaultIdRule, 'defaultIdRule');
  return cfg;
}

/**
 * Longest decimal a candle can hold with trades inside the bounds: quoteVolume (Σ price × qty,
 * fraction digits added), volume (Σ qty) or vwap (price precision + 4, one carry digit).
 */
export function widestCandleDecimal(price: DigitBounds, qty: DigitBounds): number {
  const h = CANDLE_SUM_HEADROOM_DIGITS;
  const quote = price.int + qty.int + h + 1 + price.frac + qty.frac;
  const volume = qty.int + h + 1 + qty.frac;
  const vwap = price.int + 1 + 1 + price.frac + 4;
  return Math.max(quote, volume, vwap, price.int + 1 + price.frac);
}

const CANONICAL = /^(0|[1-9][0-9]*)$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** Checks trades against one validated config. */
export class TradeCheck {
  readonly config: TradeCheckConfig;
  private readonly rules: ReadonlyMap<string, IdRule>;

  constructor(config: TradeCheckConfig = tradeCheckConfig()) {
    this.config = config;
    this.rules = new Map(Object.entries(config.idRules));
  }

  /**
   * Null when `trade` (schema-valid, from subject `md.trade.<venue>.<symbol>`) may be applied;
   * otherwise why not. `recent` is the symbol's state before this trade, `now` the clock.
   */
  check(venue: string, symbol: string, trade: Trade, recent: SymbolRecent, now: number): TradeReject | null {
    const cfg = this.config;
    if (trade.venue !== venue || trade.symbol !== symbol) {
      return reject('TRADE_SUBJECT_MISMATCH', `body names ${trade.venue} ${trade.symbol} on the subject of ${venue} ${symbol}`);
    }
    const idWhy = this.idProblem(venue, trade, recent);
    if (idWhy !== null) return reject('TRADE_ID_INVALID', `id ${quote(trade.id)} ${idWhy}`);
    const priceWhy = decimalProblem(trade.price, cfg.price);
    if (priceWhy !== null) return reject('TRADE_PRICE_INVALID', `price ${quote(trade.price)} ${priceWhy}`);
    const qtyWhy = decimalProblem(trade.qty, cfg.qty);
    if (qtyWhy !== null) return reject('TRADE_QTY_INVALID', `qty ${quote(trade.qty)} ${qtyWhy}`);
    if (trade.count !== undefined && trade.count > cfg.maxCount) return reject('TRADE_COUNT_INVALID', `count ${trade.count} is above ${cfg.maxCount}`);

    const { ts, recvTs } = trade;
    if (ts > now + cfg.maxFutureMs) return reject('TRADE_TS_FUTURE', `ts ${iso(ts)} is more than ${cfg.maxFutureMs} ms ahead of the clock (${iso(now)})`);
    if (recvTs > now + cfg.maxFutureMs) return reject('TRADE_TS_FUTURE', `recvTs ${iso(recvTs)} is more than ${cfg.maxFutureMs} ms ahead of the clock (${iso(now)})`);
    if (ts < cfg.minTs) return reject('TRADE_TS_TOO_OLD', `ts ${iso(ts)} is before ${iso(cfg.minTs)}`);
    if (cfg.maxAgeMs !== null && ts < now - cfg.maxAgeMs) return reject('TRADE_TS_TOO_OLD', `ts ${iso(ts)} is more than ${cfg.maxAgeMs} ms before the clock (${iso(now)})`);
    if (ts > recvTs + cfg.maxAheadOfRecvMs) return reject('TRADE_TS_SKEW', `ts ${iso(ts)} is more than ${cfg.maxAheadOfRecvMs} ms after recvTs ${iso(recvTs)}`);
    if (ts < recvTs - cfg.maxBehindRecvMs) return reject('TRADE_TS_SKEW', `ts ${iso(ts)} is more than ${cfg.maxBehindRecvMs} ms before recvTs ${iso(recvTs)}`);
    if (recent.lastTs !== null && ts < recent.lastTs - cfg.maxBehindRecentMs) {
      return reject('TRADE_TS_STALE', `ts ${iso(ts)} is more than ${cfg.maxBehindRecentMs} ms before the symbol's latest trade (${iso(recent.lastTs)})`);
    }
    return null;
  }

  private idProblem(venue: string, trade: Trade, recent: SymbolRecent): string | null {
    const rule = this.rules.get(venue) ?? this.config.defaultIdRule;
    const id = trade.id;
    if (rule.numericDigits !== undefined && CANONICAL.test(id)) {
      if (id.length > rule.numericDigits) return `has ${id.length} digits (${venue} ids have at most ${rule.numericDigits})`;
      const adv = rule.advance;
      if (adv !== undefined && recent.highestId !== null) {
        const seconds = recent.lastTs === null ? 0 : Math.max(0, trade.ts - recent.lastTs) / 1000;
        const allowed = BigInt(Math.floor(adv.slack + adv.perSecond * seconds));
        if (BigInt(id) - recent.highestId > allowed) return `is more than ${allowed} above the symbol's highest id ${recent.highestId}`;
      }
      return null;
    }
    if (rule.uuid === true && UUID.test(id)) return null;
    if (rule.pattern !== undefined && rule.pattern.test(id)) return null;
    return `is not a ${describeRule(rule)} id of ${venue}`;
  }
}

/** Null if `s` (DecimalString-shaped) is above zero within the digit bounds, else why not. */
function decimalProblem(s: string, bounds: DigitBounds): string | null {
  if (s.charCodeAt(0) === 45) return 'is negative';
  const dot = s.indexOf('.');
  const intDigits = dot < 0 ? s.length : dot;
  const fracDigits = dot < 0 ? 0 : s.length - dot - 1;
  if (intDigits > bounds.int) return `has ${intDigits} integer digits (at most ${bounds.int})`;
  if (fracDigits > bounds.frac) return `has ${fracDigits} fraction digits (at most ${bounds.frac})`;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 48 && c <= 57) return null;
  }
  return 'is zero';
}

function checkRule(rule: IdRule, where: string): void {
  if (rule.numericDigits === undefined && rule.uuid !== true && rule.pattern === undefined) bad(`${where} allows no id format`);
  if (rule.numericDigits !== undefined && !(Number.isInteger(rule.numericDigits) && rule.numericDigits >= 1)) bad(`${where}.numericDigits must be an integer ≥ 1`);
  const a = rule.advance;
  if (a !== undefined && !(a.perSecond >= 0 && a.slack >= 0 && Number.isFinite(a.perSecond) && Number.isFinite(a.slack))) bad(`${where}.advance needs finite perSecond ≥ 0 and slack ≥ 0`);
}

function describeRule(rule: IdRule): string {
  const kinds: string[] = [];
  if (rule.numericDigits !== undefined) kinds.push(`numeric (≤ ${rule.numericDigits} digits)`);
  if (rule.uuid === true) kinds.push('UUID');
  if (rule.pattern !== undefined) kinds.push(`${rule.pattern.source}`);
  return kinds.join(' or ');
}

function reject(code: TradeRejectCode, message: string): TradeReject {
  return { code, message };
}

/** Quoted, cut to 40 characters: hostile values can be long. */
function quote(s: string): string {
  return JSON.stringify(s.length > 40 ? s.slice(0, 40) + '…' : s);
}

function iso(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}

function bad(message: string): never {
  throw new TickworkError('CONFIG_INVALID', `trade check: ${message}`);
}
