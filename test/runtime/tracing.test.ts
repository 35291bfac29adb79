import { createServer, type Server } from 'node:http';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { FeedStats } from '../../actors/feed/metrics.js';
import { MarketPublisher } from '../../actors/feed/publisher.js';
import { ensureMarketStreams, loadStreamsConfig } from '../../app/streams.js';
import { ConfigError } from '../../runtime/errors.js';
import { createLogger } from '../../runtime/logger.js';
import { PipelinedPublisher } from '../../runtime/nats/index.js';
import { loadTracingConfig, startTracing, tracesUrl, tracing, TRACEPARENT_HEADER } from '../../runtime/tracing.js';
import { STREAMS, tradeSubject } from '../../schemas/subjects.js';
import type { Trade } from '../../schemas/trade.js';
import { startSimulator, type Simulator } from '../../simulate/index.js';
import { isolated, spawnCli } from '../harness.js';
import { startLive, waitUntil } from '../history/helpers.js';

/**
 * Issue 11 item 6: OpenTelemetry spans from frame to PostgreSQL. Off unless
 * OTEL_EXPORTER_OTLP_ENDPOINT is set (no header, nothing loaded); on, a sampled trade's W3C trace
 * context rides the NATS headers feed → worker → candle → sink, seen here by an in-process
 * OTLP/HTTP (JSON) receiver. Real NATS, Redis, PostgreSQL, built CLI processes.
 */

const W3C = /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/;
const silent = createLogger('silent');

const trade = (id: number): Trade => ({
  venue: 'binance',
  symbol: 'BTC-USDT',
  venueSymbol: 'BTCUSDT',
  id: String(id),
  price: '65000.10',
  qty: '0.5',
  side: 'buy',
  ts: Date.UTC(2024, 0, 1) + id,
  recvTs: Date.UTC(2024, 0, 1) + id + 2,
});

describe('tracing configuration', () => {
  it('is off without an endpoint, and with OTEL_SDK_DISABLED', () => {
    expect(loadTracingConfig({})).toBeNull();
    expect(loadTracingConfig({ OTEL_TRACES_SAMPLER: 'always_on' })).toBeNull();
    expect(loadTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' })).toBeNull();
  });

  it('defaults to parentbased_traceidratio 0.001 over http/protobuf, traces posted to <endpoint>/v1/traces', () => {
    const cfg = loadTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })!;
    expect(cfg).toMatchObject({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: 0.001, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' });
    expect(tracesUrl(cfg)).toBe('http://collector:4318/v1/traces');
    const own = loadTracingConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://c:4318/custom', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' })!;
    expect(tracesUrl(own)).toBe('https://c:4318/custom');
    expect(own.OTEL_EXPORTER_OTLP_PROTOCOL).toBe('http/json');
  });

  it.each([
    ['OTEL_EXPORTER_OTLP_ENDPOINT', { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }],
    ['OTEL_TRACES_SAMPLER', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_SAMPLER: 'sometimes' }],
    ['OTEL_TRACES_SAMPLER_ARG', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_SAMPLER_ARG: '1.5' }],
    ['OTEL_EXPORTER_OTLP_PROTOCOL', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }],
    ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' }],
  ])('a bad %s is a ConfigError naming it', (variable, env) => {
    let err: unknown = null;
    try {
      loadTracingConfig(env);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe(variable);
    expect((err as Error).message).toMatch(new RegExp(`^invalid environment variable ${variable}: `));
  });

  it('a bad OTEL value stops a process at start-up with one line naming it (built CLI, exit 2)', async () => {
    const iso = isolated();
    const cli = spawnCli(['sink'], { ...iso.env, LOG_LEVEL: 'info', LOG_FORMAT: 'json', HTTP_PORT: '0', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_TRACES_SAMPLER: 'sometimes' });
    expect(await cli.exited).toBe(2);
    const lines = cli.output().split('\n').filter((l) => l.trim() !== '');
    expect(lines).toEqual([expect.stringMatching(/^tickwork: invalid environment variable OTEL_TRACES_SAMPLER: "sometimes"; expected one of always_on, /)]);
  }, 60_000);
});

