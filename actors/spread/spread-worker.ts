import { ActorRegistry, KEYED_ACTOR_POLICY } from '../../runtime/actor/index.js';
import type { Logger } from '../../runtime/logger.js';
import type { Namespace } from '../../runtime/namespace.js';
import { PipelinedPublisher, StreamSource, type NatsHandles } from '../../runtime/nats/index.js';
import type { ArbitrageRecord } from '../../schemas/arbitrage.js';
import { BOOK_STREAM, BOOK_STREAM_SUBJECTS, BookEventCheck, BookSnapCheck, type BookEvent, type BookSnap } from '../../schemas/book.js';
import { DERIV_STREAM, DERIV_STREAM_SUBJECTS, DerivTickerCheck, type DerivTicker } from '../../schemas/deriv.js';
import { QuoteCheck, type Quote } from '../../schemas/quote.js';
import { arbSubject, dlqSubjectOf, STREAMS, STREAM_SUBJECTS } from '../../schemas/subjects.js';
import { ArbitrageWriter, type ArbitrageSink } from './arbitrage-writer.js';
import { spreadCosts, type SpreadConfig } from './config.js';
import { FundingRecorder, type FundingSink } from './funding-recorder.js';
import { spreadMetrics as m } from './metrics.js';
import { SpreadActor, type SpreadMsg } from './spread-actor.js';

export interface SpreadWorkerDeps {
  nats: NatsHandles;
  ns: Namespace;
  /** PostgreSQL: store/arbitrage.ts `ArbitrageStore`. */
  store: ArbitrageSink;
  /** PostgreSQL: store/funding.ts `FundingStore`; null: settled funding rates are not recorded here. */
  funding: FundingSink | null;
  cfg: SpreadConfig;
  log: Logger;
  /** Clock for episodes and staleness (tests); default Date.now. */
  now?: () => number;
  /** Timer-driven evaluations (episode timers, book ages) every TICKWORK_ARB_TICK_MS; false in tests that send ticks themselves. */
  ticks?: boolean;
  onEscalate?: (err: unknown) => void;
}

/** Retry period of a stream that does not exist yet (MD_BOOKS, MD_DERIVS: made by the feeds that publish them). */
const REOPEN_MS = 5_000;

/**
 * The spread actors' intake, one SpreadActor per canonical symbol:
 * - `md.book.>` (core NATS) and MD_BOOKS (the last top-N per book, then each new one): book mirrors;
 * - MD_QUOTES: tops of book of venues without a live book;
 * - MD_DERIVS: derivative tickers for funding spreads, and (durable) settled funding rates → PostgreSQL;
 * out: md.arb.<SYMBOL> (MD_ARB) episode events and one PostgreSQL row per episode.
 * Spreads are live signals: the ordered consumers start at what is published from now on (MD_BOOKS
 * from its last message per book, to bootstrap the mirrors); nothing is replayed after a restart.
 */
export class SpreadWorker {
  private readonly registry: ActorRegistry<string, SpreadMsg>;
  private readonly publisher: PipelinedPublisher;
  private readonly writer: ArbitrageWriter;
  private readonly recorder: FundingRecorder | null;
  private readonly sources: StreamSource<unknown>[] = [];
  private readonly loops: Promise<void>[] = [];
  private bookSub: ReturnType<NatsHandles['nc']['subscribe']> | null = null;
  private tickTimer: NodeJS.Timeout | undefined;
  private readonly retries = new Set<NodeJS.Timeout>();
  private stopping = false;

  constructor(private readonly deps: SpreadWorkerDeps) {
    const { cfg, log } = deps;
    this.publisher = new PipelinedPublisher(deps.nats, { maxInFlight: 256 });
    this.writer = new ArbitrageWriter(deps.store, log, { flushMs: cfg.TICKWORK_ARB_FLUSH_MS });
    this.recorder = deps.funding ? new FundingRecorder({ nats: deps.nats, ns: deps.ns, sink: deps.funding, log }) : null;
    const costs = spreadCosts(cfg);
    const now = deps.now ?? Date.now;
    const emit = (event: ArbitrageRecord, row: ArbitrageRecord) => this.emit(event, row);
    this.registry = new ActorRegistry<string, SpreadMsg>('spread', {
      behavior: (symbol) =>
        new SpreadActor(symbol, {
          costs,
          staleMs: cfg.TICKWORK_ARB_STALE_MS,
          fundingStaleMs: cfg.TICKWORK_ARB_FUNDING_STALE_MS,
          openAfterMs: cfg.TICKWORK_ARB_OPEN_AFTER_MS,
          updateMs: cfg.TICKWORK_ARB_UPDATE_MS,
          now,
          emit,
        }),
      supervisor: KEYED_ACTOR_POLICY,
      mailboxSize: 4096,
      kind: 'spread',
      log,
      ...(deps.onEscalate ? { onEscalate: deps.onEscalate } : {}),
    });
  }

  /** Symbols with a live actor. */
  get symbols(): string[] {
    return this.registry.keys();
  }

