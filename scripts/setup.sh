#!/bin/sh
# One-time and every-time setup for `npm start` / `npm test`: dependencies, then the servers.
set -e
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies" >&2
  # npm ci installs exactly the lockfile; npm install only when there is none.
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund >&2; else npm install --no-audit --no-fund >&2; fi
fi
if [ -f web/package.json ] || [ -f web/index.html ]; then
  if [ ! -f web/dist/index.html ] && grep -q '"build:web"' package.json; then
    echo "setup: building the dashboard" >&2
    npm run --silent build:web >&2
  fi
fi
# Ahead-of-time build (dist/): when missing or older than a source.
sh scripts/build.sh --if-stale
purpose=${1:-up}
rc=0
bash scripts/services.sh ensure --for "$purpose" || rc=$?
# 3: only a Docker engine can provide the servers; the test harness starts Testcontainers.
[ "$rc" = 3 ] && [ "$purpose" = test ] && exit 0
exit "$rc"
