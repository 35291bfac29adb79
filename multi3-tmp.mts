import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, DeliverPolicy } from '@nats-io/jetstream';
const N = Number(process.env.N ?? 50_000), S = 100;
const nc = await connect({ servers: process.env.URL ?? 'nats://127.0.0.1:14222' });
const jsm = await jetstreamManager(nc); const js = jetstream(nc);
try { await jsm.streams.delete('MULTI'); } catch {}
await jsm.streams.add({ name: 'MULTI', subjects: ['mu.>'] });
const k = Number(process.env.K ?? 50);
const filter = Array.from({ length: k }, (_, i) => `mu.s${i}`);
const want = Math.round(N * k / S);
const c = await js.consumers.get('MULTI', { filter_subjects: filter, deliver_policy: DeliverPolicy.New });
const it = await c.consume({ max_messages: 2048, expires: 2000 });
let got = 0; let tEnd = 0;
const reading = (async () => { for await (const m of it) { got++; if (got >= want) { tEnd = performance.now(); break; } } })();
const t0 = performance.now();
const ps: Promise<unknown>[] = [];
for (let i = 1; i <= N; i++) { ps.push(js.publish(`mu.s${i % S}`, JSON.stringify({ n: i, pad: 'x'.repeat(100) }))); if (ps.length >= 1000) { await Promise.all(ps); ps.length = 0; } }
await Promise.all(ps);
const tPub = performance.now();
const stop = setTimeout(() => it.stop(), 20_000);
await reading; clearTimeout(stop);
console.log(`k=${k} live: published ${N} in ${Math.round(tPub - t0)} ms; read ${got} of ${want}, done ${tEnd ? Math.round(tEnd - t0) : 'never'} ms`);
it.stop();
await jsm.streams.delete('MULTI');
await nc.close();
