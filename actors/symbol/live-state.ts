import type { Logger } from '../../runtime/logger.js';
import { histogram } from '../../runtime/metrics.js';
import type { LiveStateWrite } from '../../store/snapshots.js';

const m = {
  latency: histogram({
    name: 'tickwork_e2e_latency_seconds',
    help: 'Receipt of a trade by the feed (recvTs) to its symbol live state written in Redis',
    buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
  }),
  flush: histogram({ name: 'tickwork_worker_state_flush_seconds', help: 'One live-state pipeline (every changed symbol of the worker)', buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5] }),
};

/** Receipts older than this are a replay of history, not live latency: not observed. */
const LIVE_LATENCY_MAX_MS = 300_000;

/** A symbol whose live state may have changed (the symbol actor). */
export interface LiveSource {
  readonly venue: string;
  readonly symbol: string;
  readonly token: number | null;
  /** The state as JSON, with the receipt time of the first trade behind the change (0: none); null if there is none yet. */
  collectLive(now: number): { json: string; recvTs: number } | null;
  /** In-process lease check. */
  holds(): boolean;
  /** Its change was not written (no lease): the next change registers it again. */
  skipped(): void;
  /** Refused by the fence in Redis. */
  fenced(target: 'redis'): void;
}

/**
 * The live-state writes of one worker: whatever changed since the last flush, every symbol's
 * state in one fenced Redis pipeline (one round trip), at most one pipeline in flight and then
 * at most one every `flushMs`. The API still reads each symbol with one GET.
 */
export class LiveStateWriter {
  private readonly dirty = new Map<string, LiveSource>();
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly store: { writeStates(entries: readonly LiveStateWrite[]): Promise<boolean[]> },
    private readonly opts: { flushMs: number; log: Logger; now?: () => number },
  ) {}

  /** Called by an actor after a change (once until its state is collected). */
  changed(source: LiveSource): void {
    // Keyed by symbol: a restarted actor's new incarnation replaces the old one.
    this.dirty.set(`${source.venue}.${source.symbol}`, source);
    this.schedule();
  }

  /** Writes what is pending, then stops. */
  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.writing;
    await this.flush();
    this.stopped = true;
  }

  /** Writes what is pending now (tests, shutdown). */
  async flush(): Promise<void> {
    await this.writing;
    if (this.dirty.size > 0) await this.write();
  }

  private schedule(): void {
    if (this.timer !== null || this.writing !== null || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.write();
    }, this.opts.flushMs);
  }

  private write(): Promise<void> {
    const now = (this.opts.now ?? Date.now)();
    const sources: LiveSource[] = [];
    const entries: LiveStateWrite[] = [];
    const recv: number[] = [];
    for (const s of this.dirty.values()) {
      if (!s.holds()) {
        s.skipped();
        continue;
      }
      const live = s.collectLive(now);
      if (live === null) continue;
      sources.push(s);
      entries.push({ venue: s.venue, symbol: s.symbol, token: s.token, json: live.json });
      recv.push(live.recvTs);
    }
    this.dirty.clear();
    if (entries.length === 0) return Promise.resolve();
    const end = m.flush.startTimer();
    const p = this.store.writeStates(entries).then(
      (ok) => {
        end();
        const done = Date.now();
        for (let i = 0; i < ok.length; i++) {
          if (!ok[i]) sources[i]!.fenced('redis');
          else if (recv[i]! > 0 && done - recv[i]! <= LIVE_LATENCY_MAX_MS) m.latency.observe(Math.max(0, done - recv[i]!) / 1000);
        }
      },
      (err: unknown) => {
        // Live state is not a recovery point: the symbols are written again on their next change.
        this.opts.log.warn({ err: (err as Error).message, symbols: entries.length }, 'live state write failed');
        for (const s of sources) this.dirty.set(`${s.venue}.${s.symbol}`, s);
      },
    );
    this.writing = p.finally(() => {
      this.writing = null;
      if (this.dirty.size > 0) this.schedule();
    });
    return this.writing;
  }
}
