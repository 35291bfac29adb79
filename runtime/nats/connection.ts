import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, nkeyAuthenticator, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Type, type Static } from '@sinclair/typebox';
import { loadEnv } from '../config.js';
import { ConfigError, ServiceUnavailableError, TickworkError } from '../errors.js';
import type { Logger } from '../logger.js';
import { loadPublishConfig, type PublishConfig } from './publisher.js';

export type { NatsConnection } from '@nats-io/transport-node';
export type { JetStreamClient, JetStreamManager, StreamConfig } from '@nats-io/jetstream';

export interface NatsHandles {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** Publisher settings of this process (TICKWORK_PUBLISH_HOLD_MS); absent: the publisher's defaults. */
  publish?: PublishConfig;
}

/**
 * How to authenticate and encrypt, besides NATS_URL (a seed list; user:password stays in it).
 * At most one of the URL's credentials, NATS_TOKEN, NATS_CREDS_FILE and NATS_NKEY_SEED_FILE.
 */
export const NatsConnectEnv = Type.Object({
  NATS_TOKEN: Type.String({ default: '', description: 'an authentication token' }),
  NATS_CREDS_FILE: Type.String({ default: '', description: 'path of a .creds file (user JWT and nkey seed)' }),
  NATS_NKEY_SEED_FILE: Type.String({ default: '', description: 'path of a file holding a user nkey seed (SU…)' }),
  NATS_TLS_CA_FILE: Type.String({ default: '', description: 'path of a PEM file of the CA(s) that signed the server certificate' }),
  NATS_TLS_CERT_FILE: Type.String({ default: '', description: 'path of the PEM client certificate (mutual TLS)' }),
  NATS_TLS_KEY_FILE: Type.String({ default: '', description: 'path of the PEM key of NATS_TLS_CERT_FILE' }),
});
export type NatsConnectConfig = Static<typeof NatsConnectEnv>;

const DEFAULT_PORT = 4222;

/** `nats://u:***@a:4222,nats://b:4222`: the seed list as it may appear in logs and errors. */
export function redactNatsUrl(url: string): string {
  return url.replace(/\/\/([^@/,]*)@/g, (_m, cred: string) => `//${cred.includes(':') ? `${cred.split(':')[0]}:***` : '***'}@`);
}

/**
 * Client options for NATS_URL and the NatsConnectEnv variables: every seed of the list (the
 * client also learns the cluster's other servers from them and reconnects to any), TLS required
 * when any seed is `tls://` or a NATS_TLS_* file is set, one authentication method. Invalid
 * settings throw a ConfigError naming the variable, before any connection is tried.
 */
