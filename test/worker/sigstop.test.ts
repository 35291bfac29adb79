import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WORKER_HEADER } from '../../actors/symbol/symbol-worker.js';
import { stateKey, type LiveState } from '../../schemas/state.js';
import { STREAMS } from '../../schemas/subjects.js';
import { publishTrades, sinkDrained, startSink, syntheticTrades, waitFor } from '../exactly-once/pipeline.js';
import { metricNames } from '../deploy/helpers.js';
import { isolated, repoRoot, type Isolated } from '../harness.js';
import { until } from '../support/nats-server.js';
import { allOwned, monitorRedis, ownership, redisClientAddrs, startGroupWorker } from './group.js';
import { candleRows, referenceCandles } from './reference.js';

// Issue 11 acceptance: SIGSTOP a worker past its lease, let another take over, SIGCONT. The resumed
// worker performs no write for the symbols it lost, observed at the servers: Redis (MONITOR: its
// connection sends nothing for them but with a newer lease), JetStream (no candle of its on their
// subjects until it has fenced them again) and PostgreSQL (the candles equal a fault-free
// computation); then it rejoins the group. Workers and sink are `tickwork` child processes.

const SYMBOLS = 8;
const PER_BATCH = Number(process.env.TICKWORK_SIGSTOP_TRADES ?? 4_000);
const TTL = 4_000;
const symbols = Array.from({ length: SYMBOLS }, (_, k) => `S${k}-USDT`);
const keys = symbols.map((s) => `binance.${s}`);
const READS = new Set(['get', 'mget', 'exists', 'hget', 'hgetall', 'hexists']);
const ENV = {
  TICKWORK_TIMEFRAMES: '1m',
  TICKWORK_GRACE_MS: String(1e12),
  TICKWORK_LEASE_TTL_MS: String(TTL),
  TICKWORK_SNAPSHOT_EVERY_MS: '300',
};

