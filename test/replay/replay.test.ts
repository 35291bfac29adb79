import { afterAll, describe, expect, it } from 'vitest';
import { STREAMS } from '../../schemas/subjects.js';
import { AppliedStateReader } from '../../store/applied-state.js';
import { isolated, spawnCli, type CliProcess } from '../harness.js';
import { readStream } from '../runtime/nats/helpers.js';
import { until } from '../support/nats-server.js';
import { summaryOf, writeAggTrades } from './files.js';

/**
 * `tickwork replay` as a user runs it (the built CLI, real NATS JetStream and Redis, a real
 * `tickwork worker`): it never says "published N" for trades the worker will not apply, and an
 * interrupted run says what is left and completes when run again.
 */
const iso = isolated();
const replayArgs = (file: string, symbol: string, more: string[] = []) => ['replay', '--file', file, '--format', 'binance-aggtrades-csv', '--venue', 'binance', '--symbol', symbol, ...more];
const env = { ...iso.env, LOG_LEVEL: 'info', HTTP_PORT: '0' };
let worker: CliProcess | null = null;

afterAll(async () => {
  worker?.child.kill('SIGKILL');
  await iso.cleanup();
});

describe('tickwork replay (built CLI, real NATS JetStream and Redis)', () => {
  it('refuses trades older than what the worker applied (exit 1, counted), passes over applied ones on a re-run (exit 0)', async () => {
    worker = spawnCli(['worker', '--shard', '0/1'], { ...env, TICKWORK_SNAPSHOT_EVERY_MS: '200' });
    await worker.waitFor(/symbol worker started|shard consuming MD_TRADES/, 60_000);
    const day2 = writeAggTrades('day2.csv', 2_000, { start: Date.UTC(2024, 2, 2), stepMs: 100, firstId: 2_000_000 });
    const first = spawnCli(replayArgs(day2.path, 'BTC-USDT'), env);
    expect(await first.exited, first.output()).toBe(0);
    expect(summaryOf(first.output())).toMatchObject({ published: 2000, duplicates: 0, tooOld: 0, complete: true });

    // The worker snapshots what it applied; the replay reads that.
    const reader = new AppliedStateReader(iso.redis(), iso.ns);
    await until('the worker to snapshot the last trade', async () => (await reader.load('binance', 'BTC-USDT'))?.lastTrade?.id === String(day2.ids.at(-1)), 60_000, 100);

    // History from the day before, replayed after: refused, said, non-zero.
    const day1 = writeAggTrades('day1.csv', 1_000, { start: Date.UTC(2024, 2, 1), stepMs: 100, firstId: 1_000_000 });
    const old = spawnCli(replayArgs(day1.path, 'BTC-USDT'), env);
    expect(await old.exited).toBe(1);
    expect(summaryOf(old.output())).toMatchObject({ published: 0, tooOld: 1000, complete: false });
    expect(old.output()).toMatch(/tickwork: replay incomplete: 1000 trades of binance:BTC-USDT \(2024-03-01T00:00:00\.000Z … 2024-03-01T00:01:39\.900Z\) are older than what the worker applied/);
    const stored = (await (await iso.nats()).jsm.streams.info(iso.ns.stream(STREAMS.trades))).state.messages;
    expect(stored).toBe(2000);

    // --to-batch: the batch path is not in this build yet, so it refuses at once, naming the flag.
    const toBatch = spawnCli(replayArgs(day1.path, 'BTC-USDT', ['--to-batch']), env);
    expect(await toBatch.exited).toBe(2);
    expect(toBatch.output()).toMatch(/--to-batch: the batch path/);

    // The same file again: every trade is in the snapshot; nothing to do, and that is success.
    const again = spawnCli(replayArgs(day2.path, 'BTC-USDT'), env);
    expect(await again.exited, again.output()).toBe(0);
    expect(summaryOf(again.output())).toMatchObject({ published: 0, alreadyApplied: 2000, tooOld: 0, complete: true });
  }, 240_000);

  it('Ctrl-C stops reading, waits for the PubAcks in flight, prints what was published and exits 1; the same command then completes the job', async () => {
    const file = writeAggTrades('paced.csv', 10_000, { start: Date.UTC(2024, 3, 1), stepMs: 100, firstId: 5_000_000 });
    // 50x: 1,000 s of trades in 20 s, so the run is interrupted well before its end.
    const run = spawnCli(replayArgs(file.path, 'ETH-USDT', ['--speed', '50x']), env);
    const nats = await iso.nats();
    const stream = iso.ns.stream(STREAMS.trades);
    const before = (await nats.jsm.streams.info(stream)).state.messages;
    await until('a thousand trades stored', async () => (await nats.jsm.streams.info(stream)).state.messages - before >= 1000, 120_000, 100);
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(1);
    const s = summaryOf(run.output());
    expect(s.complete).toBe(false);
    expect(s.lost).toBe(0);
    expect(s.remainingBytes as number).toBeGreaterThan(0);
    expect(run.output()).toMatch(/tickwork: replay incomplete: interrupted: \d+ trades published, [\d.]+ MB of the file not read; run the same replay again/);
    // Nothing was left in flight: what the summary calls published is what the stream holds.
    expect((await nats.jsm.streams.info(stream)).state.messages - before).toBe(s.published);

    const rest = spawnCli(replayArgs(file.path, 'ETH-USDT'), env);
    expect(await rest.exited, rest.output()).toBe(0);
    const r = summaryOf(rest.output());
    expect((r.published as number) + (s.published as number)).toBe(10_000);
    const ids = (await readStream(nats, stream)).filter((m) => m.subject.endsWith('.ETH-USDT')).map((m) => m.msgId);
    expect(ids).toHaveLength(10_000);
    expect(new Set(ids).size).toBe(10_000);
  }, 240_000);
});
