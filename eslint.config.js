import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Drivers: only runtime/ (and store/ for SQL and Redis) talk to them. */
const DRIVERS = [
  { name: 'ws', message: 'actors do not open sockets: use runtime/transport (SocketLink).' },
  { name: 'ioredis', message: 'Redis commands live in store/ (actors get a store port).' },
  { name: 'postgres', message: 'SQL lives in store/ (actors get a store port).' },
  { name: 'node:http', message: 'HTTP lives in runtime/ (runtime/transport, runtime/http).' },
  { name: 'node:https', message: 'HTTP lives in runtime/ (runtime/transport, runtime/http).' },
  { name: 'http', message: 'HTTP lives in runtime/ (runtime/transport, runtime/http).' },
  { name: 'https', message: 'HTTP lives in runtime/ (runtime/transport, runtime/http).' },
];
const NATS_DRIVER = { group: ['@nats-io/*'], message: 'actors consume and publish through runtime/nats (StreamSource, PipelinedPublisher); type-only imports are fine.' };

export default tseslint.config(
  { ignores: ['node_modules/', 'web/dist/', 'bench/results/', '.tickwork/', 'dist/', '.dist-*/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-floating-promises': 'off',
    },
  },
  {
    // The actor/driver boundary (STYLE.md): actors know ports, runtime surfaces and schemas, never drivers.
    files: ['actors/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { paths: DRIVERS.map((d) => ({ ...d, allowTypeImports: true })), patterns: [{ ...NATS_DRIVER, allowTypeImports: true }] },
      ],
      'no-restricted-globals': ['error', { name: 'fetch', message: 'HTTP lives in runtime/transport (getText).' }],
    },
  },
  {
    // SQL and Redis commands only in store/ (runtime/ holds the connection factories).
    files: ['actors/**/*.ts', 'api/**/*.ts', 'app/**/*.ts', 'cli/**/*.ts', 'venues/**/*.ts', 'simulate/**/*.ts', 'schemas/**/*.ts'],
    ignores: ['store/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'ioredis', message: 'Redis commands live in store/.' },
            { name: 'postgres', message: 'SQL lives in store/.' },
          ],
        },
      ],
    },
  },
  {
    files: ['bin/**/*.js', 'scripts/**/*.js', 'monitoring/**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
