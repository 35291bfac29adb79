import { describe, expect, it } from 'vitest';
import { ApiError } from '../../api/errors.js';
import { DecimalError, parseDecimal } from '../../runtime/decimal.js';
import { ConfigError, isUsageError, ServiceUnavailableError, TickworkError } from '../../runtime/errors.js';
import { parseSpeed } from '../../runtime/speed.js';

/** One error tree: every error tickwork throws on purpose is a TickworkError with a code. */
describe('the error tree', () => {
  it('decimal, API, config and service errors are TickworkErrors with their codes', () => {
    let decimal: unknown;
    try {
      parseDecimal('1e5');
    } catch (err) {
      decimal = err;
    }
    expect(decimal).toBeInstanceOf(DecimalError);
    expect(decimal).toBeInstanceOf(TickworkError);
    expect((decimal as TickworkError).code).toBe('DECIMAL_INVALID');
    expect(ApiError.notFound('symbol', 'x')).toMatchObject({ code: 'API_NOT_FOUND', status: 404, name: 'ApiError' });
    expect(ApiError.badRequest('from', 'x')).toMatchObject({ code: 'API_BAD_REQUEST', status: 400 });
    expect(new ConfigError('NATS_URL', 'bad')).toMatchObject({ code: 'CONFIG_INVALID', variable: 'NATS_URL', name: 'ConfigError' });
    expect(() => parseSpeed('fast')).toThrow(expect.objectContaining({ code: 'USAGE_INVALID' }));
  });

  it('a server that is not there is named with its variable, the socket code in words', () => {
    const e = new ServiceUnavailableError('REDIS_URL', 'redis://127.0.0.1:6390', 'connect ECONNREFUSED 127.0.0.1:6390');
    expect(e.message).toBe('REDIS_URL redis://127.0.0.1:6390: connection refused');
    expect(new ServiceUnavailableError('BINANCE_WS_URL', 'wss://x', 'getaddrinfo ENOTFOUND x').message).toBe('BINANCE_WS_URL wss://x: host not found');
    expect(e.code).toBe('SERVICE_UNAVAILABLE');
  });

  it('usage errors (exit 2) are config, flag and file errors only', () => {
    expect(isUsageError(new ConfigError('X', 'x'))).toBe(true);
    expect(isUsageError(new TickworkError('FILE_NOT_FOUND', 'x'))).toBe(true);
    expect(isUsageError(new TickworkError('USAGE_INVALID', 'x'))).toBe(true);
    expect(isUsageError(new TickworkError('SERVICE_UNAVAILABLE', 'x'))).toBe(false);
    expect(isUsageError(new Error('x'))).toBe(false);
  });
});
