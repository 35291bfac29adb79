import { describe, expect, it } from 'vitest';
import type { Trade } from '../../../schemas/trade.js';
import { ActorRig, NOW, trade } from './rig.js';

const seqd = (from: number, trades: Trade[]) => trades.map((t, i) => ({ seq: from + i, trade: t }));

/** Closed 1m candles as [openTime, trades] for comparisons. */
const oneMinute = (rig: ActorRig) => rig.candles.filter((c) => c.candle.tf === '1m').map((c) => [c.candle.openTime, c.candle.trades]);

async function clean(n: number): Promise<ActorRig> {
  const rig = new ActorRig();
  rig.start();
  await rig.settle();
  rig.send(...seqd(1, Array.from({ length: n }, (_, i) => trade(i))));
  await rig.settle();
  return rig;
}

describe('SymbolActor (in-memory ports)', () => {
  it('applies trades synchronously in stream order; sequences it has are skipped', async () => {
    const rig = await clean(200);
    expect(rig.state()).toMatchObject({ tradesApplied: 200, lastSeq: 200 });
    rig.send(...seqd(150, Array.from({ length: 10 }, (_, i) => trade(149 + i))));
    await rig.settle();
    expect(rig.state()).toMatchObject({ tradesApplied: 200, lastSeq: 200 });
    // 200 s of trades: the first three minutes closed.
    expect(oneMinute(rig).length).toBeGreaterThanOrEqual(2);
    await rig.stop();
  });

  it('reordered trades (ids 30-34 after 35) are all applied, exact duplicates of ids are not', async () => {
    const rig = new ActorRig();
    rig.start();
    await rig.settle();
    const ids = [35, 30, 31, 32, 33, 34, 36, 31, 35];
    rig.send(...seqd(1, ids.map((i) => trade(i))));
    await rig.settle();
    expect(rig.state()).toMatchObject({ tradesApplied: 7, lastSeq: 9 });
    expect(rig.dlq).toEqual([]);
    await rig.stop();
  });

  describe('hostile trades on the bus are dead-lettered with their reason; the symbol keeps applying', () => {
    const hostile: [string, Partial<Trade>, string][] = [
      ['a 30-digit id', { id: '123456789012345678901234567890' }, 'TRADE_ID_INVALID'],
      ['a trade dated 1970', { ts: 0, recvTs: 5 }, 'TRADE_TS_TOO_OLD'],
      ['a trade dated tomorrow', { ts: NOW + 86_400_000, recvTs: NOW + 86_400_000 }, 'TRADE_TS_FUTURE'],
      ['price -1000000', { price: '-1000000' }, 'TRADE_PRICE_INVALID'],
      ['a quantity of 60 nines', { qty: '9'.repeat(60) }, 'TRADE_QTY_INVALID'],
      ['a body naming okx ETH-USDT on the subject of binance MIS-USDT', { venue: 'okx', symbol: 'ETH-USDT', venueSymbol: 'ETH-USDT' }, 'TRADE_SUBJECT_MISMATCH'],
      ['an id far ahead of the symbol (the next real ids would look old)', { id: '9000000000000000000' }, 'TRADE_ID_INVALID'],
    ];
    for (const [what, over, reason] of hostile) {
      it(what, async () => {
        const rig = new ActorRig();
        rig.start();
        await rig.settle();
        const before = Array.from({ length: 100 }, (_, i) => trade(i));
        const after = Array.from({ length: 100 }, (_, i) => trade(100 + i));
        rig.send(...seqd(1, before), { seq: 101, trade: trade(100, { ...over, id: over.id ?? '999999' }) }, ...seqd(102, after));
        await rig.settle();
        expect(rig.dlq.map((d) => [d.seq, d.reason])).toEqual([[101, reason]]);
        expect(rig.dlq[0]!.detail.length).toBeGreaterThan(10);
        // Every legitimate trade applied, the same candles as without the hostile one.
        expect(rig.state()).toMatchObject({ tradesApplied: 200, lastSeq: 201 });
        const cleanRig = await clean(200);
        expect(oneMinute(rig)).toEqual(oneMinute(cleanRig));
        // No candle outside the trades' time range.
        for (const c of rig.candles) expect(c.candle.openTime).toBeLessThanOrEqual(trade(199).ts);
        expect(rig.candles.every((c) => c.candle.openTime >= trade(0).ts - 300_000)).toBe(true);
        await rig.stop();
        await cleanRig.stop();
      });
    }
  });

  it('crosses a long real gap in bounded steps across mailbox turns, holding the trades behind it in order', async () => {
    // 1m bars, at most 100 per step: a symbol quiet for 10 hours (600 bars) takes several turns.
    const rig = new ActorRig({ timeframes: ['1m'], maxGapBars: 100 });
    rig.start();
    await rig.settle();
    const early = Array.from({ length: 5 }, (_, i) => trade(i, { ts: NOW - 11 * 3_600_000 + i * 1000, recvTs: NOW - 11 * 3_600_000 + i * 1000 + 5 }));
    const late = Array.from({ length: 5 }, (_, i) => trade(10 + i));
    rig.send(...seqd(1, [...early, ...late]));
    await rig.settle();
    expect(rig.dlq).toEqual([]);
    expect(rig.state()).toMatchObject({ tradesApplied: 10, lastSeq: 10 });
    const opens = rig.candles.map((c) => c.candle.openTime);
    // Every minute from the first trade's to the one before the last trade's, once, in order.
    const first = Math.floor(early[0]!.ts / 60_000) * 60_000;
    const last = Math.floor(late[4]!.ts / 60_000) * 60_000;
    expect(opens).toEqual(Array.from({ length: (last - first) / 60_000 }, (_, i) => first + i * 60_000));
    await rig.stop();
  });

  it('starting is one path: snapshot at s, then its subject of MD_TRADES from s+1 to the end, then live trades', async () => {
    const all = Array.from({ length: 300 }, (_, i) => trade(i));
    const reference = await clean(300);
    const rig = new ActorRig();
    rig.start();
    await rig.settle();
    rig.send(...seqd(1, all.slice(0, 100)));
    await rig.settle();
    await rig.stop(); // final snapshot at 100
    expect(rig.saves.at(-1)?.seq).toBe(100);
    // Trades 101..250 reached the stream while no actor ran; 200..300 arrive live (overlapping).
    rig.stream.push(...seqd(1, all.slice(0, 250)));
    rig.candles.length = 0;
    rig.start();
    rig.send(...seqd(200, all.slice(199)));
    await rig.settle();
    expect(rig.state()).toMatchObject({ tradesApplied: 300, lastSeq: 300 });
    const keyed = (r: ActorRig) => new Map(r.candles.map((c) => [c.msgId, c.candle]));
    // What the restarted actor emitted is what the clean run emitted for the same bars.
    for (const [id, c] of keyed(rig)) expect(keyed(reference).get(id)).toEqual(c);
    await rig.stop();
    await reference.stop();
  });

  it('lists closed candles in its live state (`pending`) until their publish is acknowledged', async () => {
    const rig = await clean(50);
    expect(rig.state().pending).toBeUndefined();
    let ack!: () => void;
    rig.ackGate = new Promise((r) => (ack = r));
    const before = rig.candles.length;
    rig.send(...seqd(51, Array.from({ length: 70 }, (_, i) => trade(50 + i)))); // crosses a minute boundary
    await rig.settle();
    const waiting = rig.candles.slice(before).map((c) => c.candle);
    expect(waiting.length).toBeGreaterThan(0);
    expect(rig.state().pending).toEqual(waiting);
    rig.live = null;
    ack();
    rig.ackGate = null;
    await rig.settle();
    // Acknowledged: the state is written again (registered as changed), without them.
    expect(rig.live).not.toBeNull();
    expect(rig.state().pending).toBeUndefined();
    await rig.stop();
  });

  it('writes its live state on start even with nothing to read (the state key may be older than the snapshot)', async () => {
    const rig = await clean(30);
    await rig.stop();
    rig.live = null;
    rig.start();
    await rig.settle();
    expect(rig.state()).toMatchObject({ tradesApplied: 30, lastSeq: 30 });
    await rig.stop();
  });

  it('a snapshot rolled back (Redis restarted with stale data) is caught up from MD_TRADES, nothing skipped', async () => {
    const all = Array.from({ length: 200 }, (_, i) => trade(i));
    const reference = await clean(200);
    const rig = new ActorRig();
    rig.stream.push(...seqd(1, all));
    rig.start();
    rig.send(...seqd(1, all.slice(0, 50)));
    await rig.settle();
    await rig.stop();
    const stale = rig.snapshot;
    rig.start();
    rig.send(...seqd(150, all.slice(149)));
    await rig.settle();
    await rig.stop();
    rig.snapshot = stale; // the old value comes back
    rig.start();
    await rig.settle();
    expect(rig.state()).toEqual({ ...reference.state(), worker: 'w-test' });
    await reference.stop();
    await rig.stop();
  });

  it('a corrupt trade-guard snapshot (SNAPSHOT_INVALID) rebuilds the symbol from MD_TRADES instead of failing', async () => {
    const all = Array.from({ length: 120 }, (_, i) => trade(i));
    const reference = await clean(120);
    const rig = new ActorRig();
    rig.stream.push(...seqd(1, all));
    rig.start();
    await rig.settle();
    await rig.stop();
    const snap = JSON.parse(rig.snapshot!) as { guard: unknown };
    snap.guard = { v: 2, floor: null, ranges: ['50-40'], recent: [] };
    rig.snapshot = JSON.stringify(snap);
    rig.start();
    await rig.settle();
    expect(rig.state()).toEqual(reference.state());
    await rig.stop();
    rig.snapshot = '{not json';
    rig.start();
    await rig.settle();
    expect(rig.state()).toEqual(reference.state());
    await reference.stop();
    await rig.stop();
  });

  it('without the lease it writes nothing: no snapshot, no candle', async () => {
    const rig = new ActorRig();
    rig.start();
    await rig.settle();
    rig.send(...seqd(1, Array.from({ length: 50 }, (_, i) => trade(i))));
    await rig.settle();
    const saves = rig.saves.length;
    const candles = rig.candles.length;
    rig.lease = false;
    rig.send(...seqd(51, Array.from({ length: 150 }, (_, i) => trade(50 + i))));
    await rig.settle();
    await rig.stop();
    expect(rig.saves.length).toBe(saves);
    expect(rig.candles.length).toBe(candles);
  });

  it('a snapshot refused by the fence in Redis reports the symbol fenced', async () => {
    const rig = new ActorRig();
    rig.token = 5;
    rig.fence = 9;
    rig.start();
    await rig.settle();
    rig.send(...seqd(1, Array.from({ length: 10 }, (_, i) => trade(i))));
    await rig.settle();
    await rig.stop();
    expect(rig.saves).toEqual([]);
    expect(rig.fenced).toEqual(['redis']);
  });
});
