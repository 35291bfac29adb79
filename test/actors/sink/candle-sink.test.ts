// The sink trusts only workers: real NATS JetStream (MD_CANDLES, MD_TRADES, MD_DLQ) and PostgreSQL.
import { headers as natsHeaders } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CandleSink } from '../../../actors/sink/candle-sink.js';
import { ensureMarketStreams, loadStreamsConfig } from '../../../app/streams.js';
import { silentLogger as log } from '../../../runtime/logger.js';
import { registry } from '../../../runtime/metrics.js';
import type { NatsHandles } from '../../../runtime/nats/index.js';
import { CANDLE_REVISION_HEADER, candleMsgId, candleRevision, type Candle } from '../../../schemas/candle.js';
import { candleSubject, DLQ_HEADERS, STREAMS, tradeSubject } from '../../../schemas/subjects.js';
import { CandleStore } from '../../../store/candles.js';
import { migrate } from '../../../store/migrate.js';
import { TcpProxy } from '../../tcp-proxy.js';
import { connectPg } from '../../../runtime/pg.js';
import { isolated } from '../../harness.js';
import { until } from '../../support/nats-server.js';

const iso = isolated();
const T0 = Date.UTC(2024, 0, 2, 3, 0, 0);
const MIN = 60_000;
let nats: NatsHandles;
let store: CandleStore;
let sink: CandleSink;

/** A consistent closed 1m candle with `trades` trades of qty 1 at 100 (volume = trades). */
function candle(symbol: string, minute: number, trades = 3, price = '100.00'): Candle {
  return {
    venue: 'binance', symbol, tf: '1m', openTime: T0 + minute * MIN, closeTime: T0 + (minute + 1) * MIN - 1,
    open: price, high: price, low: price, close: price,
    volume: String(trades), quoteVolume: (Number(price) * trades).toFixed(2), vwap: `${price}0000`,
    trades, buyVolume: '0', firstTradeId: '1', lastTradeId: String(trades), closed: true,
  };
}

/** Publishes a candle into MD_CANDLES as a worker does (or as a forger does: any msgId, any revision). */
async function publish(c: Candle, opts: { revision?: number | string; msgId?: string; subject?: string; raw?: string } = {}): Promise<void> {
  const h = natsHeaders();
  if (opts.revision !== undefined) h.set(CANDLE_REVISION_HEADER, typeof opts.revision === 'number' ? candleRevision(opts.revision) : opts.revision);
  const subject = opts.subject ?? iso.ns.subject(candleSubject(c.tf, c.venue, c.symbol));
  await nats.js.publish(subject, opts.raw ?? JSON.stringify(c), { msgID: opts.msgId ?? `${candleMsgId(c)}:${opts.revision ?? 'none'}:${Math.random()}`, headers: h });
}

async function row(symbol: string, minute: number): Promise<{ trades: string; revision: string; close: string } | undefined> {
  const rows = await iso.sql()<{ trades: string; revision: string; close: string }[]>`
    select trades::text, revision::text, close::text from candles where venue = 'binance' and symbol = ${symbol} and tf = '1m' and open_time = ${new Date(T0 + minute * MIN).toISOString()}::timestamptz`;
  return rows[0];
}

async function dlqReasons(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const info = await nats.jsm.streams.info(iso.ns.stream(STREAMS.dlq));
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await nats.jsm.streams.getMessage(iso.ns.stream(STREAMS.dlq), { seq }).catch(() => null);
    if (m) out.set(m.header.get(DLQ_HEADERS.source), m.header.get(DLQ_HEADERS.reason));
  }
  return out;
}

