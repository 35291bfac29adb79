import { afterAll, describe, expect, it } from 'vitest';
import { connectNats, type NatsHandles } from '../../runtime/nats/index.js';
import { STREAMS } from '../../schemas/subjects.js';
import { isolated, spawnCli, type CliProcess } from '../harness.js';
import { readStream, reorderings } from '../runtime/nats/helpers.js';
import { NatsCluster, startNatsServer, until, type NatsServerProcess } from '../support/nats-cluster.js';
import { summaryOf, writeAggTrades } from './files.js';

/**
 * Issue 9's NATS rows for the publishing side, on servers the test kills: `tickwork replay` of
 * 25,000 trades at 100x while the standalone server is down (kill -9, restarted with its store)
 * for 5 s and for 20 s, and while the MD_TRADES leader of a 3-node R3 cluster is killed. The
 * replay holds its trades while the server is away and ends with MD_TRADES holding every trade
 * exactly once (a replay that did lose some says so, and running it again completes the job).
 * Each case prints the reorderings left in the stream and how fast publishing resumed.
 */
const TRADES = 25_000;
const iso = isolated();
afterAll(() => iso.cleanup());

const stream = iso.ns.stream(STREAMS.trades);
const aggId = (msgId: string) => Number(msgId.slice(msgId.lastIndexOf(':') + 1));

function replay(natsUrl: string, file: string, extra: NodeJS.ProcessEnv = {}): CliProcess {
  return spawnCli(['replay', '--file', file, '--format', 'binance-aggtrades-csv', '--venue', 'binance', '--symbol', 'BTC-USDT', '--speed', '100x'], {
    ...iso.env,
    NATS_URL: natsUrl,
    LOG_LEVEL: 'info',
    HTTP_PORT: '0',
    ...extra,
  });
}

/** The stream's last sequence as this connection sees it (undefined while it cannot say). */
async function lastSeq(nats: NatsHandles): Promise<number | undefined> {
  try {
    return (await nats.jsm.streams.info(stream)).state.last_seq;
  } catch {
    return undefined;
  }
}

interface Jsz {
  account_details?: { stream_detail?: { name: string; state?: { last_seq: number } }[] }[];
}

/** The stream's last sequence as `node` itself reports it (its monitoring port: no client reconnect in the way). */
async function nodeSeq(node: NatsServerProcess): Promise<number | undefined> {
  const jsz = await node.monitor<Jsz>('/jsz?accounts=true&streams=true').catch(() => null);
  for (const acc of jsz?.account_details ?? []) {
    const s = acc.stream_detail?.find((x) => x.name === stream);
    if (s?.state) return s.state.last_seq;
  }
  return undefined;
}

/** Ms from `since` until `node` reports the stream's last sequence past `seq`. */
async function growsPast(node: NatsServerProcess, seq: number, since: number): Promise<number> {
  await until('the stream to grow again', async () => ((await nodeSeq(node)) ?? 0) > seq, 120_000, 25);
  return performance.now() - since;
}

/** Runs the replay to its end; a run that says it lost trades is run again (as a user would). Returns the exit codes. */
async function finish(first: CliProcess, again: () => CliProcess): Promise<number[]> {
  const codes = [(await first.exited) as number];
  let out = first.output();
  while (codes.at(-1) !== 0 && codes.length < 3) {
    expect(summaryOf(out).complete, out.slice(-3000)).toBe(false);
    expect(out).toMatch(/tickwork: replay incomplete: \d+ trades lost: JetStream did not store them within TICKWORK_PUBLISH_HOLD_MS/);
    const next = again();
    codes.push((await next.exited) as number);
    out = next.output();
  }
  expect(codes.at(-1), out.slice(-3000)).toBe(0);
  return codes;
}

/** MD_TRADES holds each of the file's trades exactly once; returns the reorderings a consumer sees. */
async function holdsEachOnce(nats: NatsHandles, ids: number[]): Promise<number> {
  const msgs = await readStream(nats, stream);
  expect(msgs).toHaveLength(ids.length);
  const got = new Set(msgs.map((m) => aggId(m.msgId)));
  expect(got.size).toBe(ids.length);
  expect(ids.every((id) => got.has(id))).toBe(true);
  return reorderings(msgs, aggId);
}

