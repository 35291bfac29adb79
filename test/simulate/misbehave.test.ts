import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator, type SimStats } from '../../simulate/index.js';
import { connect, control, sleep, until, upgradeStatus, type TestClient } from './ws-client.js';

/** Misbehaviour driven through the HTTP control endpoint, as a test in another process would. */

const sims: Simulator[] = [];
const clients: TestClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

async function subscribed(tradesPerSec = 300): Promise<{ s: Simulator; c: TestClient }> {
  const s = await startSimulator({ venue: 'binance', synthetic: { symbols: ['BTC-USDT'], tradesPerSec, seed: 21, burstiness: 0.3 }, pingIntervalMs: 0 });
  sims.push(s);
  const c = await client(`${s.origin}/ws`);
  c.send({ method: 'SUBSCRIBE', params: ['btcusdt@aggTrade'], id: 1 });
  await until(() => c.frames.length > 10, 3000, 'first frames');
  return { s, c };
}

async function client(url: string): Promise<TestClient> {
  const c = await connect(url);
  clients.push(c);
  return c;
}

const stats = async (s: Simulator) => (await control(s.controlUrl, 'stats')).body as SimStats;

/** True when a strict aggTrade parser would accept the frame. */
function validAggTrade(f: { text: string; binary: boolean }): boolean {
  if (f.binary) return false;
  let d: Record<string, unknown>;
  try {
    d = JSON.parse(f.text) as Record<string, unknown>;
  } catch {
    return false;
  }
  const dec = (x: unknown) => typeof x === 'string' && /^\d{1,40}\.\d{1,40}$/.test(x);
  const int = (x: unknown) => typeof x === 'number' && Number.isSafeInteger(x);
  return d.e === 'aggTrade' && dec(d.p) && dec(d.q) && int(d.a) && int(d.f) && int(d.l) && int(d.T) && typeof d.m === 'boolean';
}

describe('misbehaviour via POST /__sim/misbehave', () => {
  it('stall: the open connection goes silent for the period, trades made meanwhile are not sent later', async () => {
    const { s, c } = await subscribed();
    // A stall far longer than the window observed inside it, so a loaded machine's late timers stay inside.
    expect((await control(s.controlUrl, 'misbehave', { kind: 'stall', ms: 3000 })).status).toBe(200);
    await sleep(50);
    const during = c.frames.length;
    await sleep(250);
    expect(c.frames.length).toBe(during);
    await until(() => c.frames.length > during + 5, 10_000, 'frames after the stall');
    const ids = c.json().slice(1).map((f) => (f as { a: number }).a);
    const jumps = ids.filter((id, i) => i > 0 && id !== ids[i - 1]! + 1);
    expect(jumps.length).toBe(1); // one hole: the stalled period
    // A connection opened during a stall of scope 'existing' is not silent.
    await control(s.controlUrl, 'misbehave', { kind: 'stall', ms: 1000 });
    const fresh = await client(`${s.origin}/ws`);
    fresh.send({ method: 'SUBSCRIBE', params: ['btcusdt@aggTrade'], id: 1 });
    await until(() => fresh.frames.length > 3, 2000, 'fresh connection frames');
  });

  it('malformed count: exactly that many broken frames, of every kind, counted in stats', async () => {
    const { s, c } = await subscribed();
    await control(s.controlUrl, 'pause');
    await sleep(50);
    const before = c.frames.length;
    expect(c.frames.slice(1).every(validAggTrade)).toBe(true);
    expect((await control(s.controlUrl, 'misbehave', { kind: 'malformed', count: 300 })).status).toBe(200);
    await until(() => c.frames.length >= before + 300, 3000, 'malformed frames');
    await sleep(50);
    const extra = c.frames.slice(before);
    expect(extra.length).toBe(300);
    expect(extra.filter(validAggTrade).length).toBe(0);
    expect(extra.filter((f) => f.binary).length).toBeGreaterThan(0);
    const st = await stats(s);
    expect(st.malformedSent).toBe(300);
    expect(Object.keys(st.malformedByKind).sort()).toEqual(['huge-number', 'missing-field', 'non-utf8', 'truncated', 'wrong-type']);
    expect(Object.values(st.malformedByKind).reduce((a, b) => a + b, 0)).toBe(300);
    expect(c.isClosed()).toBe(false);
  });

  it('malformed ratio: broken frames interleave with good ones while it lasts', async () => {
    const { s, c } = await subscribed();
    const before = c.frames.length;
    await control(s.controlUrl, 'misbehave', { kind: 'malformed', ratio: 0.5, durationMs: 300 });
    await sleep(400);
    const mid = c.frames.length;
    await sleep(200);
    const during = c.frames.slice(before, mid);
    const bad = during.filter((f) => !validAggTrade(f)).length;
    expect(bad).toBeGreaterThan(5);
    expect(during.length - bad).toBeGreaterThan(5);
    expect((await stats(s)).malformedSent).toBe(bad);
    expect(c.frames.slice(mid).every(validAggTrade)).toBe(true);
  });

  it('drop-every: connections are cut (no close frame) each period until the duration ends', async () => {
    const { s, c } = await subscribed(150);
    await control(s.controlUrl, 'misbehave', { kind: 'drop-every', everyMs: 150, durationMs: 500 });
    expect((await c.closed).code).toBe(1006);
    const c2 = await client(`${s.origin}/ws`);
    expect((await c2.closed).code).toBe(1006);
    await sleep(300);
    const c3 = await client(`${s.origin}/ws`);
    await sleep(300);
    expect(c3.isClosed()).toBe(false);
    expect((await stats(s)).drops).toBeGreaterThanOrEqual(2);
  });

  it('ban: drops everyone and answers upgrades and REST with the venue ban status until it ends; reset ends it early', async () => {
    const { s, c } = await subscribed(150);
    await control(s.controlUrl, 'misbehave', { kind: 'ban', ms: 300 });
    expect((await c.closed).code).toBe(1006);
    expect(await upgradeStatus(`${s.origin}/ws`)).toBe(418);
    expect((await fetch(`${s.restUrl}/api/v3/ping`)).status).toBe(418);
    await sleep(350);
    expect(await upgradeStatus(`${s.origin}/ws`)).toBe(101);
    await control(s.controlUrl, 'misbehave', { kind: 'ban', ms: 60_000 });
    expect(await upgradeStatus(`${s.origin}/ws`)).toBe(418);
    await control(s.controlUrl, 'misbehave', { kind: 'reset' });
    expect(await upgradeStatus(`${s.origin}/ws`)).toBe(101);
    const st = await stats(s);
    expect(st.rejectedConnects).toBe(2);
    expect(st.violations).toEqual({});
  });

  it('rejects an invalid command with 400 naming the problem', async () => {
    const { s } = await subscribed(300);
    const res = await control(s.controlUrl, 'misbehave', { kind: 'stall' });
    expect(res.status).toBe(400);
    expect((res.body as { error: string }).error).toMatch(/invalid misbehaviour/);
    expect(() => s.misbehave({ kind: 'explode' } as never)).toThrow(/invalid misbehaviour/);
  });
});
