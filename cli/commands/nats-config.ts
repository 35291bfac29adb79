import type { Command } from 'commander';

/** `tickwork nats-config`: per-role NATS users and permissions (least privilege) for nats-server. */
export function register(program: Command): void {
  program
    .command('nats-config')
    .description('generate the nats-server authorization (one user per role: feed, worker, sink, spread, api, operator, admin, reader) and each role\'s credentials')
    .option('--namespace <ns>', 'namespace the subjects and streams are prefixed with (default TICKWORK_NAMESPACE)', process.env.TICKWORK_NAMESPACE ?? '')
    .option('--auth <kind>', 'nkey (seed files; no secret in the server config) or password', 'nkey')
    .option('--account <name>', 'NATS account holding the streams and users', 'TICKWORK')
    .option('--url <url>', 'server URL for the credentials templates', 'nats://nats:4222')
    .option('--out <file>', 'write the config to <file> and the credentials to <file>.credentials/ (else stdout/stderr)')
    .option('--seed-dir <dir>', 'where processes read the .nk seed files (NATS_NKEY_SEED_FILE), default the folder written')
    .action(async (opts: { namespace: string; auth: string; account: string; url: string; out?: string; seedDir?: string }) =>
      (await import('../../app/nats-auth.js')).runNatsConfig(opts, { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) }),
    );
}
