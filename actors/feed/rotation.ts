import type { IncarnationTimers } from '../../runtime/actor/index.js';
import type { Logger } from '../../runtime/logger.js';
import type { SendBudget, SocketLink } from '../../runtime/transport/index.js';
import type { VenueAdapter } from '../../venues/kit/types.js';
import type { FeedStats } from './metrics.js';

/** One open socket with the adapter that understands it. */
export interface Link {
  socket: SocketLink;
  /** Socket generation (see ConnectionSlot.gen). */
  gen: number;
  adapter: VenueAdapter;
  /** Subscribe/unsubscribe requests on this socket (OKX: 480 per hour), spent besides the message budgets. */
  subs: SendBudget[];
  /** Whether the catch-up after (re)connecting ran (or is not needed, as for a rotation's replacement). */
  caughtUp: boolean;
}

export interface RotationDeps {
  /** Open a replacement after this age; 0 = never. */
  rotateAfterMs: number;
  /** Keep the old socket this long after the new one delivers. */
  rotateOverlapMs: number;
  /** A quiet market may deliver nothing on the new socket: promote anyway after overlap + this. */
  silenceMs: number;
  stats: FeedStats;
  log: Logger;
  timers: IncarnationTimers;
  signal: AbortSignal;
  /** Opens the next socket (within the venue's connect limit). */
  connect(): Promise<Link>;
  /** Sends the connection's subscriptions on a fresh socket. */
  subscribe(link: Link): Promise<void>;
  /** Asks the connection actor to rotate: through its mailbox, so a rotation runs between frames. */
  request(): void;
}

/**
 * The connection's current socket and, during a rotation, its replacement: venues that cut
 * connections at a fixed age (Binance, 24 h) get a new socket before that, subscribed while the
 * old one still delivers, and promoted once it delivers itself. Overlapping trades are dropped as
 * repeats by the gap tracker, overlapping quotes by their Nats-Msg-Id.
 */
export class Rotation {
  current: Link | null = null;
  replacement: Link | null = null;
  private promoteTimer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: RotationDeps) {}

  /** Every open socket: the current one and, while rotating, the replacement. */
  links(): Link[] {
    const out: Link[] = [];
    if (this.current) out.push(this.current);
    if (this.replacement) out.push(this.replacement);
    return out;
  }

  schedule(): void {
    const after = this.deps.rotateAfterMs;
    if (after > 0) this.deps.timers.later(after, () => this.deps.request());
  }

  /** Opens the next socket beside the current one; both deliver until the new one is promoted. */
  async rotate(): Promise<void> {
    if (this.replacement !== null || this.current === null) return;
    const { log, timers } = this.deps;
    log.info({ gen: this.current.gen }, 'rotating connection before the venue cut-off');
    let link: Link;
    try {
      link = await this.deps.connect();
    } catch (err) {
      if (this.deps.signal.aborted) throw err;
      log.warn({ err: (err as Error).message }, 'rotation connect failed; retrying later');
      this.retryLater();
      return;
    }
    link.caughtUp = true; // the current socket is still delivering: nothing to catch up
    this.replacement = link;
    await this.deps.subscribe(link);
    timers.later(this.deps.rotateOverlapMs + this.deps.silenceMs, () => this.promote(link));
  }

  /** A frame arrived from socket `gen`: the replacement delivering is promoted after the overlap. */
  delivered(gen: number): void {
    const rep = this.replacement;
    if (rep === null || rep.gen !== gen || this.promoteTimer !== null) return;
    this.promoteTimer = this.deps.timers.later(this.deps.rotateOverlapMs, () => this.promote(rep));
  }

  /** Socket `gen` ended. True when it was the replacement: only the rotation is retried, later. */
  ended(gen: number, err: Error): boolean {
    if (this.replacement?.gen !== gen) return false;
    this.deps.log.warn({ err: err.message }, 'replacement connection failed; retrying the rotation later');
    this.replacement.socket.discard('terminate');
    this.replacement = null;
    this.retryLater();
    return true;
  }

  /** Terminates every socket (the incarnation ended). */
  close(): void {
    for (const l of this.links()) l.socket.discard('terminate');
    this.current = null;
    this.replacement = null;
  }

  private retryLater(): void {
    this.deps.timers.later(Math.max(1000, this.deps.rotateOverlapMs), () => this.deps.request());
  }

  private promote(rep: Link): void {
    if (this.replacement !== rep || this.current === null) return;
    const old = this.current;
    this.current = rep;
    this.replacement = null;
    this.promoteTimer = null;
    // Close politely; its frames still queued are parsed with its adapter (kept in slot.parsers).
    old.socket.discard('close');
    this.deps.stats.reconnect('rotation');
    this.schedule();
  }
}

/**
 * When to rotate: only venues that cut connections at a fixed age (Binance, 24 h) need it, and
 * never later than that cut-off minus the overlap and a minute, so the replacement is delivering
 * before the venue drops the old connection. `configuredMs` 0 turns rotation off.
 */
export function rotationAge(configuredMs: number, overlapMs: number, venueMaxAgeMs: number | undefined): number {
  if (venueMaxAgeMs === undefined || configuredMs <= 0) return 0;
  return Math.min(configuredMs, Math.max(1000, venueMaxAgeMs - overlapMs - 60_000));
}