describe('SIGSTOP past the lease, takeover, SIGCONT: no write for the lost symbols (real NATS, Redis, PostgreSQL)', () => {
  const iso = isolated();
  afterAll(async () => {
    await iso.cleanup();
  });

  it('Redis, JetStream and PostgreSQL see nothing from the resumed worker for what it lost, and it rejoins', async () => {
    const trades = [...syntheticTrades(3 * PER_BATCH, SYMBOLS, 5)];
    expect((await publishTrades(iso, trades.slice(0, PER_BATCH))).stored).toBe(PER_BATCH);
    const sink = startSink(iso, ENV);
    const a = await startGroupWorker(iso, ENV);
    const b = await startGroupWorker(iso, ENV);
    const before = await allOwned([a, b], keys);
    const aId = (await ownership(a))!.worker;
    const lost = keys.filter((k) => before.get(k)!.worker === aId);
    expect(lost.length).toBeGreaterThan(0);
    const aAddrs = await redisClientAddrs(iso, `tickwork-worker-${aId}`);
    expect(aAddrs.length).toBeGreaterThan(0);
    const monitor = await monitorRedis(iso.ns.key(''));
    try {
      const nats = await iso.nats();
      const candles = iso.ns.stream(STREAMS.candles);

      a.cli.child.kill('SIGSTOP');
      const stoppedAt = Date.now();
      const candlesAtStop = (await nats.jsm.streams.info(candles)).state.last_seq;
      const taken = await allOwned([b], keys, 30_000);
      const takeoverMs = Date.now() - stoppedAt;
      expect(takeoverMs).toBeLessThan(TTL + 10_000);
      // While A sleeps, trades keep coming: its consumer has some waiting when it wakes.
      expect((await publishTrades(iso, trades.slice(PER_BATCH, 2 * PER_BATCH))).stored).toBe(PER_BATCH);
      await new Promise((r) => setTimeout(r, 1_000));
      const mark = monitor.commands.length;
      a.cli.child.kill('SIGCONT');
      expect((await publishTrades(iso, trades.slice(2 * PER_BATCH))).stored).toBe(PER_BATCH);

      // It rejoins: a live member again, with a share of the symbols.
      await until('the resumed worker owns symbols again', async () => ((await ownership(a))?.owned.filter((o) => o.ready).length ?? 0) > 0, 60_000).catch(async (err: Error) => {
        const views = JSON.stringify({ a: await ownership(a).catch(String), b: await ownership(b).catch(String) });
        throw new Error(`${err.message}\nownership: ${views}\nA's log:\n${a.cli.output().slice(-6000)}`);
      });
      // The metrics say so too: A lost its leases, B counted its takeovers.
      const metrics = async (w: typeof a) => (await fetch(`http://127.0.0.1:${w.port}/metrics`)).text();
      expect(await metrics(a)).toMatch(/^tickwork_worker_lease_changes_total\{[^}]*kind="lost"[^}]*\} [1-9]/m);
      const bTakeovers = Number(/^tickwork_worker_takeovers_total\{[^}]*\} (\d+)/m.exec(await metrics(b))?.[1] ?? 0);
      expect(bTakeovers).toBeGreaterThanOrEqual(lost.length);
      // The alerts on ownership (monitoring/prometheus/rules.yml) query metrics a group worker exports.
      const rules = readFileSync(join(repoRoot, 'monitoring/prometheus/rules.yml'), 'utf8');
      const exported = metricNames(await metrics(b));
      for (const alert of ['TickworkSymbolsWithoutOwner', 'TickworkLeaseChurn']) {
        const expr = new RegExp(`- alert: ${alert}\\n(?:\\s+#.*\\n)?\\s+expr: \\|\\n((?:\\s{10,}.*\\n)+)`).exec(rules)?.[1];
        expect(expr, `${alert} in rules.yml`).toBeDefined();
        const names = [...expr!.matchAll(/\b(tickwork_[a-z0-9_]+)/g)].map((x) => x[1]!);
        expect(names.length, alert).toBeGreaterThan(0);
        for (const n of names) expect(exported.has(n), `${alert} queries ${n}`).toBe(true);
      }
      await waitFor(
        'every trade applied',
        async () => {
          const raws = await iso.redis().mget(...symbols.map((s) => iso.ns.key(stateKey('binance', s))));
          return raws.reduce((n, r) => n + (r ? (JSON.parse(r) as LiveState).tradesApplied : 0), 0) === 3 * PER_BATCH;
        },
        180_000,
      );

      // Redis: every command of A's connection since SIGCONT that names a lost symbol carries a
      // lease newer than B's takeover (A took it back later), never A's old one.
      const touched = monitor.commands.slice(mark).filter((c) => aAddrs.includes(c.addr));
      for (const c of touched) {
        const key = lost.find((k) => c.args.some((x) => x.includes(`:${k.replace('.', ':')}`)));
        if (key === undefined || READS.has(c.args[0]!.toLowerCase())) continue;
        const token = c.args[2] === '2' ? c.args[5] : c.args[4];
        expect(c.args[0]!.toLowerCase(), JSON.stringify(c.args.slice(0, 5))).toMatch(/^eval(sha)?$/);
        expect(Number(token), `${key}: ${c.args.slice(0, 5).join(' ')}`).toBeGreaterThan(taken.get(key)!.token!);
      }

      // JetStream: on the lost symbols' candle subjects, nothing of A's after the SIGSTOP until A's own new fence.
      const last = (await nats.jsm.streams.info(candles)).state.last_seq;
      const refenced = new Set<string>();
      for (let seq = candlesAtStop + 1; seq <= last; seq++) {
        const m = await nats.jsm.streams.getMessage(candles, { seq }).catch(() => null);
        if (!m || m.header?.get(WORKER_HEADER) !== aId) continue;
        const key = lost.find((k) => m.subject.endsWith(`.${k}`));
        if (key === undefined) continue;
        const msgId = m.header.get('Nats-Msg-Id');
        if (msgId.startsWith('fence:')) {
          expect(Number(msgId.split(':')[1])).toBeGreaterThan(taken.get(key)!.token!);
          refenced.add(m.subject);
        } else expect(refenced.has(m.subject), `A's candle ${msgId} on ${m.subject} before it fenced it again`).toBe(true);
      }

      // PostgreSQL: exactly the candles of a fault-free run.
      for (const w of [a, b]) w.cli.child.kill('SIGTERM');
      for (const w of [a, b]) expect(await w.cli.exited, w.cli.output().slice(-3000)).toBe(0);
      await waitFor('sink drained', () => sinkDrained(iso), 120_000);
      sink.child.kill('SIGTERM');
      expect(await sink.exited, sink.output().slice(-3000)).toBe(0);
      const rows = await candleRows(iso);
      const reference = referenceCandles(trades, ['1m']);
      const diff = { missing: reference.filter((r) => !rows.includes(r)), extra: rows.filter((r) => !reference.includes(r)), dlq: await dlqReasons(nats, iso) };
      expect(rows, JSON.stringify(diff)).toEqual(reference);
    } finally {
      await monitor.stop();
      for (const w of [a, b]) {
        w.cli.child.kill('SIGCONT');
        w.cli.child.kill('SIGKILL');
      }
      sink.child.kill('SIGKILL');
    }
  }, 600_000);
});

/** `subject reason detail` of every message in the namespace's dead-letter stream. */
async function dlqReasons(nats: Awaited<ReturnType<Isolated['nats']>>, iso: Isolated): Promise<string[]> {
  const stream = iso.ns.stream(STREAMS.dlq);
  const last = (await nats.jsm.streams.info(stream).catch(() => null))?.state.last_seq ?? 0;
  const out: string[] = [];
  for (let seq = 1; seq <= last; seq++) {
    const m = await nats.jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (m) out.push(`${m.subject} ${m.header?.get('Tickwork-Reason') ?? ''} ${m.header?.get('Tickwork-Detail') ?? ''}`);
  }
  return out;
}
