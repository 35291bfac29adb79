/**
 * JetStream ceiling: how fast this machine's NATS server and the client library store and deliver
 * trade-sized messages, with nothing of tickwork in between, into a namespaced file-backed
 * MD_TRADES (the feeds' stream config). Publishing is measured twice: the feed path (a feed
 * connection's MarketPublisher: each trade serialized, its subject and Nats-Msg-Id built, handed
 * over synchronously with its outcome callback, one room() wait per frame once 2,048 PubAcks are in
 * flight; one trade per frame, as Binance sends them), and raw (see raw-publish.ts: same library,
 * same Nats-Msg-Id and PubAck per message, pre-built bodies, batched socket writes). Consuming
 * uses the worker's ordered consumer from sequence 1.
 */
import { DeliverPolicy } from '@nats-io/jetstream';
import { FeedStats } from '../actors/feed/metrics.js';
import { MarketPublisher } from '../actors/feed/publisher.js';
import { PipelinedPublisher } from '../runtime/nats/index.js';
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
  /** Trades/s stored through a feed connection's MarketPublisher (first publish to last PubAck). */
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
      // Trades are generated before the clock starts; serializing them is part of the feed path.
      const gen = new TradeGen(opts.symbols ?? 100);
      const trades = Array.from({ length: opts.messages }, () => gen.trade().trade);
      payloadBytes = Math.round(trades.reduce((a, t) => a + JSON.stringify(t).length, 0) / trades.length);
      const stats = new FeedStats('binance');
      const pipelined = new PipelinedPublisher(nats, { maxInFlight: FEED_MAX_IN_FLIGHT, name: 'bench' });
      const publisher = new MarketPublisher(pipelined, ns, stats);
      let failed: unknown = null;
      const onStored = (err: unknown) => {
        if (err !== null) failed ??= err;
      };
      const t0 = performance.now();
      for (const t of trades) {
        // A frame: its trades go out synchronously, then the one wait a feed connection makes when full.
        publisher.trade(t, onStored);
        if (!publisher.hasRoom) await publisher.room();
      }
      await publisher.flush();
      const pubMs = performance.now() - t0;
      pipelined.close();
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

