import { afterEach, describe, expect, it } from 'vitest';
import { compare, parseDecimal } from '../../../runtime/decimal.js';
import { derivMsgId, DerivTickerCheck, liqMsgId, LiquidationCheck, type DerivTicker, type Liquidation } from '../../../schemas/deriv.js';
import { until } from './books-rig.js';
import { startDerivsRig, type DerivsRig } from './derivs-rig.js';

/**
 * The derivatives feed end to end, per venue: simulator (binance-futures `/market` markPrice +
 * forceOrder + REST open interest, Bybit `/v5/public/linear` tickers + allLiquidation, OKX swaps'
 * funding-rate/open-interest/mark-price/index-tickers/liquidation-orders + REST contract values) →
 * in-process DerivsFeed (as the feed role builds it) → real NATS (MD_DERIVS, MD_LIQS) and Redis.
 */

const SYMBOLS = ['BTC-USDT-PERP', 'ETH-USDT-PERP'];
// many multi-fill sweeps: the simulators' liquidations
const MARKET = { symbols: SYMBOLS, tradesPerSec: 40, quotesPerSec: 20, burstiness: 0.9, seed: 5 };
const ENV = { TICKWORK_DERIVS_EMIT_MS: '200', TICKWORK_DERIVS_OI_POLL_MS: '1000' };

const complete = (t: DerivTicker): boolean => t.markPrice !== null && t.indexPrice !== null && t.fundingRate !== null && t.nextFundingTime !== null && t.openInterest !== null;

describe.each([
  { venue: 'binance-futures', sampled: true, contracts: false },
  { venue: 'bybit', sampled: false, contracts: false },
  { venue: 'okx', sampled: false, contracts: true },
])('derivatives feed of $venue (simulator, NATS, Redis)', ({ venue, sampled, contracts }) => {
  let rig: DerivsRig | undefined;
  afterEach(async () => rig?.stop(), 60_000);

  it('publishes merged tickers on md.deriv and liquidations on md.liq in the schemas of schemas/deriv.ts', async () => {
    const r = (rig = await startDerivsRig(venue, SYMBOLS, { synthetic: MARKET, env: ENV }));
    const tickers = await until(
      'a complete ticker per symbol and a liquidation',
      async () => {
        const msgs = await r.read('MD_DERIVS');
        const liqs = await r.read('MD_LIQS');
        const ts = msgs.map((m) => m.json<DerivTicker>());
        return SYMBOLS.every((s) => ts.some((t) => t.symbol === s && complete(t))) && liqs.length > 0 ? msgs : null;
      },
      60_000,
      () => r.feed.stats,
    );
    const last = new Map<string, number>();
    for (const m of tickers) {
      const t = m.json<DerivTicker>();
      expect(DerivTickerCheck.Check(t), JSON.stringify([...DerivTickerCheck.Errors(t)].slice(0, 2))).toBe(true);
      expect(m.subject).toBe(r.iso.ns.subject(`md.deriv.${venue}.${t.symbol}`));
      expect(m.headers?.get('Nats-Msg-Id')).toBe(derivMsgId(t));
      expect(t.venue).toBe(venue);
      // ts strictly increases per symbol (the message id is unique)
      expect(t.ts).toBeGreaterThan(last.get(t.symbol) ?? 0);
      last.set(t.symbol, t.ts);
      if (t.fundingRate !== null) expect(t.nextFundingTime! % (8 * 3_600_000)).toBe(0);
    }
    // the simulators' funding is 8-hourly: stated (OKX: nextFundingTime − fundingTime) or the venue's default
    const done = tickers.map((m) => m.json<DerivTicker>()).filter(complete);
    for (const t of done) expect(t.fundingIntervalMs).toBe(8 * 3_600_000);
    if (venue === 'okx') for (const t of done) expect(t.venueOpenInterest).not.toBeNull();

    const liqs = await r.read('MD_LIQS');
    for (const m of liqs) {
      const l = m.json<Liquidation>();
      expect(LiquidationCheck.Check(l), JSON.stringify([...LiquidationCheck.Errors(l)].slice(0, 2))).toBe(true);
      expect(m.subject).toBe(r.iso.ns.subject(`md.liq.${venue}.${l.symbol}`));
      expect(m.headers?.get('Nats-Msg-Id')).toBe(liqMsgId(l));
      expect(l.sampled).toBe(sampled);
      expect(SYMBOLS).toContain(l.symbol);
      expect(compare(parseDecimal(l.qty), parseDecimal('0'))).toBeGreaterThan(0);
      // OKX sizes are contracts (ctVal = one quantity tick) turned into base units; the contracts kept
      if (contracts) expect(l.venueQty).toMatch(/^[1-9][0-9]*$/);
      else expect(l.venueQty).toBeUndefined();
    }

    // the latest ticker in Redis is one that was published (one GET for the API)
    for (const s of SYMBOLS) {
      const got = await r.latest.get(venue, s);
      expect(got).not.toBeNull();
      expect(DerivTickerCheck.Check(got)).toBe(true);
      // written beside the publish: the stream holds it once JetStream acknowledged it
      await until(`${s}'s latest ticker in MD_DERIVS`, async () =>
        (await r.read('MD_DERIVS')).some((m) => m.headers?.get('Nats-Msg-Id') === derivMsgId(got!) && JSON.stringify(m.json<DerivTicker>()) === JSON.stringify(got)),
      );
    }
    expect(r.feed.stats.dlq).toBe(0);
    // nothing above the venue's limits (connections, messages, REST weight) as the simulator counts them
    expect(r.sim!.stats().violations).toEqual({});
  }, 120_000);
});

