// Only tickwork's own api can answer md.query.*: the query service on a real nats-server started with
// the generated per-role config (app/nats-auth.ts), real Redis behind it.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUERY_SERVICE, QUERY_SUBJECTS, QueryService } from '../../api/index.js';
import { startQueryService } from '../../api/nats-service.js';
import { generateCredentials, natsAuthConfig, NATS_ROLES, type NatsCredential, type NatsRole } from '../../app/nats-auth.js';
import { silentLogger as log } from '../../runtime/logger.js';
import { stateKey, type LiveState } from '../../schemas/state.js';
import { ArbitrageStore } from '../../store/arbitrage.js';
import { CandleStore } from '../../store/candles.js';
import { LiveStateStore } from '../../store/live-state.js';
import { isolated } from '../harness.js';
import { startNatsServer, until, type NatsServerProcess } from '../support/nats-server.js';

const iso = isolated();
const creds = generateCredentials(iso.ns, 'password') as Extract<NatsCredential, { kind: 'password' }>[];
let server: NatsServerProcess;
const open: NatsConnection[] = [];

async function as(role: NatsRole): Promise<{ nc: NatsConnection; errors: string[] }> {
  const c = creds.find((x) => x.role === role)!;
  const nc = await connect({ servers: server.url, user: c.user, pass: c.password, name: `test-${role}` });
  open.push(nc);
  const errors: string[] = [];
  (async () => {
    for await (const s of nc.status()) if (s.type === 'error') errors.push(String((s as { error?: Error }).error?.message));
  })().catch(() => undefined);
  return { nc, errors };
}

beforeAll(async () => {
  server = await startNatsServer({ config: natsAuthConfig(iso.ns, creds) });
  const state: LiveState = { venue: 'binance', symbol: 'BTC-USDT', lastTrade: null, candles: {}, vwap: {}, lastSeq: 4242, tradesApplied: 1, updatedAt: 1 };
  await iso.redis().set(iso.ns.key(stateKey('binance', 'BTC-USDT')), JSON.stringify(state));
}, 120_000);

afterAll(async () => {
  await Promise.all(open.splice(0).map((nc) => nc.close().catch(() => undefined)));
  await server?.close();
  await iso.cleanup();
});

describe(`md.query.* on nats-server with the generated permissions: only the api answers (queue ${QUERY_SERVICE})`, () => {
  it('every other role is refused the query group; a reader\'s 40 queries are all answered by the real api', async () => {
    const api = await as('api');
    const queries = new QueryService(
      new LiveStateStore(iso.redis(), iso.ns),
      new CandleStore(iso.sql(), { schema: iso.ns.pgSchema }),
      new ArbitrageStore(iso.sql(), { schema: iso.ns.pgSchema }),
      { candlesMaxLimit: 10, candlesDefaultLimit: 10, arbitrageDefaultLimit: 10 },
      ['binance'],
    );
    const svc = await startQueryService(api.nc, iso.ns, queries, log, { perClientPerSec: 1000, maxInFlight: 100 });
    try {
      // Rogue responders: each role tries to join the group and answer.
      let rogueAnswers = 0;
      const rogues = await Promise.all(NATS_ROLES.filter((r) => r !== 'api').map((r) => as(r)));
      for (const rogue of rogues) {
        rogue.nc.subscribe(iso.ns.subject(QUERY_SUBJECTS.state), {
          queue: 'tickwork-query',
          callback: (err, msg) => {
            if (err) return;
            rogueAnswers++;
            msg.respond(JSON.stringify({ venue: 'binance', symbol: 'BTC-USDT', lastSeq: -1 }));
          },
        });
        await rogue.nc.flush().catch(() => undefined);
      }
      for (const rogue of rogues) {
        await until('the rogue subscription refused', () => rogue.errors.some((e) => e.includes('Permissions Violation for Subscription')), 5_000);
      }
      const reader = await as('reader');
      const answers = await Promise.all(
        Array.from({ length: 40 }, () =>
          reader.nc.request(iso.ns.subject(QUERY_SUBJECTS.state), JSON.stringify({ venue: 'binance', symbol: 'BTC-USDT' }), { timeout: 5000 }).then((m) => m.json<LiveState>().lastSeq),
        ),
      );
      expect(answers).toEqual(Array.from({ length: 40 }, () => 4242));
      expect(rogueAnswers).toBe(0);
      expect(api.errors).toEqual([]);
      // A stranger without credentials cannot even connect.
      await expect(connect({ servers: server.url, reconnect: false })).rejects.toThrow(/Authorization Violation/i);
    } finally {
      await svc.stop();
    }
  });
});
