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
for (const mode of (process.env.MODES ?? 'pull,fetch').split(',')) for (const k of [100, 2]) {
  const filter = Array.from({ length: k }, (_, i) => `mu.s${i}`);
  const want = Math.round(N * k / S);
  const t0 = performance.now();
  const ci = await jsm.consumers.add('MULTI', { filter_subjects: filter, ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: 1, inactive_threshold: 30_000_000_000 });
  const c = await js.consumers.get('MULTI', ci.name);
  let got = 0;
  const deadline = performance.now() + 15_000;
  if (mode === 'pull') {
    const it = await c.consume({ max_messages: 2048, expires: 2000 });
    const stop = setTimeout(() => it.stop(), 15_000);
    for await (const m of it) { got++; if (got >= want) break; }
    clearTimeout(stop); it.stop();
  } else {
    while (got < want && performance.now() < deadline) { const it = await c.fetch({ max_messages: 5000, expires: 2000 }); for await (const m of it) got++; }
  }
  const ms = performance.now() - t0;
  console.log(`${mode} filters ${k}: read ${got} of ${want} in ${Math.round(ms)} ms = ${Math.round(got / ms * 1000)} msgs/s`);
  await jsm.consumers.delete('MULTI', ci.name);
}
await jsm.streams.delete('MULTI');
await nc.close();
