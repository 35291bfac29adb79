import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Kvm } from '@nats-io/kv';
import { groupBucket, sinkDurable } from '../../app/nats-auth.js';
import { connectNats, type NatsHandles } from '../../runtime/nats/index.js';
import { STREAMS } from '../../schemas/subjects.js';
import type { Trade } from '../../schemas/trade.js';
import { stateKey, type LiveState, type WorkerOwnership } from '../../schemas/state.js';
import { appliedBySymbol, appliedSoFar, finalResult, startSink, syntheticTrades, waitFor, WORKER_ENV } from '../exactly-once/pipeline.js';
import { isolated, spawnCli, type CliProcess, type Isolated } from '../harness.js';
import { summaryOf } from '../replay/files.js';
import { NatsCluster, until, type NatsServerProcess } from '../support/nats-cluster.js';
import { ownership, startGroupWorker, type GroupWorker } from './group.js';

// Issue 11 acceptance 1: a 3-node NATS 2.10 cluster (R3 streams), 3 `tickwork worker` processes
// in the group (no --shard), a sink, and `tickwork replay` of TICKWORK_CLUSTER_TRADES trades
// (default 40,000; the issue's 200,000 with TICKWORK_CLUSTER_TRADES=200000) over 60 symbols. One
// worker is SIGKILLed and one NATS node (the lease bucket's leader) is SIGKILLed mid-run. The final
// PostgreSQL candles and Redis live states equal a single-process clean run of the same file
// (one static worker on the system NATS), field for field; ownership, sampled at >= 10 Hz from
// every worker's GET /v1/ownership while a KV watch of the lease bucket records every lease write,
// never shows a symbol with two owners; every symbol of the killed worker is owned again within
// TTL + 2 s.

const N = Number(process.env.TICKWORK_CLUSTER_TRADES ?? 40_000);
const SYMBOLS = 60;
const TTL = Number(process.env.TICKWORK_CLUSTER_TTL_MS ?? 3_000);
/** How long the replay should last (it is paced: the kills land mid-run). */
const REPLAY_S = Number(process.env.TICKWORK_CLUSTER_REPLAY_S ?? 40);
/** syntheticTrades puts trades 20 ms apart in event time. */
const SPEED = Math.max(1, Math.ceil((N * 20) / 1000 / REPLAY_S));
const symbols = Array.from({ length: SYMBOLS }, (_, k) => `S${k}-USDT`);
const keys = symbols.map((s) => `binance.${s}`);
// Debug: a failure's post-mortem quotes the workers' hand-over lines (few: none per trade).
const ENV = { ...WORKER_ENV, TICKWORK_LEASE_TTL_MS: String(TTL), TICKWORK_STATE_FLUSH_MS: '20', LOG_LEVEL: 'debug' };

const HAND_OVER = /symbol acquired: live|symbol actor starting|catch-up asked|caught up from MD_TRADES|catch-up read failed|trade delivery|symbol lost|child failed|every lease dropped/;

/** Each worker's hand-over lines about `key` (and the worker-wide ones: reads re-created or failed), compacted. */
function handOverLines(outputs: string[], key: string): string[] {
  return outputs.flatMap((out, i) =>
    out
      .split('\n')
      .filter((l) => HAND_OVER.test(l) && (l.includes(key) || !/"(key|actor|child)"/.test(l)))
      .map((l) => `w${i} ${l.replace(/"(level|pid|role|ns|hostname|stack)":("[^"]*"|\d+),?/g, '').slice(0, 260)}`),
  );
}

/** The trades as a Binance recording (aggTrade frames on the combined stream), what `replay --format recording` reads. */
function writeRecording(trades: Trade[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'tickwork-cluster-'));
  const path = join(dir, 'binance.rec');
  const lines = trades.map((t) => {
    const a = Number(t.id);
    const data = { e: 'aggTrade', E: t.ts, s: t.venueSymbol, a, p: t.price, q: t.qty, f: a * 2, l: a * 2 + 1, T: t.ts, m: t.side === 'sell' };
    return `${(t.ts / 1000).toFixed(3)}: ${JSON.stringify({ stream: `${t.venueSymbol.toLowerCase()}@aggTrade`, data })}`;
  });
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

function replay(env: NodeJS.ProcessEnv, file: string, speed: string): CliProcess {
  return spawnCli(['replay', '--file', file, '--format', 'recording', '--venue', 'binance', '--speed', speed], { ...env, HTTP_PORT: '0', LOG_LEVEL: 'info' });
}

