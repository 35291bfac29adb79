import { migrate } from '../../store/migrate.js';
import { loadApiSettings, startApi as startApiOn } from '../../app/api.js';
import type { ApiHandle } from '../../api/index.js';
import type { ApiConfig } from '../../api/config.js';
import { startProcess, type ProcessContext } from '../../runtime/process.js';
import { isolated, type Isolated } from '../harness.js';

export interface ApiUnderTest {
  iso: Isolated;
  ctx: ProcessContext;
  api: ApiHandle;
  base: string;
  wsUrl: string;
  stop(): Promise<void>;
}

/**
 * The query service on real NATS/Redis/PostgreSQL in a private namespace (migrated schema),
 * listening on a free port, exactly as `tickwork api` wires it. `shared`: another API process of
 * that namespace (its owner cleans it up).
 */
export async function startApi(config: Partial<ApiConfig> = {}, shared?: Isolated): Promise<ApiUnderTest> {
  const iso = shared ?? isolated();
  if (!shared) await migrate(iso.sql(), iso.ns.pgSchema);
  const ctx = await startProcess({
    role: 'api-test',
    needs: ['nats', 'redis', 'pg'],
    env: iso.env,
    httpPort: 0,
    installSignalHandlers: false,
  });
  const settings = loadApiSettings(iso.env);
  const api = await startApiOn(ctx, { ...settings, api: { ...settings.api, ...config } });
  const port = await ctx.listen();
  return {
    iso,
    ctx,
    api,
    base: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/v1/stream`,
    async stop() {
      await ctx.lifecycle.shutdown().catch(() => undefined);
      if (!shared) await iso.cleanup();
    },
  };
}
