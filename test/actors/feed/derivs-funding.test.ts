import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { FundingRecorder } from '../../../actors/spread/funding-recorder.js';
import type { DerivTicker } from '../../../schemas/deriv.js';
import { FundingStore } from '../../../store/funding.js';
import { migrate } from '../../../store/migrate.js';
import { isolated } from '../../harness.js';
import { until } from './books-rig.js';
import { derivsLog, startDerivsRig } from './derivs-rig.js';

/**
 * Settled funding rates are written to PostgreSQL once per settlement, across a restart of the feed
 * and of the writer (the spread role's FundingRecorder, a durable consumer of MD_DERIVS). The venue
 * is a scripted Bybit v5 linear endpoint: the simulators settle on the wall clock's 8-hour marks, so
 * a settlement is scripted here as Bybit shows it, `nextFundingTime` moving to the next one in a
 * partial delta; a third run starts after a settlement it did not see. Real NATS, Redis and PostgreSQL.
 */

const H8 = 8 * 3_600_000;
const T1 = 1_800_000_000_000 - (1_800_000_000_000 % H8);
const T2 = T1 + H8;
const T3 = T2 + H8;
const T4 = T3 + H8;

type Fields = Record<string, string>;
/** A frame stamped when it is sent (the venue's `ts`). */
const ticker = (type: 'snapshot' | 'delta', data: Fields) => () => JSON.stringify({ topic: 'tickers.BTCUSDT', type, data: { symbol: 'BTCUSDT', ...data }, cs: 1, ts: Date.now() });

/** One script per connection, in connection order: the frames sent after the subscription, 30 ms apart. */
const SCRIPTS: (() => string)[][] = [
  // first run: the rate announced for T1 moves, then T1 settles (nextFundingTime → T2)
  [
    ticker('snapshot', { markPrice: '100.5', indexPrice: '100.4', lastPrice: '100.5', fundingRate: '0.0001', nextFundingTime: String(T1), fundingIntervalHour: '8', openInterest: '12', openInterestValue: '1206' }),
    ticker('delta', { fundingRate: '0.00012' }),
    ticker('delta', { nextFundingTime: String(T2), fundingRate: '0.00005', markPrice: '100.6' }),
  ],
  // after the restart the same settlement is seen again (a venue snapshot from before it), then T2 settles
  [
    ticker('snapshot', { markPrice: '100.5', indexPrice: '100.4', lastPrice: '100.5', fundingRate: '0.00012', nextFundingTime: String(T1), fundingIntervalHour: '8', openInterest: '12', openInterestValue: '1206' }),
    ticker('delta', { nextFundingTime: String(T2), fundingRate: '0.00007' }),
    ticker('delta', { markPrice: '100.7' }),
    ticker('delta', { nextFundingTime: String(T3), fundingRate: '-0.00002' }),
  ],
  // T3 settled while no feed ran: the restarted feed first sees T4 (it resumes from its last ticker in Redis)
  [
    ticker('snapshot', { markPrice: '100.8', indexPrice: '100.7', lastPrice: '100.8', fundingRate: '0.00004', nextFundingTime: String(T4), fundingIntervalHour: '8', openInterest: '13', openInterestValue: '1310' }),
    ticker('delta', { markPrice: '100.9' }),
  ],
];