/** Runs a replay to its end; one that says it lost trades is run again, as a user would (it completes the job). */
async function finishReplay(first: CliProcess, again: () => CliProcess): Promise<number[]> {
  const codes = [(await first.exited) as number];
  let out = first.output();
  while (codes.at(-1) !== 0 && codes.length < 3) {
    expect(summaryOf(out).complete, out.slice(-3000)).toBe(false);
    const next = again();
    codes.push((await next.exited) as number);
    out = next.output();
  }
  expect(codes.at(-1), out.slice(-3000)).toBe(0);
  return codes;
}

/** The sink's durable consumer on MD_CANDLES has written and acknowledged everything (on the servers `nats` reaches). */
async function sinkDrained(iso: Isolated, nats: NatsHandles): Promise<boolean> {
  const info = await nats.jsm.consumers.info(iso.ns.stream(STREAMS.candles), sinkDurable(iso.ns)).catch(() => null);
  return info !== null && info.num_pending === 0 && info.num_ack_pending === 0;
}

/** Every trade applied (live states), workers stopped (final snapshots), the sink drained and stopped; the final result. */
async function settle(iso: Isolated, nats: NatsHandles, workers: CliProcess[], sink: CliProcess): Promise<Awaited<ReturnType<typeof finalResult>>> {
  await waitFor(
    'every trade applied',
    async () => {
      const dead = workers.filter((w) => w.child.exitCode !== null || w.child.signalCode !== null);
      if (dead.length === workers.length) throw new Error(`every worker exited before every trade was applied: ${dead.map((w) => w.output().slice(-1500)).join('\n----\n')}`);
      return (await appliedSoFar(iso, symbols)) === N;
    },
    180_000,
  );
  for (const w of workers) w.child.kill('SIGTERM');
  for (const w of workers) expect(await w.exited, w.output().slice(-3000)).toBe(0);
  await waitFor('sink drained', () => sinkDrained(iso, nats), 120_000);
  sink.child.kill('SIGTERM');
  expect(await sink.exited, sink.output().slice(-3000)).toBe(0);
  return finalResult(iso, symbols, { ignoreSeq: true });
}

interface Sample {
  at: number;
  /** key → workers claiming it (active: snapshot restored, actor started). */
  claims: Map<string, string[]>;
}

/** Samples every worker's ownership view at `hz` until stopped (the views of one sample are fetched at once). */
function sampleOwnership(workers: GroupWorker[], hz: number): { samples: Sample[]; stop(): Promise<void> } {
  const samples: Sample[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      const views = await Promise.all(workers.map((w) => (w.cli.child.exitCode === null && w.cli.child.signalCode === null ? ownership(w, 500) : Promise.resolve(null))));
      const claims = new Map<string, string[]>();
      for (const v of views.filter((x): x is WorkerOwnership => x !== null)) {
        for (const o of v.owned) {
          const key = `${o.venue}.${o.symbol}`;
          claims.set(key, [...(claims.get(key) ?? []), v.worker]);
        }
      }
      samples.push({ at: started, claims });
      await new Promise((r) => setTimeout(r, Math.max(0, 1000 / hz - (performance.now() - started))));
    }
  })();
  return {
    samples,
    async stop() {
      running = false;
      await loop;
    },
  };
}

/** Every write to the lease bucket, as a KV watch of it delivers them (key, revision, owner, server time). */
async function watchLeases(nats: NatsHandles, bucket: string): Promise<{ writes: { key: string; revision: number; owner: string | null; at: number }[]; stop(): void }> {
  const kv = await new Kvm(nats.js).open(bucket);
  const it = await kv.watch({ key: 'l.>' });
  const writes: { key: string; revision: number; owner: string | null; at: number }[] = [];
  void (async () => {
    for await (const e of it) {
      let owner: string | null = null;
      if (e.operation === 'PUT') owner = (JSON.parse(e.string()) as { owner: string | null }).owner;
      writes.push({ key: e.key.slice(2), revision: e.revision, owner, at: e.created.getTime() });
    }
  })().catch(() => undefined);
  return { writes, stop: () => it.stop() };
}

