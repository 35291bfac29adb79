import { execFile } from 'node:child_process';
import { expect } from 'vitest';
import type { Candle } from '../../schemas/candle.js';
import type { Sql } from '../../runtime/pg.js';
import { repoRoot, spawnCli, type CliProcess, type Isolated } from '../harness.js';

/** `tickwork <args>` to completion: exit code, output, and the last JSON line of stdout. */
export function runCli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 240_000): Promise<{ code: number; stdout: string; stderr: string; json: Record<string, unknown> | null }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/tickwork.js', ...args], { cwd: repoRoot, env, timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      const last = stdout.trim().split('\n').reverse().find((l) => l.startsWith('{"backfill"') || l.startsWith('{"rebuild"') || l.startsWith('{"archive"'));
      resolve({ code, stdout, stderr, json: last ? (JSON.parse(last) as Record<string, unknown>) : null });
    });
  });
}

/** The live pipeline as processes (`tickwork feed`, `worker`, `sink`, after `migrate`), stopped by `stop()`. */
export async function startLive(iso: Isolated, env: NodeJS.ProcessEnv, venue: string, symbols: string[]): Promise<{ stop(): Promise<void>; procs: CliProcess[] }> {
  const all = { ...iso.env, HTTP_PORT: '0', LOG_LEVEL: 'info', LOG_FORMAT: 'json', TICKWORK_VENUES: venue, ...env };
  const m = await runCli(['migrate'], all);
  expect(m.code, m.stderr).toBe(0);
  const procs = [spawnCli(['sink'], all), spawnCli(['worker'], all), spawnCli(['feed', '--venue', venue, '--symbols', symbols.join(',')], all)];
  return {
    procs,
    async stop() {
      for (const p of procs.reverse()) {
        if (p.child.exitCode === null) p.child.kill('SIGTERM');
        await p.exited;
      }
    },
  };
}

export async function waitUntil(cond: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Every stored candle row of a venue+symbol as text (numerics exactly as stored), keyed `tf openTime`. */
export async function storedRows(sql: Sql, schema: string, venue: string, symbol: string): Promise<Map<string, string>> {
  const rows = await sql.unsafe<Record<string, unknown>[]>(
    `select tf, (extract(epoch from open_time) * 1000)::bigint::text as open_ms, open::text, high::text, low::text, close::text, volume::text,
            quote_volume::text, vwap::text, buy_volume::text, trades::text, first_trade_id, last_trade_id, closed::text, updated_at::text
       from "${schema}".candles where venue = $1 and symbol = $2 order by tf, open_time`,
    [venue, symbol],
  );
  return new Map(rows.map((r) => [`${String(r.tf)} ${String(r.open_ms)}`, Object.values(r).join('|')]));
}

/** A Binance aggTrade as the REST API sends it. */
export interface RawAgg {
  a: number;
  p: string;
  q: string;
  f: number;
  l: number;
  T: number;
  m: boolean;
}

/** Every aggTrade of `symbol` with from ≤ T < to, straight from the (simulated) REST API, paged by id. */
export async function fetchAggTrades(restUrl: string, symbol: string, from: number, to: number): Promise<RawAgg[]> {
  const get = async (q: string): Promise<RawAgg[]> => {
    for (let attempt = 0; ; attempt++) {
      const res = await fetch(`${restUrl}/api/v3/aggTrades?symbol=${symbol}&${q}`);
      if (res.ok) return (await res.json()) as RawAgg[];
      if (attempt > 5) throw new Error(`aggTrades ${q}: ${res.status}`);
      await new Promise((r) => setTimeout(r, 2000));
    }
  };
  const [first] = await get(`startTime=${from}&endTime=${from + 3_599_999}&limit=1`);
  const out: RawAgg[] = [];
  for (let next = first!.a; ; ) {
    const page = await get(`fromId=${next}&limit=1000`);
    for (const t of page) {
      if (t.T >= to) return out;
      out.push(t);
      next = t.a + 1;
    }
    if (page.length < 1000) return out;
  }
}

/** `12.34` → 1234n at `scale` 2 (exact; pads or refuses extra digits). */
export function units(text: string, scale: number): bigint {
  const [i = '0', f = ''] = text.split('.');
  if (f.length > scale && /[1-9]/.test(f.slice(scale))) throw new Error(`${text} has more than ${scale} decimals`);
  return BigInt(i + f.slice(0, scale).padEnd(scale, '0'));
}

/**
 * The independent reference: per bar of `tfMs` (UTC-aligned), OHLC by (time, id), exact bigint
 * sums of volume (8 decimals), quote volume (16), buy volume, trades (Σ l − f + 1), first and last
 * ids, and the VWAP rounded half-up to 12 decimals.
 */
export function referenceCandles(aggs: readonly RawAgg[], tfMs: number): Map<number, { open: bigint; high: bigint; low: bigint; close: bigint; volume: bigint; quote: bigint; buy: bigint; trades: number; first: number; last: number; vwap: bigint }> {
  const bars = new Map<number, ReturnType<typeof referenceCandles> extends Map<number, infer V> ? V : never>();
  const sorted = [...aggs].sort((x, y) => x.T - y.T || x.a - y.a);
  for (const t of sorted) {
    const open = Math.floor(t.T / tfMs) * tfMs;
    const p = units(t.p, 8);
    const q = units(t.q, 8);
    const b = bars.get(open);
    if (!b) {
      bars.set(open, { open: p, high: p, low: p, close: p, volume: q, quote: p * q, buy: t.m ? 0n : q, trades: t.l - t.f + 1, first: t.a, last: t.a, vwap: 0n });
      continue;
    }
    if (p > b.high) b.high = p;
    if (p < b.low) b.low = p;
    b.close = p;
    b.volume += q;
    b.quote += p * q;
    if (!t.m) b.buy += q;
    b.trades += t.l - t.f + 1;
    b.last = t.a;
  }
  for (const b of bars.values()) {
    // quote (16 dp) / volume (8 dp) at 12 dp: quote·10^4 / volume, half-up.
    const n = b.quote * 10_000n;
    b.vwap = (2n * n + b.volume) / (2n * b.volume);
  }
  return bars;
}

/** Stored candles equal the reference, value for value (numerics compared exactly at their scale). */
export function expectCandlesEqual(stored: readonly Candle[], reference: ReturnType<typeof referenceCandles>, label: string): void {
  expect(stored.map((c) => c.openTime), `${label}: the same bars`).toEqual([...reference.keys()].sort((a, b) => a - b));
  for (const c of stored) {
    const r = reference.get(c.openTime)!;
    const at = `${label} ${new Date(c.openTime).toISOString()}`;
    expect(units(c.open, 8), `${at} open`).toBe(r.open);
    expect(units(c.high, 8), `${at} high`).toBe(r.high);
    expect(units(c.low, 8), `${at} low`).toBe(r.low);
    expect(units(c.close, 8), `${at} close`).toBe(r.close);
    expect(units(c.volume, 8), `${at} volume`).toBe(r.volume);
    expect(units(c.quoteVolume, 16), `${at} quoteVolume`).toBe(r.quote);
    expect(units(c.buyVolume, 8), `${at} buyVolume`).toBe(r.buy);
    expect(units(c.vwap, 12), `${at} vwap`).toBe(r.vwap);
    expect(c.trades, `${at} trades`).toBe(r.trades);
    expect([c.firstTradeId, c.lastTradeId], `${at} ids`).toEqual([String(r.first), String(r.last)]);
    expect(c.closed).toBe(true);
  }
}
