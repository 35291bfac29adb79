import { fixed, trimmed, type BookTop, type SymbolSpec, type TickerStats, type TradeRecord } from '../../simulate/market.js';
import {
  intParam,
  isObject,
  parseJson,
  simLimits,
  symbolIndex,
  type ClientRequest,
  type OutFrame,
  type RestReply,
  type SimClient,
  type VenueContext,
  type VenueProtocol,
} from '../kit/simulator.js';
import { okxBookSim } from './book-simulator.js';
import { okxDerivsSim } from './derivs-simulator.js';
import { endpointRate, SimHistory } from '../kit/history-sim.js';
import { historyTrades } from './history.js';

/**
 * OKX v5 public (`/ws/v5/public`): `{"op":"subscribe","args":[{"channel","instId"}]}` → one
 * `{"event":"subscribe","arg",...,"connId"}` per arg; `trades` pushes one entry per price level
 * of a taker order (`tradeId` = the LAST fill's id, `count` = fills aggregated, so ids advance by
 * `count`), `trades-all` every fill, `bbo-tbt` and `tickers` on book changes; text `ping` → `pong`.
 */

const DATA = new Set(['trades', 'trades-all', 'bbo-tbt', 'tickers']);
const OTHER = new Set(['books', 'books5', 'books-l2-tbt', 'books50-l2-tbt', 'index-tickers', 'mark-price', 'funding-rate', 'open-interest', 'price-limit']);
/**
 * Spot `BTC-USDT`; a perpetual is its linear swap `BTC-USDT-SWAP` (so a market may hold both). Its
 * `books` sizes are contracts (book-simulator.ts); its trades, bbo and tickers keep base units, as
 * nothing of tickwork reads swap trades.
 */
const venueSymbol = (s: SymbolSpec) => (s.symbol.endsWith('-PERP') ? `${s.base}-${s.quote}-SWAP` : `${s.base}-${s.quote}`);

