import { describe, expect, it } from 'vitest';
import { TickworkError } from '../../../runtime/errors.js';
import { historyRig } from '../kit/history-rig.js';

/** Bybit REST history against the simulator: only the latest trades, so older ranges are refused by name. */
describe('bybit REST trade history (simulator)', () => {
  const rig = historyRig('bybit', 'BTC-USDT');

  it('a range older than the last 60 trades is refused with HISTORY_UNAVAILABLE naming --source file', async () => {
    await rig.start();
    const to = Date.now() - 3_600_000;
    const err = await rig.range(to - 3_600_000, to).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TickworkError);
    expect((err as TickworkError).code).toBe('HISTORY_UNAVAILABLE');
    expect((err as Error).message).toMatch(/--source file/);
  });

  it('the latest trades are served, newest last, normalized as live ones', async () => {
    const s = rig.sim();
    await new Promise((r) => setTimeout(r, 300));
    s.pause(); // the latest 60 stay the latest while the range is read
    const latest = await rig.byId(0, 60);
    expect(latest.length).toBe(60);
    for (let i = 1; i < latest.length; i++) expect(latest[i]!.ts).toBeGreaterThanOrEqual(latest[i - 1]!.ts);
    const newest = latest[latest.length - 1]!;
    // A range ending after the newest trade and starting at the oldest served is answered.
    const recent = await rig.range(latest[0]!.ts, newest.ts + 1);
    expect(recent.length).toBeGreaterThan(0);
    expect(recent.every((t) => t.venue === 'bybit' && t.symbol === 'BTC-USDT' && /^[0-9]+$/.test(t.id))).toBe(true);
    expect(s.stats().violations).toEqual({});
  });
});
