import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetReadObjects } from 'hyparquet';
import { afterAll, describe, expect, it } from 'vitest';
import type { NatsHandles } from '../../runtime/nats/index.js';
import type { Trade } from '../../schemas/trade.js';
import { AppliedStateReader } from '../../store/applied-state.js';
import { isolated, spawnCli, type CliProcess } from '../harness.js';
import { summaryOf, writeAggTrades } from '../replay/files.js';
import { runCli, storedRows, waitUntil } from './helpers.js';

/**
 * `tickwork rebuild` and `tickwork archive` as an operator runs them (the built CLI; real NATS
 * JetStream, Redis, PostgreSQL, a real `tickwork worker` and `tickwork sink`). A day of trades
 * three days back (plus 40 trades of the next day, which close its bars) is replayed into the
 * live path; its candles are what the worker made.
 * - rebuild (issue 14 item 2): a candle corrupted in PostgreSQL shows in a dry run, the real run
 *   restores it, a second dry run finds nothing.
 * - archive (acceptance 4): the day's manifest agrees with MD_TRADES (rows, sequence and id
 *   ranges, a checksum of the trades computed here), the Parquet file read on its own holds them;
 *   only what the worker applied leaves the stream; a re-run changes nothing; the day's candles,
 *   deleted, are rebuilt from the archive identical to the worker's.
 * Archive reads, writes and removes 500 trades at a time here (TICKWORK_ARCHIVE_CHUNK_TRADES):
 * a day's file is built over several chunks.
 */
const DAY = 86_400_000;
const SYMBOL = 'BTC-USDT';
const iso = isolated();
const archiveDir = mkdtempSync(join(tmpdir(), 'tickwork-archive-'));
const env = { ...iso.env, LOG_LEVEL: 'info', HTTP_PORT: '0', TICKWORK_TIMEFRAMES: '1m,1h,1d', TICKWORK_SNAPSHOT_EVERY_MS: '200', TICKWORK_ARCHIVE_DIR: archiveDir, TICKWORK_ARCHIVE_CHUNK_TRADES: '500' };
const procs: CliProcess[] = [];
const dayA = Math.floor(Date.now() / DAY) * DAY - 3 * DAY;
const iso8601 = (ms: number) => new Date(ms).toISOString();
const dayRange = ['--from', iso8601(dayA), '--to', iso8601(dayA + DAY)];
const rebuildArgs = (more: string[]) => ['rebuild', '--venue', 'binance', '--symbol', SYMBOL, ...dayRange, ...more];

afterAll(async () => {
  for (const p of procs) {
    if (p.child.exitCode === null) p.child.kill('SIGTERM');
    await p.exited;
  }
  await iso.cleanup();
});

/** Stored rows of day A (bars wholly inside it), without updated_at (a rewrite changes only that). */
async function dayRows(): Promise<Map<string, string>> {
  const all = await storedRows(iso.sql(), iso.ns.pgSchema, 'binance', SYMBOL);
  const out = new Map<string, string>();
  for (const [k, row] of all) {
    const [tf, open] = k.split(' ') as [string, string];
    const end = Number(open) + { '1m': 60_000, '1h': 3_600_000, '1d': DAY }[tf]!;
    if (Number(open) >= dayA && end <= dayA + DAY) out.set(k, row.split('|').slice(0, -1).join('|'));
  }
  return out;
}

/** The subject's messages in MD_TRADES, in sequence order. */
async function subjectTrades(nats: NatsHandles): Promise<{ seq: number; trade: Trade }[]> {
  const stream = iso.ns.stream('MD_TRADES');
  const subject = iso.ns.subject(`md.trade.binance.${SYMBOL}`);
  const info = await nats.jsm.streams.info(stream, { subjects_filter: subject });
  if (!info.state.subjects?.[subject]) return [];
  // An ephemeral consumer with one filter subject (NATS 2.9 has no multi-filter ordered consumers).
  const ci = await nats.jsm.consumers.add(stream, { ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.All, filter_subject: subject, inactive_threshold: 30_000_000_000 });
  const consumer = await nats.js.consumers.get(stream, ci.name);
  const out: { seq: number; trade: Trade }[] = [];
  const msgs = await consumer.consume({ max_messages: 1000 });
  for await (const m of msgs) {
    out.push({ seq: m.seq, trade: m.json<Trade>() });
    if (m.info.pending === 0) break;
  }
  await msgs.close();
  return out;
}

