#!/usr/bin/env bash
# A nats-server >= 2.10 for tests (multi-filter consumers, partition() transforms) on a machine
# whose Debian release ships 2.9, without touching the system's apt configuration: Debian trixie's
# package is fetched with a private source list derived from this machine's own Debian source
# (no registry host is written in the repository) and unpacked with dpkg -x into .tickwork/.
#
# Usage: scripts/nats-server.sh [2.10|system]
#   2.10 (default)  prints the path of the 2.10 binary, fetching it once (idempotent)
#   system          prints the path of the system's nats-server (Debian bookworm: 2.9)
# Both report the system binary on stderr. On failure: one line on stderr, exit 1.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/.tickwork/nats-2.10"
want=${1:-2.10}
suite=trixie

die() { printf 'nats-server.sh: %s\n' "$*" >&2; exit 1; }
say() { printf 'nats-server.sh: %s\n' "$*" >&2; }

system_bin() { command -v nats-server 2>/dev/null || { [ -x /usr/sbin/nats-server ] && echo /usr/sbin/nats-server; }; }
version_of() { "$1" --version 2>/dev/null | grep -oE 'v[0-9]+\.[0-9]+\.[0-9]+' | head -1; }
# v2.10.27 → 0 when at least 2.10
at_least_2_10() { local v=${1#v} major minor; major=${v%%.*}; minor=${v#*.}; minor=${minor%%.*}; [ "$major" -gt 2 ] || { [ "$major" = 2 ] && [ "$minor" -ge 10 ]; }; }

sys=$(system_bin || true)
if [ -n "$sys" ]; then say "system nats-server: $sys $(version_of "$sys")"; else say "system nats-server: none"; fi

case $want in
  system)
    [ -n "$sys" ] || die "no system nats-server (Debian: apt-get install nats-server)"
    echo "$sys"
    exit 0
    ;;
  2.10) ;;
  *) die "unknown argument '$want'; expected 2.10 or system" ;;
esac

find_bin() { local b; for b in "$dest/root/usr/sbin/nats-server" "$dest/root/usr/bin/nats-server"; do [ -x "$b" ] && { echo "$b"; return 0; }; done; return 1; }

ready() {
  local b v
  b=$(find_bin) || return 1
  v=$(version_of "$b")
  [ -n "$v" ] && at_least_2_10 "$v" || return 1
  echo "$b"
}

ready && exit 0

mkdir -p "$dest" || die "cannot create $dest"
# Test files ask in parallel: one fetch at a time, the others find it done.
exec 9>"$dest/.lock"
flock -w 300 9 || die "timed out waiting for another fetch (lock $dest/.lock)"
ready && exit 0

command -v apt-get >/dev/null && command -v dpkg >/dev/null || die "apt-get and dpkg are needed to fetch nats-server 2.10 (Debian only)"

# The first Debian archive source of this machine (not -security/-updates/-backports):
# "URI KEYRING" from deb822 .sources stanzas, else from one-line sources.list entries.
debian_source() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    awk '
      function flush() {
        if (types ~ /(^| )deb( |$)/ && comps ~ /(^| )main( |$)/ && uri != "") {
          n = split(suites, s, " ")
          for (i = 1; i <= n; i++) if (s[i] !~ /-/) { print uri, (key == "" ? "-" : key); exit }
        }
        types = uri = suites = comps = key = ""
      }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      { k = $1; sub(/:$/, "", k); $1 = ""; sub(/^ +/, "") }
      k == "Types" { types = $0 } k == "URIs" { split($0, u, " "); uri = u[1] }
      k == "Suites" { suites = $0 } k == "Components" { comps = $0 } k == "Signed-By" { key = $0 }
      END { flush() }
    ' "$f"
  done | head -1 | grep . && return 0
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    awk '
      $1 != "deb" { next }
      {
        key = "-"; i = 2
        if ($2 ~ /^\[/) {
          for (; i <= NF; i++) { if ($i ~ /signed-by=/) { key = $i; sub(/.*signed-by=/, "", key); sub(/\]$/, "", key) } if ($i ~ /\]$/) { i++; break } }
        }
        if ($(i + 1) !~ /-/ && $0 ~ / main( |$)/) { print $i, key; exit }
      }
    ' "$f"
  done | head -1 | grep .
}

src=$(debian_source) || die "no Debian archive source found in /etc/apt/sources.list{,.d} to derive a $suite source from"
uri=${src%% *}
key=${src#* }
[ "$key" = - ] && key=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$key" ] || die "keyring $key (from the machine's Debian source) is not readable"

apt_dir="$dest/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$dest/deb"
printf 'deb [signed-by=%s] %s %s main\n' "$key" "$uri" "$suite" >"$apt_dir/sources.list"
log="$dest/fetch.log"
: >"$log"
opts=(
  -o "Dir::Etc::sourcelist=$apt_dir/sources.list"
  -o Dir::Etc::sourceparts=-
  -o "Dir::State::Lists=$apt_dir/lists"
  -o "Dir::Cache=$apt_dir/cache"
  -o APT::Get::List-Cleanup=0
  # The private folders are root's; downloading as root avoids the _apt sandbox warning.
  -o APT::Sandbox::User=root
)
apt-get "${opts[@]}" update >>"$log" 2>&1 || die "apt-get update for $suite from $uri failed; see $log"
(cd "$dest/deb" && rm -f nats-server_*.deb && apt-get "${opts[@]}" download nats-server) >>"$log" 2>&1 \
  || die "apt-get download nats-server ($suite from $uri) failed; see $log"
deb=$(ls "$dest/deb"/nats-server_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || die "apt-get download left no nats-server .deb in $dest/deb; see $log"
rm -rf "$dest/root"
dpkg -x "$deb" "$dest/root" >>"$log" 2>&1 || die "dpkg -x $deb failed; see $log"
bin=$(find_bin) || die "$deb holds no usr/sbin/nats-server or usr/bin/nats-server"
v=$(version_of "$bin")
at_least_2_10 "${v:-v0.0.0}" || die "$bin reports '${v:-no version}', not >= 2.10 (from $deb)"
# The index (10 MB) is only needed to fetch; a re-run finds the binary and stops before it.
rm -rf "$apt_dir/lists" "$apt_dir/cache"
say "nats-server $v unpacked from $(basename "$deb")"
echo "$bin"