describe('malformed derivative frames (binance-futures simulator, NATS)', () => {
  let rig: DerivsRig | undefined;
  afterEach(async () => rig?.stop(), 60_000);

  it('go to md.dlq.<venue> with a reason; the connection stays up and tickers keep coming', async () => {
    const r = (rig = await startDerivsRig('binance-futures', SYMBOLS, { synthetic: MARKET, env: ENV }));
    const sim = r.sim!;
    await until('derivatives connected', async () => (await r.read('MD_DERIVS')).length > 0, 60_000);
    const connections = sim.stats().connections;
    sim.misbehave({ kind: 'malformed', count: 40 });
    await until('40 malformed frames sent', () => sim.stats().malformedSent >= 40);
    // every frame the feed sent to the DLQ is stored there (at least half of the 40: a broken field
    // the parser does not read leaves a frame valid)
    const dlq = await until('the malformed frames in the DLQ', async () => {
      const msgs = await r.read('MD_DLQ');
      return msgs.length >= 20 && msgs.length === r.feed.stats.dlq ? msgs : null;
    });
    for (const m of dlq) {
      expect(m.subject).toBe(r.iso.ns.subject('md.dlq.binance-futures'));
      expect(['json', 'schema', 'encoding', 'unknown-frame', 'symbol', 'internal']).toContain(m.headers?.get('Tickwork-Reason'));
    }
    // the socket stayed up and the feed still publishes
    expect(sim.stats().connections).toBe(connections);
    const before = (await r.read('MD_DERIVS')).length;
    await until('tickers after the malformed frames', async () => (await r.read('MD_DERIVS')).length > before + 2, 30_000);
    expect(sim.stats().connections).toBe(connections);
  }, 120_000);
});

describe('Binance open interest by REST within the venue weight budget (simulator)', () => {
  let rig: DerivsRig | undefined;
  afterEach(async () => rig?.stop(), 60_000);

  it('polls at most half the venue REST weight per minute: no weight violation where polling every second would make some', async () => {
    // 4 symbols polled each second = 4 weight/s; the venue (and the simulator) allow 20 per minute,
    // the feed takes half: a burst of 10, then one request per 6 s
    const symbols = ['BTC-USDT-PERP', 'ETH-USDT-PERP', 'SOL-USDT-PERP', 'XRP-USDT-PERP'];
    const r = (rig = await startDerivsRig('binance-futures', symbols, {
      synthetic: { symbols, tradesPerSec: 20, seed: 9 },
      env: { TICKWORK_DERIVS_OI_POLL_MS: '1000' },
      simLimits: { restWeightPerMin: 20 },
      restWeightPerMin: 20,
    }));
    const sim = r.sim!;
    await until('the burst spent', () => sim.stats().restRequests >= 10, 30_000);
    await new Promise((res) => setTimeout(res, 8000));
    const stats = sim.stats();
    expect(stats.violations).toEqual({});
    // 10 at once, then at most one per 6 s (+1 for the refill under way)
    expect(stats.restRequests).toBeLessThanOrEqual(10 + 3);
    // what was polled became open interest on the tickers
    const tickers = (await r.read('MD_DERIVS')).map((m) => m.json<DerivTicker>());
    expect(tickers.some((t) => t.openInterest !== null)).toBe(true);
  }, 120_000);
});
