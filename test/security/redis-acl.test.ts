import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateRedisCredentials, redisAclFile, redisAclRules, type RedisCredential, type RedisRole } from '../../app/redis-acl.js';
import { Namespace } from '../../runtime/namespace.js';
import { connectRedis, redisReady, type Redis } from '../../runtime/redis.js';
import { SnapshotStore } from '../../store/snapshots.js';
import { BookStore } from '../../store/books.js';
import type { BookSnap } from '../../schemas/book.js';

/**
 * The generated ACL users on the real Redis (unique names, deleted afterwards): each role's
 * commands work on its keys; other prefixes and dangerous commands answer NOPERM.
 */
const base = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const ns = new Namespace(`s${randomBytes(4).toString('hex')}`);
const other = new Namespace(`o${randomBytes(4).toString('hex')}`);
const creds = generateRedisCredentials(ns);
let admin: Redis;
const clients: Redis[] = [];

function as(role: RedisRole): Redis {
  const c = creds.find((x) => x.role === role) as RedisCredential;
  const u = new URL(base);
  u.username = c.user;
  u.password = c.password;
  // As the processes connect: runtime/redis.ts (CLIENT SETNAME, ready check).
  const r = connectRedis(u.toString(), `acl-test-${role}`);
  r.on('error', () => undefined);
  clients.push(r);
  return r;
}

const noperm = (p: Promise<unknown>) => expect(p).rejects.toThrow(/NOPERM/);

beforeAll(async () => {
  admin = connectRedis(base, 'acl-test-setup');
  for (const c of creds) await admin.call('ACL', 'SETUSER', c.user, ...redisAclRules(ns, c.role, c.password));
  await admin.set(other.key('state:binance:BTC-USDT'), 'someone else');
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
  for (const c of creds) await admin.call('ACL', 'DELUSER', c.user);
  const keys = [...(await admin.keys(`${ns.key('')}*`)), other.key('state:binance:BTC-USDT')];
  if (keys.length) await admin.del(...keys);
  await admin.quit();
});