  /** Resolves once the book subscription and the quote consumer exist: everything published after this is seen. */
  async start(): Promise<void> {
    const { nats, ns, log, cfg } = this.deps;
    // Books first: events that arrive before a mirror's snapshot are held until one bridges them.
    const sub = nats.nc.subscribe(ns.subject('md.book.>'));
    this.bookSub = sub;
    this.loops.push(this.consumeBooks());
    const deadLetter = { publisher: this.publisher, subjectFor: (subject: string) => ns.subject(dlqSubjectOf(ns.unsubject(subject))) };
    await this.openSource<Quote>('quotes', ns.stream(STREAMS.quotes), ns.subject(STREAM_SUBJECTS.quotes), 'new', QuoteCheck, (q) => ({ key: q.symbol, msg: { t: 'quote', quote: q } }), deadLetter);
    await this.openSource<BookSnap>('booksnaps', ns.stream(BOOK_STREAM), ns.subject(BOOK_STREAM_SUBJECTS), { afterSeq: 0 }, BookSnapCheck, (s) => ({ key: s.symbol, msg: { t: 'snap', snap: s } }));
    await this.openSource<DerivTicker>('derivs', ns.stream(DERIV_STREAM), ns.subject(DERIV_STREAM_SUBJECTS), 'new', DerivTickerCheck, (t) => ({ key: t.symbol, msg: { t: 'deriv', ticker: t } }));
    await this.recorder?.start();
    this.writer.start();
    if (this.deps.ticks !== false) {
      this.tickTimer = setInterval(() => this.tick(), cfg.TICKWORK_ARB_TICK_MS);
      this.tickTimer.unref();
    }
    log.info('spread actors consuming md.book, MD_BOOKS, MD_QUOTES and MD_DERIVS');
  }

  /** One evaluation round for every symbol (episode timers, book ages); the timer calls it. */
  tick(): void {
    for (const key of this.registry.keys()) this.registry.get(key)?.trySend({ t: 'tick' });
  }

  /** Sends one message to a symbol's actor (tests, and every intake). */
  send(symbol: string, msg: SpreadMsg): Promise<void> {
    return this.registry.send(symbol, msg);
  }

  /** Stops intake, drains the actors (closing open episodes), waits for MD_ARB acks, writes the last rows to PostgreSQL. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.tickTimer);
    for (const t of this.retries) clearTimeout(t);
    this.bookSub?.unsubscribe();
    for (const s of this.sources) await s.close();
    await Promise.all(this.loops);
    await this.recorder?.stop();
    await this.registry.stopAll();
    await this.publisher.flush();
    await this.writer.stop();
  }

  private async consumeBooks(): Promise<void> {
    const dec = new TextDecoder();
    try {
      for await (const msg of this.bookSub!) {
        if (this.stopping) return;
        let e: unknown;
        try {
          e = JSON.parse(dec.decode(msg.data));
        } catch {
          e = undefined;
        }
        if (!BookEventCheck.Check(e)) {
          m.invalid.inc();
          continue;
        }
        await this.registry.send(e.symbol, { t: 'book', event: e as BookEvent });
      }
    } catch (err) {
      if (!this.stopping) this.deps.log.error({ err }, 'md.book subscription ended');
    }
  }

  /**
   * An ordered source into the actors. A stream that does not exist yet (no feed created it) is
   * retried every few seconds instead of failing the process.
   */
  private async openSource<T>(
    name: string,
    stream: string,
    filter: string,
    start: 'new' | { afterSeq: number },
    check: { Check(v: unknown): v is T; Errors(v: unknown): { First(): { path: string; message: string } | undefined } },
    route: (v: T) => { key: string; msg: SpreadMsg },
    deadLetter?: { publisher: PipelinedPublisher; subjectFor(subject: string): string },
  ): Promise<void> {
    const { nats, log } = this.deps;
    let source: StreamSource<T>;
    try {
      source = await StreamSource.open<T>({
        nats,
        stream,
        filter,
        start,
        check,
        ...(deadLetter ? { deadLetter } : {}),
        onInvalid: () => m.invalid.inc(),
        maxBatch: 256,
        prefetch: 4096,
        name: `spread-${name}`,
        log,
      });
    } catch (err) {
      if (this.stopping) return;
      log.warn({ stream, err: (err as Error).message }, `spread: ${stream} not readable yet; retrying`);
      const t = setTimeout(() => {
        this.retries.delete(t);
        void this.openSource(name, stream, filter, start, check, route, deadLetter);
      }, REOPEN_MS);
      t.unref();
      this.retries.add(t);
      return;
    }
    this.sources.push(source as StreamSource<unknown>);
    this.loops.push(
      (async () => {
        try {
          for await (const batch of source) {
            for (const { value } of batch.items) {
              if (this.stopping) return;
              const { key, msg } = route(value);
              await this.registry.send(key, msg);
            }
          }
        } catch (err) {
          if (!this.stopping) log.error({ err, stream }, 'spread consumer ended');
        }
      })(),
    );
  }

  private async emit(event: ArbitrageRecord, row: ArbitrageRecord): Promise<void> {
    const { stored } = await this.publisher.publish(this.deps.ns.subject(arbSubject(event.symbol)), JSON.stringify(event), event.id);
    stored.catch((err: unknown) => this.deps.log.warn({ err: (err as Error).message, id: event.id }, 'md.arb publish failed'));
    this.writer.add(row);
  }
}
