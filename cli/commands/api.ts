import type { Command } from 'commander';
import { registerApi } from '../../api/index.js';
import { startProcess } from '../../runtime/process.js';

/** `tickwork api`: the query service only (HTTP + WebSocket + NATS request/reply + dashboard). */
export function register(program: Command): void {
  program
    .command('api')
    .description('query service only: HTTP /v1 API, /v1/stream WebSocket, NATS md.query.*, dashboard at /')
    .action(async () => {
      const ctx = await startProcess({ role: 'api', needs: ['nats', 'redis', 'pg'] });
      const handle = await registerApi(ctx);
      ctx.lifecycle.onShutdown('intake', 'api', handle.close);
      const port = await ctx.listen();
      ctx.log.info({ port, dashboard: handle.dashboard }, 'tickwork api');
    });
}
