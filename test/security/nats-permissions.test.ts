import { randomBytes } from 'node:crypto';
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  StorageType,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, nkeyAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupBucket, generateCredentials, natsAuthConfig, NATS_ROLES, sinkDurable, type NatsCredential, type NatsRole } from '../../app/nats-auth.js';
import { QUERY_SUBJECTS, startQueryService } from '../../api/nats-service.js';
import type { QueryService } from '../../api/queries.js';
import { silentLogger as log } from '../../runtime/logger.js';
import { Namespace } from '../../runtime/namespace.js';
import { STREAMS, STREAM_SUBJECTS } from '../../schemas/subjects.js';
import { startNatsServer, until, type NatsServerProcess, type NatsVersion } from '../support/nats-server.js';

/**
 * The generated per-role NATS config on a real nats-server: each role can do its job through the
 * same client calls its process makes, and nothing else: no forged trades, candles, leases or
 * acks, no query answered or overheard by a stranger.
 */
const ns = new Namespace(`s${randomBytes(4).toString('hex')}`);
const passwords = generateCredentials(ns, 'password');
// The nkey variant: the same permissions reached with a seed instead of a password.
const nkeyed = generateCredentials(ns, 'nkey', ['feed', 'worker']);
const stream = (k: keyof typeof STREAMS) => ns.stream(STREAMS[k]);

let server: NatsServerProcess;
const open: NatsConnection[] = [];
/** Permission errors each connection reported through its status stream. */
const violations = new Map<NatsConnection, string[]>();

async function as(c: NatsCredential | null): Promise<NatsConnection> {
  const auth = c === null ? {} : c.kind === 'password' ? { user: c.user, pass: c.password } : { authenticator: nkeyAuthenticator(new TextEncoder().encode(c.seed)) };
  const nc = await connect({ servers: server.url, name: c ? `test-${c.role}` : 'stranger', ...auth });
  open.push(nc);
  const seen: string[] = [];
  violations.set(nc, seen);
  (async () => {
    for await (const s of nc.status()) if (s.type === 'error') seen.push(String((s as { error?: Error }).error?.message));
  })().catch(() => undefined);
  return nc;
}

const role = (r: NatsRole) => as(passwords.find((c) => c.role === r)!);

/** The server refuses `subject` for this connection (its -ERR reaches the status stream). */
async function expectPublishDenied(nc: NatsConnection, subject: string): Promise<void> {
  nc.publish(subject, 'forged');
  await until(`a permissions violation for publishing ${subject}`, () =>
    violations.get(nc)!.some((e) => e.includes('Permissions Violation for Publish') && e.includes(subject)),
  5_000);
}

async function expectSubscribeDenied(nc: NatsConnection, subject: string, queue?: string): Promise<void> {
  let denied = '';
  nc.subscribe(subject, {
    ...(queue ? { queue } : {}),
    callback: (err) => {
      if (err) denied = err.message;
    },
  });
  await until(`subscription to ${subject}${queue ? ` (queue ${queue})` : ''} to be refused`, () => denied.includes('Permissions Violation for Subscription'), 5_000);
}

async function messages(jsm: JetStreamManager, name: string): Promise<number> {
  return (await jsm.streams.info(name)).state.messages;
}

let adminJsm: JetStreamManager;

