import type { BookRequest } from '../book/index.js';
import type { Logger } from '../../runtime/logger.js';
import { TokenBucket } from '../../runtime/rate-limit.js';
import { getResponse } from '../../runtime/transport/index.js';
import type { RestDepth } from '../../venues/kit/types.js';
import type { BookDriver, ResyncExecutor } from './book-driver.js';
import { bookMetrics } from './book-metrics.js';

export interface ResyncQueueOptions {
  venue: string;
  /** Resyncs per minute for the venue (burst: a tenth of it, at least 5). First syncs do not count. */
  resyncsPerMin: number;
  /** The venue's REST depth snapshot, its REST base and the variable naming it; absent where resync = resubscribe. */
  rest?: {
    depth: RestDepth;
    baseUrl: string;
    variable: string;
    /** The weight per minute snapshots may spend (a share of the venue's). */
    weightPerMin: number;
    /** The venue's limit per IP, which its used-weight header counts against. */
    venueWeightPerMin: number;
  };
  log: Logger;
  signal: AbortSignal;
  now?: () => number;
}

interface Job {
  driver: BookDriver;
  req: BookRequest;
}

/** 418 is a ban: wait at least this long even when the venue says less. */
const BAN_MIN_MS = 120_000;

/**
 * A venue's resyncs, one at a time, within its limits: a token bucket of resyncs per minute
 * (`TICKWORK_BOOK_RESYNCS_PER_MIN`), and for REST snapshots the REST weight budget (its share of the
 * venue's weight per minute), a pause until `Retry-After` after a 429 (at least 2 min after a 418 ban)
 * and until the next minute when the venue's used-weight header nears its limit. A symbol queued
 * twice is fetched once: a storm of failures is one request per symbol.
 */
export class ResyncQueue implements ResyncExecutor {
  private readonly queue: Job[] = [];
  private readonly queued = new Set<string>();
  private readonly resyncs: TokenBucket;
  private readonly weight: TokenBucket | null;
  private readonly now: () => number;
  private pausedUntil = 0;
  private running = false;

  constructor(private readonly opts: ResyncQueueOptions) {
    this.now = opts.now ?? Date.now;
    const perMin = opts.resyncsPerMin;
    this.resyncs = new TokenBucket({ capacity: Math.max(5, Math.ceil(perMin / 10)), refillPerSec: perMin / 60 });
    const w = opts.rest?.weightPerMin;
    this.weight = w !== undefined && w > 0 ? new TokenBucket({ capacity: w, refillPerSec: w / 60 }) : null;
  }

  get pending(): number {
    return this.queue.length;
  }

  enqueue(driver: BookDriver, req: BookRequest): void {
    const key = `${req.symbol}\u0000${req.kind}`;
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push({ driver, req });
    if (!this.running) void this.run();
  }

  private async run(): Promise<void> {
    this.running = true;
    const { signal, log } = this.opts;
    try {
      while (this.queue.length > 0 && !signal.aborted) {
        const job = this.queue[0]!;
        // a first sync is the subscription's own cost, not a resync; only resyncs spend the bucket
        if (job.req.reason !== 'initial' && !this.resyncs.tryTake()) {
          bookMetrics.waits.inc({ venue: this.opts.venue, what: 'resyncs' });
          await this.resyncs.take(1, signal);
        }
        this.queue.shift();
        this.queued.delete(`${job.req.symbol}\u0000${job.req.kind}`);
        if (job.req.kind === 'resubscribe') await job.driver.resubscribe(job.req.symbol);
        else await this.snapshot(job);
      }
    } catch (err) {
      if (!signal.aborted) log.error({ err }, 'book resync queue failed');
    } finally {
      this.running = false;
    }
  }

  private async snapshot(job: Job): Promise<void> {
    const rest = this.opts.rest;
    const { driver, req } = job;
    const { signal, venue, log } = this.opts;
    if (rest === undefined) {
      driver.onSnapshotFailed(req.symbol, this.now(), 60_000);
      return;
    }
    const wait = this.pausedUntil - this.now();
    if (wait > 0) {
      bookMetrics.waits.inc({ venue, what: 'retry-after' });
      await sleep(wait, signal);
    }
    if (this.weight !== null) {
      const w = Math.min(rest.depth.weight, this.weight.capacity);
      if (!this.weight.tryTake(w)) {
        bookMetrics.waits.inc({ venue, what: 'rest-weight' });
        await this.weight.take(w, signal);
      }
    }
    let res;
    try {
      res = await getResponse(rest.baseUrl + rest.depth.path(req.venueSymbol), { timeoutMs: 10_000, signal, variable: rest.variable });
    } catch (err) {
      if (signal.aborted) return;
      bookMetrics.snapshots.inc({ venue, result: 'error' });
      log.warn({ err, symbol: req.symbol }, 'depth snapshot request failed');
      driver.onSnapshotFailed(req.symbol, this.now(), 1000);
      return;
    }
    const now = this.now();
    this.watchWeight(res.header('x-mbx-used-weight-1m'), rest.venueWeightPerMin, now);
    if (res.status === 200) {
      bookMetrics.snapshots.inc({ venue, result: 'ok' });
      driver.onSnapshot(req.symbol, res.body, now);
      return;
    }
    if (res.status === 429 || res.status === 418) {
      const seconds = Number(res.header('retry-after'));
      let ms = Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : 60_000;
      if (res.status === 418) ms = Math.max(ms, BAN_MIN_MS);
      this.pausedUntil = Math.max(this.pausedUntil, now + ms);
      bookMetrics.snapshots.inc({ venue, result: res.status === 418 ? 'banned' : 'rate-limited' });
      log.warn({ symbol: req.symbol, status: res.status, retryAfterMs: ms }, 'depth snapshot rate-limited; every snapshot of the venue waits');
      driver.onSnapshotFailed(req.symbol, now, ms);
      return;
    }
    bookMetrics.snapshots.inc({ venue, result: 'error' });
    log.warn({ symbol: req.symbol, status: res.status, body: res.body.slice(0, 200) }, 'depth snapshot refused');
    driver.onSnapshotFailed(req.symbol, now, 5000);
  }

  /**
   * Binance's `X-MBX-USED-WEIGHT-1M` counts the IP's weight in the current minute (every process
   * on it): near the venue's limit, snapshots wait for the next minute.
   */
  private watchWeight(header: string | null, limit: number, now: number): void {
    if (header === null) return;
    const used = Number(header);
    if (!Number.isFinite(used) || used < limit * 0.9) return;
    this.pausedUntil = Math.max(this.pausedUntil, Math.ceil((now + 1) / 60_000) * 60_000);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