export function natsConnectOptions(url: string, env: NodeJS.ProcessEnv = process.env): ConnectionOptions {
  const cfg = loadEnv(NatsConnectEnv, env);
  const bad = (message: string) => new ConfigError('NATS_URL', `invalid environment variable NATS_URL: ${message}`);
  const seeds = url
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (seeds.length === 0) throw bad('missing; expected nats://host:4222 or a comma-separated list of them');

  const servers: string[] = [];
  const schemes = new Set<string>();
  const creds = new Set<string>();
  for (const seed of seeds) {
    let u: URL;
    try {
      u = new URL(seed);
    } catch {
      throw bad(`${JSON.stringify(redactNatsUrl(seed))} is not a URL; expected nats://host:4222 or tls://host:4222`);
    }
    if (u.protocol !== 'nats:' && u.protocol !== 'tls:') throw bad(`${u.protocol}// is not supported in ${JSON.stringify(redactNatsUrl(seed))}; expected nats:// or tls://`);
    if (!u.hostname) throw bad(`no host in ${JSON.stringify(redactNatsUrl(seed))}`);
    if ((u.pathname && u.pathname !== '/') || u.search || u.hash) throw bad(`unexpected path or query in ${JSON.stringify(redactNatsUrl(seed))}`);
    schemes.add(u.protocol);
    if (u.username || u.password) creds.add(`${u.username}:${u.password}`);
    servers.push(`${u.hostname}:${u.port || DEFAULT_PORT}`);
  }
  if (schemes.size > 1) throw bad('mixes tls:// and nats:// seeds; with TLS every seed is tls://');
  if (creds.size > 1) throw bad('seeds carry different credentials; give them once, on one seed or on all alike');

  const auth: ConnectionOptions = {};
  const methods: string[] = [];
  const [cred] = [...creds];
  if (cred !== undefined) {
    methods.push('the credentials in NATS_URL');
    const [user = '', pass] = cred.split(':');
    // nats://token@host is a token, nats://user:password@host a user (NATS URL convention).
    if (pass) Object.assign(auth, { user: decodeURIComponent(user), pass: decodeURIComponent(pass) });
    else Object.assign(auth, { token: decodeURIComponent(user) });
  }
  if (cfg.NATS_TOKEN) {
    methods.push('NATS_TOKEN');
    auth.token = cfg.NATS_TOKEN;
  }
  if (cfg.NATS_CREDS_FILE) {
    methods.push('NATS_CREDS_FILE');
    const text = readSetting('NATS_CREDS_FILE', cfg.NATS_CREDS_FILE);
    if (!/-----BEGIN NATS USER JWT-----/.test(text) || !/-----BEGIN USER NKEY SEED-----/.test(text)) {
      throw new ConfigError('NATS_CREDS_FILE', `invalid NATS_CREDS_FILE ${cfg.NATS_CREDS_FILE}: expected a .creds file (a user JWT and its nkey seed)`);
    }
    auth.authenticator = credsAuthenticator(new TextEncoder().encode(text));
  }
  if (cfg.NATS_NKEY_SEED_FILE) {
    methods.push('NATS_NKEY_SEED_FILE');
    const seed = readSetting('NATS_NKEY_SEED_FILE', cfg.NATS_NKEY_SEED_FILE).trim();
    if (!/^SU[A-Z2-7]{56}$/.test(seed)) {
      throw new ConfigError('NATS_NKEY_SEED_FILE', `invalid NATS_NKEY_SEED_FILE ${cfg.NATS_NKEY_SEED_FILE}: expected one user nkey seed (SU followed by 56 base32 characters)`);
    }
    auth.authenticator = nkeyAuthenticator(new TextEncoder().encode(seed));
  }
  if (methods.length > 1) {
    const variable = methods.find((m) => m.startsWith('NATS_')) ?? 'NATS_URL';
    throw new ConfigError(variable, `invalid environment variable ${variable}: ${methods.join(' and ')} are both set; use one authentication method`);
  }

  if (cfg.NATS_TLS_CERT_FILE && !cfg.NATS_TLS_KEY_FILE) throw new ConfigError('NATS_TLS_KEY_FILE', 'invalid environment variable NATS_TLS_KEY_FILE: missing; NATS_TLS_CERT_FILE needs its key');
  if (cfg.NATS_TLS_KEY_FILE && !cfg.NATS_TLS_CERT_FILE) throw new ConfigError('NATS_TLS_CERT_FILE', 'invalid environment variable NATS_TLS_CERT_FILE: missing; NATS_TLS_KEY_FILE belongs to a certificate');
  const tlsFiles = cfg.NATS_TLS_CA_FILE || cfg.NATS_TLS_CERT_FILE;
  // Asked for TLS in any way: the client refuses a server that cannot speak it, never falls back.
  const tls = schemes.has('tls:') || tlsFiles
    ? {
        ...(cfg.NATS_TLS_CA_FILE ? { ca: readSetting('NATS_TLS_CA_FILE', cfg.NATS_TLS_CA_FILE) } : {}),
        ...(cfg.NATS_TLS_CERT_FILE
          ? { cert: readSetting('NATS_TLS_CERT_FILE', cfg.NATS_TLS_CERT_FILE), key: readSetting('NATS_TLS_KEY_FILE', cfg.NATS_TLS_KEY_FILE) }
          : {}),
      }
    : undefined;

  return {
    servers,
    ...auth,
    ...(tls ? { tls } : {}),
    // Reconnect for ever, to any seed or server the cluster announced (randomized, so clients
    // spread over the nodes); a frozen server is detected by pings within ~30 s.
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    reconnectJitter: 250,
    reconnectJitterTLS: 500,
    pingInterval: 10_000,
    maxPingOut: 3,
    timeout: 5_000,
    // Stack traces for every request cost ~25% of publish CPU (bench profile); errors keep their messages.
    noAsyncTraces: true,
  };
}

function readSetting(variable: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ConfigError(variable, `invalid environment variable ${variable}: cannot read ${path} (${code})`);
  }
}

export interface ConnectNatsOptions {
  /** Where the NatsConnectEnv variables are read (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export async function connectNats(url: string, name: string, log?: Logger, opts: ConnectNatsOptions = {}): Promise<NatsHandles> {
  const options = natsConnectOptions(url, opts.env);
  const publish = loadPublishConfig(opts.env);
  let nc: NatsConnection;
  try {
    nc = await connect({ ...options, name });
  } catch (err) {
    throw new ServiceUnavailableError('NATS_URL', redactNatsUrl(url), (err as Error).message, { cause: err });
  }
  if (log) {
    log.info({ server: nc.getServer(), tls: options.tls !== undefined }, 'nats connected');
    (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error' || s.type === 'staleConnection') {
          const detail = s as { server?: string; error?: Error };
          log.warn({ nats: s.type, server: detail.server, err: detail.error?.message }, 'nats status');
        }
      }
    })().catch(() => undefined);
  }
  const jsm = await jetstreamManager(nc);
  return { nc, js: jetstream(nc), jsm, publish };
}

export async function natsReady(nc: NatsConnection): Promise<void> {
  if (nc.isClosed()) throw new TickworkError('SERVICE_UNAVAILABLE', 'nats connection closed');
  await nc.flush();
}
