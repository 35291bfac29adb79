import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { nkeys } from '@nats-io/transport-node';
import { QUERY_SERVICE, QUERY_SUBJECTS } from '../api/nats-service.js';
import { TickworkError } from '../runtime/errors.js';
import { Namespace } from '../runtime/namespace.js';
import { STREAMS } from '../schemas/subjects.js';
import { groupBucket } from '../store/group-kv.js';

/**
 * Least privilege on the bus (issue 9 item 6): one NATS user per tickwork role, each allowed only
 * the subjects and JetStream API calls its process makes, so that no other role can publish the
 * feed's trades, the worker's candles, answer md.query.* or touch the worker group's leases.
 *
 * Roles: the processes of DESIGN.md plus `operator` (replay; a human running one-shot jobs),
 * `admin` (creates/updates streams, the `migrate` step) and `reader` (an outside consumer of
 * the NATS query service and live market data).
 *
 * Two limits of nats-server permissions (2.9 and 2.10), measured in test/security: the server
 * publishes on a client's behalf without checking that client's publish permissions
 * (1) to the reply subject of a request (a JetStream PubAck/API answer, an api reply), and
 * (2) to a push consumer's deliver subject (nats-io/nats-server#8274). So any role can make the
 * server write a JSON API answer, or a re-delivered message of a stream it may read, into any
 * subject of the account, MD_CANDLES and the lease bucket included: receivers must validate what
 * they read (the sink's candle schema, the lease value format) rather than trust the subject.
 * Separate accounts per trust zone would close this; one account keeps stream names as they are.
 */
export const NATS_ROLES = ['feed', 'worker', 'sink', 'spread', 'api', 'operator', 'admin', 'reader'] as const;
export type NatsRole = (typeof NATS_ROLES)[number];

export { groupBucket };
/** The only queue group that may receive md.query.* (the api replicas). */
export const QUERY_QUEUE = QUERY_SERVICE;
/** The sink's durable consumer on MD_CANDLES (actors/sink/candle-sink.ts). */
export const sinkDurable = (ns: Namespace): string => ns.name('pg_sink');

/** Streams of the contract plus the books/derivatives extension (DESIGN.md). */
const EXTENSION_STREAMS = { books: 'MD_BOOKS', derivs: 'MD_DERIVS', liqs: 'MD_LIQS' } as const;

export interface SubjectPermission {
  allow: string[];
  deny: string[];
}

export interface NatsPermissions {
  publish: SubjectPermission;
  subscribe: SubjectPermission;
  /** Lets a responder publish to the reply subject of a request it received: `max` replies within `expires`. */
  allow_responses?: { max: number; expires: string };
}

/** Every subject one role needs, before the deny lists are added. */
interface Grant {
  pub: string[];
  sub: string[];
  /** Answers requests (one reply each). */
  responses?: boolean;
}

/**
 * The permissions of `role` in namespace `ns`: allow lists of exactly what it uses, deny lists
 * naming the subjects other roles own (kept explicit so a widened allow list cannot leak them).
 */
