#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL cluster, then remove it.
#
#   scripts/with-postgres.sh <command> [args...]
#
# The command sees DATABASE_URL pointing at the cluster. PostgreSQL refuses
# to run as root, so as root the cluster runs as the "postgres" system user.
set -euo pipefail

find_bin() {
  local name=$1
  if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return; fi
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin/"$name" 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$found" ] && echo "$found"
}

INITDB=$(find_bin initdb || true)
PG_CTL=$(find_bin pg_ctl || true)
if [ -z "$INITDB" ] || [ -z "$PG_CTL" ]; then
  echo "with-postgres: initdb/pg_ctl not found; install PostgreSQL >= 15 (Debian: apt-get install postgresql)" >&2
  exit 3
fi

as_pg() {
  if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

WORK=$(mktemp -d /tmp/backoffice-pg.XXXXXX)
chmod 755 "$WORK"
[ "$(id -u)" = "0" ] && chown postgres "$WORK"
PORT=${PG_TEST_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}

cleanup() {
  as_pg "$PG_CTL" -D "$WORK/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

as_pg "$INITDB" -D "$WORK/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$WORK/initdb.log" 2>&1 \
  || { cat "$WORK/initdb.log" >&2; exit 1; }
as_pg "$PG_CTL" -D "$WORK/data" -l "$WORK/server.log" -w -t 60 \
  -o "-p $PORT -k $WORK -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
  start >/dev/null || { cat "$WORK/server.log" >&2; exit 1; }

CREATEDB=$(find_bin createdb)
"$CREATEDB" -h 127.0.0.1 -p "$PORT" -U postgres backoffice
export DATABASE_URL="postgres://postgres@127.0.0.1:$PORT/backoffice"
echo "with-postgres: PostgreSQL $("$PG_CTL" --version | awk '{print $3}') on port $PORT"
"$@"
