// The OpenAPI document and its /docs page (issue 10 item 10), served by the API on the real servers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type ApiUnderTest } from './harness.js';

let t: ApiUnderTest;

interface Operation {
  summary?: string;
  parameters?: { name: string; in: string }[];
  responses: Record<string, { description: string; content?: Record<string, { schema?: Record<string, unknown> }> }>;
  [k: string]: unknown;
}
type Doc = { paths: Record<string, Record<string, Operation>> };
let doc: Doc;

beforeAll(async () => {
  t = await startApi();
  doc = (await (await fetch(`${t.base}/openapi.json`)).json()) as Doc;
});

afterAll(async () => {
  await t?.stop();
});

const ROUTES = [
  '/v1/candles',
  '/v1/state/{venue}/{symbol}',
  '/v1/symbols',
  '/v1/arbitrage',
  '/v1/overview',
  '/v1/book/{venue}/{symbol}',
  '/v1/derivs/{venue}/{symbol}',
  '/v1/funding',
  '/v1/stream',
  '/healthz',
  '/readyz',
  '/metrics',
];

describe('/openapi.json', () => {
  it('describes every route, the process routes and the WebSocket included', () => {
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(ROUTES));
    for (const path of ROUTES) expect(doc.paths[path]?.get, path).toBeDefined();
  });

  it('every response has a real description and JSON answers a real schema (no "Default Response")', () => {
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        expect(Object.keys(op.responses).length, `${method} ${path}`).toBeGreaterThan(0);
        expect(op.summary, `${method} ${path} summary`).toBeTruthy();
        for (const [code, r] of Object.entries(op.responses)) {
          expect(r.description, `${method} ${path} ${code}`).not.toBe('Default Response');
          expect(r.description.length, `${method} ${path} ${code}`).toBeGreaterThan(3);
          const schema = r.content?.['application/json']?.schema;
          if (schema) expect(schema.type ?? schema.anyOf ?? schema.$ref, `${method} ${path} ${code} schema`).toBeTruthy();
        }
      }
    }
  });

  it('the candles answer is the Candle contract; errors name the field; the process routes have their bodies', () => {
    const candles = doc.paths['/v1/candles']!.get!;
    const ok = candles.responses['200']!.content!['application/json']!.schema as { properties: { candles: { items: { properties: Record<string, unknown> } } } };
    expect(Object.keys(ok.properties.candles.items.properties)).toEqual(
      expect.arrayContaining(['venue', 'symbol', 'tf', 'openTime', 'closeTime', 'open', 'high', 'low', 'close', 'volume', 'quoteVolume', 'vwap', 'trades', 'buyVolume', 'closed']),
    );
    expect(candles.parameters!.map((p) => p.name)).toEqual(['venue', 'symbol', 'tf', 'from', 'to', 'limit']);
    const bad = candles.responses['400']!.content!['application/json']!.schema as { properties: Record<string, unknown> };
    expect(Object.keys(bad.properties)).toEqual(['error', 'field', 'message']);
    expect(Object.keys(doc.paths['/readyz']!.get!.responses)).toEqual(['200', '503']);
    expect(doc.paths['/metrics']!.get!.responses['200']!.content).toHaveProperty(['text/plain; version=0.0.4']);
  });

  it('documents /v1/stream: the upgrade, its refusals and the frames both ways', () => {
    const stream = doc.paths['/v1/stream']!.get!;
    expect(Object.keys(stream.responses)).toEqual(expect.arrayContaining(['101', '403', '429']));
    const client = JSON.stringify(stream['x-client-frames']);
    const server = JSON.stringify(stream['x-server-frames']);
    for (const op of ['subscribe', 'unsubscribe']) expect(client).toContain(`"${op}"`);
    for (const type of ['candle', 'trade', 'arb', 'subscribed', 'unsubscribed', 'dropped', 'error']) expect(server).toContain(`"${type}"`);
  });

  it('every documented path is served (with sample parameters, never a route 404)', async () => {
    for (const path of ROUTES.filter((p) => p !== '/v1/stream')) {
      const url = path.replace('{venue}', 'binance').replace('{symbol}', 'BTC-USDT') + (path === '/v1/candles' ? '?venue=binance&symbol=BTC-USDT&tf=1m' : '');
      const res = await fetch(`${t.base}${url}`);
      const body = await res.text();
      expect(body, path).not.toContain('no route');
      expect(res.status, path).toBeLessThan(500 + (path === '/readyz' ? 4 : 0));
    }
  });
});

describe('/docs', () => {
  it('is a page that loads the document and its scripts from this server only (works offline)', async () => {
    const res = await fetch(`${t.base}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const html = await res.text();
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(2);
    for (const ref of refs) {
      expect(ref, 'no CDN or other host').not.toMatch(/^(https?:)?\/\//);
      const asset = await fetch(new URL(ref, `${t.base}/docs/`));
      expect(asset.status, ref).toBe(200);
    }
    const initializer = await (await fetch(`${t.base}/docs/static/swagger-initializer.js`)).text();
    expect(initializer).toContain('./json');
    const served = (await (await fetch(`${t.base}/docs/json`)).json()) as Doc;
    expect(Object.keys(served.paths).sort()).toEqual(Object.keys(doc.paths).sort());
  });
});
