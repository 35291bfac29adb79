import { ConfigError } from '../../runtime/errors.js';
import { SessionConfigCheck, type SessionConfig } from '../windows/index.js';

/**
 * Per-symbol trading sessions from TICKWORK_SESSIONS: a JSON object keyed by `venue:SYMBOL` or
 * `SYMBOL`; symbols without an entry trade 24/7 (UTC-aligned bars).
 */
export function sessionsFromJson(json: string): (venue: string, symbol: string) => SessionConfig | null {
  if (!json.trim()) return () => null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw invalid('not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null) throw invalid('expected a JSON object');
  const map = new Map<string, SessionConfig>();
  for (const [key, value] of Object.entries(parsed)) {
    if (!SessionConfigCheck.Check(value)) {
      const e = SessionConfigCheck.Errors(value).First();
      throw invalid(`entry ${key}${e?.path ?? ''}: ${e?.message ?? 'invalid'}`);
    }
    map.set(key, value);
  }
  return (venue, symbol) => map.get(`${venue}:${symbol}`) ?? map.get(symbol) ?? null;
}

const invalid = (why: string): ConfigError => new ConfigError('TICKWORK_SESSIONS', `invalid environment variable TICKWORK_SESSIONS: ${why}`);
