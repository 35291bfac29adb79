import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TradeDelivery } from '../../../actors/symbol/delivery.js';
import { silentLogger } from '../../../runtime/logger.js';
import { connectNats, ensureStream, PipelinedPublisher, type NatsHandles } from '../../../runtime/nats/index.js';
import { tradeSubject } from '../../../schemas/subjects.js';
import { tradeMsgId, type Trade } from '../../../schemas/trade.js';
import { syntheticTrades } from '../../exactly-once/pipeline.js';
import { startNatsServer, until, type NatsServerProcess } from '../../support/nats-server.js';

/**
 * The worker's main read on nats-server 2.10 (multi-filter consumers): a backlog is read without
 * a filter, other subjects passed over (a filtered read of stored messages crawls on 2.10), then
 * the read is filtered to the owned subjects again. Either way exactly the owned trades, each
 * once, in stream order.
 */
const SYMBOLS = 100;
const OWNED = ['binance.S3-USDT', 'binance.S42-USDT'];
const prefix = 'md.trade.';
let server: NatsServerProcess;
let nats: NatsHandles;

beforeAll(async () => {
  server = await startNatsServer({ version: '2.10' });
  nats = await connectNats(server.url, 'delivery-catch-up-test');
  await ensureStream(nats.jsm, { name: 'MD_TRADES', subjects: [`${prefix}>`], duplicateWindowMs: 60_000 });
}, 120_000);
afterAll(async () => {
  await nats?.nc.close();
  await server?.close();
});

async function publish(trades: Trade[]): Promise<void> {
  const pub = new PipelinedPublisher(nats, { maxInFlight: 2048 });
  for (const t of trades) await pub.publish(tradeSubject(t.venue, t.symbol), JSON.stringify(t), tradeMsgId(t));
  await pub.flush();
  pub.close();
}

/** The filter of the newest consumer of MD_TRADES (null: none); a closed ordered one may linger a while. */
async function consumerFilter(): Promise<string[] | null> {
  return until('a consumer of MD_TRADES', async () => {
    const list = await nats.jsm.consumers.list('MD_TRADES').next();
    if (list.length === 0) return undefined;
    const c = list.sort((a, b) => Date.parse(b.created) - Date.parse(a.created))[0]!.config;
    return c.filter_subjects ?? (c.filter_subject ? [c.filter_subject] : null);
  }, 20_000, 50);
}

describe('TradeDelivery on NATS 2.10: a backlog is caught up unfiltered, then the read is filtered again', () => {
  it('delivers exactly the owned trades once, in order, through both reads', async () => {
    const all = [...syntheticTrades(30_000, SYMBOLS, 11)];
    const backlog = all.slice(0, 20_000);
    const live = all.slice(20_000);
    await publish(backlog);
    const got: Trade[] = [];
    const seqs: number[] = [];
    let passedOver = 0;
    const delivery = new TradeDelivery({
      nats,
      stream: 'MD_TRADES',
      prefix,
      multiFilter: true,
      deadLetter: { publisher: new PipelinedPublisher(nats), subjectFor: () => 'dlq.none' },
      worker: 'w1',
      shard: 'group',
      log: silentLogger,
      routed: (key) => OWNED.includes(key),
      seen: () => passedOver++,
      deliver: (items) => {
        for (const i of items) {
          got.push(i.value);
          seqs.push(i.seq);
        }
      },
    });
    try {
      // Read up to 0 before (say its symbols were all given up), it is given two at the stream's
      // end (the join point the worker reads): 20,000 behind, the read is unfiltered, other
      // symbols' trades passed over.
      await delivery.start(0);
      const end = (await nats.jsm.streams.info('MD_TRADES')).state.last_seq;
      for (const k of OWNED) delivery.add(k, end);
      expect(await consumerFilter()).toBeNull();
      const own = (ts: Trade[]) => ts.filter((t) => OWNED.includes(`${t.venue}.${t.symbol}`)).map(tradeMsgId);
      await until('the backlog delivered', () => got.length === own(backlog).length || undefined, 60_000, 20);
      expect(passedOver).toBeGreaterThan(0);
      // Caught up: filtered to the owned subjects again.
      await until('a filtered read', async () => JSON.stringify(await consumerFilter()) === JSON.stringify(OWNED.map((k) => prefix + k)) || undefined, 20_000, 50);
      const before = passedOver;
      await publish(live);
      await until('the rest delivered', () => got.length === own(all).length || undefined, 60_000, 20);
      expect(passedOver).toBe(before); // nothing of the others delivered to a filtered read
      expect(got.map(tradeMsgId)).toEqual(own(all));
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(new Set(seqs).size).toBe(seqs.length);
    } finally {
      await delivery.stop();
    }
  }, 180_000);
});
