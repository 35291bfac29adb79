import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { recordingsDir } from '../../runtime/recording.js';
import { QuoteCheck } from '../../schemas/quote.js';
import { TradeCheck } from '../../schemas/trade.js';
import { newParseOutput, type FrameClass, type ParseOutput, type VenueAdapter } from '../../venues/kit/types.js';

/** Parses one frame into a fresh output and checks the one-classification-per-frame rule. */
export function classify(adapter: VenueAdapter, raw: string, recvTs = 1_700_000_000_000): { cls: FrameClass; out: ParseOutput } {
  const out = newParseOutput();
  const cls = adapter.parse(raw, recvTs, out);
  assertOneClass(cls, out, raw);
  return { cls, out };
}

export function assertOneClass(cls: FrameClass, out: ParseOutput, raw: string): void {
  const data = out.trades.length + out.quotes.length;
  if (cls === 'book') {
    expect(out.books.length).toBeGreaterThan(0);
    expect(data + out.control.length + out.rejects.length).toBe(0);
  } else if (cls === 'data') {
    expect(data).toBeGreaterThan(0);
    expect(out.control.length + out.rejects.length).toBe(0);
  } else if (cls === 'reject') {
    expect(out.rejects.length).toBe(1);
    expect(data + out.control.length + out.books.length).toBe(0);
    expect(out.rejects[0]!.raw).toBe(raw);
  } else {
    expect(out.control).toEqual([cls]);
    expect(data + out.rejects.length).toBe(0);
  }
  for (const t of out.trades) expect(TradeCheck.Check(t), JSON.stringify(t)).toBe(true);
  for (const q of out.quotes) expect(QuoteCheck.Check(q), JSON.stringify(q)).toBe(true);
}

/** The shared recordings folder; a clear failure (not a skip) when it is missing. */
export function recordingPath(name: string): string {
  const dir = recordingsDir();
  if (!existsSync(dir)) throw new Error(`recordings folder missing: ${dir} (see ../shared/data/README.md; set TICKWORK_RECORDINGS)`);
  return join(dir, name);
}

export { receivedFrames } from './recordings.js';

/** Deterministic PRNG (mulberry32) so fuzz failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
