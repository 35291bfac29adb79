import type { MarketEvent, SymbolSpec, SyntheticMarket } from '../../simulate/market.js';
import type { SimLimits } from '../../simulate/types.js';

export { simLimits } from '../../simulate/types.js';

/**
 * The simulator protocol every venue implements (`venues/<id>/simulator.ts`, no venue `if`s
 * elsewhere): how a client connects and subscribes, how market events become that venue's
 * frames, and which REST endpoints it answers. The server (simulate/) owns sockets, limits,
 * misbehaviour and stats.
 */

/** What a venue sees of one WebSocket client. */
export interface SimClient {
  readonly id: number;
  /** A venue-style connection id (Bybit `conn_id`, OKX `connId`, Kraken `connection_id`). */
  readonly connId: string;
  readonly url: URL;
  /** Subscription keys held, in the venue's own key format (e.g. `btcusdt@aggTrade`). */
  readonly topics: ReadonlySet<string>;
}

/** A data frame for every client holding `topic`. */
export interface OutFrame {
  topic: string;
  text: string;
  /** Canonical symbol, for stats. */
  symbol: string;
  /** Trade records inside the frame. */
  trades: number;
  quote: boolean;
  /** Per-client variant cache (Binance's combined-stream envelope). */
  alt?: string;
  /** An L2 book delta: the frames `/__sim` book misbehaviour (drop, duplicate, reorder, corrupt) acts on. */
  bookDelta?: boolean;
  /** The same delta with a wrong checksum, where the venue sends one (Kraken, OKX). */
  corrupt?: string;
}

export type SubscribeRequest = { op: 'subscribe' | 'unsubscribe'; topics: string[]; id?: unknown; raw?: unknown };
export type ListRequest = { op: 'list'; id?: unknown };

export type ClientRequest =
  | SubscribeRequest
  | ListRequest
  /** Answered on the spot: pongs and protocol errors. */
  | { op: 'reply'; frames: string[] }
  | { op: 'ignore' };

export interface RestReply {
  status: number;
  body: unknown;
  /** Request weight against `SimLimits.restWeightPerMin`; default 1. */
  weight?: number;
  /** A REST depth snapshot: what `/__sim` `snapshot-429` answers with 429 + Retry-After. */
  depthSnapshot?: boolean;
  /** A venue limit this request broke (an endpoint's own rate): counted in `SimStats.violations` under this key. */
  violation?: string;
}

export type LimitBreach = 'stream-limit' | 'args-limit' | 'subscribe-rate';

export interface VenueContext {
  venue: string;
  /** Null when replaying a recording: topics are then accepted without symbol checks. */
  market: SyntheticMarket | null;
}

export interface VenueProtocol {
  readonly limits: SimLimits;
  /** HTTP status for upgrades and REST calls while an IP is banned. */
  readonly banStatus: number;
  /** Server WebSocket ping period (Binance); null where clients ping at application level. */
  readonly pingMs: number | null;
  /** The venue ends every connection after this long (Binance: 24 h); null if it does not. */
  readonly maxConnectionMs: number | null;
  /** App-level heartbeat tick (Coinbase, Kraken); null if none. */
  readonly heartbeatMs: number | null;
  /** The venue numbers every message of a connection (Coinbase Advanced Trade `sequence_num`): a reordered book delta is swapped with the connection's next message, heartbeats included. */
  readonly connectionSequenced?: boolean;
  /** Fields the malformed-frame generator breaks (trade and quote fields a parser must read). */
  readonly criticalKeys: readonly string[];
  /** The topics named in the URL, or null to refuse the path (404). */
  accept(url: URL): { topics: string[] } | null;
  /** Frames sent on connect (synthetic mode only). */
  open(client: SimClient): string[];
  parse(client: SimClient, text: string): ClientRequest;
  /** Per-connection topics-per-request limit when it depends on the endpoint (Bybit spot only). */
  argsLimit?(client: SimClient, configured: number | null): number | null;
  /** Acknowledgement after a (un)subscribe was applied, or the answer to a list request. */
  ack(client: SimClient, req: SubscribeRequest | ListRequest): string[];
  /** The venue's error frames for a request refused because it broke a limit. */
  reject(client: SimClient, req: SubscribeRequest, breach: LimitBreach): string[];
  /** How the venue ends a connection that sent too many messages. */
  readonly rateClose: { frames: string[]; code: number; reason: string };
  /** Initial data for newly added topics (ticker snapshots, last match, book snapshot). */
  snapshot(client: SimClient, added: string[]): OutFrame[];
  /** The text a given client receives for a frame (identity for all but Binance). */
  render(client: SimClient, frame: OutFrame): string;
  /** A market event as the venue's frames. */
  events(ev: MarketEvent): OutFrame[];
  /** Heartbeat frames due for a client, given how long it has been since it was last sent anything. */
  heartbeat(client: SimClient, now: number, idleMs: number): string[];
  rest(path: string, query: URLSearchParams): RestReply | null;
}

/** Lookup of the market's symbols by a venue's own spelling. */
export function symbolIndex(market: SyntheticMarket | null, venueSymbol: (s: SymbolSpec) => string): Map<string, SymbolSpec> {
  const m = new Map<string, SymbolSpec>();
  for (const spec of market?.specs ?? []) m.set(venueSymbol(spec), spec);
  return m;
}

/** RFC 3339 with microseconds whose millisecond part is exactly `ms` (sub-ms digits from `salt`). */
export function isoMicros(ms: number, salt: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, -1)}${String(Math.abs(salt * 7919) % 1000).padStart(3, '0')}Z`;
}

export function parseJson(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Integer query parameter; undefined when absent, NaN when present but not an integer. */
export function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  return /^-?\d+$/.test(v) ? Number(v) : NaN;
}
