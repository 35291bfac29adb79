import { AckPolicy, DeliverPolicy, type Consumer, type JsMsg } from '@nats-io/jetstream';
import { backoffDelay, sleep } from '../../runtime/backoff.js';
import type { Logger } from '../../runtime/logger.js';
import { counter, gauge } from '../../runtime/metrics.js';
import type { Namespace } from '../../runtime/namespace.js';
import type { NatsHandles } from '../../runtime/nats.js';
import { CandleCheck, type Candle } from '../../schemas/candle.js';
import { STREAMS } from '../../schemas/subjects.js';
import type { CandleStore } from '../../store/candles.js';

const m = {
  written: counter({ name: 'tickwork_sink_candles_total', help: 'Candles written to PostgreSQL by the sink', labelNames: [] as const }),
  retries: counter({ name: 'tickwork_sink_retries_total', help: 'Batch writes retried (PostgreSQL unavailable)', labelNames: [] as const }),
  invalid: counter({ name: 'tickwork_sink_invalid_total', help: 'MD_CANDLES messages that are not candles (terminated)', labelNames: [] as const }),
  pending: gauge({ name: 'tickwork_sink_pending', help: 'MD_CANDLES messages not yet written', labelNames: [] as const }),
};

export interface CandleSinkDeps {
  nats: NatsHandles;
  ns: Namespace;
  store: CandleStore;
  log: Logger;
  batchSize?: number;
  /** Longest a partial batch waits, ms. */
  batchWaitMs?: number;
}

/**
 * MD_CANDLES → PostgreSQL. A durable consumer with explicit acks: a batch is acknowledged only
 * after its upsert committed, and retried with back-off while PostgreSQL is down (the messages
 * stay unacknowledged, so nothing is lost across crashes either). The upsert is idempotent.
 */
export class CandleSink {
  private running = false;
  private loop: Promise<void> | null = null;
  private readonly abort = new AbortController();

  constructor(private readonly deps: CandleSinkDeps) {}

  async start(): Promise<void> {
    const { nats, ns } = this.deps;
    const stream = ns.stream(STREAMS.candles);
    const durable = ns.name('pg_sink');
    try {
      await nats.jsm.consumers.info(stream, durable);
    } catch {
      await nats.jsm.consumers.add(stream, {
        durable_name: durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: 120_000_000_000,
        max_ack_pending: 20_000,
      });
    }
    const consumer = await nats.js.consumers.get(stream, durable);
    this.running = true;
    this.loop = this.run(consumer);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    await this.loop;
  }

  private async run(consumer: Consumer): Promise<void> {
    const batchSize = this.deps.batchSize ?? 2000;
    const wait = this.deps.batchWaitMs ?? 200;
    while (this.running) {
      let msgs: JsMsg[] = [];
      try {
        const iter = await consumer.fetch({ max_messages: batchSize, expires: Math.max(wait, 5000) });
        for await (const msg of iter) {
          msgs.push(msg);
          if (msgs.length >= batchSize) break;
        }
      } catch (err) {
        if (!this.running) break;
        this.deps.log.warn({ err: (err as Error).message }, 'sink fetch failed');
        await sleep(500, this.abort.signal).catch(() => undefined);
        continue;
      }
      if (msgs.length === 0) continue;
      const candles: Candle[] = [];
      const good: JsMsg[] = [];
      for (const msg of msgs) {
        let c: unknown;
        try {
          c = msg.json<unknown>();
        } catch {
          c = undefined;
        }
        if (CandleCheck.Check(c)) {
          candles.push(c);
          good.push(msg);
        } else {
          m.invalid.inc();
          msg.term('not a candle');
        }
      }
      await this.write(candles, good);
      msgs = [];
      m.pending.set(good.length ? (good[good.length - 1]!.info.pending ?? 0) : 0);
    }
  }

  /** Retries until written; holds the batch (messages stay unacked, ack deadline extended). */
  private async write(candles: Candle[], msgs: JsMsg[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        if (candles.length) await this.deps.store.upsert(candles);
        for (const msg of msgs) msg.ack();
        m.written.inc(candles.length);
        return;
      } catch (err) {
        m.retries.inc();
        const delay = backoffDelay(attempt, { initialMs: 200, maxMs: 5_000, multiplier: 2 });
        this.deps.log.warn({ err: (err as Error).message, attempt, delay, batch: candles.length }, 'candle upsert failed; retrying');
        for (const msg of msgs) msg.working();
        if (!this.running && attempt > 3) {
          // Shutting down: leave the batch unacknowledged; it is redelivered on the next start.
          for (const msg of msgs) msg.nak();
          return;
        }
        await sleep(delay);
      }
    }
  }
}
