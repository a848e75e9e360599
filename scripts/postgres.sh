#!/usr/bin/env bash
# A PostgreSQL server for the tests: private to this checkout (its own data directory, socket
# directory and port on loopback), started empty each time and stopped afterwards.
#
#   scripts/postgres.sh start   install PostgreSQL when missing (Debian's package), start it
#   scripts/postgres.sh url     the URL tests connect with
#   scripts/postgres.sh createdb NAME   make an empty database NAME and print its URL
#   scripts/postgres.sh stop    stop it (nothing when it is not running)
#
# Idempotent: `start` on a running server leaves it running. Trust authentication is used, and
# the server listens on 127.0.0.1 and its own socket directory only: it holds test data alone.
# PostgreSQL refuses to run as root; as root, the server runs as the `postgres` user that
# Debian's package creates.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
# A port of this checkout's own (two checkouts on one machine do not meet).
port="${LAKELINE_PG_PORT:-$(( 50000 + $(printf '%s' "$root" | cksum | cut -d' ' -f1) % 10000 ))}"
dir="$root/target/postgres"
data="$dir/data"
sockets="$dir/run"
log="$dir/postgres.log"

pg_bin() {
  local found
  if found="$(command -v pg_ctl 2>/dev/null)"; then
    dirname "$(readlink -f "$found")"
    return
  fi
  found="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  [[ -n "$found" && -x "$found/pg_ctl" ]] && echo "$found"
}

install_postgres() {
  if [[ -n "$(pg_bin)" ]]; then
    return
  fi
  echo "postgres.sh: installing PostgreSQL (Debian's postgresql package)" >&2
  local sudo=""
  [[ "$(id -u)" -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  [[ -n "$(pg_bin)" ]] || { echo "postgres.sh: PostgreSQL was installed but pg_ctl is not found" >&2; exit 1; }
}

# Runs a PostgreSQL program as the user the server runs as.
as_server_user() {
  if [[ "$(id -u)" -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

running() {
  [[ -f "$data/PG_VERSION" ]] && as_server_user "$(pg_bin)/pg_ctl" -D "$data" status >/dev/null 2>&1
}

start() {
  install_postgres
  if running; then
    return
  fi
  local bin
  bin="$(pg_bin)"
  rm -rf "$dir"
  mkdir -p "$data" "$sockets"
  if [[ "$(id -u)" -eq 0 ]]; then
    chown -R postgres: "$dir"
  fi
  as_server_user "$bin/initdb" -D "$data" --username=lakeline --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  # Many test databases at once, each with Lakeline's pool; fsync off: the data is thrown away.
  as_server_user "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 \
    -o "-p $port -k $sockets -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null || { tail -n 20 "$log" >&2; exit 1; }
  echo "postgres.sh: PostgreSQL is listening on 127.0.0.1:$port (data in $data)" >&2
}

stop() {
  local bin
  bin="$(pg_bin)"
  if [[ -n "$bin" ]] && running; then
    as_server_user "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url) echo "postgres://lakeline@127.0.0.1:$port/postgres" ;;
  createdb)
    name="${2:?usage: scripts/postgres.sh createdb NAME}"
    [[ "$name" =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "postgres.sh: a database name is lower-case letters, digits and _" >&2; exit 2; }
    "$(pg_bin)/psql" -q -h 127.0.0.1 -p "$port" -U lakeline -d postgres -c "CREATE DATABASE $name" >&2
    echo "postgres://lakeline@127.0.0.1:$port/$name"
    ;;
  *) echo "usage: scripts/postgres.sh start|stop|url|createdb NAME" >&2; exit 2 ;;
esac
