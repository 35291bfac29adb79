import type { OutFrame, SimClient } from '../venues/kit/simulator.js';

/**
 * Book misbehaviour on command (`/__sim/misbehave`): what a lossy or buggy venue does to ONE book
 * delta, and 429s on REST depth snapshots. Kept apart from the server's socket code: the server
 * hands every book delta to `deliver` and asks `snapshot429` before answering a depth snapshot.
 *
 * A delta is rendered for each client before the fault acts, so per-connection counters the venue
 * stamps at render time (Coinbase `sequence_num`) are spent as they would be: a dropped message
 * leaves a hole in the sequence, a duplicate repeats a number, a reordered one arrives late.
 */

export type BookFault = 'drop' | 'duplicate' | 'reorder' | 'corrupt-checksum';

interface Held {
  texts: [SimClient, string][];
  write: (c: SimClient, text: string) => void;
}

export class BookFaults {
  private armed: { fault: BookFault; symbol: string | null } | null = null;
  /** Reorder: the delta held back per symbol until that symbol's next delta went out. */
  private readonly held = new Map<string, Held>();
  /** Faults applied, by kind (stats). */
  readonly applied: Record<string, number> = {};

  /** The next book delta (of `symbol`, or of any symbol) suffers `fault`. */
  arm(fault: BookFault, symbol: string | null): void {
    this.armed = { fault, symbol };
  }

  reset(): void {
    this.armed = null;
    this.held.clear();
  }

  /**
   * Sends one book delta to `targets`: `render` makes a client's text (spending its counters),
   * `write` sends it. Returns nothing; the armed fault, if this frame matches it, is applied once.
   */
  deliver(frame: OutFrame, targets: readonly SimClient[], render: (c: SimClient, f: OutFrame) => string, write: (c: SimClient, text: string) => void): void {
    const a = this.armed;
    const hit = a !== null && (a.symbol === null || a.symbol === frame.symbol) && (a.fault !== 'corrupt-checksum' || frame.corrupt !== undefined);
    const source = hit && a.fault === 'corrupt-checksum' ? { ...frame, text: frame.corrupt!, alt: undefined } : frame;
    const texts: [SimClient, string][] = targets.map((c) => [c, render(c, source)]);
    const held = this.held.get(frame.symbol);
    if (hit) {
      this.armed = null;
      this.applied[a.fault] = (this.applied[a.fault] ?? 0) + 1;
      if (a.fault === 'drop') return this.release(frame.symbol, held, write);
      if (a.fault === 'reorder') {
        this.release(frame.symbol, held, write);
        this.held.set(frame.symbol, { texts, write });
        return;
      }
    }
    for (const [c, t] of texts) write(c, t);
    if (hit && a.fault === 'duplicate') for (const [c, t] of texts) write(c, t);
    this.release(frame.symbol, held, write);
  }

  /**
   * A message other than a book delta was just written to `client`: where the venue numbers every
   * message of a connection (Coinbase `sequence_num`), a held delta is swapped with that message,
   * not only with its symbol's next delta (which may come after a resync the gap already caused).
   */
  releaseFor(client: SimClient): void {
    for (const [symbol, held] of [...this.held]) if (held.texts.some(([c]) => c === client)) this.release(symbol, held, held.write);
  }

  private release(symbol: string, held: Held | undefined, write: (c: SimClient, text: string) => void): void {
    if (held === undefined) return;
    this.held.delete(symbol);
    for (const [c, t] of held.texts) write(c, t);
  }
}

/**
 * `snapshot-429`: the next `count` REST depth snapshots answer 429 with `Retry-After`; a client
 * that asks again (for anything) from that address before the time it was given breaks the
 * venue's rule, which the server counts as the violation `retry-after` (Binance bans for it).
 */
export class SnapshotFaults {
  private left = 0;
  private retryAfterMs = 1000;
  private readonly until = new Map<string, number>();

  arm(count: number, retryAfterMs: number): void {
    this.left = count;
    this.retryAfterMs = retryAfterMs;
  }

  reset(): void {
    this.left = 0;
    this.until.clear();
  }

  /** True when `ip` asks before the Retry-After it was given ran out. */
  early(ip: string, now: number): boolean {
    const t = this.until.get(ip);
    return t !== undefined && now < t;
  }

  /** For a depth snapshot about to be answered: the Retry-After seconds of a 429 to send instead, or null. */
  take(ip: string, now: number): number | null {
    if (this.left <= 0) return null;
    this.left--;
    const seconds = Math.max(1, Math.ceil(this.retryAfterMs / 1000));
    this.until.set(ip, now + seconds * 1000);
    return seconds;
  }
}
