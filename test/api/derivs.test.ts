// Integration test of the derivatives, funding and arbitrage-episode API against the real NATS, Redis and PostgreSQL servers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DerivTickerCheck, derivKey, type DerivTicker, type FundingRate } from '../../schemas/deriv.js';
import type { ArbitrageRecord } from '../../schemas/arbitrage.js';
import { symbolsKey } from '../../schemas/state.js';
import { ArbitrageStore } from '../../store/arbitrage.js';
import { DerivStore } from '../../store/derivs.js';
import { FundingStore } from '../../store/funding.js';
import { startApi, type ApiUnderTest } from './harness.js';

const PERP = 'BTC-USDT-PERP';
const T0 = 1_764_000_000_000;

/** A merged OKX ticker as the derivatives feed writes it (decimals as the venue sent them). */
function ticker(ts: number, over: Partial<DerivTicker> = {}): DerivTicker {
  return {
    venue: 'okx',
    symbol: PERP,
    venueSymbol: 'BTC-USDT-SWAP',
    markPrice: '91234.5',
    indexPrice: '91230.1',
    lastPrice: '91235',
    fundingRate: '0.000100000000000000',
    nextFundingTime: T0 + 8 * 3_600_000,
    fundingIntervalMs: 28_800_000,
    predictedFundingRate: null,
    openInterest: '12345.67',
    openInterestValue: null,
    venueOpenInterest: '1234567',
    ts,
    recvTs: ts + 3,
    ...over,
  };
}

const rate = (venue: string, hoursAgo: number, r: string): FundingRate => ({
  venue,
  symbol: PERP,
  fundingTime: T0 - hoursAgo * 3_600_000,
  fundingRate: r,
  fundingIntervalMs: 28_800_000,
});

/** A book episode row as the spread actor writes it. */
function episode(symbol: string, startedAt: number, endedAt: number | null, over: Partial<ArbitrageRecord> = {}): ArbitrageRecord {
  return {
    id: `${symbol}:binance:kraken:${startedAt}`,
    episodeId: `${symbol}:binance:kraken:${startedAt}`,
    symbol,
    ts: endedAt ?? startedAt + 5_000,
    buyVenue: 'binance',
    sellVenue: 'kraken',
    ask: '100.10',
    bid: '100.35',
    spreadBps: '24.9750',
    kind: 'book',
    event: endedAt === null ? 'update' : 'close',
    startedAt,
    endedAt,
    netBps: '4.9750',
    peakBps: '6.1200',
    avgBps: '5.0100',
    size: '1.25000000',
    netQuote: '0.062187500',
    notional: '125.125',
    quote: 'USDT',
    ...over,
  };
}

