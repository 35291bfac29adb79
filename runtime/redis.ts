import { Redis } from 'ioredis';
import { TickworkError } from './errors.js';

export { Redis } from 'ioredis';

export function connectRedis(url: string, name: string): Redis {
  return new Redis(url, {
    connectionName: name,
    lazyConnect: false,
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
}

export async function redisReady(redis: Redis, timeoutMs = 1000): Promise<void> {
  const pong = await withTimeout(redis.ping(), timeoutMs, `no answer within ${timeoutMs} ms`);
  if (pong !== 'PONG') throw new TickworkError('SERVICE_UNAVAILABLE', `redis answered ${pong}`);
}

export function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new TickworkError('SERVICE_UNAVAILABLE', message)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
