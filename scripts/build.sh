#!/bin/sh
# Ahead-of-time build: every TypeScript source (tests and the dashboard aside) transpiled file by
# file to JavaScript in dist/, same tree, so nothing compiles TypeScript at run time; the CLI
# (cli/main.js and cli/commands/) as a bundle instead (below). Types are checked by
# `npm run typecheck`.
#
#   scripts/build.sh            build
#   scripts/build.sh --if-stale build only when dist/ is missing or a source is newer than it
set -eu
cd "$(dirname "$0")/.."

# Folders that are not part of the runtime tree (tests run from sources through vitest; the
# dashboard is built by vite into web/dist).
prune() {
  find . -mindepth 1 \( -path ./node_modules -o -path ./dist -o -path './.dist-*' -o -path ./.git \
    -o -path ./.tickwork -o -path ./test -o -path ./web -o -path ./bench/results -o -path ./deploy \
    -o -path ./monitoring -o -path ./migrations -o -path ./scripts -o -path ./bin -o -path ./.ci \
    -o -path ./coverage -o -path ./test-results \) -prune -o "$@"
}

STAMP=dist/.built
# A folder's mtime moves when a file in it is added, removed or renamed: deleted sources count too.
stale() {
  [ -f "$STAMP" ] || return 0
  [ -n "$(prune \( -name '*.ts' -o -type d \) -newer "$STAMP" -print | head -n 1)" ] && return 0
  [ -n "$(find tsconfig.build.json scripts/build.sh -newer "$STAMP" -print)" ]
}

if [ "${1:-}" = --if-stale ] && ! stale; then exit 0; fi

# Several test runs may share one checkout: one builder at a time, and a waiting one rechecks.
exec 9>.dist-lock
command -v flock >/dev/null && flock 9
if [ "${1:-}" = --if-stale ] && ! stale; then exit 0; fi

tmp=.dist-new.$$
trap 'rm -rf "$tmp"' EXIT
rm -rf "$tmp" && mkdir "$tmp"
# Stamped before compiling: a source saved during the build is newer than the stamp.
: >"$tmp/.built"
# Every source but the CLI's file by file, while the CLI is bundled (below): two cores, two esbuilds.
prune -path './*/*' ! -path './cli/*' -name '*.ts' ! -name '*.d.ts' ! -name '*.test.ts' -print | sed 's|^\./||' >"$tmp/.sources"
xargs node_modules/.bin/esbuild --log-level=warning --format=esm --platform=node --target=node20 \
  --tsconfig=tsconfig.build.json --outbase=. --outdir="$tmp" --sourcemap=linked <"$tmp/.sources" &
files=$!

# The CLI (what bin/tickwork.js and the image run) as a bundle beside that tree: cli/main.js and one
# entry per command, each command's app/ code a chunk loaded when it runs, libraries included.
# Loading ~900 small modules (TypeBox alone is 249) took most of a start (worker: 0.8 s CPU).
# Chunks sit in dist/chunks/, one folder down like the sources that find files by
# import.meta.url (../migrations, ../web/dist). External: packages that read their own files
# through __dirname (ioredis, @fastify/swagger*, @fastify/static), load on demand (the OpenTelemetry
# SDK, pino-pretty), or are native (the bench's nodejs-polars, resvg). @opentelemetry/api is bundled:
# prom-client requires it at load, and as ~50 CommonJS files it cost every process ~5 MB and ~0.1 s;
# the SDK's own copy shares its state through the API's global registry (Symbol.for keys).
# Whitespace minified (names kept, so stack traces still name their functions; the linked source
# maps give the TypeScript lines): V8 keeps every loaded source, and a worker loads ~4 MB of it.
# The `require` line lets bundled CommonJS load Node's built-ins from an ES module.
bundled=0
node_modules/.bin/esbuild --log-level=warning --bundle --splitting --format=esm --platform=node --target=node20 \
  --tsconfig=tsconfig.build.json --outbase=. --outdir="$tmp" --chunk-names='chunks/[name]-[hash]' --sourcemap=linked --minify-whitespace \
  --banner:js="import { createRequire as __twRequire } from 'node:module'; const require = __twRequire(import.meta.url);" \
  --external:ioredis --external:@fastify/swagger --external:@fastify/swagger-ui --external:@fastify/static \
  --external:@opentelemetry/core --external:@opentelemetry/sdk-trace-base --external:@opentelemetry/resources \
  --external:'@opentelemetry/exporter-*' --external:pino-pretty --external:nodejs-polars --external:'@resvg/*' \
  cli/main.ts cli/commands/*.ts || bundled=$?
wait "$files"
[ "$bundled" = 0 ]
rm "$tmp/.sources"

# Files the code finds relative to its own module (new URL('../x', import.meta.url)): from
# dist/<dir>/ those land in dist/, so dist/ links back to the checkout's copies.
ln -s ../package.json ../migrations ../bin ../node_modules "$tmp/"
mkdir -p "$tmp/web" "$tmp/bench" && ln -s ../../web/dist "$tmp/web/dist" && ln -s ../../bench/results "$tmp/bench/results"

# Swap in one step for processes already running from dist/ (their lazy imports find files).
rm -rf .dist-old
[ -d dist ] && mv dist .dist-old
mv "$tmp" dist
rm -rf .dist-old
echo "build: dist/ ($(find dist -name '*.js' | wc -l) files)" >&2
