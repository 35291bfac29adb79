import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../harness.js';

/**
 * The actor/driver boundary of STYLE.md, as eslint.config.js enforces it: code under actors/ may
 * not import drivers (ws, ioredis, postgres, @nats-io/*, node:http) or call fetch; type-only
 * imports of runtime surfaces stay allowed. Outside store/, no Redis or SQL client either.
 */
const eslint = new ESLint({ cwd: repoRoot });

async function problems(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${repoRoot}${file}` });
  return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

describe('eslint: the actor/driver boundary', () => {
  it('refuses driver imports and fetch in actors/', async () => {
    for (const [mod, expected] of [
      ['ws', /runtime\/transport/],
      ['ioredis', /store\//],
      ['postgres', /store\//],
      ['@nats-io/jetstream', /runtime\/nats/],
      ['node:http', /runtime\//],
    ] as const) {
      const found = await problems('actors/feed/probe.ts', `import x from '${mod}';\nexport const y = x;\n`);
      expect(found.join('\n'), mod).toMatch(expected);
    }
    expect((await problems('actors/feed/probe.ts', `export const r = fetch('http://x');\n`)).join('\n')).toMatch(/runtime\/transport/);
  });

  it('allows type-only imports of driver types and the runtime surfaces', async () => {
    const code = `import type { JsMsg } from '@nats-io/jetstream';\nimport { StreamSource } from '../../runtime/nats/index.js';\nexport type M = JsMsg;\nexport const S = StreamSource;\n`;
    expect(await problems('actors/feed/probe.ts', code)).toEqual([]);
  });

  it('keeps Redis and SQL clients in store/', async () => {
    expect((await problems('api/probe.ts', `import { Redis } from 'ioredis';\nexport const r = Redis;\n`)).join('\n')).toMatch(/store\//);
    expect(await problems('store/probe.ts', `import postgres from 'postgres';\nexport const p = postgres;\n`)).toEqual([]);
  });
});
