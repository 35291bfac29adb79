import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCredentials, natsAuthConfig, sinkDurable, type NatsCredential, type NatsRole } from '../../../app/nats-auth.js';
import { ensureMarketStreams, loadStreamsConfig, marketStreamSpecs, provisionMarketStreams } from '../../../app/streams.js';
import { Namespace } from '../../../runtime/namespace.js';
import { connectPg } from '../../../runtime/pg.js';
import { connectNats, type NatsHandles } from '../../../runtime/nats/index.js';
import { STREAMS } from '../../../schemas/subjects.js';
import { spawnCli } from '../../harness.js';
import { startNatsServer, type NatsServerProcess } from '../../support/nats-server.js';

/**
 * Streams under least privilege, on a real nats-server with the generated per-role config: the
 * admin (`tickwork migrate`) provisions; every other role only reads the streams' info at start
 * and does not fail when they exist as configured; a difference is reported, not fatal.
 */
const ns = new Namespace(`p${randomBytes(4).toString('hex')}`);
const creds = generateCredentials(ns, 'password');
let server: NatsServerProcess;
const open: NatsHandles[] = [];

async function as(role: NatsRole): Promise<NatsHandles> {
  const c = creds.find((x) => x.role === role)! as Extract<NatsCredential, { kind: 'password' }>;
  const url = `nats://${encodeURIComponent(c.user)}:${encodeURIComponent(c.password)}@127.0.0.1:${server.port}`;
  const n = await connectNats(url, `streams-${role}`);
  open.push(n);
  return n;
}

describe('market streams under least privilege (real nats-server, generated config)', () => {
  beforeAll(async () => {
    server = await startNatsServer({ config: natsAuthConfig(ns, creds) });
  }, 120_000);
  afterAll(async () => {
    await Promise.all(open.map((n) => n.nc.close()));
    await server?.close();
  });

  it('a role that may not create streams says to run migrate when they are missing', async () => {
    const worker = await as('worker');
    await expect(ensureMarketStreams(worker.jsm, ns, loadStreamsConfig({}))).rejects.toThrow(/cannot create JetStream stream .*MD_TRADES.*tickwork migrate/);
  });

  it('migrate (admin) provisions the streams and the sink durable; every role then starts on them, reading only', async () => {
    const admin = await as('admin');
    const lines = await provisionMarketStreams(admin.jsm, ns, loadStreamsConfig({ TICKWORK_STREAM_REPLICAS: '1' }), { durable: sinkDurable(ns) });
    expect(lines).toContain(`stream ${ns.stream(STREAMS.trades)} created`);
    expect(lines).toContain(`consumer ${ns.stream(STREAMS.candles)}/${sinkDurable(ns)} created`);
    const again = await provisionMarketStreams(admin.jsm, ns, loadStreamsConfig({}), { durable: sinkDurable(ns) });
    expect(again.every((l) => l.endsWith('unchanged'))).toBe(true);

    for (const role of ['feed', 'worker', 'sink', 'spread', 'api', 'operator'] as const) {
      const n = await as(role);
      const results = await ensureMarketStreams(n.jsm, ns, loadStreamsConfig({}));
      expect(results.length, role).toBe(marketStreamSpecs(ns, loadStreamsConfig({})).length);
      expect(results.filter((r) => r.action !== 'unchanged'), role).toEqual([]);
    }
  });

  it('a role whose settings differ goes on with the stream as it is and reports the difference', async () => {
    const feed = await as('feed');
    const warnings: unknown[] = [];
    const log = { warn: (o: unknown) => warnings.push(o), info: () => undefined } as never;
    const results = await ensureMarketStreams(feed.jsm, ns, loadStreamsConfig({ TICKWORK_TRADES_MAX_AGE_MS: '3600000' }), log);
    const trades = results.find((r) => r.name === ns.stream(STREAMS.trades))!;
    expect(trades.action).toBe('differs');
    expect(trades.differences.join(' ')).toMatch(/max_age 604800000000000 → 3600000000000/);
    expect(warnings).toHaveLength(1);
    const info = await feed.jsm.streams.info(ns.stream(STREAMS.trades));
    expect(info.config.max_age).toBe(7 * 86_400_000 * 1_000_000);
  }, 60_000);

  it('`tickwork migrate` with the admin credentials applies a changed setting the other roles could only report', async () => {
    const admin = creds.find((x) => x.role === 'admin')! as Extract<NatsCredential, { kind: 'password' }>;
    const url = `nats://${encodeURIComponent(admin.user)}:${encodeURIComponent(admin.password)}@127.0.0.1:${server.port}`;
    const env = { ...process.env, TICKWORK_NAMESPACE: ns.id, NATS_URL: url, TICKWORK_TRADES_MAX_AGE_MS: '3600000', LOG_LEVEL: 'silent' };
    try {
      const run = spawnCli(['migrate'], env);
      expect(await run.exited, run.output()).toBe(0);
      expect(run.output()).toContain(`stream ${ns.stream(STREAMS.trades)} updated (max_age 604800000000000 → 3600000000000)`);
      expect(run.output()).toContain(`consumer ${ns.stream(STREAMS.candles)}/${sinkDurable(ns)} unchanged`);
      const feed = await as('feed');
      expect((await ensureMarketStreams(feed.jsm, ns, loadStreamsConfig({ TICKWORK_TRADES_MAX_AGE_MS: '3600000' }))).every((r) => r.action === 'unchanged')).toBe(true);
    } finally {
      const sql = connectPg(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres', { max: 1 });
      await sql.unsafe(`drop schema if exists "${ns.pgSchema}" cascade`);
      await sql.end({ timeout: 5 });
    }
  }, 120_000);

  it('TICKWORK_STREAM_REPLICAS is validated (1..5) and names itself', () => {
    expect(() => loadStreamsConfig({ TICKWORK_STREAM_REPLICAS: '0' })).toThrow(/TICKWORK_STREAM_REPLICAS/);
    expect(loadStreamsConfig({ TICKWORK_STREAM_REPLICAS: '3' }).TICKWORK_STREAM_REPLICAS).toBe(3);
  });
});
