/**
 * JetStream ceiling: how fast this machine's NATS server and the client library store and deliver
 * trade-sized messages, with nothing of tickwork in between, into a namespaced file-backed
 * MD_TRADES (the feeds' stream config). Publishing is measured twice: through the feeds'
 * PipelinedPublisher (core publish + shared PubAck inbox, 2,048 in flight, awaited per message), and raw (see raw-publish.ts:
 * same library, same Nats-Msg-Id and PubAck per message, batched socket writes). Consuming uses
 * the worker's ordered consumer from sequence 1.
 */
import { DeliverPolicy } from '@nats-io/jetstream';
import { PipelinedPublisher } from '../runtime/publisher.js';
import { STREAMS, STREAM_SUBJECTS } from '../schemas/subjects.js';
import { inScope } from './env.js';
import { rawPublish } from './raw-publish.js';
import { FEED_MAX_IN_FLIGHT, TradeGen } from './load.js';
import { figure, type Figure } from './stats.js';

export interface JetStreamBenchOptions {
  messages: number;
  runs: number;
  symbols?: number;
}

export interface JetStreamBenchResult {
  messages: number;
  payloadBytes: number;
  /** Messages/s stored through the feeds' PipelinedPublisher (first publish to last PubAck). */
  publish: Figure;
  /** Messages/s stored by raw batched publishing with the same library: the server's and library's limit. */
  rawPublish: Figure;
  /** Messages/s delivered to an ordered consumer reading the stream from its start. */
  consume: Figure;
  /** The slower of raw publish and consume (medians): what a pipeline through JetStream cannot exceed. */
  ceiling: number;
}

export async function runJetStreamBench(opts: JetStreamBenchOptions): Promise<JetStreamBenchResult> {
  const pub: number[] = [];
  const raw: number[] = [];
  const con: number[] = [];
  let payloadBytes = 0;
  for (let r = 0; r < opts.runs; r++) {
    await inScope('js', async ({ nats, ns }) => {
      // Bodies are built before the clock starts: this is the transport alone.
      const msgs = new TradeGen(opts.symbols ?? 100).messages(ns, opts.messages);
      payloadBytes = Math.round(msgs.reduce((a, m) => a + m.data.length, 0) / msgs.length);
      const publisher = new PipelinedPublisher(nats, { maxInFlight: FEED_MAX_IN_FLIGHT });
      let failed: unknown = null;
      const t0 = performance.now();
      for (const m of msgs) {
        const { stored } = await publisher.publish(m.subject, m.data, m.msgId);
        stored.catch((err: unknown) => (failed ??= err));
      }
      await publisher.flush();
      const pubMs = performance.now() - t0;
      if (failed) throw failed;
      const info = await nats.jsm.streams.info(ns.stream(STREAMS.trades));
      if (info.state.messages !== opts.messages) throw new Error(`jetstream bench: stream holds ${info.state.messages} messages, expected ${opts.messages}`);
      pub.push(opts.messages / (pubMs / 1000));

      const consumer = await nats.js.consumers.get(ns.stream(STREAMS.trades), {
        filter_subjects: ns.subject(STREAM_SUBJECTS.trades),
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: 1,
      });
      const t1 = performance.now();
      const messages = await consumer.consume({ max_messages: 20_000 });
      let n = 0;
      let lastSeq = 0;
      for await (const msg of messages) {
        // What the worker reads before it decides to parse: sequence and subject.
        lastSeq = msg.seq;
        if (msg.subject.length === 0) throw new Error('empty subject');
        if (++n === opts.messages) break;
      }
      const conMs = performance.now() - t1;
      await messages.close();
      if (lastSeq !== opts.messages) throw new Error(`jetstream bench: consumer ended at seq ${lastSeq}`);
      con.push(opts.messages / (conMs / 1000));
    });
    await inScope('jsraw', async ({ nats, ns }) => {
      const msgs = new TradeGen(opts.symbols ?? 100).messages(ns, opts.messages);
      const t0 = performance.now();
      await rawPublish(nats.nc, msgs);
      raw.push(opts.messages / ((performance.now() - t0) / 1000));
      const info = await nats.jsm.streams.info(ns.stream(STREAMS.trades));
      if (info.state.messages !== opts.messages) throw new Error(`jetstream bench (raw): stream holds ${info.state.messages} messages, expected ${opts.messages}`);
    });
  }
  const rawPub = figure(raw);
  const consume = figure(con);
  return { messages: opts.messages, payloadBytes, publish: figure(pub), rawPublish: rawPub, consume, ceiling: Math.min(rawPub.median, consume.median) };
}

