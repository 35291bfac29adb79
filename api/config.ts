import { Type, type Static } from '@sinclair/typebox';
import { loadEnv } from '../runtime/config.js';

const Int = (dflt: number, minimum: number, description: string) =>
  Type.Integer({ default: dflt, minimum, description });

/** Environment variables of the query service (HTTP, WebSocket, NATS request/reply). */
export const ApiEnv = Type.Object({
  API_RATE_LIMIT_PER_MIN: Int(1200, 1, 'requests per minute per client IP on /v1 (integer >= 1)'),
  API_BODY_LIMIT_BYTES: Int(16_384, 1024, 'maximum request body in bytes (integer >= 1024)'),
  API_CANDLES_MAX_LIMIT: Int(5000, 1, 'maximum candles per /v1/candles answer (integer >= 1)'),
  API_CANDLES_DEFAULT_LIMIT: Int(500, 1, 'candles per answer when limit is absent (integer >= 1)'),
  API_WS_THROTTLE_MS: Int(250, 0, 'minimum ms between open-candle pushes per venue/symbol/tf (integer >= 0)'),
  API_WS_MAX_BUFFER_BYTES: Int(1_048_576, 1024, 'bytes queued to one WebSocket client before frames are dropped (integer >= 1024)'),
  API_WS_SLOW_CLOSE_MS: Int(5000, 0, 'ms a client may stay above the buffer bound before it is closed with 1013 (integer >= 0)'),
  API_WS_MAX_PAYLOAD_BYTES: Int(4096, 256, 'largest client frame in bytes (integer >= 256)'),
  API_WS_MAX_SUBSCRIPTIONS: Int(64, 1, 'subscriptions per WebSocket connection (integer >= 1)'),
  API_WS_MAX_CONNECTIONS: Int(1000, 1, 'concurrent WebSocket connections (integer >= 1)'),
  API_WEB_DIR: Type.String({ default: '', description: 'folder of the built dashboard (default: web/dist of the repo)' }),
});
export type ApiConfig = Static<typeof ApiEnv>;

export const loadApiConfig = (env: NodeJS.ProcessEnv = process.env): ApiConfig => loadEnv(ApiEnv, env);