export function simulator(ctx: VenueContext): VenueProtocol {
  const insts = symbolIndex(ctx.market, venueSymbol);
  const books = okxBookSim(ctx, venueSymbol, insts);
  const derivs = okxDerivsSim(ctx);
  // REST trade history: the market's fills preceded by a computed past; history-trades' own rate limit.
  const history = ctx.market ? new SimHistory(ctx.market) : null;
  const historyRate = endpointRate(historyTrades.rate);
  const num = (t: number | bigint, dp: number) => trimmed(t, dp);
  const error = (c: SimClient, code: string, msg: string): string => JSON.stringify({ event: 'error', code, msg, connId: c.connId });
  const frame = (channel: string, spec: SymbolSpec, data: string[], trades: number, quote: boolean): OutFrame => ({
    topic: `${channel}:${venueSymbol(spec)}`,
    text: `{"arg":{"channel":"${channel}","instId":"${venueSymbol(spec)}"},"data":[${data.join(',')}]}`,
    symbol: spec.symbol,
    trades,
    quote,
  });
  const ticker = (spec: SymbolSpec, b: BookTop, t: TickerStats, ts: number) =>
    `{"instType":"SPOT","instId":"${venueSymbol(spec)}","last":"${num(t.last, spec.priceDp)}","lastSz":"${num(t.lastQty, spec.qtyDp)}","askPx":"${num(b.ask, spec.priceDp)}","askSz":"${num(b.askQty, spec.qtyDp)}","bidPx":"${num(b.bid, spec.priceDp)}","bidSz":"${num(b.bidQty, spec.qtyDp)}","open24h":"${num(t.open, spec.priceDp)}","high24h":"${num(t.high, spec.priceDp)}","low24h":"${num(t.low, spec.priceDp)}","sodUtc0":"${num(t.open, spec.priceDp)}","sodUtc8":"${num(t.open, spec.priceDp)}","volCcy24h":"${num(t.quoteVolume, spec.priceDp + spec.qtyDp)}","vol24h":"${num(t.volume, spec.qtyDp)}","ts":"${ts}"}`;
  const restTrade = (spec: SymbolSpec, t: TradeRecord) => ({
    instId: venueSymbol(spec),
    side: t.side,
    sz: num(t.qty, spec.qtyDp),
    px: num(t.price, spec.priceDp),
    source: '0',
    tradeId: String(t.id),
    ts: String(t.ts),
  });

  /**
   * `market/trades` (the latest, up to 500) and `market/history-trades` (up to 100, 20 requests per
   * 2 s): newest first; `type=1` (default) pages by trade id, `type=2` by time; `after` pages to
   * older trades (id or ts below it), `before` to newer ones.
   */
  const tradesRest = (path: string, q: URLSearchParams): RestReply => {
    const ok = (data: unknown[]): RestReply => ({ status: 200, body: { code: '0', msg: '', data } });
    const bad = (code: string, msg: string): RestReply => ({ status: 400, body: { code, msg, data: [] } });
    const historic = path === '/api/v5/market/history-trades';
    if (historic && !historyRate()) return { status: 429, body: { code: '50011', msg: 'Rate limit reached. Please refer to API documentation and throttle requests accordingly.', data: [] }, violation: 'rest-rate' };
    const spec = insts.get(q.get('instId') ?? '');
    if (!spec) return bad('51001', "Instrument ID doesn't exist.");
    const max = historic ? 100 : 500;
    const limit = intParam(q, 'limit') ?? 100;
    const after = intParam(q, 'after');
    const before = intParam(q, 'before');
    const type = q.get('type') ?? '1';
    if (![limit, after ?? 0, before ?? 0].every(Number.isInteger) || limit < 1 || limit > max || (type !== '1' && type !== '2')) return bad('51000', 'Parameter limit error');
    const byTime = historic && type === '2';
    const range = byTime
      ? { ...(after !== undefined ? { endTime: after - 1 } : {}), ...(before !== undefined ? { startTime: before + 1 } : {}) }
      : { ...(after !== undefined ? { beforeId: after } : {}), ...(before !== undefined && after === undefined ? { fromId: before + 1 } : {}) };
    // Without a lower bound the newest trades below `after` come back, as OKX pages backwards.
    const rows = before !== undefined && after !== undefined
      ? history!.trades(spec.symbol, { ...range, limit }).filter((t) => (byTime ? t.ts > before : t.id > before))
      : history!.trades(spec.symbol, { ...range, limit });
    return ok(rows.reverse().map((t) => restTrade(spec, t)));
  };

  return {
    limits: simLimits({ connect: { capacity: 3, refillPerSec: 3 }, banMs: 60_000, subscribes: { limit: 480, windowMs: 3_600_000 } }),
    banStatus: 429,
    pingMs: null,
    maxConnectionMs: null,
    heartbeatMs: null,
    criticalKeys: ['px', 'sz', 'side', 'tradeId', 'ts', 'instId', 'asks', 'bids', 'bidPx', 'askPx', 'bidSz', 'askSz'],
    rateClose: { frames: [], code: 1008, reason: 'Requests too frequent' },

    accept: (url) => (/^\/(ws\/v5\/public)?\/?$/.test(url.pathname) ? { topics: [] } : null),

    open: () => [],

    parse(client, text): ClientRequest {
      if (text === 'ping') return { op: 'reply', frames: ['pong'] };
      const parsed = parseJson(text);
      if (!parsed.ok || !isObject(parsed.value)) return { op: 'reply', frames: [error(client, '60012', `Invalid request: ${text.slice(0, 200)}`)] };
      const msg = parsed.value;
      if (msg.op !== 'subscribe' && msg.op !== 'unsubscribe') return { op: 'reply', frames: [error(client, '60012', `Invalid request: ${text.slice(0, 200)}`)] };
      if (!Array.isArray(msg.args) || msg.args.length === 0) return { op: 'reply', frames: [error(client, '60012', `Invalid request: ${text.slice(0, 200)}`)] };
      const topics: string[] = [];
      for (const arg of msg.args as unknown[]) {
        if (!isObject(arg) || typeof arg.channel !== 'string') return { op: 'reply', frames: [error(client, '60012', `Invalid request: ${text.slice(0, 200)}`)] };
        const channel = arg.channel;
        if (channel === 'instruments' && typeof arg.instType === 'string') {
          topics.push(`instruments:${arg.instType}`);
          continue;
        }
        const derivTopic = derivs.topic(arg);
        if (derivTopic === null) return { op: 'reply', frames: [error(client, '60018', `Wrong URL or channel:${channel},instId:${String(arg.instId ?? arg.instType)} doesn't exist.`)] };
        if (derivTopic !== undefined) {
          topics.push(derivTopic);
          continue;
        }
        const instId = arg.instId;
        const known = DATA.has(channel) || OTHER.has(channel) || channel.startsWith('candle');
        if (!known || typeof instId !== 'string' || (ctx.market && !insts.has(instId))) {
          return { op: 'reply', frames: [error(client, '60018', `Wrong URL or channel:${channel},instId:${String(instId)} doesn't exist.`)] };
        }
        topics.push(`${channel}:${instId}`);
      }
      return { op: msg.op, topics, id: msg.id };
    },

    ack(client, req) {
      if (req.op === 'list') return [];
      return req.topics.map((t) => {
        const i = t.indexOf(':');
        const channel = t.slice(0, i);
        const arg = channel === 'instruments' || channel === 'liquidation-orders' ? { channel, instType: t.slice(i + 1) } : { channel, instId: t.slice(i + 1) };
        return JSON.stringify({ ...(req.id !== undefined ? { id: req.id } : {}), event: req.op, arg, connId: client.connId });
      });
    },

    reject: (client, _req, breach) => [error(client, breach === 'subscribe-rate' ? '60014' : '60012', breach === 'subscribe-rate' ? 'Requests too frequent.' : breach)],

    snapshot: (_client, added) => added.map((t) => books.snapshot(t) ?? derivs.snapshot(t)).filter((f): f is OutFrame => f !== null),

    render: (_client, frame) => frame.text,

    events(ev) {
      const spec = ev.spec;
      const out: OutFrame[] = [];
      const I = venueSymbol(spec);
      if (ev.kind === 'trade') {
        const aggs = ev.aggs.map(
          (a) => `{"instId":"${I}","tradeId":"${a.lastId}","px":"${num(a.price, spec.priceDp)}","sz":"${num(a.qty, spec.qtyDp)}","side":"${a.side}","ts":"${a.ts}","count":"${a.lastId - a.firstId + 1}"}`,
        );
        out.push(frame('trades', spec, aggs, ev.aggs.length, false));
        const fills = ev.fills.map(
          (f) => `{"instId":"${I}","tradeId":"${f.id}","px":"${num(f.price, spec.priceDp)}","sz":"${num(f.qty, spec.qtyDp)}","side":"${f.side}","source":"0","ts":"${f.ts}"}`,
        );
        out.push(frame('trades-all', spec, fills, ev.fills.length, false));
      }
      const b = ev.book;
      const p = ev.prevBook;
      if (b.bid !== p.bid || b.ask !== p.ask || b.bidQty !== p.bidQty || b.askQty !== p.askQty) {
        const lvl = (px: number, sz: number) => `["${num(px, spec.priceDp)}","${num(sz, spec.qtyDp)}","0","1"]`;
        out.push(frame('bbo-tbt', spec, [`{"asks":[${lvl(b.ask, b.askQty)}],"bids":[${lvl(b.bid, b.bidQty)}],"ts":"${ev.ts}","seqId":${ev.seq}}`], 0, true));
      }
      out.push(frame('tickers', spec, [ticker(spec, b, ev.ticker, ev.ts)], 0, true));
      out.push(...books.events(ev), ...derivs.events(ev));
      return out;
    },

    heartbeat: () => [],

    rest(path, q): RestReply | null {
      const ok = (data: unknown[]): RestReply => ({ status: 200, body: { code: '0', msg: '', data } });
      const bad = (code: string, msg: string): RestReply => ({ status: 400, body: { code, msg, data: [] } });
      if (path === '/api/v5/public/time') return ok([{ ts: String(Date.now()) }]);
      const swaps = derivs.rest(path, q);
      if (swaps) return swaps;
      if (path === '/api/v5/public/instruments') {
        if (!q.get('instType')) return bad('51000', 'Parameter instType error');
        if (q.get('instType') !== 'SPOT') return ok([]);
        return ok(
          [...insts.values()].filter((s) => !s.symbol.endsWith('-PERP')).map((s) => ({
            instType: 'SPOT',
            instId: venueSymbol(s),
            baseCcy: s.base,
            quoteCcy: s.quote,
            tickSz: fixed(1, s.priceDp),
            lotSz: fixed(1, s.qtyDp),
            minSz: fixed(1, s.qtyDp),
            state: 'live',
          })),
        );
      }
      const spec = insts.get(q.get('instId') ?? '');
      if (path === '/api/v5/market/ticker') {
        if (!spec) return bad('51001', "Instrument ID doesn't exist.");
        return ok([JSON.parse(ticker(spec, ctx.market!.book(spec.symbol)!, ctx.market!.ticker(spec.symbol)!, Date.now()))]);
      }
      if (path === '/api/v5/market/trades' || path === '/api/v5/market/history-trades') return tradesRest(path, q);
      return null;
    },
  };
}
