import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface AggTradesFile {
  path: string;
  /** aggIds in file order. */
  ids: number[];
  firstTs: number;
  lastTs: number;
}

/**
 * A Binance aggTrades CSV (no header): `n` trades `stepMs` apart from `start`, aggIds from
 * `firstId`, a random-walk price (deterministic for a seed).
 */
export function writeAggTrades(name: string, n: number, opts: { start: number; stepMs: number; firstId: number; seed?: number }): AggTradesFile {
  const dir = mkdtempSync(join(tmpdir(), 'tickwork-replay-'));
  const path = join(dir, name);
  let seed = opts.seed ?? 3;
  const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  let cents = 6_500_000;
  let tradeId = opts.firstId * 3;
  const lines: string[] = [];
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    cents += Math.round((rnd() - 0.5) * 30);
    const k = 1 + Math.floor(rnd() * 3);
    const price = `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}000000`;
    const qty = ((1 + Math.floor(rnd() * 100000)) / 100000).toFixed(8);
    const id = opts.firstId + i;
    // aggId,price,qty,firstId,lastId,time,isBuyerMaker,isBestMatch
    lines.push(`${id},${price},${qty},${tradeId},${tradeId + k - 1},${opts.start + i * opts.stepMs},${rnd() < 0.5 ? 'True' : 'False'},True`);
    ids.push(id);
    tradeId += k;
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
  return { path, ids, firstTs: opts.start, lastTs: opts.start + (n - 1) * opts.stepMs };
}

/** The JSON summary line `tickwork replay` printed. */
export function summaryOf(output: string): Record<string, number | boolean> {
  const line = output.split('\n').find((l) => l.startsWith('{"published"'));
  if (!line) throw new Error(`no summary line in:\n${output.slice(-3000)}`);
  return JSON.parse(line) as Record<string, number | boolean>;
}