describe('GET /v1/derivs, /v1/funding, /v1/arbitrage episodes and the deriv channel (NATS, Redis, PostgreSQL)', () => {
  let api: ApiUnderTest;
  let derivs: DerivStore;

  beforeAll(async () => {
    api = await startApi({ API_WS_THROTTLE_MS: 50 });
    derivs = new DerivStore(api.iso.redis(), api.iso.ns);
    await derivs.put(ticker(T0));
    const funding = new FundingStore(api.iso.sql(), { schema: api.iso.ns.pgSchema });
    await funding.insert([rate('okx', 0, '0.0001'), rate('okx', 8, '-0.000025'), rate('bybit', 0, '0.00012345678901234567'), rate('okx', 16, '0.0003')]);
    await funding.insert([{ ...rate('okx', 0, '0.0001'), symbol: 'ETH-USDT-PERP' }]);
    const arbs = new ArbitrageStore(api.iso.sql(), { schema: api.iso.ns.pgSchema, retentionMs: null });
    await arbs.upsertEpisodes([episode('BTC-USDT', T0 - 60_000, T0 - 50_000), episode('BTC-USDT', T0 - 40_000, null), episode('ETH-USDT', T0 - 30_000, T0 - 20_000)]);
  }, 60_000);
  afterAll(async () => api?.stop(), 60_000);

  const get = async (path: string) => {
    const res = await fetch(api.base + path);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('/v1/derivs answers the stored ticker as written, decimals as strings', async () => {
    const r = await get(`/v1/derivs/okx/${PERP}`);
    expect(r.status).toBe(200);
    expect(DerivTickerCheck.Check(r.body)).toBe(true);
    expect(r.body).toEqual(ticker(T0));
    expect(r.body.fundingRate).toBe('0.000100000000000000');
  });

  it('/v1/derivs: 404 naming symbol for an unknown venue or symbol, 400 naming the bad parameter', async () => {
    expect(await get(`/v1/derivs/bybit/${PERP}`)).toMatchObject({ status: 404, body: { error: 'not_found', field: 'symbol' } });
    expect(await get('/v1/derivs/okx/ETH-USDT-PERP')).toMatchObject({ status: 404, body: { error: 'not_found', field: 'symbol' } });
    expect(await get('/v1/derivs/okx/btc-usdt-perp')).toMatchObject({ status: 400, body: { error: 'bad_request', field: 'symbol' } });
    expect(await get(`/v1/derivs/OKX!/${PERP}`)).toMatchObject({ status: 400, body: { error: 'bad_request', field: 'venue' } });
  });

  it('/v1/derivs serves nothing of a stored value that is not a ticker of that venue/symbol', async () => {
    await api.iso.redis().set(api.iso.ns.key(derivKey('okx', 'SOL-USDT-PERP')), JSON.stringify(ticker(T0)));
    expect(await get('/v1/derivs/okx/SOL-USDT-PERP')).toMatchObject({ status: 404, body: { field: 'symbol' } });
    await api.iso.redis().set(api.iso.ns.key(derivKey('okx', 'XRP-USDT-PERP')), '{"venue":"okx"');
    expect(await get('/v1/derivs/okx/XRP-USDT-PERP')).toMatchObject({ status: 404, body: { field: 'symbol' } });
  });

  it('/v1/funding: settled rates of the symbol, newest first, exact decimals; venue, since and limit narrow it', async () => {
    const all = await get(`/v1/funding?symbol=${PERP}`);
    expect(all.status).toBe(200);
    const rates = all.body.rates as FundingRate[];
    expect(all.body.symbol).toBe(PERP);
    expect(rates.map((r) => [r.venue, r.fundingTime])).toEqual([
      ['bybit', T0],
      ['okx', T0],
      ['okx', T0 - 8 * 3_600_000],
      ['okx', T0 - 16 * 3_600_000],
    ]);
    expect(rates[0]).toEqual(rate('bybit', 0, '0.00012345678901234567'));
    expect(rates[2]!.fundingRate).toBe('-0.000025');
    const okx = (await get(`/v1/funding?symbol=${PERP}&venue=okx&since=${T0 - 8 * 3_600_000}`)).body.rates as FundingRate[];
    expect(okx.map((r) => r.fundingTime)).toEqual([T0, T0 - 8 * 3_600_000]);
    const iso = (await get(`/v1/funding?symbol=${PERP}&since=${new Date(T0).toISOString()}&limit=1`)).body.rates as FundingRate[];
    expect(iso).toEqual([rate('bybit', 0, '0.00012345678901234567')]);
    expect((await get('/v1/funding?symbol=DOGE-USDT-PERP')).body).toEqual({ symbol: 'DOGE-USDT-PERP', rates: [] });
  });

  it.each([
    ['', 'symbol'],
    ['symbol=btc', 'symbol'],
    [`symbol=${PERP}&since=yesterday`, 'since'],
    [`symbol=${PERP}&since=1.5`, 'since'],
    [`symbol=${PERP}&limit=0`, 'limit'],
    [`symbol=${PERP}&limit=abc`, 'limit'],
    [`symbol=${PERP}&venue=x%20y`, 'venue'],
  ])('/v1/funding?%s is a 400 naming %s', async (qs, field) => {
    const r = await get(`/v1/funding?${qs}`);
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ error: 'bad_request', field });
  });

  it('/v1/arbitrage serves episodes: the open one and closed ones with Q*, net bps and net profit; symbol, since and limit narrow it', async () => {
    const r = await get('/v1/arbitrage');
    expect(r.status).toBe(200);
    const eps = r.body.opportunities as ArbitrageRecord[];
    expect(eps.map((e) => [e.symbol, e.event, e.endedAt])).toEqual([
      ['ETH-USDT', 'close', T0 - 20_000],
      ['BTC-USDT', 'open', null],
      ['BTC-USDT', 'close', T0 - 50_000],
    ]);
    expect(eps[1]).toMatchObject({ kind: 'book', size: '1.25000000', netQuote: '0.062187500', netBps: '4.9750', peakBps: '6.1200', quote: 'USDT', startedAt: T0 - 40_000 });
    const btc = (await get('/v1/arbitrage?symbol=BTC-USDT&limit=1')).body.opportunities as ArbitrageRecord[];
    expect(btc.map((e) => e.episodeId)).toEqual([`BTC-USDT:binance:kraken:${T0 - 40_000}`]);
    // since: the open episode still counts, closed ones only from that time on
    const since = (await get(`/v1/arbitrage?since=${T0 - 25_000}`)).body.opportunities as ArbitrageRecord[];
    expect(since.map((e) => e.episodeId).sort()).toEqual([`BTC-USDT:binance:kraken:${T0 - 40_000}`, `ETH-USDT:binance:kraken:${T0 - 30_000}`]);
    expect(await get('/v1/arbitrage?limit=0')).toMatchObject({ status: 400, body: { field: 'limit' } });
  });

  it('documents the routes and the deriv channel in OpenAPI with real schemas', async () => {
    type Op = { parameters?: { name: string; in: string }[]; responses: Record<string, { content?: Record<string, { schema: { properties?: Record<string, unknown> } }> }> };
    const doc = (await get('/openapi.json')).body as { paths: Record<string, { get: Op }> };
    const d = doc.paths['/v1/derivs/{venue}/{symbol}']!.get;
    expect(d.parameters!.map((p) => `${p.in}:${p.name}`).sort()).toEqual(['path:symbol', 'path:venue']);
    expect(Object.keys(d.responses).sort()).toEqual(['200', '400', '404', '429', '500']);
    expect(Object.keys(d.responses['200']!.content!['application/json']!.schema.properties!)).toEqual(
      expect.arrayContaining(['markPrice', 'indexPrice', 'fundingRate', 'nextFundingTime', 'openInterest', 'ts']),
    );
    const f = doc.paths['/v1/funding']!.get;
    expect(f.parameters!.map((p) => `${p.in}:${p.name}`).sort()).toEqual(['query:limit', 'query:since', 'query:symbol', 'query:venue']);
    expect(Object.keys(f.responses['200']!.content!['application/json']!.schema.properties!)).toEqual(['symbol', 'rates']);
    const stream = JSON.stringify(doc.paths['/v1/stream']);
    expect(stream).toContain('"deriv"');
    expect(stream).toContain('channel deriv');
  });

  it('deriv channel: the ticker at once, then each change (throttled); refusals answer error frames; unsubscribe stops it', async () => {
    const ws = new WebSocket(api.wsUrl);
    const frames: Record<string, unknown>[] = [];
    ws.on('message', (d) => frames.push(JSON.parse(d.toString()) as Record<string, unknown>));
    await new Promise((r) => ws.once('open', r));
    const waitFor = async (pred: (f: Record<string, unknown>) => boolean) => {
      for (let i = 0; i < 400; i++) {
        const f = frames.find(pred);
        if (f) return f;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`no such frame in ${JSON.stringify(frames).slice(0, 1000)}`);
    };
    const tickers = () => frames.filter((f) => f.type === 'deriv').map((f) => (f.data as DerivTicker).ts);
    ws.send(JSON.stringify({ op: 'subscribe', channel: 'deriv', venue: 'okx', symbol: PERP }));
    expect(await waitFor((f) => f.type === 'subscribed')).toEqual({ type: 'subscribed', channel: 'deriv', venue: 'okx', symbol: PERP });
    expect((await waitFor((f) => f.type === 'deriv')).data).toEqual(ticker(T0));
    await derivs.put(ticker(T0 + 1000, { markPrice: '91240.0' }));
    expect((await waitFor((f) => f.type === 'deriv' && (f.data as DerivTicker).ts === T0 + 1000)).data).toMatchObject({ markPrice: '91240.0' });
    // a stored value that is not a ticker of okx:BTC-USDT-PERP is never forwarded; the next good one is
    await api.iso.redis().set(api.iso.ns.key(derivKey('okx', PERP)), JSON.stringify({ ...ticker(T0 + 2000), venue: 'bybit' }));
    await new Promise((r) => setTimeout(r, 300));
    await derivs.put(ticker(T0 + 3000));
    await waitFor((f) => f.type === 'deriv' && (f.data as DerivTicker).ts === T0 + 3000);
    expect(tickers()).toEqual([T0, T0 + 1000, T0 + 3000]);
    // refused frames answer an error naming the field, or 404 for a ticker nobody feeds
    ws.send(JSON.stringify({ op: 'subscribe', channel: 'deriv', venue: 'okx', symbol: 'btc-usdt-perp' }));
    expect(await waitFor((f) => f.type === 'error')).toMatchObject({ error: 'bad_request', field: 'symbol' });
    ws.send(JSON.stringify({ op: 'subscribe', channel: 'deriv', venue: 'bybit', symbol: PERP }));
    expect(await waitFor((f) => f.type === 'error' && f.error === 'not_found')).toMatchObject({ field: 'symbol' });
    ws.send(JSON.stringify({ op: 'unsubscribe', channel: 'deriv', venue: 'okx', symbol: PERP }));
    expect(await waitFor((f) => f.type === 'unsubscribed')).toEqual({ type: 'unsubscribed', channel: 'deriv', venue: 'okx', symbol: PERP });
    const seen = frames.length;
    await derivs.put(ticker(T0 + 4000));
    await new Promise((r) => setTimeout(r, 400));
    expect(frames.slice(seen).filter((f) => f.type === 'deriv')).toEqual([]);
    ws.close();
  }, 60_000);
});

