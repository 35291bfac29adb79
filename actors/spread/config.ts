import { Type, type Static } from '@sinclair/typebox';
import { loadEnv } from '../../runtime/config.js';

export const SpreadEnv = Type.Object({
  TICKWORK_ARB_STALE_MS: Type.Integer({
    default: 5000,
    minimum: 1,
    description: 'milliseconds >= 1: quotes whose venue ts is older than this are ignored',
  }),
  TICKWORK_ARB_MIN_BPS: Type.String({
    default: '1',
    pattern: '^(0|[1-9][0-9]*)(\\.[0-9]+)?$',
    maxLength: 32,
    description: 'a non-negative decimal number of basis points, like 1 or 0.5',
  }),
  TICKWORK_ARB_FLUSH_MS: Type.Integer({
    default: 250,
    minimum: 10,
    description: 'milliseconds >= 10 between PostgreSQL batch inserts of opportunities',
  }),
});
export type SpreadConfig = Static<typeof SpreadEnv>;

export const loadSpreadConfig = (env: NodeJS.ProcessEnv = process.env): SpreadConfig => loadEnv(SpreadEnv, env);