export function rolePermissions(role: NatsRole, ns: Namespace): NatsPermissions {
  const s = (subject: string) => ns.subject(subject);
  const stream = (name: string) => ns.stream(name);
  const api = (rest: string) => `$JS.API.${rest}`;
  const trades = stream(STREAMS.trades);
  const quotes = stream(STREAMS.quotes);
  const candles = stream(STREAMS.candles);
  const bucket = groupBucket(ns);
  const kvStream = `KV_${bucket}`;
  const allStreams = [...new Set([...Object.values(STREAMS), ...Object.values(EXTENSION_STREAMS)])].map(stream);

  // Every process connects with jetstreamManager() (account info) and runs ensureMarketStreams(),
  // which only reads stream info when the admin created the streams with the same settings.
  const base: Grant = { pub: [api('INFO'), ...allStreams.map((n) => api(`STREAM.INFO.${n}`))], sub: ['_INBOX.>'] };
  const orderedConsumer = (n: string) => ['CREATE', 'INFO', 'DELETE', 'MSG.NEXT'].map((op) => api(`CONSUMER.${op}.${n}.>`));
  const lastMessage = (n: string) => [api(`STREAM.MSG.GET.${n}`), api(`DIRECT.GET.${n}`), api(`DIRECT.GET.${n}.>`)];
  const durable = (n: string, d: string) => [
    api(`CONSUMER.CREATE.${n}.${d}`),
    api(`CONSUMER.CREATE.${n}.${d}.>`),
    api(`CONSUMER.DURABLE.CREATE.${n}.${d}`),
    api(`CONSUMER.INFO.${n}.${d}`),
    api(`CONSUMER.MSG.NEXT.${n}.${d}`),
    `$JS.ACK.${n}.${d}.>`,
  ];
  // KV: open/create the bucket, get/put/create/update/delete keys, watch (ordered push consumer
  // with flow control, answered on $JS.FC).
  const kv = [
    api(`STREAM.INFO.${kvStream}`),
    api(`STREAM.CREATE.${kvStream}`),
    ...lastMessage(kvStream),
    ...orderedConsumer(kvStream),
    `$KV.${bucket}.>`,
    `$JS.FC.${kvStream}.>`,
  ];
  const marketData = ['md.trade.>', 'md.quote.>', 'md.candle.>', 'md.live.>', 'md.arb.>', 'md.book.>', 'md.booksnap.>', 'md.deriv.>', 'md.liq.>'].map(s);
  const queryService = ns.name(QUERY_SERVICE);

  const grants: Record<NatsRole, Grant> = {
    feed: {
      pub: [...['md.trade.>', 'md.quote.>', 'md.book.>', 'md.booksnap.>', 'md.deriv.>', 'md.liq.>', 'md.dlq.>'].map(s), ...lastMessage(trades)],
      sub: [],
    },
    worker: {
      pub: [s('md.candle.>'), s('md.live.>'), s('md.dlq.>'), ...orderedConsumer(trades), ...lastMessage(trades), ...lastMessage(candles), ...kv],
      sub: [],
    },
    sink: { pub: durable(candles, sinkDurable(ns)), sub: [] },
    spread: { pub: [s('md.arb.>'), ...orderedConsumer(quotes)], sub: [] },
    api: {
      // Reads back a candle series' recent tail from MD_CANDLES when /v1/candles finds a hole (api/recent-candles.ts).
      pub: [...orderedConsumer(candles)],
      sub: [
        ...marketData,
        // Queue permission: only this group, never a plain subscription that would see every query.
        ...Object.values(QUERY_SUBJECTS).map((q) => `${s(q)} ${QUERY_QUEUE}`),
        // Service discovery ($SRV.PING|INFO|STATS[.name[.id]]) of the micro-service framework.
        '$SRV.*',
        `$SRV.*.${queryService}`,
        `$SRV.*.${queryService}.*`,
      ],
      responses: true,
    },
    operator: { pub: [s('md.trade.>')], sub: [] },
    admin: {
      pub: [
        api('STREAM.NAMES'),
        api('STREAM.LIST'),
        ...[...allStreams, kvStream].flatMap((n) => [
          api(`STREAM.*.${n}`),
          api(`STREAM.*.*.${n}`),
          api(`DIRECT.GET.${n}`),
          api(`DIRECT.GET.${n}.>`),
          api(`CONSUMER.*.${n}`),
          api(`CONSUMER.*.${n}.>`),
          api(`CONSUMER.*.*.${n}.>`),
        ]),
      ],
      sub: [],
    },
    reader: { pub: [s('md.query.>')], sub: marketData },
  };

  // Subjects one role owns: every other role is denied them by name.
  const ownedPub: [string, NatsRole[]][] = [
    [s('md.trade.>'), ['feed', 'operator']],
    ...['md.quote.>', 'md.book.>', 'md.booksnap.>', 'md.deriv.>', 'md.liq.>'].map((x): [string, NatsRole[]] => [s(x), ['feed']]),
    [s('md.dlq.>'), ['feed', 'worker']],
    [s('md.candle.>'), ['worker']],
    [s('md.live.>'), ['worker']],
    [s('md.arb.>'), ['spread']],
    [s('md.query.>'), ['reader']],
    [`$KV.${bucket}.>`, ['worker']],
    [`$JS.ACK.${candles}.>`, ['sink']],
  ];
  const privateSub: [string, NatsRole[]][] = [
    [s('md.query.>'), ['api']],
    [`$KV.${bucket}.>`, []],
  ];
  const g = grants[role];
  return {
    publish: {
      allow: [...base.pub, ...g.pub],
      deny: ownedPub.filter(([, owners]) => !owners.includes(role)).map(([subj]) => subj),
    },
    subscribe: {
      allow: [...base.sub, ...g.sub],
      deny: privateSub.filter(([, owners]) => !owners.includes(role)).map(([subj]) => subj),
    },
    // One reply per request, within the longest a query may take.
    ...(g.responses ? { allow_responses: { max: 1, expires: '30s' } } : {}),
  };
}