// Both servers tickwork runs on: Debian's 2.9 and 2.10 (scripts/nats-server.sh), same config.
describe.each(['2.9', '2.10'] as NatsVersion[])('NATS per-role permissions (generated config, real nats-server %s)', (version) => {
  beforeAll(async () => {
    server = await startNatsServer({ version, config: natsAuthConfig(ns, [...passwords, ...nkeyed]) });
    // The admin provisions the streams (the `migrate` step); every other role only reads their info.
    adminJsm = await jetstreamManager(await role('admin'));
    for (const k of Object.keys(STREAMS) as (keyof typeof STREAMS)[]) {
      await adminJsm.streams.add({ name: stream(k), subjects: [ns.subject(STREAM_SUBJECTS[k])], storage: StorageType.Memory, duplicate_window: 60_000_000_000 });
    }
  }, 120_000);

  afterAll(async () => {
    await Promise.all(open.splice(0).map((nc) => nc.close().catch(() => undefined)));
    await server?.close();
  });

  it('every role reads every stream\'s info (what ensureMarketStreams needs once the admin created them)', async () => {
    for (const r of NATS_ROLES) {
      const jsm = await jetstreamManager(await role(r));
      for (const k of Object.keys(STREAMS) as (keyof typeof STREAMS)[]) expect((await jsm.streams.info(stream(k))).config.name).toBe(stream(k));
    }
  });

  it('refuses a connection without credentials or with a wrong password', async () => {
    await expect(connect({ servers: server.url, reconnect: false })).rejects.toThrow(/Authorization Violation/i);
    const feed = passwords.find((c) => c.role === 'feed')! as Extract<NatsCredential, { kind: 'password' }>;
    await expect(connect({ servers: server.url, user: feed.user, pass: 'wrong', reconnect: false })).rejects.toThrow(/Authorization Violation/i);
  });

  it('feed publishes a trade into MD_TRADES and gets the PubAck; reads the last trade back (gap filler); nkey variant too', async () => {
    for (const nc of [await role('feed'), await as(nkeyed.find((c) => c.role === 'feed')!)]) {
      const js = jetstream(nc);
      const ack = await js.publish(ns.subject('md.trade.binance.BTC-USDT'), JSON.stringify({ id: '1' }), { msgID: `binance:BTC-USDT:${nc.info!.client_id}` });
      expect(ack.stream).toBe(stream('trades'));
      const jsm = await jetstreamManager(nc);
      await jsm.streams.info(stream('trades'));
      const last = await jsm.streams.getMessage(stream('trades'), { last_by_subj: ns.subject('md.trade.binance.BTC-USDT') });
      expect(last?.subject).toBe(ns.subject('md.trade.binance.BTC-USDT'));
      await js.publish(ns.subject('md.quote.binance.BTC-USDT'), '{}');
      await js.publish(ns.subject('md.dlq.binance'), 'raw');
    }
  });

  it('feed cannot publish candles, live candles, arbitrage or queries, nor touch leases', async () => {
    const feed = await role('feed');
    const before = await messages(adminJsm, stream('candles'));
    for (const subject of ['md.candle.1m.binance.BTC-USDT', 'md.live.candle.1m.binance.BTC-USDT', 'md.arb.BTC-USDT', 'md.query.state']) {
      await expectPublishDenied(feed, ns.subject(subject));
    }
    await expectPublishDenied(feed, `$KV.${groupBucket(ns)}.binance.BTC-USDT`);
    await expect(jetstream(feed).publish(ns.subject('md.candle.1m.binance.BTC-USDT'), '{}', { timeout: 2000 })).rejects.toThrow();
    expect(await messages(adminJsm, stream('candles'))).toBe(before);
  });

  it('worker consumes MD_TRADES with an ordered consumer, publishes a candle (PubAck) and live candles; nkey variant too', async () => {
    for (const nc of [await role('worker'), await as(nkeyed.find((c) => c.role === 'worker')!)]) {
      const js = jetstream(nc);
      await (await jetstreamManager(nc)).streams.info(stream('trades'));
      // As actors/symbol/shard-worker.ts: ordered consumer, filter, start sequence.
      const consumer = await js.consumers.get(stream('trades'), {
        filter_subjects: ns.subject(STREAM_SUBJECTS.trades),
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: 1,
      });
      const msg = await consumer.next({ expires: 5000 });
      expect(msg?.subject).toBe(ns.subject('md.trade.binance.BTC-USDT'));
      const ack = await js.publish(ns.subject('md.candle.1m.binance.BTC-USDT'), '{}', { msgID: `c-${nc.info!.client_id}` });
      expect(ack.stream).toBe(stream('candles'));
      nc.publish(ns.subject('md.live.candle.1m.binance.BTC-USDT'), '{}');
      await nc.flush();
      expect(violations.get(nc)).toEqual([]);
    }
  });

  it('worker cannot publish trades, quotes or arbitrage; a trade sent with a PubAck request is not stored', async () => {
    const worker = await role('worker');
    const before = await messages(adminJsm, stream('trades'));
    await expectPublishDenied(worker, ns.subject('md.trade.binance.BTC-USDT'));
    await expectPublishDenied(worker, ns.subject('md.quote.binance.BTC-USDT'));
    await expectPublishDenied(worker, ns.subject('md.arb.BTC-USDT'));
    await expect(jetstream(worker).publish(ns.subject('md.trade.binance.ETH-USDT'), '{}', { timeout: 2000 })).rejects.toThrow();
    expect(await messages(adminJsm, stream('trades'))).toBe(before);
  });

  it('workers run the group lease bucket: create, put, CAS create/update, get, watch, delete', async () => {
    const worker = await role('worker');
    const kv = await new Kvm(worker).create(groupBucket(ns), { history: 1, ttl: 60_000 });
    const rev = await kv.create('lease.binance.BTC-USDT', 'w1');
    await expect(kv.create('lease.binance.BTC-USDT', 'w2')).rejects.toThrow();
    const rev2 = await kv.update('lease.binance.BTC-USDT', 'w1', rev);
    await expect(kv.update('lease.binance.BTC-USDT', 'w2', rev)).rejects.toThrow();
    expect((await kv.get('lease.binance.BTC-USDT'))?.string()).toBe('w1');
    const watch = await kv.watch({ key: 'lease.>' });
    const seen: string[] = [];
    const done = (async () => {
      for await (const e of watch) {
        seen.push(`${e.operation}:${e.key}:${e.string()}`);
        if (e.operation === 'DEL') break;
      }
    })();
    await kv.put('lease.binance.ETH-USDT', 'w1');
    // history 1: a delete stored before the watch read the put would remove it from the bucket
    await until('the watch to see the put', () => seen.includes('PUT:lease.binance.ETH-USDT:w1'), 10_000, 20);
    await kv.delete('lease.binance.ETH-USDT');
    await done;
    expect(seen).toContain('PUT:lease.binance.ETH-USDT:w1');
    expect(rev2).toBeGreaterThan(rev);
    expect(violations.get(worker)).toEqual([]);
  });

  it('no other role can forge, overhear or purge a lease', async () => {
    for (const r of ['feed', 'sink', 'spread', 'api', 'operator', 'reader'] as const) {
      const nc = await role(r);
      await expectPublishDenied(nc, `$KV.${groupBucket(ns)}.lease.binance.BTC-USDT`);
      await expectSubscribeDenied(nc, `$KV.${groupBucket(ns)}.>`);
    }
    const spread = await role('spread');
    await expect((await jetstreamManager(spread)).streams.purge(`KV_${groupBucket(ns)}`)).rejects.toThrow();
    const kv = await new Kvm(await role('worker')).open(groupBucket(ns));
    expect((await kv.get('lease.binance.BTC-USDT'))?.string()).toBe('w1');
  });

  it('sink creates its durable consumer on MD_CANDLES, fetches and acks; nobody else can ack for it', async () => {
    const sink = await role('sink');
    const jsm = await jetstreamManager(sink);
    const durable = sinkDurable(ns);
    // As actors/sink/candle-sink.ts: info, else add; then get and fetch.
    await expect(jsm.consumers.info(stream('candles'), durable)).rejects.toThrow(/not found/);
    await jsm.consumers.add(stream('candles'), { durable_name: durable, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, ack_wait: 120_000_000_000 });
    const consumer = await jetstream(sink).consumers.get(stream('candles'), durable);
    const batch = await consumer.fetch({ max_messages: 10, expires: 3000 });
    let n = 0;
    for await (const m of batch) {
      expect(m.subject.startsWith(ns.subject('md.candle.'))).toBe(true);
      // The ack from a stranger is refused; the sink's own goes through.
      const worker = await role('worker');
      const i = m.info;
      await expectPublishDenied(worker, `$JS.ACK.${stream('candles')}.${durable}.${i.deliveryCount}.${i.streamSequence}.${i.deliverySequence}.${m.timestampNanos}.${i.pending}`);
      await m.ackAck();
      n++;
    }
    expect(n).toBeGreaterThan(0);
    expect((await jsm.consumers.info(stream('candles'), durable)).num_ack_pending).toBe(0);
    // Another stream's consumers are not the sink's business.
    await expect(jsm.consumers.add(stream('trades'), { durable_name: 'sneaky', ack_policy: AckPolicy.None })).rejects.toThrow();
  });

  it('spread consumes MD_QUOTES and publishes arbitrage (PubAck); cannot publish quotes or candles', async () => {
    const spread = await role('spread');
    const js = jetstream(spread);
    const consumer = await js.consumers.get(stream('quotes'), { filter_subjects: ns.subject(STREAM_SUBJECTS.quotes), deliver_policy: DeliverPolicy.All });
    expect((await consumer.next({ expires: 5000 }))?.subject).toBe(ns.subject('md.quote.binance.BTC-USDT'));
    expect((await js.publish(ns.subject('md.arb.BTC-USDT'), '{}', { msgID: 'arb-1' })).stream).toBe(stream('arb'));
    await expectPublishDenied(spread, ns.subject('md.quote.binance.BTC-USDT'));
    await expectPublishDenied(spread, ns.subject('md.candle.1m.binance.BTC-USDT'));
    // It cannot read trades it has no use for.
    await expect(js.consumers.get(stream('trades')).then((c) => c.next({ expires: 2000 }))).rejects.toThrow();
  });

  it('api answers md.query.* in the tickwork-query group; a reader gets the answer', async () => {
    const api = await role('api');
    const queries = { state: async () => ({ venue: 'binance', symbol: 'BTC-USDT' }) } as unknown as QueryService;
    const svc = await startQueryService(api, ns, queries, log);
    try {
      const reader = await role('reader');
      const reply = await reader.request(ns.subject(QUERY_SUBJECTS.state), JSON.stringify({ venue: 'binance', symbol: 'BTC-USDT' }), { timeout: 5000 });
      expect(reply.json<{ symbol: string }>().symbol).toBe('BTC-USDT');
      // Service discovery works for the api's own service.
      expect(violations.get(api)).toEqual([]);
    } finally {
      await svc.stop();
    }
  });

  it('no other role can join tickwork-query, subscribe to md.query.*, or answer queries; api cannot overhear without the group', async () => {
    for (const r of ['feed', 'worker', 'sink', 'spread', 'operator', 'admin', 'reader'] as const) {
      const nc = await role(r);
      await expectSubscribeDenied(nc, ns.subject(QUERY_SUBJECTS.state), 'tickwork-query');
      await expectSubscribeDenied(nc, ns.subject('md.query.>'));
    }
    await expectSubscribeDenied(await role('api'), ns.subject('md.query.>'));
    await expectSubscribeDenied(await role('api'), ns.subject(QUERY_SUBJECTS.state), 'rogue-group');
  });

  it('api publishes only one reply to a request it received: no unsolicited message, no second reply', async () => {
    const api = await role('api');
    const reader = await role('reader');
    let second = Promise.resolve();
    const sub = api.subscribe(ns.subject(QUERY_SUBJECTS.state), {
      queue: 'tickwork-query',
      callback: (_err, msg) => {
        msg.respond('first');
        second = expectPublishDenied(api, msg.reply!);
      },
    });
    await api.flush();
    const reply = await reader.request(ns.subject(QUERY_SUBJECTS.state), '{}', { timeout: 5000 });
    expect(reply.string()).toBe('first');
    await second;
    sub.unsubscribe();
    await expectPublishDenied(api, '_INBOX.unsolicited');
  });

  it('operator (replay) publishes trades with PubAck; cannot publish candles', async () => {
    const op = await role('operator');
    expect((await jetstream(op).publish(ns.subject('md.trade.binance.SOL-USDT'), '{}', { msgID: 'replay-1' })).stream).toBe(stream('trades'));
    await expectPublishDenied(op, ns.subject('md.candle.1m.binance.SOL-USDT'));
  });

  it('only admin creates, updates or deletes streams', async () => {
    for (const r of NATS_ROLES.filter((x) => x !== 'admin')) {
      const jsm = await jetstreamManager(await role(r));
      const info = await jsm.streams.info(stream('trades'));
      await expect(jsm.streams.update(stream('trades'), { ...info.config, max_msgs: 1 }), `${r} updates MD_TRADES`).rejects.toThrow();
      await expect(jsm.streams.add({ name: ns.stream('EXTRA'), subjects: [ns.subject('extra.>')] }), `${r} creates a stream`).rejects.toThrow();
    }
    const info = await adminJsm.streams.info(stream('arb'));
    await adminJsm.streams.update(stream('arb'), { ...info.config, max_msgs: 1000 });
    expect((await adminJsm.streams.info(stream('arb'))).config.max_msgs).toBe(1000);
  });
});
