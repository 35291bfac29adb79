import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWorkerConfig } from '../../actors/symbol/config.js';
import { ensureMarketStreams, loadStreamsConfig } from '../../app/streams.js';
import { startWorker } from '../../app/worker.js';
import { registry } from '../../runtime/metrics.js';
import { DLQ_HEADERS, PipelinedPublisher } from '../../runtime/nats/index.js';
import { startProcess, type ProcessContext } from '../../runtime/process.js';
import { stateKey, type LiveState } from '../../schemas/state.js';
import { STREAMS } from '../../schemas/subjects.js';
import { tradeMsgId, type Trade } from '../../schemas/trade.js';
import { isolated, type Isolated } from '../harness.js';
import { until } from '../support/nats-server.js';

// Issue 9 item 4, end to end on the real servers (NATS JetStream, Redis): hostile trades published
// on md.trade.binance.MIS-USDT between legitimate ones. Each is dead-lettered on md.dlq.binance with
// Tickwork-Reason / Tickwork-Detail, counted by reason, and the symbol keeps applying the real ones.

const NOW = Date.now();
const SYMBOL = 'MIS-USDT';

function real(i: number): Trade {
  const ts = NOW - 600_000 + i * 500;
  return { venue: 'binance', symbol: SYMBOL, venueSymbol: 'MISUSDT', id: String(5_000 + i), price: `${20 + (i % 5)}.25`, qty: '0.5', side: i % 2 ? 'buy' : 'sell', ts, recvTs: ts + 3 };
}

/** Issue 9's hostile bus messages, each with the reason it must be refused for. */
const HOSTILE: { what: string; trade: Trade; reason: string }[] = [
  { what: 'a 30-digit id', trade: { ...real(0), id: '123456789012345678901234567890' }, reason: 'TRADE_ID_INVALID' },
  { what: 'a trade dated 1970', trade: { ...real(0), id: '900001', ts: 1_000, recvTs: 1_003 }, reason: 'TRADE_TS_TOO_OLD' },
  { what: 'a trade dated tomorrow', trade: { ...real(0), id: '900002', ts: NOW + 86_400_000, recvTs: NOW + 86_400_000 }, reason: 'TRADE_TS_FUTURE' },
  { what: 'price -1000000', trade: { ...real(0), id: '900003', price: '-1000000' }, reason: 'TRADE_PRICE_INVALID' },
  { what: 'a quantity of 60 nines', trade: { ...real(0), id: '900004', qty: '9'.repeat(60) }, reason: 'TRADE_QTY_INVALID' },
  { what: 'a body naming okx ETH-USDT', trade: { ...real(0), id: '900005', venue: 'okx', symbol: 'ETH-USDT', venueSymbol: 'ETH-USDT' }, reason: 'TRADE_SUBJECT_MISMATCH' },
];

interface Dead {
  reason: string;
  detail: string;
  source: string;
}

async function deadLetters(iso: Isolated): Promise<Dead[]> {
  const { jsm } = await iso.nats();
  const stream = iso.ns.stream(STREAMS.dlq);
  const info = await jsm.streams.info(stream).catch(() => null);
  const out: Dead[] = [];
  for (let seq = 1; seq <= (info?.state.last_seq ?? 0); seq++) {
    const m = await jsm.streams.getMessage(stream, { seq });
    if (m) out.push({ reason: m.header.get(DLQ_HEADERS.reason), detail: m.header.get(DLQ_HEADERS.detail), source: m.header.get(DLQ_HEADERS.source) });
  }
  return out;
}

async function state(iso: Isolated): Promise<LiveState | null> {
  const raw = await iso.redis().get(iso.ns.key(stateKey('binance', SYMBOL)));
  return raw ? (JSON.parse(raw) as LiveState) : null;
}

describe('hostile trades on the bus (real NATS, Redis; worker in process)', () => {
  const iso = isolated();
  let ctx: ProcessContext;
  let pub: PipelinedPublisher;
  const env = { ...iso.env, TICKWORK_STATE_FLUSH_MS: '0', TICKWORK_TIMEFRAMES: '1m', TICKWORK_GRACE_MS: String(1e12) };

  beforeAll(async () => {
    ctx = await startProcess({ role: 'hostile-test', needs: ['nats', 'redis'], env, httpPort: 0, installSignalHandlers: false });
    await ensureMarketStreams(ctx.nats!.jsm, ctx.ns, loadStreamsConfig(env));
    await startWorker(ctx, loadWorkerConfig(env), 'static', env);
    pub = new PipelinedPublisher(await iso.nats());
  });
  afterAll(async () => {
    pub.close();
    await ctx.lifecycle.shutdown();
    await iso.cleanup();
  });

  const send = async (t: Trade, msgId = tradeMsgId(t)) => (await pub.publish(iso.ns.subject(`md.trade.binance.${SYMBOL}`), JSON.stringify(t), msgId)).stored;

  it('each is dead-lettered with its reason and detail; every legitimate trade is applied; no candle outside their time range', async () => {
    let i = 1;
    for (const h of HOSTILE) {
      for (let k = 0; k < 20; k++) await send(real(i++));
      await send(h.trade);
    }
    for (let k = 0; k < 20; k++) await send(real(i++));
    const legit = i - 1;
    await pub.flush();
    const st = await until('every legitimate trade applied', async () => ((await state(iso))?.tradesApplied === legit ? state(iso) : undefined), 60_000);
    expect(st!.lastTrade?.id).toBe(real(legit).id);
    const dead = await until('six dead letters', async () => {
      const d = await deadLetters(iso);
      return d.length >= HOSTILE.length ? d : undefined;
    });
    expect(dead.map((d) => d.reason)).toEqual(HOSTILE.map((h) => h.reason));
    for (const d of dead) {
      expect(d.detail.length).toBeGreaterThan(10);
      expect(d.source).toMatch(new RegExp(`^md\\.trade\\.binance\\.${SYMBOL}@\\d+$`));
    }
    // The open 1m candle is within the legitimate trades' minutes (no tomorrow, no 1970).
    const open = st!.candles['1m']!;
    expect(open.openTime).toBeGreaterThanOrEqual(Math.floor(real(1).ts / 60_000) * 60_000);
    expect(open.openTime).toBeLessThanOrEqual(real(legit).ts);
    const metrics = await registry.getSingleMetricAsString('tickwork_symbol_rejected_total');
    for (const h of HOSTILE) expect(metrics).toContain(`reason="${h.reason}"`);
  });

  it('Msg-Id squatting: the squatter\'s copy wins at ingest (JetStream dedupe); the worker refuses it when its body is implausible', async () => {
    // The defence is permissions: only the feed role may publish md.trade.> (app/nats-auth.ts,
    // test/security/nats-permissions.test.ts). What the worker can still do is refuse a squatted
    // body that is implausible. The real trade behind it is gone either way (deduplicated).
    const before = (await state(iso))!.tradesApplied;
    const realNext = real(1_000);
    const squat = { ...realNext, ts: 5_000, recvTs: 5_003 }; // published first, dated 1970
    await send(squat, tradeMsgId(realNext));
    const r = await send(realNext);
    expect(r).toMatchObject({ duplicate: true });
    const dead = await until('the squatter dead-lettered', async () => {
      const d = await deadLetters(iso);
      return d.length > HOSTILE.length ? d : undefined;
    });
    expect(dead.at(-1)!.reason).toBe('TRADE_TS_TOO_OLD');
    // The symbol lives on: the next real trade is applied.
    await send(real(1_001));
    await until('the next real trade applied', async () => (await state(iso))!.tradesApplied === before + 1);
  });
});