describe('Redis ACL per role (real Redis)', () => {
  it('the ACL file holds password hashes, not passwords', () => {
    const file = redisAclFile(ns, creds);
    for (const c of creds) {
      expect(file).toContain(`user ${c.user} reset on #`);
      expect(file).not.toContain(c.password);
    }
  });

  it('worker: fenced snapshot and live-state scripts, fence, registry (store/snapshots.ts)', async () => {
    const r = as('worker');
    await redisReady(r);
    const store = new SnapshotStore(r, ns);
    expect(await store.raiseFence('binance', 'BTC-USDT', 9)).toBe(true);
    expect(await store.save('binance', 'BTC-USDT', 9, JSON.stringify({ v: 1, seq: 7, windows: {}, guard: null, savedAt: 1 }))).toBe(true);
    expect((await store.load('binance', 'BTC-USDT'))?.seq).toBe(7);
    expect(await store.writeStates([{ venue: 'binance', symbol: 'BTC-USDT', token: 9, json: '{}' }])).toEqual([true]);
    // An older token is refused by the script, under the worker's ACL as well.
    expect(await store.save('binance', 'BTC-USDT', 8, JSON.stringify({ v: 1, seq: 8, windows: {}, guard: null, savedAt: 1 }))).toBe(false);
    await store.registerSymbols([{ venue: 'binance', symbol: 'BTC-USDT', worker: 'w1' }]);
    // A script on its own keys works; a script touching another prefix does not.
    expect(await r.eval("return redis.call('GET', KEYS[1])", 1, ns.key('fence:binance:BTC-USDT'))).toBe('9');
    await noperm(r.eval("return redis.call('GET', KEYS[1])", 1, other.key('state:binance:BTC-USDT')));
  });

  it('worker: other prefixes and FLUSHALL, FLUSHDB, CONFIG, KEYS, SCAN, SHUTDOWN, CLIENT KILL, PUBLISH are refused', async () => {
    const r = as('worker');
    await noperm(r.get(other.key('state:binance:BTC-USDT')));
    await noperm(r.set(other.key('state:binance:BTC-USDT'), 'forged'));
    await noperm(r.set('unprefixed', 'x'));
    await noperm(r.flushall());
    await noperm(r.flushdb());
    await noperm(r.config('GET', 'dir'));
    await noperm(r.keys('*'));
    await noperm(r.keys(`${ns.key('')}*`));
    await noperm(r.scan('0'));
    await noperm(r.call('SHUTDOWN'));
    await noperm(r.call('CLIENT', 'KILL', 'TYPE', 'normal'));
    await noperm(r.publish('anything', 'x'));
    expect(await admin.get(other.key('state:binance:BTC-USDT'))).toBe('someone else');
  });

  it('feed: writes its health key with a TTL; cannot forge live state or snapshots', async () => {
    const r = as('feed');
    // As app/feed.ts: a pipeline of SET … EX 60 per venue.
    const res = await r.pipeline().set(ns.key('feed:binance'), '{}', 'EX', 60).exec();
    expect(res?.[0]?.[0]).toBeNull();
    await noperm(r.set(ns.key('state:binance:BTC-USDT'), 'forged'));
    await noperm(r.set(ns.key('snap:binance:BTC-USDT'), 'forged'));
    await noperm(r.del(ns.key('checkpoint:0of1')));
  });

  it('feed: the book feed writes book:<venue>:<SYMBOL> (one SET and a pipeline, with its TTL); api reads books and deriv tickers, writes neither', async () => {
    const feed = as('feed');
    const books = new BookStore(feed, ns);
    const snap = (symbol: string): BookSnap => ({
      venue: 'binance', symbol, epoch: 1, seq: 2, state: 'live', depth: 50, bids: [['99.5', '1']], asks: [['100.5', '2']], ts: 3, recvTs: 4,
    });
    await books.put([snap('BTC-USDT')]);
    await books.put([snap('ETH-USDT'), snap('SOL-USDT')]);
    expect(await admin.pttl(ns.key('book:binance:ETH-USDT'))).toBeGreaterThan(0);
    await feed.set(ns.key('deriv:okx:BTC-USDT-PERP'), '{"markPrice":"1"}');
    const api = as('api');
    const reader = new BookStore(api, ns);
    expect(await reader.get('binance', 'BTC-USDT')).toEqual(snap('BTC-USDT'));
    expect((await reader.getRawMany([{ venue: 'binance', symbol: 'ETH-USDT' }, { venue: 'binance', symbol: 'SOL-USDT' }])).map((r) => r !== null)).toEqual([true, true]);
    expect(await api.get(ns.key('deriv:okx:BTC-USDT-PERP'))).toBe('{"markPrice":"1"}');
    await noperm(api.set(ns.key('book:binance:BTC-USDT'), 'forged'));
    await noperm(api.set(ns.key('deriv:okx:BTC-USDT-PERP'), 'forged'));
    await noperm(feed.get(other.key('state:binance:BTC-USDT')));
    await noperm(feed.set(other.key('book:binance:BTC-USDT'), 'forged'));
  });

  it('api: reads state, registry and feed health; writes nothing', async () => {
    const r = as('api');
    expect(await r.get(ns.key('state:binance:BTC-USDT'))).not.toBeNull();
    expect(await r.mget(ns.key('state:binance:BTC-USDT'), ns.key('feed:binance'))).toHaveLength(2);
    expect(await r.hexists(ns.key('symbols'), 'binance:BTC-USDT')).toBe(1);
    expect(Object.keys(await r.hgetall(ns.key('symbols')))).toEqual(['binance:BTC-USDT']);
    await noperm(r.set(ns.key('state:binance:BTC-USDT'), 'forged'));
    await noperm(r.del(ns.key('state:binance:BTC-USDT')));
    await noperm(r.get(other.key('state:binance:BTC-USDT')));
  });

  it('admin: scans and deletes within the prefix; FLUSHALL and CONFIG still refused', async () => {
    const r = as('admin');
    // One SCAN page covers only part of a shared Redis: walk the cursor until this namespace's keys show.
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, page] = await r.scan(cursor, 'MATCH', `${ns.key('')}*`, 'COUNT', 1000);
      keys.push(...page);
      cursor = next;
    } while (cursor !== '0' && keys.length === 0);
    expect(keys.length).toBeGreaterThan(0);
    await r.set(ns.key('tmp'), '1');
    expect(await r.del(ns.key('tmp'))).toBe(1);
    await noperm(r.del(other.key('state:binance:BTC-USDT')));
    await noperm(r.flushall());
    await noperm(r.config('SET', 'appendonly', 'no'));
  });
});
