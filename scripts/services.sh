#!/usr/bin/env bash
# Makes NATS (JetStream), Redis and PostgreSQL answer at NATS_URL / REDIS_URL / DATABASE_URL.
# Order of resort: already reachable → start locally installed servers (data under .tickwork/)
# → as root with apt, install Debian's packages and start them → with a Docker engine, docker
# compose (main job) or Testcontainers (tests: exit 3 tells the test harness to use it).
# Usage: scripts/services.sh [ensure|status|stop] [--for up|test]
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
state="$root/.tickwork"
mode=${1:-ensure}
purpose=up
[ "${2:-}" = "--for" ] && purpose=${3:-up}

NATS_URL=${NATS_URL:-nats://127.0.0.1:4222}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}

say() { printf 'services: %s\n' "$*" >&2; }
die() { printf 'services: %s\n' "$*" >&2; exit "${2:-1}"; }

# host and port of a URL: scheme://[user[:pass]@]host[:port][/...]
host_of() { local h=${1#*://}; h=${h%%/*}; h=${h##*@}; h=${h%%:*}; [ "$h" = localhost ] && h=127.0.0.1; printf '%s' "$h"; }
port_of() { local h=${1#*://}; h=${h%%/*}; h=${h##*@}; case $h in *:*) printf '%s' "${h##*:}" ;; *) printf '%s' "$2" ;; esac; }

NATS_HOST=$(host_of "$NATS_URL");   NATS_PORT=$(port_of "$NATS_URL" 4222)
REDIS_HOST=$(host_of "$REDIS_URL"); REDIS_PORT=$(port_of "$REDIS_URL" 6379)
PG_HOST=$(host_of "$DATABASE_URL"); PG_PORT=$(port_of "$DATABASE_URL" 5432)

reachable() { timeout 1 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }
nats_up()  { reachable "$NATS_HOST" "$NATS_PORT"; }
redis_up() { reachable "$REDIS_HOST" "$REDIS_PORT"; }
pg_up() {
  if command -v pg_isready >/dev/null; then pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 1; else reachable "$PG_HOST" "$PG_PORT"; fi
}
local_host() { case $1 in 127.*|::1|0.0.0.0) return 0 ;; *) return 1 ;; esac; }

wait_for() { # name check-fn seconds
  local i
  for ((i = 0; i < $3 * 10; i++)); do "$2" && return 0; sleep 0.1; done
  return 1
}

pg_bindir() {
  if command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/initdb" ]; then pg_config --bindir; return; fi
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
}
have_nats()  { command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ]; }
have_redis() { command -v redis-server >/dev/null; }
have_pg()    { local d; d=$(pg_bindir); [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; }

start_nats() {
  local bin; bin=$(command -v nats-server || echo /usr/sbin/nats-server)
  mkdir -p "$state/nats"
  setsid nohup "$bin" -a "$NATS_HOST" -p "$NATS_PORT" -js -sd "$state/nats" -P "$state/nats.pid" -l "$state/nats.log" >/dev/null 2>&1 &
  wait_for nats nats_up 15 || die "nats-server did not come up on $NATS_HOST:$NATS_PORT; see $state/nats.log"
  say "started nats-server -js on $NATS_HOST:$NATS_PORT (data in .tickwork/nats)"
}

start_redis() {
  mkdir -p "$state/redis"
  redis-server --daemonize yes --bind "$REDIS_HOST" --port "$REDIS_PORT" --dir "$state/redis" --save "" \
    --appendonly no --pidfile "$state/redis.pid" --logfile "$state/redis.log" >/dev/null \
    || die "redis-server failed to start; see $state/redis.log"
  wait_for redis redis_up 15 || die "redis-server did not come up on $REDIS_HOST:$REDIS_PORT; see $state/redis.log"
  say "started redis-server on $REDIS_HOST:$REDIS_PORT"
}

# PostgreSQL refuses to run as root: as root, the cluster belongs to the 'postgres' system user.
as_pg_user() {
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

start_pg() {
  local bin; bin=$(pg_bindir)
  local data="$state/pg" sock="$state/pgsock" logs="$state/pglog"
  mkdir -p "$data" "$sock" "$logs"
  [ "$(id -u)" = 0 ] && { as_pg_user true; chown -R postgres "$data" "$sock" "$logs"; chmod 700 "$data"; chmod o+x "$state" "$root"; }
  if [ ! -f "$data/PG_VERSION" ]; then
    as_pg_user "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 >"$state/initdb.log" 2>&1 \
      || die "initdb failed; see $state/initdb.log"
  fi
  as_pg_user "$bin/pg_ctl" -D "$data" -l "$logs/pg.log" -w -t 30 \
    -o "-p $PG_PORT -k $sock -c listen_addresses=$PG_HOST -c fsync=off" start >/dev/null \
    || die "postgresql failed to start; see $logs/pg.log"
  wait_for pg pg_up 30 || die "postgresql did not come up on $PG_HOST:$PG_PORT; see $logs/pg.log"
  say "started postgresql on $PG_HOST:$PG_PORT (data in .tickwork/pg)"
}

apt_install() {
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || return 1
  say "installing Debian packages: $*"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null 2>&1
  apt-get install -y -qq --no-install-recommends "$@" >"$state/apt.log" 2>&1 || die "apt-get install $* failed; see $state/apt.log"
}

docker_ok() { command -v docker >/dev/null && docker info >/dev/null 2>&1; }

status() {
  local rc=0
  nats_up  && say "nats      $NATS_HOST:$NATS_PORT up"   || { say "nats      $NATS_HOST:$NATS_PORT down"; rc=1; }
  redis_up && say "redis     $REDIS_HOST:$REDIS_PORT up" || { say "redis     $REDIS_HOST:$REDIS_PORT down"; rc=1; }
  pg_up    && say "postgres  $PG_HOST:$PG_PORT up"       || { say "postgres  $PG_HOST:$PG_PORT down"; rc=1; }
  return $rc
}

stop_local() {
  [ -f "$state/nats.pid" ] && kill "$(cat "$state/nats.pid")" 2>/dev/null && say "stopped nats-server"
  [ -f "$state/redis.pid" ] && kill "$(cat "$state/redis.pid")" 2>/dev/null && say "stopped redis-server"
  [ -f "$state/pg/postmaster.pid" ] && as_pg_user "$(pg_bindir)/pg_ctl" -D "$state/pg" -m fast stop >/dev/null && say "stopped postgresql"
  rm -f "$state/nats.pid" "$state/redis.pid"
}

ensure() {
  mkdir -p "$state"
  local missing=()
  nats_up || missing+=(nats)
  redis_up || missing+=(redis)
  pg_up || missing+=(pg)
  [ ${#missing[@]} -eq 0 ] && return 0

  local need_pkgs=()
  for s in "${missing[@]}"; do
    local host_var="${s^^}_HOST"; [ "$s" = pg ] && host_var=PG_HOST
    local_host "${!host_var}" || die "$s at ${!host_var} is not reachable and is not local, so it cannot be started here: check its URL"
    case $s in
      nats)  have_nats  || need_pkgs+=(nats-server) ;;
      redis) have_redis || need_pkgs+=(redis-server) ;;
      pg)    have_pg    || need_pkgs+=(postgresql) ;;
    esac
  done
  if [ ${#need_pkgs[@]} -gt 0 ]; then
    if ! apt_install "${need_pkgs[@]}"; then
      if docker_ok; then
        if [ "$purpose" = test ]; then say "using Testcontainers for: ${missing[*]}"; exit 3; fi
        say "starting ${missing[*]} with docker compose"
        docker compose -f "$root/docker-compose.yml" up -d nats redis postgres >/dev/null || die "docker compose up failed"
        wait_for nats nats_up 60 && wait_for redis redis_up 60 && wait_for pg pg_up 60 || die "docker compose services did not come up"
        return 0
      fi
      die "missing ${need_pkgs[*]}: install them (Debian: apt-get install ${need_pkgs[*]}), start a Docker engine, or point NATS_URL/REDIS_URL/DATABASE_URL at running servers"
    fi
  fi
  for s in "${missing[@]}"; do "start_$s"; done
}

case $mode in
  ensure) ensure ;;
  status) status ;;
  stop) stop_local ;;
  *) die "usage: scripts/services.sh [ensure|status|stop] [--for up|test]" 2 ;;
esac
