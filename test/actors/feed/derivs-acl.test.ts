import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { generateRedisCredentials, redisAclRules } from '../../../app/redis-acl.js';
import { Namespace } from '../../../runtime/namespace.js';
import { connectRedis, type Redis } from '../../../runtime/redis.js';
import type { DerivTicker } from '../../../schemas/deriv.js';
import { DerivStore } from '../../../store/derivs.js';

/**
 * Under the feed role's Redis ACL user (app/redis-acl.ts, real Redis, a unique user deleted
 * afterwards) the derivatives feed writes and reads back its latest tickers (`deriv:*`), and
 * still cannot touch live state.
 */
const base = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const ns = new Namespace(`d${randomBytes(4).toString('hex')}`);
const [cred] = generateRedisCredentials(ns, ['feed']);

describe('derivatives feed under the feed role Redis ACL', () => {
  const admin = connectRedis(base, 'derivs-acl-setup');
  let feed: Redis | undefined;
  afterAll(async () => {
    await feed?.quit().catch(() => feed?.disconnect());
    await admin.call('ACL', 'DELUSER', cred!.user);
    const keys = await admin.keys(`${ns.key('')}*`);
    if (keys.length) await admin.del(...keys);
    await admin.quit();
  });

  it('puts and gets deriv:<venue>:<SYMBOL>; state keys stay refused', async () => {
    await admin.call('ACL', 'SETUSER', cred!.user, ...redisAclRules(ns, 'feed', cred!.password));
    const u = new URL(base);
    u.username = cred!.user;
    u.password = cred!.password;
    feed = connectRedis(u.toString(), 'derivs-acl-feed');
    feed.on('error', () => undefined);
    const store = new DerivStore(feed, ns);
    const t: DerivTicker = {
      venue: 'okx', symbol: 'BTC-USDT-PERP', venueSymbol: 'BTC-USDT-SWAP', markPrice: '1', indexPrice: '1', lastPrice: null, fundingRate: '0.0001',
      nextFundingTime: 1_800_000_000_000, fundingIntervalMs: 28_800_000, predictedFundingRate: null, openInterest: '2', openInterestValue: null, venueOpenInterest: '200', ts: 5, recvTs: 6,
    };
    await store.put(t);
    expect(await store.get('okx', 'BTC-USDT-PERP')).toEqual(t);
    expect(await admin.pttl(ns.key('deriv:okx:BTC-USDT-PERP'))).toBeGreaterThan(0);
    await expect(feed.set(ns.key('state:okx:BTC-USDT'), 'forged')).rejects.toThrow(/NOPERM/);
  });
});
