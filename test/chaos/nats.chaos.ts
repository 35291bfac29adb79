import { afterAll, describe, it } from 'vitest';
import { STREAMS } from '../../schemas/subjects.js';
import { writeAggTrades } from '../replay/files.js';
import { NatsCluster, startNatsServer, until, type NatsServerProcess } from '../support/nats-cluster.js';
import { readyAfter, replay, replayToEnd, settle, SHORT, sleep, startStack, type Stack } from './rig.js';

/**
 * Issue 9's NATS rows with the whole pipeline running: `tickwork replay` of TRADES trades at 100x
 * while a worker and a sink consume, and the server is killed -9 for 5 s / 20 s (restarted with
 * its store), or the MD_TRADES leader of a 3-node cluster with R3 streams is killed -9 (and
 * restarted 5 s later), or the whole cluster is (every node back 5 s later). The publishing side of the same faults (stream contents only) is
 * test/replay/nats-faults.test.ts.
 */
const TRADES = SHORT ? 8_000 : 25_000;
const SYMBOL = 'BTC-USDT';

interface Bus {
  url: string;
  env: NodeJS.ProcessEnv;
  /** The fault; resolves when it is over (server or node back). */
  fault(stream: string): Promise<void>;
  close(): Promise<void>;
}

async function standalone(downS: number): Promise<Bus> {
  const server = await startNatsServer();
  return {
    url: server.url,
    env: {},
    async fault() {
      await server.kill('SIGKILL');
      await sleep(downS * 1000);
      await server.start();
    },
    close: () => server.close(),
  };
}

async function cluster(which: 'leader' | 'all'): Promise<Bus> {
  const c = await NatsCluster.start();
  return {
    url: c.seeds,
    env: { TICKWORK_STREAM_REPLICAS: '3' },
    async fault(stream) {
      const victims: NatsServerProcess[] = which === 'all' ? c.nodes : [await c.streamLeader(stream)];
      await Promise.all(victims.map((n) => n.kill('SIGKILL')));
      await sleep(5000);
      await Promise.all(victims.map((n) => n.start()));
    },
    close: () => c.close(),
  };
}

const ROWS: { fault: string; bus: () => Promise<Bus>; short: boolean }[] = [
  { fault: 'NATS kill -9 5 s during a replay', bus: () => standalone(5), short: true },
  { fault: 'NATS kill -9 20 s during a replay', bus: () => standalone(20), short: false },
  { fault: '3-node cluster R3, MD_TRADES leader kill -9 (back after 5 s) during a replay', bus: () => cluster('leader'), short: true },
  { fault: '3-node cluster R3, every node kill -9 (back after 5 s) during a replay', bus: () => cluster('all'), short: false },
];

describe.each(ROWS.filter((r) => !SHORT || r.short))('chaos: $fault', ({ fault, bus: makeBus }) => {
  let bus: Bus | undefined;
  let stack: Stack | undefined;
  afterAll(async () => {
    for (const p of [stack?.worker, stack?.sink]) if (p && p.child.exitCode === null) p.child.kill('SIGKILL');
    await stack?.iso.cleanup();
    await bus?.close();
  });

  it(`${TRADES} trades: candles equal the fault-free reference, nothing lost or counted twice, ready by itself`, async () => {
    bus = await makeBus();
    stack = await startStack(bus.url, bus.env);
    const s = stack;
    const stream = s.iso.ns.stream(STREAMS.trades);
    const file = writeAggTrades('chaos.csv', TRADES, { start: Date.UTC(2024, 4, 1), stepMs: 100, firstId: 10_000_000 });
    const run = replay(s, file.path, SYMBOL);
    await until('a fifth of the trades stored', async () => {
      const info = await (await s.iso.nats()).jsm.streams.info(stream).catch(() => null);
      return (info?.state.last_seq ?? 0) >= TRADES / 5;
    }, 120_000, 50);
    await bus.fault(stream);
    const timeToReadyMs = await readyAfter(s, performance.now());
    const codes = await replayToEnd(run, () => replay(s, file.path, SYMBOL));
    console.log(`${fault}: replay exit codes ${codes.join(' then ')}`);
    await settle(s, { fault, symbols: [SYMBOL], tradesIn: TRADES, timeToReadyMs });
  });
});
