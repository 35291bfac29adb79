import { startProcess, type Dependency, type ProcessContext } from '../runtime/process.js';
import { ensureMarketStreams, loadStreamsConfig } from './streams.js';

/**
 * One role as a process: the core settings and the streams' settings checked, the servers the
 * role `needs` connected, the market streams ensured, `start` run, then the HTTP server (metrics,
 * health, and whatever `start` registered) listening. The role's own settings are loaded by the
 * caller before this, so a bad one stops start-up before anything connects.
 */
export async function runRole(role: string, needs: Dependency[], env: NodeJS.ProcessEnv, start: (ctx: ProcessContext) => Promise<unknown>): Promise<ProcessContext> {
  const streams = loadStreamsConfig(env);
  const ctx = await startProcess({ role, needs, env });
  if (ctx.nats) await ensureMarketStreams(ctx.nats.jsm, ctx.ns, streams, ctx.log);
  await start(ctx);
  await ctx.listen();
  return ctx;
}
