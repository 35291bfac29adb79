import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StorageType } from '@nats-io/jetstream';
import { nkeys } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, ServiceUnavailableError } from '../../../runtime/errors.js';
import { connectNats, natsConnectOptions, redactNatsUrl, type NatsHandles } from '../../../runtime/nats/connection.js';
import { spawnCli } from '../../harness.js';
import { NatsCluster, startNatsServer, until, type NatsServerProcess } from '../../support/nats-cluster.js';

const dir = mkdtempSync(join(tmpdir(), 'tickwork-nats-conn-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text, { mode: 0o600 });
  return p;
};

/** The ConfigError natsConnectOptions throws, for asserting the variable it names. */
function configError(url: string, env: NodeJS.ProcessEnv = {}): ConfigError {
  try {
    natsConnectOptions(url, env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`no error for ${url} ${JSON.stringify(env)}`);
}

describe('natsConnectOptions: NATS_URL seed list and NATS_* settings', () => {
  it('takes every seed of a comma-separated list, default port 4222', () => {
    const o = natsConnectOptions('nats://a.example:4222, nats://b.example,nats://10.0.0.3:4333', {});
    expect(o.servers).toEqual(['a.example:4222', 'b.example:4222', '10.0.0.3:4333']);
    expect(o.tls).toBeUndefined();
    expect(o.maxReconnectAttempts).toBe(-1);
  });

  it('requires TLS for tls:// seeds and for NATS_TLS_* files, never for plain nats:// alone', () => {
    expect(natsConnectOptions('tls://a:4222,tls://b:4222', {}).tls).toEqual({});
    const ca = file('ca-any.pem', 'CA');
    expect(natsConnectOptions('nats://a:4222', { NATS_TLS_CA_FILE: ca }).tls).toEqual({ ca: 'CA' });
  });

  it('user:password and token in the URL; token, nkey seed and creds files from the environment', () => {
    expect(natsConnectOptions('nats://feed:p%40ss@a:4222,nats://b:4222', {})).toMatchObject({ user: 'feed', pass: 'p@ss' });
    expect(natsConnectOptions('nats://s3cret@a:4222', {})).toMatchObject({ token: 's3cret' });
    expect(natsConnectOptions('nats://a:4222', { NATS_TOKEN: 'tok' })).toMatchObject({ token: 'tok' });
    const seed = file('user.nk', `${new TextDecoder().decode(nkeys.createUser().getSeed())}\n`);
    expect(natsConnectOptions('nats://a:4222', { NATS_NKEY_SEED_FILE: seed }).authenticator).toBeTypeOf('function');
  });

  it.each([
    ['', {}, 'NATS_URL', /missing/],
    ['nats://a:4222,notaurl', {}, 'NATS_URL', /"notaurl" is not a URL/],
    ['ws://a:8080', {}, 'NATS_URL', /ws:\/\/ is not supported/],
    ['tls://a:4222,nats://b:4222', {}, 'NATS_URL', /mixes tls:\/\/ and nats:\/\//],
    ['nats://u:p@a:4222,nats://v:q@b:4222', {}, 'NATS_URL', /different credentials/],
    ['nats://a:4222/x', {}, 'NATS_URL', /unexpected path/],
    ['nats://u:p@a:4222', { NATS_TOKEN: 't' }, 'NATS_TOKEN', /the credentials in NATS_URL and NATS_TOKEN are both set/],
    ['nats://a:4222', { NATS_TLS_CA_FILE: '/nonexistent/ca.pem' }, 'NATS_TLS_CA_FILE', /cannot read \/nonexistent\/ca.pem \(ENOENT\)/],
    ['nats://a:4222', { NATS_TLS_CERT_FILE: '/x.pem' }, 'NATS_TLS_KEY_FILE', /NATS_TLS_CERT_FILE needs its key/],
    ['nats://a:4222', { NATS_NKEY_SEED_FILE: '/nonexistent/seed' }, 'NATS_NKEY_SEED_FILE', /cannot read/],
    ['nats://a:4222', { NATS_CREDS_FILE: '/nonexistent/u.creds' }, 'NATS_CREDS_FILE', /cannot read/],
  ] as [string, NodeJS.ProcessEnv, string, RegExp][])('%j %j: one error naming %s', (url, env, variable, message) => {
    const err = configError(url, env);
    expect(err.variable).toBe(variable);
    expect(err.message).toMatch(message);
    expect(err.message).toContain(variable);
    expect(err.message).not.toContain('\n');
  });

  it('rejects a seed file or creds file with the wrong content, naming it', () => {
    expect(configError('nats://a:4222', { NATS_NKEY_SEED_FILE: file('bad.nk', 'not a seed') }).variable).toBe('NATS_NKEY_SEED_FILE');
    expect(configError('nats://a:4222', { NATS_CREDS_FILE: file('bad.creds', 'nope') }).variable).toBe('NATS_CREDS_FILE');
  });

  it('redacts passwords and tokens for logs', () => {
    expect(redactNatsUrl('nats://feed:secret@a:4222,nats://tok@b:4222,nats://c:4222')).toBe('nats://feed:***@a:4222,nats://***@b:4222,nats://c:4222');
  });

  it('the CLI stops with one line naming the bad variable', async () => {
    const cli = spawnCli(['sink'], { ...process.env, NATS_TLS_CA_FILE: '/nonexistent/ca.pem', LOG_LEVEL: 'silent' });
    await cli.exited;
    const lines = cli.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/NATS_TLS_CA_FILE/);
  });
});

describe('connectNats on a 3-node cluster (real nats-server processes)', () => {
  let cluster: NatsCluster;
  const clients: NatsHandles[] = [];
  beforeAll(async () => {
    cluster = await NatsCluster.start();
  }, 120_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.nc.close().catch(() => undefined)));
    await cluster?.close();
  });

  const nodeOf = (h: NatsHandles): NatsServerProcess => {
    const port = Number(h.nc.getServer().split(':').pop());
    const node = cluster.nodes.find((n) => n.port === port);
    if (!node) throw new Error(`connected to ${h.nc.getServer()}, not a cluster node`);
    return node;
  };

  it('a seed list survives SIGKILL of the node the client is connected to; JetStream publishes go on', async () => {
    const h = await connectNats(cluster.seeds, 'seed-list-test');
    clients.push(h);
    await h.jsm.streams.add({ name: 'CONN_R3', subjects: ['conn.r3.>'], num_replicas: 3, storage: StorageType.File });
    await h.js.publish('conn.r3.a', 'before', { msgID: 'before' });
    const first = nodeOf(h);
    await first.kill('SIGKILL');
    const next = await until('the client on another node', () => (h.nc.isClosed() ? false : nodeOf(h) !== first && nodeOf(h)), 60_000);
    expect(next.running).toBe(true);
    await until('a PubAck after the failover', () => h.js.publish('conn.r3.a', 'after', { msgID: 'after', timeout: 2000 }).then(() => true), 60_000);
    expect((await h.jsm.streams.info('CONN_R3')).state.messages).toBe(2);
    await first.start();
    await cluster.waitReady();
  });

  it('with a single seed, reconnects to the servers the cluster announced when that seed dies', async () => {
    const seed = cluster.nodes[1]!;
    const h = await connectNats(seed.url, 'discovered-servers-test');
    clients.push(h);
    expect(nodeOf(h)).toBe(seed);
    // Only one seed was given: the other nodes are known from the cluster's INFO (connect_urls).
    await seed.kill('SIGKILL');
    await until('the client on a discovered node', () => !h.nc.isClosed() && nodeOf(h) !== seed, 60_000);
    await h.nc.flush();
    await seed.start();
    await cluster.waitReady();
  });
});

