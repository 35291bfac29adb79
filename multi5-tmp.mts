import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, DeliverPolicy, AckPolicy } from '@nats-io/jetstream';
const N = 100_000, S = 100;
const nc = await connect({ servers: process.env.URL ?? 'nats://127.0.0.1:14222' });
const jsm = await jetstreamManager(nc); const js = jetstream(nc);
try { await jsm.streams.delete('MULTI'); } catch {}
await jsm.streams.add({ name: 'MULTI', subjects: ['mu.>'] });
const ps: Promise<unknown>[] = [];
for (let i = 1; i <= N; i++) { ps.push(js.publish(`mu.s${i % S}`, JSON.stringify({ n: i, pad: 'x'.repeat(100) }))); if (ps.length >= 1000) { await Promise.all(ps); ps.length = 0; } }
await Promise.all(ps);
const k = Number(process.env.K ?? 2);
const filter = Array.from({ length: k }, (_, i) => `mu.s${i}`);
const ci = await jsm.consumers.add('MULTI', { filter_subjects: filter, ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: 1, inactive_threshold: 30_000_000_000 });
const c = await js.consumers.get('MULTI', ci.name);
const t0 = performance.now();
for (let f = 0; f < 4; f++) {
  const it = await c.fetch({ max_messages: Number(process.env.MAX ?? 500), expires: 1000 });
  let n = 0, first = 0, last = 0, lastSeq = 0;
  for await (const m of it) { n++; if (!first) first = performance.now() - t0; last = performance.now() - t0; lastSeq = m.seq; }
  console.log(`fetch ${f}: ${n} msgs, first at ${Math.round(first)} last at ${Math.round(last)} ms, lastSeq ${lastSeq}, ended ${Math.round(performance.now() - t0)}`);
}
console.log((await c.info()).num_pending, 'pending');
await jsm.streams.delete('MULTI');
await nc.close();
