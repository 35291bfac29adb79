/**
 * Timers owned by one actor incarnation: never armed once `signal` aborted, all cleared when it
 * aborts, so no callback outlives the incarnation that set it.
 */
export class IncarnationTimers {
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(private readonly signal: AbortSignal) {
    signal.addEventListener('abort', () => this.clear(), { once: true });
  }

  every(ms: number, fn: () => void): void {
    if (!this.signal.aborted) this.timers.push(setInterval(fn, ms));
  }

  later(ms: number, fn: () => void): NodeJS.Timeout | null {
    if (this.signal.aborted) return null;
    const t = setTimeout(fn, ms);
    this.timers.push(t);
    return t;
  }

  clear(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.length = 0;
  }
}