describe('deriv subscriptions share the per-connection limit and the idle rule with the other channels', () => {
  let api: ApiUnderTest;

  beforeAll(async () => {
    api = await startApi({ API_WS_THROTTLE_MS: 50, API_WS_MAX_SUBSCRIPTIONS: 2, API_WS_IDLE_MS: 400 });
    await new DerivStore(api.iso.redis(), api.iso.ns).put(ticker(T0));
    await api.iso.redis().hset(api.iso.ns.key(symbolsKey), 'binance:BTC-USDT', JSON.stringify({ worker: 'w1', updatedAt: 1 }));
  }, 60_000);
  afterAll(async () => api?.stop(), 60_000);

  it('a deriv and a book subscription fill a limit of 2: a candle subscription is refused with 429; the socket holding them outlives the idle time', async () => {
    const ws = new WebSocket(api.wsUrl);
    const frames: Record<string, unknown>[] = [];
    let closed: number | null = null;
    ws.on('message', (d) => frames.push(JSON.parse(d.toString()) as Record<string, unknown>));
    ws.on('close', (code) => (closed = code));
    await new Promise((r) => ws.once('open', r));
    const waitFor = async (pred: (f: Record<string, unknown>) => boolean) => {
      for (let i = 0; i < 400; i++) {
        const f = frames.find(pred);
        if (f) return f;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`no such frame in ${JSON.stringify(frames).slice(0, 1000)}`);
    };
    ws.send(JSON.stringify({ op: 'subscribe', channel: 'deriv', venue: 'okx', symbol: PERP }));
    ws.send(JSON.stringify({ op: 'subscribe', channel: 'book', venue: 'binance', symbol: 'BTC-USDT' }));
    await waitFor((f) => f.type === 'subscribed' && f.channel === 'book');
    ws.send(JSON.stringify({ op: 'subscribe', venue: 'binance', symbol: 'BTC-USDT', tf: '1m' }));
    expect(await waitFor((f) => f.type === 'error')).toMatchObject({ error: 'too_many_subscriptions' });
    // idle after 400 ms without subscriptions; this socket holds two, so it stays open
    await new Promise((r) => setTimeout(r, 1500));
    expect(closed).toBeNull();
    // dropping both makes it idle: the server closes it
    ws.send(JSON.stringify({ op: 'unsubscribe', channel: 'deriv', venue: 'okx', symbol: PERP }));
    ws.send(JSON.stringify({ op: 'unsubscribe', channel: 'book', venue: 'binance', symbol: 'BTC-USDT' }));
    for (let i = 0; i < 200 && closed === null; i++) await new Promise((r) => setTimeout(r, 25));
    expect(closed).toBe(1000);
  }, 60_000);
});