/** The archive's documented content checksum, computed here: one tab-separated line per trade in sequence order. */
function checksum(trades: readonly { seq: number; trade: Trade }[]): string {
  const h = createHash('sha256');
  for (const { seq, trade: t } of [...trades].sort((a, b) => a.seq - b.seq)) {
    h.update(`${seq}\t${t.id}\t${t.price}\t${t.qty}\t${t.side}\t${t.ts}\t${t.recvTs}\t${t.count ?? ''}\t${t.venueSymbol}\n`);
  }
  return h.digest('hex');
}

/** Every file of the archive with its bytes' SHA-256 and mtime. */
function archiveFiles(): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[p.slice(archiveDir.length + 1)] = `${createHash('sha256').update(readFileSync(p)).digest('hex')} ${statSync(p).mtimeMs}`;
    }
  };
  walk(archiveDir);
  return out;
}

describe('tickwork rebuild and tickwork archive (built CLI, real JetStream, Redis, PostgreSQL, worker and sink)', () => {
  it('live path: a replayed day becomes candles and a snapshot', { timeout: 240_000 }, async () => {
    const m = await runCli(['migrate'], env);
    expect(m.code, m.stderr).toBe(0);
    const worker = spawnCli(['worker', '--shard', '0/1'], env);
    procs.push(worker, spawnCli(['sink'], env));
    await worker.waitFor(/symbol worker started|shard consuming MD_TRADES/, 60_000);
    const file = writeAggTrades('day.csv', 2_200, { start: dayA, stepMs: 40_000, firstId: 5_000_000 });
    const replay = spawnCli(['replay', '--file', file.path, '--format', 'binance-aggtrades-csv', '--venue', 'binance', '--symbol', SYMBOL], env);
    expect(await replay.exited, replay.output()).toBe(0);
    expect(summaryOf(replay.output())).toMatchObject({ published: 2200, complete: true });
    const sql = iso.sql();
    await waitUntil(async () => {
      const [r] = await sql.unsafe<{ n: number }[]>(
        `select count(*)::int as n from "${iso.ns.pgSchema}".candles where symbol = $1 and closed and open_time >= $2 and open_time < $3`,
        [SYMBOL, new Date(dayA), new Date(dayA + DAY)],
      );
      const applied = await new AppliedStateReader(iso.redis(), iso.ns).load('binance', SYMBOL);
      return r?.n === 1440 + 24 + 1 && applied?.lastTrade?.id === String(file.ids.at(-1));
    }, 120_000, "day A's 1m, 1h and 1d candles closed in PostgreSQL and the worker's snapshot at the last trade");
  });

  it('rebuild: a dry run shows a corrupted candle, the real run restores it, a second dry run finds nothing', { timeout: 180_000 }, async () => {
    const before = await dayRows();
    expect(before.size).toBe(1440 + 24 + 1);
    const bar = dayA + 10 * 60_000;
    await iso.sql().unsafe(`update "${iso.ns.pgSchema}".candles set close = close + 1, trades = trades + 3 where tf = '1m' and symbol = $1 and open_time = $2`, [SYMBOL, new Date(bar)]);

    const dry = await runCli(rebuildArgs(['--dry-run']), env);
    expect(dry.code, dry.stderr).toBe(0);
    const d = dry.json!.rebuild as { trades: number; computed: number; differ: number; diffs: string[] };
    expect(d).toMatchObject({ trades: 2160, computed: 1465, differ: 1 });
    expect(d.diffs).toEqual([`1m ${iso8601(bar)}: close,trades`]);
    expect((await dayRows()).get(`1m ${bar}`)).not.toBe(before.get(`1m ${bar}`)); // a dry run writes nothing

    const real = await runCli(rebuildArgs([]), env);
    expect(real.code, real.stderr).toBe(0);
    expect(real.json!.rebuild).toMatchObject({ trades: 2160, computed: 1465, deleted: 1465, written: 1465 });
    expect(await dayRows()).toEqual(before);

    const again = await runCli(rebuildArgs(['--dry-run']), env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.json!.rebuild).toMatchObject({ differ: 0, diffs: [] });
  });

  it('archive: manifest = MD_TRADES, only applied trades leave the stream, a re-run changes nothing, the day rebuilt from the archive is identical', { timeout: 240_000 }, async () => {
    const nats = await iso.nats();
    const stored = await subjectTrades(nats);
    expect(stored.length).toBe(2200);
    const candles = await dayRows();
    const dayB = dayA + DAY;
    const ofDay = (start: number) => stored.filter((s) => s.trade.ts >= start && s.trade.ts < start + DAY);

    const first = await runCli(['archive', '--older-than', '1d'], env);
    expect(first.code, first.stderr + first.stdout.slice(-2000)).toBe(0);
    const report = first.json!.archive as { symbols: { venue: string; symbol: string; days: unknown[]; chunks: number; purged: number; deleted: number; kept: number; keptReason?: string }[] };
    expect(report.symbols).toEqual([
      {
        venue: 'binance',
        symbol: SYMBOL,
        days: [
          { day: iso8601(dayA).slice(0, 10), read: 2160, added: 2160, rows: 2160 },
          { day: iso8601(dayB).slice(0, 10), read: 40, added: 40, rows: 40 },
        ],
        chunks: expect.any(Number),
        purged: 2199,
        deleted: 0,
        kept: 1,
        keptReason: "the subject's last message",
      },
    ]);

    expect(report.symbols[0]!.chunks).toBeGreaterThanOrEqual(3); // 2200 trades, 500 (plus at most one batch of 500) at a time

    // Each day's manifest against what MD_TRADES held, and its Parquet file read on its own.
    for (const start of [dayA, dayB]) {
      const day = iso8601(start).slice(0, 10);
      const want = ofDay(start);
      const folder = join(archiveDir, 'binance', SYMBOL);
      const manifest = JSON.parse(readFileSync(join(folder, `${day}.json`), 'utf8')) as Record<string, unknown>;
      expect(manifest).toMatchObject({
        venue: 'binance',
        symbol: SYMBOL,
        day,
        rows: want.length,
        firstSeq: want[0]!.seq,
        lastSeq: want.at(-1)!.seq,
        firstId: want[0]!.trade.id,
        lastId: want.at(-1)!.trade.id,
        firstTs: want[0]!.trade.ts,
        lastTs: want.at(-1)!.trade.ts,
        contentSha256: checksum(want),
      });
      const bytes = readFileSync(join(folder, `${day}.parquet`));
      expect(manifest.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
      const rows = (await parquetReadObjects({ file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer })) as { seq: bigint; id: string; price: string; qty: string }[];
      expect(rows.map((r) => [Number(r.seq), r.id, r.price, r.qty])).toEqual(want.map((s) => [s.seq, s.trade.id, s.trade.price, s.trade.qty]));
    }
    const index = JSON.parse(readFileSync(join(archiveDir, 'manifest.json'), 'utf8')) as { days: { day: string; rows: number }[] };
    expect(index.days.map((d) => [d.day, d.rows])).toEqual([[iso8601(dayA).slice(0, 10), 2160], [iso8601(dayB).slice(0, 10), 40]]);

    // The stream keeps the subject's last message only (a feed seeds its gap tracker from it).
    const left = await subjectTrades(nats);
    expect(left.map((s) => s.seq)).toEqual([stored.at(-1)!.seq]);

    // Again: nothing new read, nothing written or removed; every file byte for byte and untouched.
    const files = archiveFiles();
    const second = await runCli(['archive', '--older-than', '1d'], env);
    expect(second.code, second.stderr).toBe(0);
    expect((second.json!.archive as { symbols: unknown[] }).symbols).toEqual([
      { venue: 'binance', symbol: SYMBOL, days: [{ day: iso8601(dayB).slice(0, 10), read: 1, added: 0, rows: 40 }], chunks: 1, purged: 0, deleted: 0, kept: 1, keptReason: "the subject's last message" },
    ]);
    expect(archiveFiles()).toEqual(files);
    expect((await subjectTrades(nats)).length).toBe(1);

    // MD_TRADES no longer has the day: a rebuild from it is refused, naming the archive.
    const refused = await runCli(rebuildArgs([]), env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/were moved to the trade archive .*--source archive/);

    // The day's candles gone, then rebuilt from the archive: identical to the worker's.
    await iso.sql().unsafe(`delete from "${iso.ns.pgSchema}".candles where symbol = $1 and open_time >= $2 and open_time < $3`, [SYMBOL, new Date(dayA), new Date(dayA + DAY)]);
    const dry = await runCli(rebuildArgs(['--source', 'archive', '--dry-run']), env);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.json!.rebuild).toMatchObject({ trades: 2160, differ: 1465 });
    const rebuilt = await runCli(rebuildArgs(['--source', 'archive']), env);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    expect(rebuilt.json!.rebuild).toMatchObject({ source: 'archive', trades: 2160, written: 1465 });
    expect(await dayRows()).toEqual(candles);

    // backfill reads the archive too: the day is the live path's (its seam), compared bar for bar, nothing written.
    const backfill = await runCli(['backfill', '--venue', 'binance', '--symbols', SYMBOL, ...dayRange, '--source', 'archive'], env);
    expect(backfill.code, backfill.stderr).toBe(0);
    const b = (backfill.json!.backfill as { trades: number; written: { inserted: number; updated: number }; overlap: { compared: number; differ: number } }[])[0]!;
    expect(b).toMatchObject({ trades: 2160, written: { inserted: 0, updated: 0 }, overlap: { compared: 1465 - 3, differ: 0 } });
  });

  it('archive leaves in MD_TRADES what the worker has not applied (its snapshot is behind), and archives it', { timeout: 120_000 }, async () => {
    const worker = procs[0]!;
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    const dayB = dayA + DAY;
    const more = writeAggTrades('more.csv', 20, { start: dayA + 2_200 * 40_000, stepMs: 40_000, firstId: 5_002_200, seed: 9 });
    const replay = spawnCli(['replay', '--file', more.path, '--format', 'binance-aggtrades-csv', '--venue', 'binance', '--symbol', SYMBOL], env);
    expect(await replay.exited, replay.output()).toBe(0);
    const nats = await iso.nats();
    const before = await subjectTrades(nats);
    expect(before.length).toBe(21);

    const run = await runCli(['archive', '--older-than', '1d'], env);
    expect(run.code, run.stderr).toBe(0);
    expect((run.json!.archive as { symbols: unknown[] }).symbols).toEqual([
      {
        venue: 'binance',
        symbol: SYMBOL,
        days: [{ day: iso8601(dayB).slice(0, 10), read: 21, added: 20, rows: 60 }],
        chunks: 1,
        purged: 1,
        deleted: 0,
        kept: 20,
        keptReason: `not applied by the worker yet (snapshot at sequence ${before[0]!.seq})`,
      },
    ]);
    expect((await subjectTrades(nats)).map((s) => s.seq)).toEqual(before.slice(1).map((s) => s.seq));
    const manifest = JSON.parse(readFileSync(join(archiveDir, 'binance', SYMBOL, `${iso8601(dayB).slice(0, 10)}.json`), 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({ rows: 60, lastId: String(more.ids.at(-1)), lastSeq: before.at(-1)!.seq });
  });
});