/** A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl. */
function makePki(): { ca: string; cert: string; key: string; clientCert: string; clientKey: string } {
  const p = (n: string) => join(dir, n);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=tickwork test CA', '-keyout', p('ca.key'), '-out', p('ca.pem'));
  writeFileSync(p('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', p('server.key'), '-out', p('server.csr'));
  ssl('x509', '-req', '-in', p('server.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', p('server.ext'), '-out', p('server.pem'));
  writeFileSync(p('client.ext'), 'extendedKeyUsage=clientAuth\n');
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=tickwork-worker', '-keyout', p('client.key'), '-out', p('client.csr'));
  ssl('x509', '-req', '-in', p('client.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', p('client.ext'), '-out', p('client.pem'));
  return { ca: p('ca.pem'), cert: p('server.pem'), key: p('server.key'), clientCert: p('client.pem'), clientKey: p('client.key') };
}

interface Connz {
  connections: { name?: string; tls_version?: string }[];
}

describe('connectNats TLS (real nats-server with an openssl CA)', () => {
  let pki: ReturnType<typeof makePki>;
  let tlsServer: NatsServerProcess;
  let mtlsServer: NatsServerProcess;
  let plainServer: NatsServerProcess;
  beforeAll(async () => {
    pki = makePki();
    const q = JSON.stringify;
    tlsServer = await startNatsServer({ config: `tls: { cert_file: ${q(pki.cert)}, key_file: ${q(pki.key)} }` });
    mtlsServer = await startNatsServer({ config: `tls: { cert_file: ${q(pki.cert)}, key_file: ${q(pki.key)}, ca_file: ${q(pki.ca)}, verify: true }` });
    plainServer = await startNatsServer();
  }, 60_000);
  afterAll(async () => {
    await Promise.all([tlsServer?.close(), mtlsServer?.close(), plainServer?.close()]);
  });

  const tlsVersionOf = async (server: NatsServerProcess, name: string) =>
    (await server.monitor<Connz>('/connz')).connections.find((c) => c.name === name)?.tls_version;

  it('tls:// with NATS_TLS_CA_FILE reaches the server over TLS (the server sees a TLS connection)', async () => {
    const h = await connectNats(`tls://127.0.0.1:${tlsServer.port}`, 'tls-client', undefined, { env: { NATS_TLS_CA_FILE: pki.ca } });
    try {
      expect(await tlsVersionOf(tlsServer, 'tls-client')).toMatch(/^1\.[23]$/);
    } finally {
      await h.nc.close();
    }
  });

  it('mutual TLS with NATS_TLS_CERT_FILE/NATS_TLS_KEY_FILE; without the client certificate the server refuses', async () => {
    const env = { NATS_TLS_CA_FILE: pki.ca, NATS_TLS_CERT_FILE: pki.clientCert, NATS_TLS_KEY_FILE: pki.clientKey };
    const h = await connectNats(`nats://127.0.0.1:${mtlsServer.port}`, 'mtls-client', undefined, { env });
    try {
      expect(await tlsVersionOf(mtlsServer, 'mtls-client')).toMatch(/^1\.[23]$/);
    } finally {
      await h.nc.close();
    }
    await expect(connectNats(`tls://127.0.0.1:${mtlsServer.port}`, 'no-client-cert', undefined, { env: { NATS_TLS_CA_FILE: pki.ca } })).rejects.toThrow(ServiceUnavailableError);
  });

  it('tls:// against a server without TLS fails loudly instead of talking plaintext', async () => {
    const err = await connectNats(`tls://127.0.0.1:${plainServer.port}`, 'tls-to-plain', undefined, { env: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceUnavailableError);
    expect((err as Error).message).toMatch(/^NATS_URL tls:\/\/127\.0\.0\.1:\d+: .*tls/);
    // Nothing reached the server as a client.
    expect((await plainServer.monitor<Connz>('/connz')).connections.find((c) => c.name === 'tls-to-plain')).toBeUndefined();
  });

  it('a TLS server whose CA the client was not given is refused (no silent trust)', async () => {
    await expect(connectNats(`tls://127.0.0.1:${tlsServer.port}`, 'unknown-ca', undefined, { env: {} })).rejects.toThrow(/certificate/i);
  });
});

/** A .creds file for a user of a JetStream-enabled account, and the operator-mode server config. */
function operatorSetup(): { creds: string; config: string } {
  const operator = nkeys.createOperator();
  const account = nkeys.createAccount();
  const user = nkeys.createUser();
  const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
  const jwt = (signer: typeof operator, sub: string, name: string, nats: Record<string, unknown>) => {
    const claims: Record<string, unknown> = { iat: Math.floor(Date.now() / 1000), iss: signer.getPublicKey(), name, sub, nats: { ...nats, version: 2 } };
    claims.jti = createHash('sha256').update(JSON.stringify(claims)).digest('base64url');
    const signing = `${b64({ typ: 'JWT', alg: 'ed25519-nkey' })}.${b64(claims)}`;
    return `${signing}.${Buffer.from(signer.sign(new TextEncoder().encode(signing))).toString('base64url')}`;
  };
  const opJwt = jwt(operator, operator.getPublicKey(), 'test-operator', { type: 'operator' });
  const unlimited = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 };
  const accJwt = jwt(operator, account.getPublicKey(), 'TICKWORK', {
    type: 'account',
    limits: { ...unlimited, mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 },
  });
  // JetStream in operator mode needs a system account.
  const system = nkeys.createAccount();
  const sysJwt = jwt(operator, system.getPublicKey(), 'SYS', { type: 'account', limits: unlimited });
  const userJwt = jwt(account, user.getPublicKey(), 'tickwork-worker', { type: 'user', pub: {}, sub: {}, subs: -1, data: -1, payload: -1 });
  const seed = new TextDecoder().decode(user.getSeed());
  const creds = `-----BEGIN NATS USER JWT-----\n${userJwt}\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n${seed}\n------END USER NKEY SEED------\n`;
  const config = [
    `operator: ${JSON.stringify(opJwt)}`,
    `system_account: ${system.getPublicKey()}`,
    'resolver: MEMORY',
    `resolver_preload: { ${account.getPublicKey()}: ${JSON.stringify(accJwt)}, ${system.getPublicKey()}: ${JSON.stringify(sysJwt)} }`,
  ].join('\n');
  return { creds, config };
}

describe('connectNats authentication (real nats-server)', () => {
  const servers: NatsServerProcess[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });
  const start = async (config: string) => {
    const s = await startNatsServer({ config });
    servers.push(s);
    return s;
  };

  it('NATS_TOKEN; a wrong token is refused', async () => {
    const s = await start('authorization: { token: "s3cret-token" }');
    const h = await connectNats(s.url, 'token-client', undefined, { env: { NATS_TOKEN: 's3cret-token' } });
    await h.nc.close();
    await expect(connectNats(s.url, 'bad-token', undefined, { env: { NATS_TOKEN: 'wrong' } })).rejects.toThrow(/Authorization Violation/i);
  });

  it('NATS_NKEY_SEED_FILE', async () => {
    const kp = nkeys.createUser();
    const s = await start(`authorization: { users: [ { nkey: ${kp.getPublicKey()} } ] }`);
    const seedFile = file('client.nk', new TextDecoder().decode(kp.getSeed()));
    const h = await connectNats(s.url, 'nkey-client', undefined, { env: { NATS_NKEY_SEED_FILE: seedFile } });
    await h.nc.close();
    await expect(connectNats(s.url, 'no-nkey', undefined, { env: {} })).rejects.toThrow(/Authorization Violation/i);
  });

  it('NATS_CREDS_FILE (user JWT + nkey, operator mode) with JetStream', async () => {
    const { creds, config } = operatorSetup();
    const s = await start(config);
    const h = await connectNats(s.url, 'creds-client', undefined, { env: { NATS_CREDS_FILE: file('worker.creds', creds) } });
    try {
      await h.jsm.streams.add({ name: 'CREDS_OK', subjects: ['creds.ok'], storage: StorageType.Memory });
      expect((await h.js.publish('creds.ok', 'x')).seq).toBe(1);
    } finally {
      await h.nc.close();
    }
    await expect(connectNats(s.url, 'no-creds', undefined, { env: {} })).rejects.toThrow(/Authorization Violation/i);
  });
});
