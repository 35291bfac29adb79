import { DeliverPolicy, type Consumer, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import type { MsgHdrs, Status } from '@nats-io/transport-node';
import { backoffDelay, sleep } from '../backoff.js';
import type { Logger } from '../logger.js';
import { counter, gauge } from '../metrics.js';
import type { NatsHandles } from './connection.js';
import type { DeadLetterInfo, PipelinedPublisher } from './publisher.js';
import { ensureDurableConsumer, type DurableSpec } from './streams.js';

/**
 * Where a StreamSource starts:
 * - `{ afterSeq }`: an ordered consumer (ephemeral, no acks) from the sequence after it;
 * - `'new'`: an ordered consumer from the next message published (nothing replayed);
 * - `{ durable }`: a durable consumer with explicit acks, resuming where it left off.
 */
export type SourceStart = { afterSeq: number } | 'new' | DurableStart;
type DurableStart = { durable: string; ackWaitMs: number; maxAckPending: number };

/** What happens to a message that does not decode or check: published to a dead-letter subject with its reason. */
export interface DeadLetterPolicy {
  publisher: PipelinedPublisher;
  /** The dead-letter subject of a message's subject (e.g. md.dlq.<venue>). */
  subjectFor(subject: string): string;
}

/** A compiled TypeBox checker (`TypeCompiler.Compile(schema)`), or anything shaped like one. */
export interface Checker<T> {
  Check(value: unknown): value is T;
  Errors(value: unknown): { First(): { path: string; message: string } | undefined };
}

export interface StreamSourceOptions<T> {
  nats: NatsHandles;
  stream: string;
  /** Subject filter (namespaced) of ordered sources, or several (NATS >= 2.10), [] for none; a durable one reads its whole stream. */
  filter: string | string[];
  start: SourceStart;
  /** The TypeBox checker every message must pass. */
  check: Checker<T>;
  /** Dead letters; absent: invalid messages are only counted (they were dead-lettered before, e.g. when first read). */
  deadLetter?: DeadLetterPolicy;
  /** True for messages to pass over without decoding (another shard's subjects); they still advance `lastSeq`. */
  skip?: (subject: string) => boolean;
  /** Called once per invalid message (metrics). */
  onInvalid?: (reason: DeadLetterInfo) => void;
  /** Most messages per batch. */
  maxBatch: number;
  /** How long a batch waits for more messages after its first; 0 (default): only what has arrived. */
  lingerMs?: number;
  /** Messages the client pulls ahead of processing. Default 4 × maxBatch. */
  prefetch?: number;
  /** Pull request lifetime, ms (>= 1000; default 2000): idle heartbeats every half of it tell a live server from a lost one. */
  expiresMs?: number;
  /** Label of this consumer's metrics (default: the durable name, or `ordered`). */
  name?: string;
  log: Logger;
}

export interface Delivered<T> {
  value: T;
  seq: number;
  subject: string;
  /** The message's headers (e.g. a candle's revision), when it has any. */
  headers: MsgHdrs | undefined;
}

/** Messages that arrived together, decoded and checked. */
export interface Batch<T> {
  items: Delivered<T>[];
  /** Highest stream sequence of the batch, skipped and invalid messages included. */
  lastSeq: number;
  /** Messages the consumer had not delivered yet when the batch's last message was sent. */
  pending(): number;
  /** Durable sources: acknowledges the batch's messages (call after processing them). */
  ack(): void;
  /** Durable sources: extends the ack deadline while processing takes long (e.g. retries). */
  working(): void;
  /** Durable sources: asks for redelivery. */
  nak(): void;
  /**
   * Refuses one item the caller's own checks failed: dead-lettered with `why` by the source's one
   * policy (a durable source then terminates it; a later `ack` passes over it).
   */
  reject(item: Delivered<T>, why: DeadLetterInfo): Promise<void>;
}

const NONE: readonly JsMsg[] = [];

const m = {
  pending: gauge({ name: 'tickwork_stream_consumer_pending', help: 'Messages the consumer had not delivered yet (lag), as of its last batch', labelNames: ['stream', 'consumer'] as const }),
  delivered: gauge({ name: 'tickwork_stream_consumer_last_seq', help: 'Stream sequence of the last message the consumer delivered', labelNames: ['stream', 'consumer'] as const }),
  idle: gauge({ name: 'tickwork_stream_consumer_silent_seconds', help: 'Seconds the consumer has waited without a message or heartbeat (0 while busy)', labelNames: ['stream', 'consumer'] as const }),
  restarts: counter({ name: 'tickwork_stream_consumer_restarts_total', help: 'Consumers re-created by the source, by reason (stalled, ended, error)', labelNames: ['stream', 'consumer', 'reason'] as const }),
  resets: counter({ name: 'tickwork_stream_consumer_resets_total', help: 'Recoveries by the client library (ordered consumer re-created, pull re-issued after missed heartbeats)', labelNames: ['stream', 'consumer', 'kind'] as const }),
};

/** Pull requests expire and are re-issued this often; the server sends an idle heartbeat every half of it. */
const DEFAULT_EXPIRES_MS = 2_000;
/** Without a message or heartbeat for this many heartbeat intervals while connected, the consumer is re-created. */
const STALL_HEARTBEATS = 3;
// Capped at 1 s: re-creation is one API request, and a new stream leader (elected in 1–3 s)
// should be read from within a second of taking over, not after a 2 s wait grown while it was elected.
const RESTART_BACKOFF = { initialMs: 100, maxMs: 1_000, multiplier: 2 };

/**
 * The one way tickwork consumes a JetStream stream: `for await` over batches of decoded,
 * checked messages, one dead-letter policy for the rest (reason headers by the publisher; a
 * durable source terminates them once dead-lettered), acknowledgement left to the caller.
 *
 * It outlives the server: pulls carry idle heartbeats (`expiresMs`/2), so the client library
 * re-issues a pull or re-creates an ordered consumer when the server or a stream leader comes
 * back; if that has not brought a message or heartbeat within three heartbeat intervals of the
 * connection being up, the source re-creates the consumer itself (an ordered one from the
 * sequence after the last it delivered, a durable one by name, created again if it is gone).
 */
export class StreamSource<T> implements AsyncIterable<Batch<T>> {
  private messages: ConsumerMessages | null = null;
  private closed = false;
  private readonly dec = new TextDecoder();
  /** Stream sequence of the last message handed out (ordered sources resume after it). */
  private lastSeq: number;
  private readonly label: { stream: string; consumer: string };
  private readonly expiresMs: number;
  private connected = true;
  /** performance.now() of the last sign of life: a message, a heartbeat, the connection coming back. */
  private lastLife = performance.now();
  /** performance.now() since the iteration waits for a message; null while a batch is being processed. */
  private waitingSince: number | null = null;
  private stalled = false;

  private constructor(
    private readonly opts: StreamSourceOptions<T>,
    private consumer: Consumer,
    private readonly durable: boolean,
    afterSeq: number,
  ) {
    this.lastSeq = afterSeq;
    this.expiresMs = Math.max(1_000, opts.expiresMs ?? DEFAULT_EXPIRES_MS);
    const name = opts.name ?? (typeof opts.start === 'object' && 'durable' in opts.start ? opts.start.durable : 'ordered');
    this.label = { stream: opts.stream, consumer: name };
  }

  /** Creates the consumer (a durable one if missing); messages flow once iterated. */
  static async open<T>(opts: StreamSourceOptions<T>): Promise<StreamSource<T>> {
    const { nats, stream, start } = opts;
    if (typeof start === 'object' && 'durable' in start) {
      return new StreamSource(opts, await durableConsumer(nats, stream, start), true, 0);
    }
    // 'new' is pinned to a sequence: an ordered consumer recreated before its first message
    // would otherwise restart from sequence 1 and replay the whole stream.
    const wildcard = typeof opts.filter === 'string' && opts.filter.endsWith('>');
    const info = start === 'new' || wildcard ? await nats.jsm.streams.info(stream) : null;
    const after = start === 'new' ? info!.state.last_seq : start.afterSeq;
    // A filter that is the stream's whole subject space is dropped: on nats-server 2.9 an ordered
    // consumer with such a wildcard, started tens of thousands of messages before the end, reads a
    // few hundred messages in seconds where the same consumer without a filter reads them all in
    // a third of a second (not on 2.10). It selects nothing more, so nothing changes but the speed.
    const subjects = info?.config.subjects ?? [];
    const own = wildcard && subjects.length === 1 && subjects[0] === opts.filter ? { ...opts, filter: [] } : opts;
    return new StreamSource(own, await orderedConsumer(own, after), false, after);
  }

  /** Ends the iteration after the batch being processed; resolves once the consumer is closed. */
  async close(): Promise<void> {
    this.closed = true;
    await this.messages?.close();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Batch<T>> {
    const unwatch = this.watch();
    try {
      yield* this.rounds();
    } finally {
      unwatch();
    }
  }

  /** One `consume()` after another: a consumer that ended, stalled or failed is re-created. */
  private async *rounds(): AsyncGenerator<Batch<T>> {
    const { log, stream } = this.opts;
    let failures = 0;
    let first = true;
    while (!this.closed) {
      let reason: 'ended' | 'stalled' | 'error' = 'ended';
      try {
        if (!first) {
          // The old ordered consumer would linger on the server for its inactive threshold.
          if (!this.durable) void this.consumer.delete().catch(() => undefined);
          this.consumer = this.durable ? await durableConsumer(this.opts.nats, stream, this.opts.start as DurableStart) : await orderedConsumer(this.opts, this.lastSeq);
        }
        first = false;
        this.stalled = false;
        this.lastLife = performance.now();
        const messages = await this.consumer.consume({ max_messages: this.opts.prefetch ?? 4 * this.opts.maxBatch, expires: this.expiresMs });
        this.messages = messages;
        if (this.closed) messages.stop();
        void this.watchConsumer(messages);
        for await (const batch of this.batches(messages)) {
          failures = 0;
          yield batch;
        }
        if (this.stalled) reason = 'stalled';
      } catch (err) {
        if (this.closed) break;
        reason = 'error';
        log.warn({ stream, consumer: this.label.consumer, err: (err as Error).message }, 'stream consumer failed; consuming again');
      }
      if (this.closed) break;
      m.restarts.inc({ ...this.label, reason });
      if (reason !== 'error') log.warn({ stream, consumer: this.label.consumer, reason, afterSeq: this.lastSeq }, 'stream consumer re-created');
      // Without spinning: the server may still be coming back.
      await sleep(backoffDelay(failures++, RESTART_BACKOFF) + 50);
    }
  }

  /** Batches from one `consume()`, until it ends or the caller stops iterating. */
  private async *batches(messages: ConsumerMessages): AsyncGenerator<Batch<T>> {
    const { maxBatch } = this.opts;
    const linger = this.opts.lingerMs ?? 0;
    const it = messages[Symbol.asyncIterator]();
    let carry: Promise<IteratorResult<JsMsg>> | null = null;
    try {
      for (;;) {
        this.waitingSince = performance.now();
        const head: IteratorResult<JsMsg> = await (carry ?? it.next());
        this.waitingSince = null;
        carry = null;
        if (head.done) return;
        this.lastLife = performance.now();
        const msgs = [head.value];
        // Whatever else has arrived (or arrives within the linger) joins the batch; the next
        // message's promise is carried over when the batch closes first.
        let wake!: () => void;
        const deadline = new Promise<null>((resolve) => (wake = () => resolve(null)));
        const timer = linger > 0 ? setTimeout(wake, linger) : setImmediate(wake);
        while (msgs.length < maxBatch) {
          const next = it.next();
          const r = await Promise.race([next, deadline]);
          if (r === null) {
            carry = next;
            break;
          }
          if (r.done) break;
          msgs.push(r.value);
        }
        if (linger > 0) clearTimeout(timer as NodeJS.Timeout);
        else clearImmediate(timer as NodeJS.Immediate);
        const batch = await this.batch(msgs);
        // An ordered source re-created after this batch resumes after it (the rest was never handed out).
        this.lastSeq = batch.lastSeq;
        m.delivered.set(this.label, batch.lastSeq);
        m.pending.set(this.label, msgs[msgs.length - 1]!.info.pending);
        yield batch;
        if (this.closed) return;
      }
    } finally {
      this.waitingSince = null;
      // The client's iterator only finishes (and `close()` only resolves) once it is returned: wake
      // a pending read first (stop() ends it), then return it, as a `break` out of `for await` does.
      if (carry) {
        messages.stop();
        await carry.catch(() => undefined);
      }
      await it.return?.(undefined);
    }
  }

  // ---- liveness -----------------------------------------------------------------------------

  /** Follows the connection and checks for a stall while the source is iterated; returns the stop. */
  private watch(): () => void {
    const status = this.opts.nats.nc.status() as AsyncIterable<Status> & { stop(): void };
    void this.watchConnection(status);
    const timer = setInterval(() => this.checkStall(), Math.max(250, this.expiresMs / 4));
    timer.unref();
    return () => {
      clearInterval(timer);
      status.stop();
      m.idle.set(this.label, 0);
    };
  }

  private async watchConnection(status: AsyncIterable<Status>): Promise<void> {
    try {
      for await (const s of status) {
        if (s.type === 'disconnect') this.connected = false;
        else if (s.type === 'reconnect') {
          this.connected = true;
          this.lastLife = performance.now();
        }
      }
    } catch {
      // ends with the connection
    }
  }

  private async watchConsumer(messages: ConsumerMessages): Promise<void> {
    try {
      for await (const n of messages.status()) {
        if (n.type === 'heartbeat') this.lastLife = performance.now();
        else if (n.type === 'ordered_consumer_recreated') m.resets.inc({ ...this.label, kind: 'recreated' });
        else if (n.type === 'heartbeats_missed') m.resets.inc({ ...this.label, kind: 'heartbeats-missed' });
      }
    } catch {
      // ends with the messages
    }
  }

  /** Connected, waiting, and nothing (message or heartbeat) for a while: the consumer is lost. */
  private checkStall(): void {
    const since = this.waitingSince;
    if (since === null || this.closed) {
      m.idle.set(this.label, 0);
      return;
    }
    const silent = performance.now() - Math.max(since, this.lastLife);
    m.idle.set(this.label, silent / 1000);
    if (!this.connected || this.stalled || silent < (STALL_HEARTBEATS * this.expiresMs) / 2) return;
    this.stalled = true;
    void this.messages?.close().catch(() => undefined);
  }

  private async batch(msgs: JsMsg[]): Promise<Batch<T>> {
    const { check, skip } = this.opts;
    const items: Delivered<T>[] = [];
    const good: JsMsg[] = [];
    for (const msg of msgs) {
      if (skip?.(msg.subject)) {
        if (this.durable) msg.ack();
        continue;
      }
      let value: unknown;
      let why: DeadLetterInfo | null = null;
      try {
        value = JSON.parse(this.dec.decode(msg.data));
        if (!check.Check(value)) {
          const e = check.Errors(value).First();
          why = { reason: 'schema', schemaPath: e?.path ?? '', detail: e ? `${e.message}` : 'invalid', source: `${msg.subject}@${msg.seq}` };
        }
      } catch (err) {
        why = { reason: 'json', detail: (err as Error).message, source: `${msg.subject}@${msg.seq}` };
      }
      if (why === null) {
        items.push(new DeliveredMessage(value as T, msg));
        good.push(msg);
      } else await this.invalid(msg, why);
    }
    const last = msgs[msgs.length - 1]!;
    const acked = this.durable ? good : NONE;
    return {
      items,
      lastSeq: last.seq,
      pending: () => last.info.pending,
      ack: () => acked.forEach((m) => m.ack()),
      working: () => acked.forEach((m) => m.working()),
      nak: () => acked.forEach((m) => m.nak()),
      reject: async (item, why) => {
        const msg = good[items.indexOf(item)];
        if (msg) await this.invalid(msg, why);
      },
    };
  }

  /** Dead-letters one message (a durable source then terminates it; if the DLQ is down it is redelivered later). */
  private async invalid(msg: JsMsg, why: DeadLetterInfo): Promise<void> {
    this.opts.onInvalid?.(why);
    const dl = this.opts.deadLetter;
    if (dl) {
      try {
        const { stored } = await dl.publisher.deadLetter(dl.subjectFor(msg.subject), msg.data, why, `dlq:${this.opts.stream}:${msg.seq}`);
        await stored;
      } catch (err) {
        this.opts.log.error({ err, seq: msg.seq, subject: msg.subject }, 'dead-letter publish failed');
        if (this.durable) msg.nak(1000);
        return;
      }
    }
    // No reason text: NATS before 2.10.4 ignores a +TERM that carries one.
    if (this.durable) msg.term();
  }
}

/** A durable pull consumer by name, created if missing (e.g. after its stream was re-created). */
async function durableConsumer(nats: NatsHandles, stream: string, start: DurableStart): Promise<Consumer> {
  const spec: DurableSpec = { durable: start.durable, ackWaitMs: start.ackWaitMs, maxAckPending: start.maxAckPending };
  await ensureDurableConsumer(nats.jsm, stream, spec);
  return nats.js.consumers.get(stream, start.durable);
}

/** An ordered consumer (ephemeral, no acks) of the source's subjects from the sequence after `afterSeq`. */
function orderedConsumer<T>(opts: StreamSourceOptions<T>, afterSeq: number): Promise<Consumer> {
  const unfiltered = Array.isArray(opts.filter) && opts.filter.length === 0;
  return opts.nats.js.consumers.get(opts.stream, {
    ...(unfiltered ? {} : { filter_subjects: opts.filter }),
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: afterSeq + 1,
  });
}

/** A delivered item; its headers are parsed only when read (every message carries Nats-Msg-Id, few readers need it). */
class DeliveredMessage<T> implements Delivered<T> {
  readonly seq: number;
  readonly subject: string;

  constructor(
    readonly value: T,
    private readonly msg: JsMsg,
  ) {
    this.seq = msg.seq;
    this.subject = msg.subject;
  }

  get headers(): MsgHdrs | undefined {
    return this.msg.headers;
  }
}

/**
 * The messages of one subject stored at or after `sinceMs` (server time), oldest first, at most
 * `max`: those stored when the read starts (one ordered consumer, one fetch of exactly that many).
 * For small on-demand reads (the API filling a hole from MD_CANDLES), not for consumption.
 */
export async function readSubjectSince(nats: NatsHandles, stream: string, subject: string, sinceMs: number, max: number): Promise<JsMsg[]> {
  const consumer = await nats.js.consumers.get(stream, {
    filter_subjects: subject,
    deliver_policy: DeliverPolicy.StartTime,
    opt_start_time: new Date(sinceMs).toISOString(),
  });
  const want = Math.min(max, (await consumer.info()).num_pending);
  const out: JsMsg[] = [];
  if (want === 0) return out;
  for await (const m of await consumer.fetch({ max_messages: want, expires: 2_000 })) out.push(m);
  return out;
}
