import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, DeliverPolicy } from '@nats-io/jetstream';
const N = 100_000, S = 100;
const nc = await connect({ servers: process.env.URL ?? 'nats://127.0.0.1:14222' });
const jsm = await jetstreamManager(nc); const js = jetstream(nc);
try { await jsm.streams.delete('MULTI'); } catch {}
await jsm.streams.add({ name: 'MULTI', subjects: ['mu.>'] });
const ps: Promise<unknown>[] = [];
for (let i = 1; i <= N; i++) { ps.push(js.publish(`mu.s${i % S}`, JSON.stringify({ n: i, pad: 'x'.repeat(100) }))); if (ps.length >= 1000) { await Promise.all(ps); ps.length = 0; } }
await Promise.all(ps);
for (const k of (process.env.KS ?? '100,50,2,1').split(',').map(Number)) {
  const filter = k === 0 ? 'mu.>' : Array.from({ length: k }, (_, i) => `mu.s${i}`);
  const want = k === 0 ? N : Math.round(N * k / S);
  const t0 = performance.now();
  const c = await js.consumers.get('MULTI', { filter_subjects: filter, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: 1 });
  const it = await c.consume({ max_messages: 2048, expires: 2000 });
  let got = 0;
  const stop = setTimeout(() => it.stop(), 15_000);
  for await (const m of it) { got++; if (got >= want) break; }
  clearTimeout(stop);
  const ms = performance.now() - t0;
  console.log(`filters ${k}: read ${got} of ${want} in ${Math.round(ms)} ms = ${Math.round(got / ms * 1000)} msgs/s`);
  it.stop();
}
await jsm.streams.delete('MULTI');
await nc.close();