describe(`worker group on a 3-node NATS 2.10 cluster: ${N} trades over ${SYMBOLS} symbols, a worker and a NATS node SIGKILLed`, () => {
  const ref = isolated();
  const iso = isolated();
  let cluster: NatsCluster | null = null;
  let file: string | null = null;
  afterAll(async () => {
    await cluster?.close();
    if (file) rmSync(file, { force: true });
    await ref.cleanup();
    await iso.cleanup();
  });

  it('candles and states equal a single-process clean run; never two owners; takeovers within TTL + 2 s', async () => {
    const trades = [...syntheticTrades(N, SYMBOLS, 11)];
    file = writeRecording(trades);

    // The reference: one static worker on the system NATS, the replay at full speed.
    const t0 = performance.now();
    const refEnv = { ...ref.env, ...ENV };
    const refSink = startSink(ref, ENV);
    const refWorker = spawnCli(['worker', '--shard', '0/1'], { ...refEnv, HTTP_PORT: '0' });
    await refWorker.waitFor(/http listening/, 60_000);
    await finishReplay(replay(refEnv, file, 'max'), () => replay(refEnv, file!, 'max'));
    const expected = await settle(ref, await ref.nats(), [refWorker], refSink);
    const refMs = performance.now() - t0;
    expect(expected.states.every((s) => s !== null)).toBe(true);

    // The cluster run.
    cluster = await NatsCluster.start({ version: '2.10' });
    const env = { ...iso.env, ...ENV, NATS_URL: cluster.seeds, TICKWORK_STREAM_REPLICAS: '3' };
    const sink = startSink(iso, { ...ENV, NATS_URL: cluster.seeds, TICKWORK_STREAM_REPLICAS: '3' });
    const workers: GroupWorker[] = [];
    for (let i = 0; i < 3; i++) workers.push(await startGroupWorker(iso, { ...ENV, NATS_URL: cluster.seeds, TICKWORK_STREAM_REPLICAS: '3' }));
    const nats = await connectNats(cluster.seeds, `observer-${iso.id}`);
    const leases = await watchLeases(nats, groupBucket(iso.ns));
    const sampler = sampleOwnership(workers, 20);
    const trades$ = iso.ns.stream(STREAMS.trades);
    const stored = async () => (await nats.jsm.streams.info(trades$).catch(() => null))?.state.last_seq ?? 0;
    try {
      const t1 = performance.now();
      const run = replay(env, file, `${SPEED}x`);
      const again = () => replay(env, file!, 'max');

      // A third of the way: SIGKILL the worker owning the most symbols, after the group settled on all 60.
      await until('a third of the trades stored', async () => (await stored()) >= N / 3, 300_000, 100);
      const before = sampler.samples.at(-1)!;
      expect(before.claims.size, 'every symbol owned before the kill').toBe(SYMBOLS);
      const byWorker = new Map<string, string[]>();
      for (const [k, ws] of before.claims) byWorker.set(ws[0]!, [...(byWorker.get(ws[0]!) ?? []), k]);
      const views = await Promise.all(workers.map((w) => ownership(w)));
      const victimIdx = views.reduce((best, v, i) => ((v?.owned.length ?? 0) > (views[best]?.owned.length ?? 0) ? i : best), 0);
      const victim = workers[victimIdx]!;
      const victimId = views[victimIdx]!.worker;
      const orphaned = byWorker.get(victimId) ?? [];
      expect(orphaned.length).toBeGreaterThan(0);
      victim.cli.child.kill('SIGKILL');
      const killedAt = performance.now();
      const killedAtMs = Date.now();
      await victim.cli.exited;
      const takeovers = await until(
        `the killed worker's ${orphaned.length} symbols owned again`,
        async () => {
          const out = new Map<string, number>();
          for (const s of sampler.samples) {
            if (s.at < killedAt) continue;
            for (const k of orphaned) if (!out.has(k) && (s.claims.get(k)?.length ?? 0) > 0) out.set(k, s.at - killedAt);
          }
          return out.size === orphaned.length ? out : undefined;
        },
        60_000,
        100,
      );
      const worstTakeover = Math.max(...takeovers.values());
      // Where a takeover's time goes: the lease written (the deadline passed, seen and proven) and
      // the symbol shown as owned (fences raised, the actor started).
      const leaseTaken = orphaned.map((k) => (leases.writes.find((w) => w.key === k && w.at >= killedAtMs && w.owner !== null && w.owner !== victimId)?.at ?? NaN) - killedAtMs);
      const spread = (xs: number[]) => {
        const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
        return v.length === 0 ? 'none' : `${Math.round(v[0]!)}/${Math.round(v[v.length >> 1]!)}/${Math.round(v.at(-1)!)}`;
      };
      const takeoverDetail = `leases taken after ${spread(leaseTaken)} ms, owned in the samples after ${spread([...takeovers.values()])} ms (min/median/max)`;

      // Issue 11's metrics on the survivors' /metrics: owned symbols per worker (all 60 between
      // them), takeovers (the killed worker's symbols), lease renew latency, fenced writes refused.
      const survivors = workers.filter((w) => w !== victim);
      const texts = await Promise.all(survivors.map(async (w) => (await fetch(`http://127.0.0.1:${w.port}/metrics`)).text()));
      const metric = (text: string, name: string) => [...text.matchAll(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'gm'))].reduce((n, m) => n + Number(m[1]), 0);
      await until('the survivors own all 60 by their gauges', async () => {
        const now = await Promise.all(survivors.map(async (w) => (await fetch(`http://127.0.0.1:${w.port}/metrics`)).text()));
        return now.reduce((n, t) => n + metric(t, 'tickwork_worker_owned_symbols'), 0) === SYMBOLS;
      }, 30_000, 200);
      expect(texts.reduce((n, t) => n + metric(t, 'tickwork_worker_takeovers_total'), 0)).toBeGreaterThanOrEqual(orphaned.length);
      for (const t of texts) {
        expect(metric(t, 'tickwork_worker_lease_renew_seconds_count')).toBeGreaterThan(0);
        expect(t).toMatch(/^# TYPE tickwork_worker_fenced_writes_total counter$/m);
        expect(t).toMatch(/^tickwork_group_unowned_symbols\{/m);
      }

      // Two thirds of the way: SIGKILL the NATS node leading the lease bucket (left dead: two of three keep R3 writable).
      await until('two thirds of the trades stored', async () => (await stored()) >= (2 * N) / 3, 300_000, 100);
      const leader: NatsServerProcess = await cluster.streamLeader(`KV_${groupBucket(iso.ns)}`);
      const nodeKilledAt = performance.now();
      await leader.kill('SIGKILL');
      const bucketStream = `KV_${groupBucket(iso.ns)}`;
      await until('a new leader of the lease bucket', async () => (await cluster!.streamLeader(bucketStream)) !== leader, 60_000, 100);
      const electedMs = performance.now() - nodeKilledAt;

      const codes = await finishReplay(run, again);
      const replayMs = performance.now() - t1;
      const got = await settle(
        iso,
        nats,
        survivors.map((w) => w.cli),
        sink,
      );
      const totalMs = performance.now() - t1;
      await sampler.stop();
      leases.stop();

      // Never two owners at once.
      const doubles = sampler.samples.flatMap((s) => [...s.claims].filter(([, ws]) => ws.length > 1).map(([k, ws]) => `${Math.round(s.at - t1)} ms: ${k} by ${ws.join(', ')}`));
      // Sampled at >= 10 Hz over the whole run (20 Hz targeted; the longest gap between two samples).
      const spanS = (sampler.samples.at(-1)!.at - sampler.samples[0]!.at) / 1000;
      const rate = sampler.samples.length / spanS;
      let worstGap = 0;
      for (let i = 1; i < sampler.samples.length; i++) worstGap = Math.max(worstGap, sampler.samples[i]!.at - sampler.samples[i - 1]!.at);
      // The lease bucket: each symbol's lease revisions only grow, and no lease names the killed worker after it was taken over.
      const lastRev = new Map<string, number>();
      for (const w of leases.writes) {
        expect(w.revision).toBeGreaterThan(lastRev.get(w.key) ?? 0);
        lastRev.set(w.key, w.revision);
      }
      // Longest time any symbol had no owner in the samples after the worker kill (node kill included).
      const lastOwned = new Map<string, number>();
      let worstGapUnowned = 0;
      for (const s of sampler.samples) {
        if (s.at < killedAt) continue;
        for (const k of keys) {
          if ((s.claims.get(k)?.length ?? 0) > 0) {
            worstGapUnowned = Math.max(worstGapUnowned, s.at - (lastOwned.get(k) ?? killedAt));
            lastOwned.set(k, s.at);
          }
        }
      }

      console.log(
        `cluster acceptance: ${N} trades, ${SYMBOLS} symbols, replay at ${SPEED}x (exit codes ${codes.join(' then ')}) ${Math.round(replayMs)} ms, all applied and drained ${Math.round(totalMs)} ms; ` +
          `reference single process ${Math.round(refMs)} ms; worker ${victimId} (${orphaned.length} symbols) SIGKILLed: all owned again after ${Math.round(worstTakeover)} ms (TTL ${TTL}; ${takeoverDetail}); ` +
          `NATS ${leader.name} (lease bucket leader) SIGKILLed at ${Math.round(nodeKilledAt - t1)} ms, new bucket leader after ${Math.round(electedMs)} ms; longest unowned stretch of a symbol ${Math.round(worstGapUnowned)} ms; ` +
          `${sampler.samples.length} ownership samples at ${rate.toFixed(1)} Hz (longest gap ${Math.round(worstGap)} ms); ${leases.writes.length} lease writes`,
      );
      expect(doubles, doubles.slice(0, 10).join('; ')).toEqual([]);
      expect(rate).toBeGreaterThanOrEqual(10);
      expect(worstTakeover).toBeLessThanOrEqual(TTL + 2_000);
      expect(got.candles.length).toBeGreaterThan(0);
      expect(got.candles).toEqual(expected.candles);
      expect(got.states).toEqual(expected.states);
    } catch (err) {
      // Each process's output, for the post-mortem: workers, sink and NATS nodes (the killed one's up to its end).
      workers.forEach((w, i) => writeFileSync(join(tmpdir(), `cluster-acceptance-worker-${i}.log`), w.cli.output()));
      writeFileSync(join(tmpdir(), 'cluster-acceptance-sink.log'), sink.output());
      for (const n of cluster.nodes) writeFileSync(join(tmpdir(), `cluster-acceptance-nats-${n.name}.log`), n.log());
      // Which symbols fell behind, and who owned them in the last ownership sample.
      const expectedBySymbol = new Map<string, number>();
      for (const t of trades) expectedBySymbol.set(t.symbol, (expectedBySymbol.get(t.symbol) ?? 0) + 1);
      const applied = await appliedBySymbol(iso, symbols);
      const lastClaims = sampler.samples.at(-1)?.claims;
      // Stored per subject: a trade the replay never stored is not a worker's loss.
      const perSubject = (await nats.jsm.streams.info(trades$, { subjects_filter: iso.ns.subject('md.trade.>') }).catch(() => null))?.state.subjects ?? {};
      const behind = symbols
        .map((sym, i) => ({ sym, applied: applied[i]!, expected: expectedBySymbol.get(sym) ?? 0 }))
        .filter((x) => x.applied !== x.expected)
        .map((x) => `${x.sym} ${x.applied}/${x.expected} (stored ${perSubject[iso.ns.subject(`md.trade.binance.${x.sym}`)] ?? '?'}) owned by ${lastClaims?.get(`binance.${x.sym}`)?.join(',') ?? 'nobody'}`);
      // Where each behind symbol's state stands against its subject's last message (a lost last trade, or one inside).
      const where: string[] = [];
      const states = await iso.redis().mget(...symbols.map((s) => iso.ns.key(stateKey('binance', s))));
      for (const [i, sym] of symbols.entries()) {
        if (applied[i] === expectedBySymbol.get(sym)) continue;
        const last = await nats.jsm.streams.getMessage(trades$, { last_by_subj: iso.ns.subject(`md.trade.binance.${sym}`) }).catch(() => null);
        const st = states[i] ? (JSON.parse(states[i]!) as LiveState) : null;
        where.push(`${sym}: state lastSeq ${st?.lastSeq} (worker ${st?.worker}, updated ${st ? new Date(st.updatedAt).toISOString() : '-'}), subject's last seq ${last?.seq}`);
      }
      // The hand-over steps of the first behind symbol (workers log them at debug here): join point,
      // snapshot seq, catch-up range, failed reads, main-read re-creations — where a hole would open.
      const first = symbols.find((sym, i) => applied[i] !== expectedBySymbol.get(sym));
      let steps: string[] = [];
      try {
        if (first !== undefined) steps = handOverLines(workers.map((w) => w.cli.output()), `binance.${first}`);
      } catch (e) {
        steps = [`(hand-over lines not read: ${(e as Error).message})`];
      }
      writeFileSync(join(tmpdir(), 'cluster-acceptance-behind.txt'), `${[...behind, ...where, `hand-over of ${first}:`, ...steps].join('\n')}\n`);
      throw new Error(
        `${(err as Error).message}; ${behind.length} symbols behind (logs in ${tmpdir()}/cluster-acceptance-*): ${behind.slice(0, 12).join('; ')}; ${where.slice(0, 12).join('; ')}\nhand-over of ${first}:\n${steps.slice(-30).join('\n')}`,
        { cause: err },
      );
    } finally {
      await sampler.stop();
      leases.stop();
      for (const w of workers) w.cli.child.kill('SIGKILL');
      sink.child.kill('SIGKILL');
      await nats.nc.close().catch(() => undefined);
    }
  }, 900_000);
});
