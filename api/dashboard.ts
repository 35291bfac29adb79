import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';

export const DEFAULT_WEB_DIR = fileURLToPath(new URL('../web/dist', import.meta.url));

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tickwork — dashboard not built</title></head>
<body style="font-family: system-ui, sans-serif; margin: 3rem; color: #222">
<h1>tickwork dashboard not built</h1>
<p>Run <code>npm run build:web</code> in the repository, then reload this page.</p>
<p>The API itself is up: try <a href="/v1/symbols">/v1/symbols</a> or <a href="/openapi.json">/openapi.json</a>.</p>
</body></html>`;

/**
 * The dashboard at `/`: the vite build in web/dist served as static files, or a page saying how
 * to build it. Files are routed one by one (no wildcard) so unknown /v1 paths keep the API's 404.
 */
export async function registerDashboard(app: FastifyInstance, dir: string): Promise<{ built: boolean }> {
  if (!existsSync(join(dir, 'index.html'))) {
    app.get('/', { schema: { hide: true } }, (_req, reply) => reply.code(503).type('text/html; charset=utf-8').send(NOT_BUILT));
    return { built: false };
  }
  await app.register(fastifyStatic, { root: dir, prefix: '/', wildcard: false, index: ['index.html'], cacheControl: false });
  return { built: true };
}