async function rejectedCount(reason: string): Promise<number> {
  const metric = await registry.getSingleMetric('tickwork_sink_rejected_total')?.get();
  return metric?.values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

async function sinkIdle(): Promise<boolean> {
  const info = await nats.jsm.consumers.info(iso.ns.stream(STREAMS.candles), iso.ns.name('pg_sink'));
  return info.num_pending === 0 && info.num_ack_pending === 0;
}

beforeAll(async () => {
  nats = await iso.nats();
  await ensureMarketStreams(nats.jsm, iso.ns, loadStreamsConfig(iso.env));
  await migrate(iso.sql(), iso.ns.pgSchema);
  store = new CandleStore(iso.sql(), { schema: iso.ns.pgSchema });
  // MD_TRADES holds 100 trades: revisions 1..100 are ones a worker could have emitted.
  for (let i = 1; i <= 100; i++) await nats.js.publish(iso.ns.subject(tradeSubject('binance', 'BTC-USDT')), '{}', { msgID: `t${i}` });
  sink = new CandleSink({ nats, ns: iso.ns, store, log, batchWaitMs: 20, pendingEveryMs: 100 });
  await sink.start();
});

afterAll(async () => {
  await sink?.stop();
  await iso.cleanup();
});

describe('candle sink: only what a worker could have published reaches PostgreSQL', () => {
  it('writes a revised candle with its revision; a correction with a higher revision replaces it, an older re-delivery does not', async () => {
    await publish(candle('REV-USDT', 0, 3), { revision: 10 });
    await until('the first version', async () => (await row('REV-USDT', 0))?.trades === '3');
    expect((await row('REV-USDT', 0))?.revision).toBe('10');
    await publish(candle('REV-USDT', 0, 4), { revision: 20 });
    await until('the correction', async () => (await row('REV-USDT', 0))?.trades === '4');
    await publish(candle('REV-USDT', 0, 3), { revision: 10 }); // re-delivery of the first version
    await until('the sink to drain', sinkIdle);
    expect(await row('REV-USDT', 0)).toEqual({ trades: '4', revision: '20', close: '100.00' });
  });

  it('a forged closed candle with trades = 1e9 neither replaces the real one (real first) nor blocks it (forged first)', async () => {
    const forged = (minute: number) => candle('FORGE-USDT', minute, 1e9, '1.00');
    // Real first, then the forgery (no revision: what a stranger publishes), same and other msg ids.
    await publish(candle('FORGE-USDT', 0, 5), { revision: 50 });
    await until('the real candle', async () => (await row('FORGE-USDT', 0))?.trades === '5');
    await publish(forged(0));
    await publish(forged(0), { msgId: 'binance:FORGE-USDT:1m:forged' });
    // Forged first, then the real one.
    await publish(forged(1));
    await until('the forgery to land while no real candle exists', async () => (await row('FORGE-USDT', 1))?.trades === '1000000000');
    await publish(candle('FORGE-USDT', 1, 6), { revision: 51 });
    await until('the real candle to replace the forgery', async () => (await row('FORGE-USDT', 1))?.trades === '6');
    // A forgery that claims a revision no worker can have emitted yet is refused outright.
    await publish(forged(0), { revision: 1_000_000 });
    await until('the sink to drain', sinkIdle);
    expect(await row('FORGE-USDT', 0)).toMatchObject({ trades: '5', revision: '50', close: '100.00' });
    expect(await row('FORGE-USDT', 1)).toMatchObject({ trades: '6', revision: '51', close: '100.00' });
    expect(await rejectedCount('CANDLE_REVISION_AHEAD')).toBeGreaterThanOrEqual(1);
  });

  it('waits for MD_TRADES to reach a revision it does not show yet (a lagging stream info), then stores the candle', async () => {
    const last = (await nats.jsm.streams.info(iso.ns.stream(STREAMS.trades))).state.last_seq;
    // A worker's candle closed by the trade two sequences ahead of what the stream info says now.
    await publish(candle('AHEAD-USDT', 0, 4), { revision: last + 2 });
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < 2; i++) await nats.js.publish(iso.ns.subject(tradeSubject('binance', 'AHEAD-USDT')), '{}', { msgID: `ahead-${i}-${Math.random()}` });
    await until('the candle stored', async () => (await row('AHEAD-USDT', 0))?.trades === '4');
    expect((await row('AHEAD-USDT', 0))?.revision).toBe(String(last + 2));
  });

  it('dead-letters inconsistent, mislabelled and unreadable candles with their reason; the good ones of the batch are written', async () => {
    const before = await dlqReasons();
    const c = (minute: number) => candle('BAD-USDT', minute);
    const bad: [Candle, Parameters<typeof publish>[1], string][] = [
      [{ ...c(0), high: '99.00' }, { revision: 60 }, 'CANDLE_PRICE_INVALID'],
      [{ ...c(1), buyVolume: '4' }, { revision: 60 }, 'CANDLE_VOLUME_INVALID'],
      [{ ...c(2), quoteVolume: '301.00' }, { revision: 60 }, 'CANDLE_VOLUME_INVALID'],
      [{ ...c(3), vwap: '100.5000' }, { revision: 60 }, 'CANDLE_VWAP_INVALID'],
      [{ ...c(4), closeTime: c(4).closeTime + 1 }, { revision: 60 }, 'CANDLE_TIME_INVALID'],
      [{ ...c(5), trades: 0 }, { revision: 60 }, 'CANDLE_TRADES_INVALID'],
      // The body names another symbol than the subject it was published on.
      [c(6), { revision: 60, subject: iso.ns.subject(candleSubject('1m', 'binance', 'OTHER-USDT')) }, 'CANDLE_SUBJECT_MISMATCH'],
      [c(7), { revision: '1e3' }, 'CANDLE_REVISION_INVALID'],
      [c(8), { raw: '{"type":"trade"' }, 'json'],
      [c(9), { raw: '{"stream":"MD_TRADES","seq":5}' }, 'schema'],
    ];
    for (const [k, opts] of bad) await publish(k, opts);
    await publish(c(10), { revision: 61 });
    await until('the good candle', async () => (await row('BAD-USDT', 10))?.trades === '3');
    await until('every bad candle in the DLQ', async () => (await dlqReasons()).size >= before.size + bad.length);
    const reasons = [...(await dlqReasons()).entries()].filter(([k]) => !before.has(k)).map(([, r]) => r);
    expect(reasons.sort()).toEqual(bad.map(([, , r]) => r).sort());
    for (let m = 0; m < 10; m++) expect(await row('BAD-USDT', m)).toBeUndefined();
    expect(await rejectedCount('CANDLE_PRICE_INVALID')).toBeGreaterThanOrEqual(1);
  });

  it('a candle PostgreSQL refuses (a NUL in a trade id) is isolated and dead-lettered; the rest of its batch is written', async () => {
    await sink.stop();
    for (let m = 0; m < 6; m++) await publish(m === 3 ? { ...candle('NUL-USDT', m), lastTradeId: 'a\u0000b' } : candle('NUL-USDT', m), { revision: 70 });
    sink = new CandleSink({ nats, ns: iso.ns, store, log, batchWaitMs: 200, pendingEveryMs: 100 });
    await sink.start();
    await until('the sink to drain', sinkIdle, 20_000);
    for (let m = 0; m < 6; m++) expect((await row('NUL-USDT', m))?.trades, `minute ${m}`).toBe(m === 3 ? undefined : '3');
    expect(await rejectedCount('store')).toBe(1);
  });

  it('exports tickwork_sink_consumer_pending: candles not yet written, while PostgreSQL is unreachable and after', async () => {
    const proxy = TcpProxy.forUrl(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres', 5432);
    await proxy.start();
    const sql = connectPg(proxy.url(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'), { schema: iso.ns.pgSchema, max: 1 });
    const slow = new CandleStore(sql, { schema: iso.ns.pgSchema });
    await slow.schema();
    await sink.stop();
    sink = new CandleSink({ nats, ns: iso.ns, store: slow, log, batchWaitMs: 20, pendingEveryMs: 100 });
    await sink.start();
    await proxy.cut();
    for (let m = 0; m < 5; m++) await publish(candle('LAG-USDT', m), { revision: 80 });
    const gauge = async () => (await registry.getSingleMetric('tickwork_sink_consumer_pending')?.get())?.values[0]?.value ?? -1;
    await until('the gauge to count the 5 unwritten candles', async () => (await gauge()) === 5, 15_000);
    await proxy.start();
    await until('the candles written once PostgreSQL is back', async () => (await row('LAG-USDT', 4))?.trades === '3', 30_000);
    await until('the gauge back to 0', async () => (await gauge()) === 0, 15_000);
    await sink.stop();
    sink = new CandleSink({ nats, ns: iso.ns, store, log });
    await sink.start();
    await sql.end({ timeout: 1 });
    await proxy.cut();
  });
});
