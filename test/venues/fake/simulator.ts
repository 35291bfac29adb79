import { fixed, trimmed } from '../../../simulate/market.js';
import { isObject, parseJson, simLimits, symbolIndex, type ClientRequest, type OutFrame, type VenueContext, type VenueProtocol } from '../../../venues/kit/simulator.js';

/** The fake venue on the simulator: one topic per symbol, one frame per fill. */
export function simulator(ctx: VenueContext): VenueProtocol {
  const symbols = symbolIndex(ctx.market, (s) => s.symbol);
  return {
    limits: simLimits({ connect: null, banMs: 0 }),
    banStatus: 429,
    pingMs: null,
    maxConnectionMs: null,
    heartbeatMs: null,
    criticalKeys: ['p', 'q', 'i', 's'],
    rateClose: { frames: [], code: 1008, reason: 'too many requests' },
    accept: (url) => (url.pathname === '/fake' ? { topics: [] } : null),
    open: () => [],
    parse(_client, text): ClientRequest {
      const parsed = parseJson(text);
      if (!parsed.ok || !isObject(parsed.value) || !Array.isArray(parsed.value.symbols)) return { op: 'reply', frames: ['{"op":"error"}'] };
      const topics = (parsed.value.symbols as unknown[]).filter((s): s is string => typeof s === 'string' && symbols.has(s));
      return { op: parsed.value.op === 'unsub' ? 'unsubscribe' : 'subscribe', topics };
    },
    ack: () => ['{"op":"subbed"}'],
    reject: () => ['{"op":"error"}'],
    snapshot: () => [],
    render: (_client, frame) => frame.text,
    events(ev): OutFrame[] {
      if (ev.kind !== 'trade') return [];
      const s = ev.spec;
      return ev.fills.map((f) => ({
        topic: s.symbol,
        text: JSON.stringify({ t: 'trade', s: s.symbol, i: f.id, p: fixed(f.price, s.priceDp), q: trimmed(f.qty, s.qtyDp), side: f.side, ts: f.ts }),
        symbol: s.symbol,
        trades: 1,
        quote: false,
      }));
    },
    heartbeat: () => [],
    rest: () => null,
  };
}
