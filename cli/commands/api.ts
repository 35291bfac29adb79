import type { Command } from 'commander';

/** `tickwork api`: the query service only (HTTP + WebSocket + NATS request/reply + dashboard). */
export function register(program: Command): void {
  program
    .command('api')
    .description('query service only: HTTP /v1 API, /v1/stream WebSocket, NATS md.query.*, dashboard at /')
    .action(async () => (await import('../../app/api.js')).runApi());
}
