import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureMarketStreams, loadStreamsConfig } from '../../app/streams.js';
import { connectNats, PipelinedPublisher, type NatsHandles } from '../../runtime/nats/index.js';
import { stateKey, type LiveState } from '../../schemas/state.js';
import { STREAMS, tradeSubject } from '../../schemas/subjects.js';
import { tradeMsgId, type Trade } from '../../schemas/trade.js';
import { syntheticTrades } from '../exactly-once/pipeline.js';
import { isolated, type Isolated } from '../harness.js';
import { startNatsServer, until, type NatsServerProcess } from '../support/nats-server.js';
import { allOwned, ownership, startGroupWorker, type GroupWorker } from './group.js';
import { referenceCandles } from './reference.js';

// Issue 11 item 2: each worker is delivered only its own symbols' trades. On a real nats-server
// 2.10 (scripts/nats-server.sh) 4 workers' main consumers are filtered to their owned subjects:
// each is delivered within ±25 % of total/4. On 2.9 (the system server) the same run, where every
// worker reads everything and skips, yields the same candles and live states.

const WORKERS = 4;
const SYMBOLS = Number(process.env.TICKWORK_DELIVERY_SYMBOLS ?? 120);
const N = Number(process.env.TICKWORK_DELIVERY_TRADES ?? 16_000);
const symbols = Array.from({ length: SYMBOLS }, (_, k) => `S${k}-USDT`);
const keys = symbols.map((s) => `binance.${s}`);
const ENV = { TICKWORK_TIMEFRAMES: '1m', TICKWORK_GRACE_MS: String(1e12), TICKWORK_LEASE_TTL_MS: '6000', TICKWORK_STATE_FLUSH_MS: '5' };

async function publish(nats: NatsHandles, iso: Isolated, trades: Iterable<Trade>): Promise<number> {
  const pub = new PipelinedPublisher(nats, { maxInFlight: 4096 });
  let stored = 0;
  for (const t of trades) {
    const r = await pub.publish(iso.ns.subject(tradeSubject(t.venue, t.symbol)), JSON.stringify(t), tradeMsgId(t));
    r.stored.then((a) => (a.duplicate ? undefined : stored++)).catch(() => undefined);
  }
  await pub.flush();
  pub.close();
  return stored;
}