describe('the feed publisher and the traceparent header (real NATS)', () => {
  const iso = isolated();
  afterEach(async () => {
    await tracing.tracer?.shutdown();
  });
  afterAll(() => iso.cleanup());

  /** Publishes `ids` as the feed does and returns each stored message's traceparent header ('' when absent). */
  async function publishAndRead(ids: number[]): Promise<string[]> {
    const nats = await iso.nats();
    await ensureMarketStreams(nats.jsm, iso.ns, loadStreamsConfig(iso.env));
    const pub = new PipelinedPublisher(nats, { maxInFlight: 64 });
    const market = new MarketPublisher(pub, iso.ns, new FeedStats('binance'));
    const stored: number[] = [];
    for (const id of ids) market.trade(trade(id), (_err, r) => r && stored.push(r.seq));
    await market.flush();
    pub.close();
    expect(stored).toHaveLength(ids.length);
    const out: string[] = [];
    for (const seq of stored) {
      const m = await nats.jsm.streams.getMessage(iso.ns.stream(STREAMS.trades), { seq });
      expect(m!.subject).toBe(iso.ns.subject(tradeSubject('binance', 'BTC-USDT')));
      out.push(m!.header?.get(TRACEPARENT_HEADER) ?? '');
    }
    return out;
  }

  it('tracing off (no endpoint): no trade carries a traceparent', async () => {
    expect(await startTracing(loadTracingConfig({}), { service: 'tickwork-test', log: silent })).toBeNull();
    expect(tracing.tracer).toBeNull();
    expect(await publishAndRead([1, 2, 3])).toEqual(['', '', '']);
  });

  it('tracing on, always_on: every trade carries its own W3C traceparent and its span ends at the PubAck', async () => {
    const exported: { name: string; traceId: string; ended: boolean }[] = [];
    const exporter = {
      export(spans: { name: string; spanContext(): { traceId: string }; ended: boolean }[], done: (r: { code: number }) => void) {
        for (const s of spans) exported.push({ name: s.name, traceId: s.spanContext().traceId, ended: s.ended });
        done({ code: 0 });
      },
      shutdown: () => Promise.resolve(),
    };
    const cfg = loadTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', OTEL_TRACES_SAMPLER: 'always_on' });
    await startTracing(cfg, { service: 'tickwork-test', log: silent, exporter: exporter as never });
    const headers = await publishAndRead([11, 12]);
    expect(headers).toEqual([expect.stringMatching(W3C), expect.stringMatching(W3C)]);
    expect(headers[0]!.endsWith('-01')).toBe(true);
    await tracing.tracer!.shutdown();
    expect(exported.map((s) => s.name)).toEqual(['feed publish trade', 'feed publish trade']);
    expect(exported.map((s) => s.traceId).sort()).toEqual(headers.map((h) => h.split('-')[1]).sort());
  });

  it('tracing on, always_off: nothing is sampled, so no header', async () => {
    await startTracing(loadTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', OTEL_TRACES_SAMPLER: 'always_off' }), { service: 'tickwork-test', log: silent });
    expect(tracing.tracer).not.toBeNull();
    expect(await publishAndRead([21, 22])).toEqual(['', '']);
  });
});

describe('sampling', () => {
  const exporter = { export: (_s: unknown, done: (r: { code: number }) => void) => done({ code: 0 }), shutdown: () => Promise.resolve() } as never;
  afterEach(async () => {
    await tracing.tracer?.shutdown();
  });
  const start = (sampler: string, arg?: string) =>
    startTracing(loadTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', OTEL_TRACES_SAMPLER: sampler, ...(arg ? { OTEL_TRACES_SAMPLER_ARG: arg } : {}) }), { service: 'tickwork-test', log: silent, exporter });

  it('parentbased_traceidratio 0.25 starts about a quarter of the traces; children follow the flag they carry', async () => {
    const tracer = (await start('parentbased_traceidratio', '0.25'))!;
    let roots = 0;
    for (let i = 0; i < 4000; i++) if (tracer.sample() && tracer.root('r', { role: 'producer' })) roots++;
    // Binomial(4000, 0.25): mean 1000, sd 27; these bounds are 7 sd wide.
    expect(roots).toBeGreaterThan(800);
    expect(roots).toBeLessThan(1200);
    const parent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331';
    const child = tracer.child('c', { traceparent: `${parent}-01` }, { role: 'consumer' })!;
    expect(child.traceparent).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
    expect(child.traceparent).not.toContain('b7ad6b7169203331');
    expect(tracer.child('c', { traceparent: `${parent}-00` }, { role: 'consumer' })).toBeNull();
    expect(tracer.child('c', { traceparent: 'garbage' }, { role: 'consumer' })).toBeNull();
  });

  it('always_off and ratio 0 start nothing; always_on starts every trace', async () => {
    for (const [sampler, arg] of [['always_off', undefined], ['parentbased_traceidratio', '0']] as const) {
      const tracer = (await start(sampler, arg))!;
      expect(Array.from({ length: 100 }, () => tracer.sample() && tracer.root('r', { role: 'producer' })).filter(Boolean)).toEqual([]);
      await tracer.shutdown();
    }
    const on = (await start('always_on'))!;
    expect(Array.from({ length: 100 }, () => on.sample() && on.root('r', { role: 'producer' })).filter(Boolean)).toHaveLength(100);
  });
});

describe('the default protocol, http/protobuf', () => {
  it('posts protobuf to <endpoint>/v1/traces, flushed at shutdown', async () => {
    const bodies: { url: string; type: string; body: Buffer }[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        bodies.push({ url: req.url ?? '', type: req.headers['content-type'] ?? '', body: Buffer.concat(chunks) });
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as { port: number };
      const tracer = (await startTracing(loadTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_TRACES_SAMPLER: 'always_on' }), { service: 'tickwork-test', log: silent }))!;
      const span = tracer.root('feed publish trade', { role: 'producer' })!;
      span.end();
      // Nothing is exported before the batch delay (5 s): the shutdown's flush sends it.
      expect(bodies).toEqual([]);
      await tracer.shutdown();
      expect(tracing.tracer).toBeNull();
      expect(bodies.map((b) => [b.url, b.type])).toEqual([['/v1/traces', 'application/x-protobuf']]);
      const traceId = Buffer.from(span.traceparent.split('-')[1]!, 'hex');
      expect(bodies[0]!.body.includes(traceId)).toBe(true);
      expect(bodies[0]!.body.includes(Buffer.from('feed publish trade'))).toBe(true);
      expect(bodies[0]!.body.includes(Buffer.from('tickwork-test'))).toBe(true);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

interface ReceivedSpan {
  service: string;
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  attributes: Record<string, unknown>;
}

/** A minimal OTLP/HTTP receiver: POST /v1/traces with the JSON encoding, every span kept with its service.name. */
async function otlpReceiver(): Promise<{ url: string; spans: ReceivedSpan[]; requests: string[]; close(): Promise<void> }> {
  const spans: ReceivedSpan[] = [];
  const requests: string[] = [];
  type KeyValue = { key: string; value: Record<string, unknown> };
  const attrs = (kvs: KeyValue[] | undefined): Record<string, unknown> =>
    Object.fromEntries((kvs ?? []).map((kv) => [kv.key, Object.values(kv.value)[0]]));
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
      if (req.method !== 'POST' || req.url !== '/v1/traces' || req.headers['content-type'] !== 'application/json') {
        res.writeHead(415).end();
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString()) as {
        resourceSpans: { resource: { attributes: KeyValue[] }; scopeSpans: { spans: (Omit<ReceivedSpan, 'service' | 'attributes'> & { attributes?: KeyValue[] })[] }[] }[];
      };
      for (const rs of body.resourceSpans) {
        const service = String(attrs(rs.resource.attributes)['service.name']);
        for (const ss of rs.scopeSpans)
          for (const s of ss.spans) spans.push({ service, name: s.name, traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId ?? '', attributes: attrs(s.attributes) });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, spans, requests, close: () => new Promise((r) => server.close(() => r())) };
}

describe('one connected trace feed → worker → sink (simulator, built CLI processes, OTLP/HTTP receiver)', () => {
  const iso = isolated();
  let sim: Simulator | null = null;
  let live: Awaited<ReturnType<typeof startLive>> | null = null;
  let receiver: Awaited<ReturnType<typeof otlpReceiver>> | null = null;
  afterAll(async () => {
    await live?.stop();
    await sim?.close();
    await receiver?.close();
    await iso.cleanup();
  });

  it('a sampled trade: feed publish → worker apply → candle publish → sink upsert, one trace id, each the parent of the next', async () => {
    receiver = await otlpReceiver();
    sim = await startSimulator({ venue: 'binance', synthetic: { symbols: ['BTC-USDT'], tradesPerSec: 20, seed: 5 } });
    const env = {
      ...iso.env,
      ...sim.env,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '1',
      // Export every 200 ms (the SDK's own variable) instead of every 5 s.
      OTEL_BSP_SCHEDULE_DELAY: '200',
      TICKWORK_TIMEFRAMES: '1s,1m',
      TICKWORK_GRACE_MS: '300',
    };
    live = await startLive(iso, env, 'binance', ['BTC-USDT']);

    const rx = receiver;
    const byName = (name: string) => rx.spans.filter((s) => s.name === name);
    let chain = null as [ReceivedSpan, ReceivedSpan, ReceivedSpan, ReceivedSpan] | null;
    await waitUntil(
      async () => {
        for (const upsert of byName('sink upsert candles')) {
          const candle = rx.spans.find((s) => s.spanId === upsert.parentSpanId && s.name === 'worker publish candle');
          const apply = candle && rx.spans.find((s) => s.spanId === candle.parentSpanId && s.name === 'worker apply trade');
          const feed = apply && rx.spans.find((s) => s.spanId === apply.parentSpanId && s.name === 'feed publish trade');
          if (feed) chain = [feed, apply, candle, upsert];
        }
        for (const p of live!.procs) if (p.child.exitCode !== null) throw new Error(`a process exited:\n${p.output().slice(-2000)}`);
        return chain !== null;
      },
      60_000,
      'a connected feed → worker → sink trace',
    );
    const [feed, apply, candle, upsert] = chain!;
    expect(new Set(chain!.map((s) => s.traceId)).size).toBe(1);
    expect(feed.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(feed.parentSpanId).toBe('');
    expect(chain!.map((s) => s.service)).toEqual(['tickwork-feed', 'tickwork-worker', 'tickwork-worker', 'tickwork-sink']);
    expect(feed.attributes).toMatchObject({ 'messaging.system': 'nats', 'tickwork.venue': 'binance', 'tickwork.symbol': 'BTC-USDT' });
    expect(apply.attributes['tickwork.trade_id']).toBe(feed.attributes['tickwork.trade_id']);
    expect(upsert.attributes).toMatchObject({ 'db.system.name': 'postgresql', 'db.collection.name': 'candles', 'tickwork.tf': candle.attributes['tickwork.tf'] });
    expect(rx.requests.every((r) => r.startsWith('POST /v1/traces application/json'))).toBe(true);

    // The candle the trace ends in is in PostgreSQL, and it holds the traced trade.
    const openTime = Number(candle.attributes['tickwork.open_time']);
    const rows = await iso.sql().unsafe<{ first: string; last: string }[]>(
      `select first_trade_id as first, last_trade_id as last from "${iso.ns.pgSchema}".candles where venue = 'binance' and symbol = 'BTC-USDT' and tf = $1 and open_time = to_timestamp($2::double precision / 1000)`,
      [String(candle.attributes['tickwork.tf']), openTime],
    );
    expect(rows).toHaveLength(1);
    const id = BigInt(String(feed.attributes['tickwork.trade_id']));
    expect(BigInt(rows[0]!.first) <= id && id <= BigInt(rows[0]!.last)).toBe(true);
  }, 120_000);

});
