/** The numbers a replay's progress line shows, at one instant. */
export interface ProgressView {
  bytesRead: number;
  totalBytes: number;
  /** bytesRead / totalBytes, 0..1. */
  fraction: number;
  /** Trades read from the file (published, refused or passed over). */
  read: number;
  /** Acknowledged by JetStream: stored (new) and duplicates. */
  stored: number;
  duplicates: number;
  /** Passed over: already in the symbol's snapshot. */
  applied: number;
  /** Refused: older than what the symbol applied. */
  tooOld: number;
  /** Published and lost (no PubAck within the hold). */
  lost: number;
  /** Published and not yet acknowledged. */
  inFlight: number;
  elapsedMs: number;
  /** Acknowledged trades per second since the start. */
  rate: number;
}

/**
 * A replay's counters, moved by the replay as it reads and as PubAcks arrive, and read by a
 * ticker for the progress bar. The clock is injected (tests drive it).
 */
export class ReplayProgress {
  bytesRead = 0;
  read = 0;
  published = 0;
  stored = 0;
  duplicates = 0;
  applied = 0;
  tooOld = 0;
  lost = 0;
  private readonly startedAt: number;

  constructor(
    readonly totalBytes: number,
    private readonly now: () => number,
  ) {
    this.startedAt = now();
  }

  view(): ProgressView {
    const elapsedMs = Math.max(0, this.now() - this.startedAt);
    const acked = this.stored + this.duplicates;
    return {
      bytesRead: this.bytesRead,
      totalBytes: this.totalBytes,
      fraction: this.totalBytes > 0 ? Math.min(1, this.bytesRead / this.totalBytes) : 1,
      read: this.read,
      stored: this.stored,
      duplicates: this.duplicates,
      applied: this.applied,
      tooOld: this.tooOld,
      lost: this.lost,
      inFlight: this.published - acked - this.lost,
      elapsedMs,
      rate: elapsedMs > 0 ? Math.round((acked * 1000) / elapsedMs) : 0,
    };
  }
}

/** A repeating timer, injectable (tests use a controlled one). */
export interface Scheduler {
  every(ms: number, fn: () => void): { cancel(): void };
}

export const realScheduler: Scheduler = {
  every(ms, fn) {
    const t = setInterval(fn, ms);
    t.unref();
    return { cancel: () => clearInterval(t) };
  },
};

/** How often the progress is drawn at least, whether or not anything moved (a stalled replay shows it is stalled). */
export const PROGRESS_EVERY_MS = 250;

/**
 * Draws `progress` through `render` every `everyMs` (and once more on stop), independent of how
 * fast trades flow: a reader blocked on back-pressure or a server that went away still updates.
 */
export function tickProgress(progress: ReplayProgress, render: (v: ProgressView) => void, scheduler: Scheduler = realScheduler, everyMs = PROGRESS_EVERY_MS): { stop(): void } {
  render(progress.view());
  const timer = scheduler.every(everyMs, () => render(progress.view()));
  return {
    stop() {
      timer.cancel();
      render(progress.view());
    },
  };
}

/** One line for logs: `42.0% of 12.3 MB read, 10,000 stored, 12 duplicates, 64 in flight, 5,210/s`. */
export function progressLine(v: ProgressView): string {
  const parts = [`${(v.fraction * 100).toFixed(1)}% of ${mb(v.totalBytes)} read`, `${int(v.stored)} stored`, `${int(v.duplicates)} duplicates`];
  if (v.applied) parts.push(`${int(v.applied)} already applied`);
  if (v.tooOld) parts.push(`${int(v.tooOld)} too old`);
  if (v.lost) parts.push(`${int(v.lost)} lost`);
  parts.push(`${int(v.inFlight)} in flight`, `${int(v.rate)}/s`);
  return parts.join(', ');
}

const int = (n: number): string => n.toLocaleString('en-US');
const mb = (bytes: number): string => `${(bytes / 1_048_576).toFixed(1)} MB`;