async function scriptedBybit(): Promise<{ url: string; connections: () => number; close(): Promise<void> }> {
  const http: Server = createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ server: http });
  let n = 0;
  const play = (ws: WebSocket, frames: (() => string)[]) => {
    let i = 0;
    const next = () => {
      if (i >= frames.length || ws.readyState !== ws.OPEN) return;
      ws.send(frames[i++]!());
      setTimeout(next, 30);
    };
    next();
  };
  wss.on('connection', (ws) => {
    const script = SCRIPTS[n++] ?? [];
    ws.on('message', (data) => {
      const req = JSON.parse(String(data)) as { op: string; req_id?: string };
      if (req.op === 'ping') return ws.send(JSON.stringify({ success: true, ret_msg: 'pong', op: 'ping' }));
      ws.send(JSON.stringify({ success: true, ret_msg: '', conn_id: `c${n}`, req_id: req.req_id ?? '', op: req.op }));
      if (req.op === 'subscribe') play(ws, script);
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const port = (http.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}/v5/public/spot`,
    connections: () => n,
    async close() {
      for (const c of wss.clients) c.terminate();
      await new Promise((r) => wss.close(r));
      await new Promise((r) => http.close(r));
    },
  };
}

describe('settled funding rates across a restart (scripted Bybit linear, NATS, Redis, PostgreSQL)', () => {
  const iso = isolated();
  afterAll(() => iso.cleanup(), 60_000);

  it('one row per settlement: a settlement seen again after the restart changes nothing, the next one is added', async () => {
    const venue = await scriptedBybit();
    try {
      const sql = iso.sql();
      await migrate(sql, iso.ns.pgSchema);
      const store = new FundingStore(sql, { schema: iso.ns.pgSchema });
      const rows = async () => store.recent({ symbol: 'BTC-USDT-PERP', limit: 100 });
      const env = { BYBIT_WS_URL: venue.url, TICKWORK_DERIVS_EMIT_MS: '100' };
      const nats = await iso.nats();

      const run = async (expectRows: number) => {
        const rig = await startDerivsRig('bybit', ['BTC-USDT-PERP'], { env, iso });
        const recorder = new FundingRecorder({ nats, ns: iso.ns, sink: store, log: derivsLog });
        await recorder.start();
        try {
          await until(`${expectRows} funding rows`, async () => (await rows()).length >= expectRows, 30_000, () => rig.feed.stats);
          // the feed published everything scripted (the last ticker) before it is stopped
          const want = SCRIPTS[venue.connections() - 1]!.length;
          await until('the script played', () => rig.feed.stats.frames >= want + 1, 10_000, () => rig.feed.stats);
        } finally {
          await rig.stop();
          await recorder.stop();
        }
      };

      await run(1);
      expect(await rows()).toEqual([{ venue: 'bybit', symbol: 'BTC-USDT-PERP', fundingTime: T1, fundingRate: '0.00012', fundingIntervalMs: H8 }]);

      await run(2);
      // let a late duplicate land if there were one
      await new Promise((r) => setTimeout(r, 500));
      expect(await rows()).toEqual([
        { venue: 'bybit', symbol: 'BTC-USDT-PERP', fundingTime: T2, fundingRate: '0.00007', fundingIntervalMs: H8 },
        { venue: 'bybit', symbol: 'BTC-USDT-PERP', fundingTime: T1, fundingRate: '0.00012', fundingIntervalMs: H8 },
      ]);
      const [row] = await sql<{ n: number }[]>`select count(*)::int as n from ${sql(`${iso.ns.pgSchema}.funding_rates`)}`;
      expect(row?.n).toBe(2);
      expect(venue.connections()).toBe(2);

      // the third run starts after T3: the settlement is recorded with the last rate the second run saw
      await run(3);
      expect((await rows())[0]).toEqual({ venue: 'bybit', symbol: 'BTC-USDT-PERP', fundingTime: T3, fundingRate: '-0.00002', fundingIntervalMs: H8 });
      expect(await rows()).toHaveLength(3);

      // MD_DERIVS carried the T1 settlement twice (one ticker per run): the table kept one row;
      // the tickers' ts kept increasing across the restarts (no message id reused)
      const settled: DerivTicker[] = [];
      let lastTs = 0;
      const c = await nats.js.consumers.get(iso.ns.stream('MD_DERIVS'));
      const info = await nats.jsm.streams.info(iso.ns.stream('MD_DERIVS'));
      for (let seq = 1; seq <= info.state.last_seq; seq++) {
        const m = await c.next({ expires: 2000 });
        if (!m) break;
        const t = m.json<DerivTicker>();
        if (t.settled) settled.push(t);
        expect(t.ts).toBeGreaterThan(lastTs);
        lastTs = t.ts;
      }
      expect(settled.map((t) => t.settled!.fundingTime)).toEqual([T1, T1, T2, T3]);
    } finally {
      await venue.close();
    }
  }, 120_000);
});
