import { createHash, randomBytes } from 'node:crypto';
import type { Namespace } from '../runtime/namespace.js';
import { bookKey } from '../schemas/book.js';
import { derivKey } from '../schemas/deriv.js';
import { feedHealthKey } from '../schemas/state.js';

/**
 * Redis ACL users per tickwork role (issue 9 item 6): each limited to tickwork's key prefix
 * (`tw:` or `tw:<ns>:`) and to the commands its process sends. Roles without Redis (sink,
 * spread, operator) get no user. Key patterns cannot exclude, so the empty namespace's `tw:*`
 * also covers namespaced keys: run isolated namespaces on their own Redis in production.
 */
export const REDIS_ROLES = ['feed', 'worker', 'api', 'admin'] as const;
export type RedisRole = (typeof REDIS_ROLES)[number];

/** Every connection: ioredis names itself (CLIENT SETNAME) and checks readiness (INFO), probes PING. */
const CONNECTION = ['ping', 'info', 'client|setname', 'client|getname', 'select', 'quit'];
const READ = ['get', 'mget', 'exists', 'ttl', 'pttl', 'type', 'strlen', 'hget', 'hmget', 'hgetall', 'hexists', 'hlen', 'hkeys'];
const WRITE = ['set', 'del', 'unlink', 'expire', 'pexpire', 'hset', 'hdel'];
// Snapshots move with MULTI/EXEC; fencing compares a lease revision in a script or under WATCH.
const ATOMIC = ['multi', 'exec', 'discard', 'watch', 'unwatch', 'eval', 'evalsha', 'script|load', 'script|exists'];

/** Key patterns (relative to the namespace prefix) and commands of each role. */
function grant(role: RedisRole): { keys: { mode: 'rw' | 'r'; pattern: string }[]; commands: string[] } {
  switch (role) {
    case 'feed':
      // Only its own health keys, latest derivative tickers and top-N books: a feed cannot forge live state or snapshots.
      return {
        keys: [{ mode: 'rw', pattern: feedHealthKey('*') }, { mode: 'rw', pattern: derivKey('*', '*') }, { mode: 'rw', pattern: bookKey('*', '*') }],
        commands: [...CONNECTION, 'set', 'get', 'expire'],
      };
    case 'worker':
      return { keys: [{ mode: 'rw', pattern: '*' }], commands: [...CONNECTION, ...READ, ...WRITE, ...ATOMIC] };
    case 'api':
      return { keys: [{ mode: 'r', pattern: '*' }], commands: [...CONNECTION, ...READ] };
    case 'admin':
      // Rebuilds and clean-ups: enumerate and delete within the prefix; still no FLUSH*/CONFIG/KEYS.
      return { keys: [{ mode: 'rw', pattern: '*' }], commands: [...CONNECTION, ...READ, ...WRITE, ...ATOMIC, 'scan', 'hscan'] };
  }
}

/** ACL user name of a role: `tw_worker`, or `tw_<ns>_worker` in a namespace. */
export const redisUser = (ns: Namespace, role: RedisRole): string => (ns.id ? `tw_${ns.id}_${role}` : `tw_${role}`);

/**
 * The rules after `ACL SETUSER <name>` (and after `user <name>` in an ACL file), password given
 * as its SHA-256 so an ACL file holds no secret.
 */
export function redisAclRules(ns: Namespace, role: RedisRole, password: string): string[] {
  const g = grant(role);
  const prefix = ns.key('');
  return [
    'reset',
    'on',
    `#${createHash('sha256').update(password).digest('hex')}`,
    'resetchannels',
    ...g.keys.map((k) => `${k.mode === 'r' ? '%R' : ''}~${prefix}${k.pattern}`),
    '-@all',
    ...g.commands.map((c) => `+${c}`),
  ];
}

export interface RedisCredential {
  role: RedisRole;
  user: string;
  password: string;
}

export function generateRedisCredentials(ns: Namespace, roles: readonly RedisRole[] = REDIS_ROLES): RedisCredential[] {
  return roles.map((role) => ({ role, user: redisUser(ns, role), password: randomBytes(24).toString('base64url') }));
}

/** An ACL file (`aclfile` in redis.conf, or `ACL LOAD`) with one line per credential. */
export function redisAclFile(ns: Namespace, credentials: readonly RedisCredential[]): string {
  const lines = credentials.map((c) => `user ${c.user} ${redisAclRules(ns, c.role, c.password).join(' ')}`);
  return `# tickwork Redis ACL, namespace ${JSON.stringify(ns.id)} (app/redis-acl.ts)\n${lines.join('\n')}\n`;
}
