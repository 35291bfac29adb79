import postgres from 'postgres';
import { withTimeout } from './redis.js';

export type Sql = postgres.Sql<Record<string, never>>;

export function connectPg(url: string, opts: { schema?: string; max?: number; name?: string } = {}): Sql {
  return postgres(url, {
    max: opts.max ?? 5,
    idle_timeout: 30,
    connect_timeout: 5,
    onnotice: () => undefined,
    connection: {
      application_name: opts.name ?? 'tickwork',
      ...(opts.schema && opts.schema !== 'public' ? { search_path: `${opts.schema},public` } : {}),
    },
  }) as Sql;
}

export async function pgReady(sql: Sql, timeoutMs = 2000): Promise<void> {
  await withTimeout(sql`select 1`, timeoutMs, `no answer within ${timeoutMs} ms`);
}