/** A role's credential: user/password, or an nkey (only its public key goes into the server config). */
export type NatsCredential =
  | { role: NatsRole; kind: 'password'; user: string; password: string }
  | { role: NatsRole; kind: 'nkey'; publicKey: string; seed: string };

/** Fresh credentials for `roles` (default all): random 32-character passwords or new user nkeys. */
export function generateCredentials(ns: Namespace, kind: 'password' | 'nkey', roles: readonly NatsRole[] = NATS_ROLES): NatsCredential[] {
  return roles.map((role) => {
    if (kind === 'password') return { role, kind, user: natsUser(ns, role), password: randomBytes(24).toString('base64url') };
    const kp = nkeys.createUser();
    return { role, kind, publicKey: kp.getPublicKey(), seed: new TextDecoder().decode(kp.getSeed()) };
  });
}

/** The user name of a role: `feed`, or `<ns>_feed` in a namespace. */
export const natsUser = (ns: Namespace, role: NatsRole): string => ns.name(role);

export interface NatsAuthConfigOptions {
  /** Account holding tickwork's streams and users (default TICKWORK). */
  account?: string;
}

/**
 * The `accounts` block of a nats-server config for these credentials, JetStream enabled for the
 * account. Include it from the server's main config (`include ./tickwork-auth.conf`: nats-server
 * resolves includes relative to the including file).
 */
export function natsAuthConfig(ns: Namespace, credentials: readonly NatsCredential[], opts: NatsAuthConfigOptions = {}): string {
  const account = opts.account ?? 'TICKWORK';
  if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(account)) throw new TickworkError('USAGE_INVALID', `invalid NATS account name ${JSON.stringify(account)}`);
  const users = credentials.map((c) => ({
    ...(c.kind === 'password' ? { user: c.user, password: c.password } : { nkey: c.publicKey }),
    permissions: rolePermissions(c.role, ns),
  }));
  // nats-server reads JSON inside its config format; quoted strings keep `$JS…` from being variables.
  const body = JSON.stringify({ [account]: { jetstream: 'enabled', users } }, null, 2);
  const roles = credentials.map((c) => c.role).join(', ');
  return [
    `# tickwork NATS authorization, namespace ${JSON.stringify(ns.id)}: one user per role (${roles}).`,
    '# Generated by `tickwork nats-config`; regenerate rather than edit (app/nats-auth.ts).',
    `accounts: ${body}`,
    '',
  ].join('\n');
}

