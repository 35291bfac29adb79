import { Type, type Static } from '@sinclair/typebox';
import { list, loadEnv } from '../runtime/config.js';

const Int = (dflt: number, minimum: number, description: string) =>
  Type.Integer({ default: dflt, minimum, description });

const MiB = 1024 * 1024;

/** Environment variables of the query service (HTTP, WebSocket, NATS request/reply). */
export const ApiEnv = Type.Object({
  API_RATE_LIMIT_PER_MIN: Int(1200, 1, 'requests per minute per client IP on /v1 (integer >= 1)'),
  API_BODY_LIMIT_BYTES: Int(16_384, 1024, 'maximum request body in bytes (integer >= 1024)'),
  API_CANDLES_MAX_LIMIT: Int(5000, 1, 'maximum candles per /v1/candles answer (integer >= 1)'),
  API_CANDLES_DEFAULT_LIMIT: Int(500, 1, 'candles per answer when limit is absent (integer >= 1)'),
  API_RECENT_CANDLES: Int(120, 0, 'closed candles per venue/symbol/tf kept from MD_CANDLES until PostgreSQL has them (integer >= 0)'),
  API_CONNECTION_TIMEOUT_MS: Int(10_000, 1000, 'ms an HTTP connection may stay silent (no request head yet, or idle) before it is closed (integer >= 1000)'),
  API_WS_THROTTLE_MS: Int(250, 0, 'minimum ms between open-candle pushes per venue/symbol/tf (integer >= 0)'),
  API_WS_MAX_BUFFER_BYTES: Int(1_048_576, 1024, 'bytes queued to one WebSocket client before frames are dropped (integer >= 1024)'),
  API_WS_MEMORY_BUDGET_BYTES: Int(
    192 * MiB,
    MiB,
    'bytes all WebSocket clients may have queued together; each one gets at most this / API_WS_MAX_CONNECTIONS (integer >= 1048576)',
  ),
  API_WS_SLOW_CLOSE_MS: Int(5000, 0, 'ms a client may stay above the buffer bound before it is closed with 1013 (integer >= 0)'),
  API_WS_MAX_PAYLOAD_BYTES: Int(4096, 256, 'largest client frame in bytes (integer >= 256)'),
  API_WS_MAX_SUBSCRIPTIONS: Int(64, 1, 'subscriptions per WebSocket connection (integer >= 1)'),
  API_WS_MAX_CONNECTIONS: Int(1000, 1, 'concurrent WebSocket connections (integer >= 1)'),
  API_WS_MAX_CONNECTIONS_PER_IP: Int(16, 1, 'concurrent WebSocket connections per client IP (integer >= 1)'),
  API_WS_MAX_SUBSCRIPTIONS_PER_IP: Int(256, 1, 'subscriptions per client IP over all its connections (integer >= 1)'),
  API_WS_FRAMES_PER_SEC: Int(20, 1, 'client frames per second per connection, with a burst of twice that (integer >= 1)'),
  API_WS_PING_MS: Int(30_000, 100, 'ms between pings; a client that has not answered the previous one is cut off (integer >= 100)'),
  API_WS_IDLE_MS: Int(60_000, 100, 'ms a connection may hold no subscription before it is closed (integer >= 100)'),
  API_WS_ORIGINS: Type.String({
    default: '',
    pattern: '^(\\*|[A-Za-z0-9_./:\\[\\]-]+(,[A-Za-z0-9_./:\\[\\]-]+)*)?$',
    description: 'comma-separated Origins allowed to open /v1/stream, like https://dash.example.com; "*" allows any; default: the server\'s own host and localhost',
  }),
  API_TRUSTED_PROXIES: Type.String({
    default: '',
    pattern: '^([0-9a-fA-F.:]+(,[0-9a-fA-F.:]+)*)?$',
    description:
      'comma-separated addresses of reverse proxies in front of the api whose X-Forwarded-For names the client (per-address limits); default: none, the peer is the client',
  }),
  API_QUERY_RATE_PER_SEC: Int(50, 1, 'md.query.* requests per second per NATS client (reply inbox), with a burst of twice that (integer >= 1)'),
  API_QUERY_MAX_INFLIGHT: Int(64, 1, 'md.query.* requests answered at once by this process; more are refused with 503 (integer >= 1)'),
  API_WEB_DIR: Type.String({ default: '', description: 'folder of the built dashboard (default: web/dist of the repo)' }),
});
export type ApiConfig = Static<typeof ApiEnv>;

export const loadApiConfig = (env: NodeJS.ProcessEnv): ApiConfig => loadEnv(ApiEnv, env);

/** API_WS_ORIGINS as a list; empty: the default rule (same host, localhost). */
export const wsOrigins = (cfg: ApiConfig): string[] => list(cfg.API_WS_ORIGINS);

/** The bytes one WebSocket client may have queued: its own bound, within its share of the memory budget. */
export const wsBufferBytes = (cfg: ApiConfig): number =>
  Math.max(1024, Math.min(cfg.API_WS_MAX_BUFFER_BYTES, Math.floor(cfg.API_WS_MEMORY_BUDGET_BYTES / cfg.API_WS_MAX_CONNECTIONS)));

/** API_TRUSTED_PROXIES as a set. */
export const trustedProxies = (cfg: ApiConfig): ReadonlySet<string> => new Set(list(cfg.API_TRUSTED_PROXIES));
