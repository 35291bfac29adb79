/**
 * The latency floor's relay (issue 12 item 6): the least a process can do between MD_TRADES and
 * Redis. An ordered JetStream consumer from the stream's end (as the worker's), and per message
 * one Redis SET of the symbol's live-state key holding `lastSeq` and `tradesApplied` (read with
 * two regular expressions, no JSON parse, no validation, no candles), so the bench's reader sees
 * it exactly as it sees a worker's state. Run as its own process by bench/latency.ts:
 *
 *   node dist/bench/floor-relay.js     (NATS_URL, REDIS_URL, TICKWORK_NAMESPACE from the env)
 *
 * Prints `{"msg":"symbol worker started"}` once consuming, as the worker logs it.
 */
import { DeliverPolicy } from '@nats-io/jetstream';
import { loadCoreConfig } from '../runtime/config.js';
import { Namespace } from '../runtime/namespace.js';
import { connectNats } from '../runtime/nats/index.js';
import { connectRedis } from '../runtime/redis.js';
import { STREAMS, STREAM_SUBJECTS } from '../schemas/subjects.js';

const core = loadCoreConfig();
const ns = new Namespace(core.TICKWORK_NAMESPACE);
const nats = await connectNats(core.NATS_URL, 'bench-floor-relay');
const redis = connectRedis(core.REDIS_URL, 'bench-floor-relay');
const consumer = await nats.js.consumers.get(ns.stream(STREAMS.trades), { filter_subjects: ns.subject(STREAM_SUBJECTS.trades), deliver_policy: DeliverPolicy.New });
const messages = await consumer.consume({ max_messages: 4_096 });
const applied = new Map<string, number>();
const prefix = ns.subject('md.trade.').length;
let failed = 0;
const stop = async () => {
  await messages.close().catch(() => undefined);
  await nats.nc.close();
  redis.disconnect();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.stdout.write(`${JSON.stringify({ level: 30, time: Date.now(), msg: 'symbol worker started' })}\n`);
const dec = new TextDecoder();
for await (const m of messages) {
  // md.trade.<venue>.<SYMBOL>: the state key of the same venue and symbol.
  const key = m.subject.slice(prefix).replace('.', ':');
  const n = (applied.get(key) ?? 0) + 1;
  applied.set(key, n);
  const body = dec.decode(m.data);
  redis.set(ns.key(`state:${key}`), `{"lastSeq":${m.seq},"tradesApplied":${n},"updatedAt":${Date.now()},"trade":${body}}`).catch(() => failed++);
}
if (failed) process.stderr.write(`floor relay: ${failed} SETs failed\n`);