/** Per-role environment for the processes, e.g. `NATS_URL=nats://feed:…@nats:4222` or a seed file. */
export function credentialsTemplate(credentials: readonly NatsCredential[], opts: { url: string; seedDir: string }): Record<NatsRole, string> {
  const out = {} as Record<NatsRole, string>;
  for (const c of credentials) {
    const lines = [`# tickwork ${c.role}: keep secret`];
    if (c.kind === 'password') {
      const u = new URL(opts.url);
      u.username = encodeURIComponent(c.user);
      u.password = encodeURIComponent(c.password);
      lines.push(`NATS_URL=${u.toString().replace(/\/$/, '')}`);
    } else {
      lines.push(`NATS_URL=${opts.url}`, `NATS_NKEY_SEED_FILE=${opts.seedDir.replace(/\/$/, '')}/${c.role}.nk`);
    }
    out[c.role] = `${lines.join('\n')}\n`;
  }
  return out;
}

export interface NatsConfigCommand {
  namespace: string;
  auth: string;
  account: string;
  /** Server URL written into the credentials templates. */
  url: string;
  /** Config file to write; its credentials go to `<out>.credentials/`. Absent: stdout/stderr. */
  out?: string;
  /** Where the processes will find the nkey seed files (default: the folder written). */
  seedDir?: string;
}

/**
 * `tickwork nats-config`: the accounts block for nats-server (include it from the server config)
 * and one credentials file per role. With --out the secrets are files readable by the owner only;
 * without, the config goes to stdout and the credentials to stderr.
 */
export function runNatsConfig(cmd: NatsConfigCommand, out: { stdout: (s: string) => void; stderr: (s: string) => void }): void {
  if (!/^([a-z][a-z0-9_]{0,30})?$/.test(cmd.namespace)) {
    throw new TickworkError('USAGE_INVALID', `--namespace ${JSON.stringify(cmd.namespace)}: expected empty or a lower-case identifier like t1`);
  }
  if (cmd.auth !== 'nkey' && cmd.auth !== 'password') throw new TickworkError('USAGE_INVALID', `--auth ${JSON.stringify(cmd.auth)}: expected nkey or password`);
  try {
    new URL(cmd.url);
  } catch {
    throw new TickworkError('USAGE_INVALID', `--url ${JSON.stringify(cmd.url)}: expected a URL like nats://nats:4222`);
  }
  const ns = new Namespace(cmd.namespace);
  const creds = generateCredentials(ns, cmd.auth);
  const config = natsAuthConfig(ns, creds, { account: cmd.account });
  if (!cmd.out) {
    const templates = credentialsTemplate(creds, { url: cmd.url, seedDir: cmd.seedDir ?? '/run/secrets/tickwork-nats' });
    out.stdout(config);
    out.stderr(`# per-role credentials (secret; not part of the server config)\n${Object.values(templates).join('\n')}`);
    for (const c of creds) if (c.kind === 'nkey') out.stderr(`# ${c.role}.nk\n${c.seed}\n`);
    return;
  }
  const file = resolve(cmd.out);
  const credDir = `${file}.credentials`;
  const templates = credentialsTemplate(creds, { url: cmd.url, seedDir: cmd.seedDir ?? credDir });
  mkdirSync(dirname(file), { recursive: true });
  mkdirSync(credDir, { recursive: true, mode: 0o700 });
  const secret = (path: string, text: string) => {
    writeFileSync(path, text, { mode: 0o600 });
    chmodSync(path, 0o600); // an existing file keeps its mode on write
  };
  // Password users make the config itself a secret.
  secret(file, config);
  for (const c of creds) {
    secret(join(credDir, `${c.role}.env`), templates[c.role]);
    if (c.kind === 'nkey') secret(join(credDir, `${c.role}.nk`), `${c.seed}\n`);
  }
  out.stdout(`wrote ${file} (include it from the nats-server config by a path relative to that config) and ${creds.length} role credentials in ${credDir}/\n`);
}
