import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureMarketStreams, loadStreamsConfig } from '../../app/streams.js';
import type { Trade } from '../../schemas/trade.js';
import { SnapshotStore } from '../../store/snapshots.js';
import { TradeArchive } from '../../store/trade-archive.js';
import { isolated } from '../harness.js';
import { runCli } from './helpers.js';

/**
 * What `tickwork archive` removes from MD_TRADES when a subject's archived trades are not a clean
 * prefix (built CLI, real JetStream and Redis). One subject holds, in stream order: two trades of
 * an old day, a message that is not a trade, another old trade, a trade of today, two more old
 * trades, and today's last trade; the symbol actor's snapshot has applied up to the first of the
 * two late old trades. Expected: the two first trades leave by one purge (the non-trade stops the
 * prefix), the old trades after it that were applied by per-message delete, the old trade past the
 * snapshot stays (archived all the same), and so do the non-trade, today's trades and the last.
 */
const DAY = 86_400_000;
const iso = isolated();
const archiveDir = mkdtempSync(join(tmpdir(), 'tickwork-archive-'));
const env = { ...iso.env, TICKWORK_ARCHIVE_DIR: archiveDir };

afterAll(() => iso.cleanup());

describe('archive: what leaves MD_TRADES', () => {
  it('purges the verified prefix, deletes applied trades behind newer ones, keeps what is not a trade, not old enough, not applied, or last', { timeout: 120_000 }, async () => {
    const nats = await iso.nats();
    await ensureMarketStreams(nats.jsm, iso.ns, loadStreamsConfig(env));
    const subject = iso.ns.subject('md.trade.binance.ETH-USDT');
    const old = Math.floor(Date.now() / DAY) * DAY - 3 * DAY;
    const now = Date.now();
    let id = 100;
    const trade = (ts: number): Trade => ({ venue: 'binance', symbol: 'ETH-USDT', venueSymbol: 'ETHUSDT', id: String(id++), price: '3000.50', qty: '0.25000000', side: 'buy', ts, recvTs: ts });
    const pub = async (body: string) => (await nats.js.publish(subject, body)).seq;
    const seq = {
      old1: await pub(JSON.stringify(trade(old + 1_000))),
      old2: await pub(JSON.stringify(trade(old + 2_000))),
      junk: await pub('{"not":"a trade"}'),
      old3: await pub(JSON.stringify(trade(old + 3_000))),
      today1: await pub(JSON.stringify(trade(now - 1_000))),
      old4: await pub(JSON.stringify(trade(old + 4_000))),
      old5: await pub(JSON.stringify(trade(old + 5_000))),
      today2: await pub(JSON.stringify(trade(now))),
    };
    // The symbol actor's snapshot: applied up to old4.
    await new SnapshotStore(iso.redis(), iso.ns).save('binance', 'ETH-USDT', null, JSON.stringify({ v: 1, seq: seq.old4, windows: {}, savedAt: now }));

    const run = await runCli(['archive', '--older-than', '1d'], env);
    expect(run.code, run.stderr + run.stdout.slice(-2000)).toBe(0);
    expect((run.json!.archive as { symbols: unknown[] }).symbols).toEqual([
      {
        venue: 'binance',
        symbol: 'ETH-USDT',
        days: [{ day: new Date(old).toISOString().slice(0, 10), read: 5, added: 5, rows: 5 }],
        chunks: 1,
        purged: 2,
        deleted: 2,
        kept: 1,
        keptReason: `not applied by the worker yet (snapshot at sequence ${seq.old4})`,
      },
    ]);
    const left: number[] = [];
    for (const s of Object.values(seq)) if (await nats.jsm.streams.getMessage(iso.ns.stream('MD_TRADES'), { seq: s }).catch(() => null)) left.push(s);
    expect(left).toEqual([seq.junk, seq.today1, seq.old5, seq.today2]);
    const archived = await new TradeArchive(archiveDir).readDay('binance', 'ETH-USDT', new Date(old).toISOString().slice(0, 10));
    expect(archived.map((t) => t.seq)).toEqual([seq.old1, seq.old2, seq.old3, seq.old4, seq.old5]);

    // A symbol without a snapshot: archived, nothing removed.
    const other = iso.ns.subject('md.trade.binance.SOL-USDT');
    await nats.js.publish(other, JSON.stringify({ ...trade(old + 9_000), symbol: 'SOL-USDT', venueSymbol: 'SOLUSDT' }));
    await nats.js.publish(other, JSON.stringify({ ...trade(old + 9_500), symbol: 'SOL-USDT', venueSymbol: 'SOLUSDT' }));
    const second = await runCli(['archive', '--older-than', '1d', '--symbols', 'SOL-USDT'], env);
    expect(second.code, second.stderr).toBe(0);
    expect((second.json!.archive as { symbols: unknown[] }).symbols).toMatchObject([{ symbol: 'SOL-USDT', purged: 0, deleted: 0, kept: 2, keptReason: 'no snapshot of the symbol actor' }]);
    const info = await nats.jsm.streams.info(iso.ns.stream('MD_TRADES'), { subjects_filter: other });
    expect(info.state.subjects?.[other]).toBe(2);
  });
});