async function delivered(w: GroupWorker): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${w.port}/metrics`)).text();
  return Number(/^tickwork_worker_delivered_total\{[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0);
}

/** Closed candles in MD_CANDLES (each candle id's latest version, fence copies aside), as reference rows. */
async function streamCandles(nats: NatsHandles, iso: Isolated): Promise<string[]> {
  const stream = iso.ns.stream(STREAMS.candles);
  const last = (await nats.jsm.streams.info(stream)).state.last_seq;
  const byId = new Map<string, string>();
  for (let seq = 1; seq <= last; seq++) {
    const m = await nats.jsm.streams.getMessage(stream, { seq });
    if (!m || m.header.get('Nats-Msg-Id').startsWith('fence:')) continue;
    const c = m.json<{ venue: string; symbol: string; tf: string; openTime: number; open: string; high: string; low: string; close: string; volume: string; trades: number }>();
    byId.set(`${c.symbol}:${c.tf}:${c.openTime}`, `${c.venue}|${c.symbol}|${c.tf}|${c.openTime}|${c.open}|${c.high}|${c.low}|${c.close}|${c.volume}|${c.trades}`);
  }
  return [...byId.values()].sort();
}

interface Run {
  deliveredPerWorker: number[];
  states: unknown[];
  candles: string[];
}

/** One symbol's first trade each (the universe), 4 workers settled, then N trades; what each worker was delivered. */
async function run(iso: Isolated, server: string, trades: Trade[]): Promise<Run> {
  const env = { ...ENV, NATS_URL: server };
  const nats = await connectNats(server, `test-${iso.id}`);
  const workers: GroupWorker[] = [];
  try {
    await ensureMarketStreams(nats.jsm, iso.ns, loadStreamsConfig(iso.env));
    const seeds = symbols.map((_, k) => trades.find((t) => t.symbol === `S${k}-USDT`)!);
    expect(await publish(nats, iso, seeds)).toBe(SYMBOLS);
    for (let i = 0; i < WORKERS; i++) workers.push(await startGroupWorker(iso, env));
    // Settled: every symbol owned and ready, every worker sees all members, shares unchanged for 2 s.
    let previous = '';
    await until(
      'the group settled',
      async () => {
        const owned = await allOwned(workers, keys, 120_000);
        const views = await Promise.all(workers.map((w) => ownership(w)));
        const now = JSON.stringify([...owned].map(([k, v]) => [k, v.worker]).sort());
        const settled = views.every((v) => v?.members.length === WORKERS) && now === previous;
        previous = now;
        return settled;
      },
      180_000,
      2_000,
    );
    const base = await Promise.all(workers.map(delivered));
    const rest = trades.filter((t) => !seeds.includes(t));
    expect(await publish(nats, iso, rest)).toBe(rest.length);
    const read = async () => (await iso.redis().mget(...symbols.map((s) => iso.ns.key(stateKey('binance', s))))).map((r) => (r ? (JSON.parse(r) as LiveState) : null));
    const states = await until(
      'every trade applied',
      async () => {
        const st = await read();
        // Settled too: no closed candle still awaiting its PubAck (`pending` is shown only until then).
        return st.reduce((n, s) => n + (s?.tradesApplied ?? 0), 0) === trades.length && st.every((s) => s?.pending === undefined) ? st : undefined;
      },
      240_000,
      500,
    ).catch(async (err: unknown) => {
      const exp = new Map<string, number>();
      for (const t of trades) exp.set(t.symbol, (exp.get(t.symbol) ?? 0) + 1);
      const st = await read();
      const short = symbols.flatMap((s, i) => (st[i]?.tradesApplied === exp.get(s) ? [] : [`${s} ${st[i]?.tradesApplied}/${exp.get(s)} ${st[i]?.worker}`]));
      const views = await Promise.all(workers.map((w) => ownership(w)));
      workers.forEach((w, i) => writeFileSync(`${tmpdir()}/delivery-worker-${i}.log`, w.cli.output()));
      throw new Error(`${(err as Error).message}; short: ${short.join(', ')}; owned: ${JSON.stringify(views.map((v) => [v?.worker, v?.owned.length]))}`);
    });
    const after = await Promise.all(workers.map(delivered));
    for (const w of workers) w.cli.child.kill('SIGTERM');
    for (const w of workers) expect(await w.cli.exited, w.cli.output().slice(-2000)).toBe(0);
    return {
      deliveredPerWorker: after.map((a, i) => a - base[i]!),
      states: states.map((s) => {
        const { updatedAt: _u, worker: _w, ...rest } = s!;
        return rest;
      }),
      candles: await streamCandles(nats, iso),
    };
  } finally {
    for (const w of workers) w.cli.child.kill('SIGKILL');
    await nats.nc.close();
  }
}

describe(`per-worker delivery: ${WORKERS} workers, ${SYMBOLS} symbols, ${N} trades`, () => {
  const on210 = isolated();
  const on29 = isolated();
  let server: NatsServerProcess | null = null;
  afterAll(async () => {
    await server?.close();
    await on29.cleanup();
    await on210.cleanup();
  });

  it('NATS 2.10: each worker is delivered about total/4 (filtered consumers); NATS 2.9: the same candles and states', async () => {
    const trades = [...syntheticTrades(N, SYMBOLS, 13)];
    server = await startNatsServer({ version: '2.10' });
    const filtered = await run(on210, server.url, trades);
    const total = N - SYMBOLS;
    for (const d of filtered.deliveredPerWorker) {
      expect(d, `delivered ${filtered.deliveredPerWorker.join(', ')} of ${total}`).toBeGreaterThanOrEqual(0.75 * (total / WORKERS));
      expect(d, `delivered ${filtered.deliveredPerWorker.join(', ')} of ${total}`).toBeLessThanOrEqual(1.25 * (total / WORKERS));
    }
    console.log(`per-worker delivery on NATS 2.10: ${filtered.deliveredPerWorker.join(', ')} of ${total} (total/${WORKERS} = ${Math.round(total / WORKERS)})`);
    const full = await run(on29, process.env.NATS_URL ?? 'nats://127.0.0.1:4222', trades);
    // 2.9: every worker reads every message.
    for (const d of full.deliveredPerWorker) expect(d).toBe(total);
    expect(full.states).toEqual(filtered.states);
    expect(full.candles).toEqual(filtered.candles);
    expect(filtered.candles).toEqual(referenceCandles(trades, ['1m']));
  }, 900_000);
});
