import { DeliverPolicy, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { ActorRegistry, type SupervisorPolicy } from '../../runtime/actor/index.js';
import { parseDecimal } from '../../runtime/decimal.js';
import type { Logger } from '../../runtime/logger.js';
import type { Namespace } from '../../runtime/namespace.js';
import type { NatsHandles } from '../../runtime/nats.js';
import { PipelinedPublisher } from '../../runtime/publisher.js';
import type { ArbitrageRecord } from '../../schemas/arbitrage.js';
import { QuoteCheck, type Quote } from '../../schemas/quote.js';
import { arbSubject, STREAMS, STREAM_SUBJECTS } from '../../schemas/subjects.js';
import { ArbitrageWriter, type ArbitrageSink } from './arbitrage-writer.js';
import type { SpreadConfig } from './config.js';
import { spreadMetrics as m } from './metrics.js';
import { SpreadActor, type SpreadMsg } from './spread-actor.js';

export interface SpreadWorkerDeps {
  nats: NatsHandles;
  ns: Namespace;
  /** PostgreSQL: store/arbitrage.ts `ArbitrageStore`. */
  store: ArbitrageSink;
  cfg: SpreadConfig;
  log: Logger;
  /** Clock for staleness (tests); default Date.now. */
  now?: () => number;
  onEscalate?: (err: unknown) => void;
}

/**
 * MD_QUOTES → one SpreadActor per canonical symbol → md.arb.<SYMBOL> (MD_ARB) + PostgreSQL.
 * Spreads are live signals, so the ordered consumer starts at the quotes published from now
 * on; nothing is replayed after a restart (old quotes would be stale anyway).
 */
export class SpreadWorker {
  private readonly registry: ActorRegistry<string, SpreadMsg>;
  private readonly publisher: PipelinedPublisher;
  private readonly writer: ArbitrageWriter;
  private messages: ConsumerMessages | null = null;
  private loop: Promise<void> | null = null;
  private stopping = false;

  constructor(private readonly deps: SpreadWorkerDeps) {
    const { cfg, log } = deps;
    this.publisher = new PipelinedPublisher(deps.nats, { maxInFlight: 256 });
    this.writer = new ArbitrageWriter(deps.store, log, { flushMs: cfg.TICKWORK_ARB_FLUSH_MS });
    const policy: SupervisorPolicy = {
      strategy: 'one-for-one',
      backoff: { initialMs: 50, maxMs: 5_000, multiplier: 2 },
      intensity: { maxRestarts: 100, withinMs: 60_000 },
    };
    const minBps = parseDecimal(cfg.TICKWORK_ARB_MIN_BPS);
    const now = deps.now ?? Date.now;
    const emit = (rec: ArbitrageRecord) => this.emit(rec);
    this.registry = new ActorRegistry<string, SpreadMsg>('spread', {
      behavior: (symbol) => new SpreadActor(symbol, { staleMs: cfg.TICKWORK_ARB_STALE_MS, minBps, now, emit }),
      supervisor: policy,
      // A symbol silent for twice the staleness holds only stale quotes: nothing is lost by passivating it.
      idleMs: Math.max(60_000, 2 * cfg.TICKWORK_ARB_STALE_MS),
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

  /** Resolves once the consumer exists: every quote published after this is seen. */
  async start(): Promise<void> {
    const { nats, ns, log } = this.deps;
    const stream = ns.stream(STREAMS.quotes);
    // DeliverPolicy.New pinned to a sequence: an ordered consumer recreated before its first
    // message would otherwise restart from sequence 1 and replay the whole stream.
    const info = await nats.jsm.streams.info(stream);
    const consumer = await nats.js.consumers.get(stream, {
      filter_subjects: ns.subject(STREAM_SUBJECTS.quotes),
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: info.state.last_seq + 1,
    });
    this.messages = await consumer.consume({ max_messages: 4096 });
    this.writer.start();
    this.loop = this.consume(this.messages);
    log.info({ from: info.state.last_seq + 1 }, 'spread actors consuming MD_QUOTES');
  }

  /** Stops intake, drains the actors, waits for MD_ARB acks, writes the last batch to PostgreSQL. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.messages?.close();
    await this.loop;
    await this.registry.stopAll();
    await this.publisher.flush();
    await this.writer.stop();
  }

  private async consume(messages: ConsumerMessages): Promise<void> {
    try {
      for await (const msg of messages) {
        if (this.stopping) break;
        const quote = decode(msg);
        if (quote === null) {
          m.invalid.inc();
          continue;
        }
        await this.registry.send(quote.symbol, { t: 'quote', quote });
      }
    } catch (err) {
      if (!this.stopping) this.deps.log.error({ err }, 'MD_QUOTES consumer ended');
    }
  }

  private async emit(rec: ArbitrageRecord): Promise<void> {
    const { stored } = await this.publisher.publish(this.deps.ns.subject(arbSubject(rec.symbol)), JSON.stringify(rec), rec.id);
    stored.catch((err: unknown) => this.deps.log.warn({ err: (err as Error).message, id: rec.id }, 'md.arb publish failed'));
    this.writer.add(rec);
  }
}

function decode(msg: JsMsg): Quote | null {
  try {
    const q = msg.json<unknown>();
    return QuoteCheck.Check(q) ? q : null;
  } catch {
    return null;
  }
}