describe.each([5, 20])('tickwork replay while the NATS server is killed -9 for %i s (restarted with its store)', (downS) => {
  let server: NatsServerProcess;
  let nats: NatsHandles;
  afterAll(async () => {
    await nats?.nc.close();
    await server?.close();
  });

  it(`stores every one of ${TRADES} trades exactly once`, async () => {
    server = await startNatsServer();
    nats = await connectNats(server.url, 'faults-observer');
    const file = writeAggTrades('faults.csv', TRADES, { start: Date.UTC(2024, 4, 1), stepMs: 100, firstId: 10_000_000 });
    const run = replay(server.url, file.path);
    await until('5,000 trades stored', async () => ((await lastSeq(nats)) ?? 0) >= 5000, 120_000, 50);
    await server.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, downS * 1000));
    await server.start();
    const back = performance.now();
    const seqBack = (await until('the restarted server to report the stream', () => nodeSeq(server), 60_000, 25))!;
    const resumeMs = await growsPast(server, seqBack, back);
    const codes = await finish(run, () => replay(server.url, file.path));
    const reordered = await holdsEachOnce(nats, file.ids);
    // The replay's own count of what it could not keep in order is the stream's.
    if (codes.length === 1) expect(summaryOf(run.output()).reordered).toBe(reordered);
    console.log(`replay, NATS down ${downS} s: exit codes ${codes.join(' then ')}; ${TRADES} stored once; ${reordered} reordered in MD_TRADES; publishing resumed ${Math.round(resumeMs)} ms after the restart`);
    expect(codes).toEqual([0]);
  }, 300_000);
});

describe('tickwork replay while the MD_TRADES leader of a 3-node cluster (R3) is killed', () => {
  let cluster: NatsCluster;
  let nats: NatsHandles;
  afterAll(async () => {
    await nats?.nc.close();
    await cluster?.close();
  });

  it(`stores every one of ${TRADES} trades exactly once and resumes publishing within seconds of the election`, async () => {
    cluster = await NatsCluster.start();
    nats = await connectNats(cluster.seeds, 'faults-observer');
    const file = writeAggTrades('faults-r3.csv', TRADES, { start: Date.UTC(2024, 4, 2), stepMs: 100, firstId: 20_000_000 });
    const env = { TICKWORK_STREAM_REPLICAS: '3' };
    const run = replay(cluster.seeds, file.path, env);
    await until('5,000 trades stored', async () => ((await lastSeq(nats)) ?? 0) >= 5000, 120_000, 50);
    expect((await until('stream info', () => nats.jsm.streams.info(stream), 60_000, 100)).config.num_replicas).toBe(3);

    const leader = await cluster.streamLeader(stream);
    const killedAt = performance.now();
    await leader.kill('SIGKILL');
    const next = await until('a new MD_TRADES leader', async () => {
      const l = await cluster.streamLeader(stream);
      return l !== leader && l;
    }, 60_000);
    const electedAt = performance.now();
    const seqAtElection = (await until('the new leader to report the stream', () => nodeSeq(next), 60_000, 25))!;
    const resumeMs = await growsPast(next, seqAtElection, electedAt);
    const codes = await finish(run, () => replay(cluster.seeds, file.path, env));
    const reordered = await holdsEachOnce(nats, file.ids);
    if (codes.length === 1) expect(summaryOf(run.output()).reordered).toBe(reordered);
    console.log(
      `replay, R3 leader ${leader.name} killed, ${next.name} elected after ${Math.round(electedAt - killedAt)} ms: exit codes ${codes.join(' then ')}; ` +
        `${TRADES} stored once; ${reordered} reordered in MD_TRADES; publishing resumed ${Math.round(resumeMs)} ms after the election`,
    );
    expect(resumeMs).toBeLessThan(10_000);
  }, 300_000);
});
