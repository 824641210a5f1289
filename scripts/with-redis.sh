#!/usr/bin/env bash
# Run a command against a throwaway Redis server, then stop it.
#
#   scripts/with-redis.sh <command> [args...]
#
# The command sees REDIS_URL pointing at the server: bound to 127.0.0.1 on a
# free port, with no persistence (no RDB snapshots, no append-only file), in
# a temporary directory removed afterwards. Exits 3 when redis-server is
# missing (Debian: apt-get install redis-server).
set -euo pipefail

REDIS_SERVER=${REDIS_SERVER:-$(command -v redis-server || true)}
[ -z "$REDIS_SERVER" ] && [ -x /usr/bin/redis-server ] && REDIS_SERVER=/usr/bin/redis-server
if [ -z "$REDIS_SERVER" ]; then
  echo "with-redis: redis-server not found; install it (Debian: apt-get install redis-server)" >&2
  exit 3
fi

WORK=$(mktemp -d /tmp/backoffice-redis.XXXXXX)
PORT=${REDIS_TEST_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
PID=""

cleanup() {
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
    kill "$PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

"$REDIS_SERVER" --bind 127.0.0.1 --port "$PORT" --save '' --appendonly no --dir "$WORK" \
  --protected-mode yes --daemonize no --logfile "$WORK/redis.log" &
PID=$!

ready=""
for _ in $(seq 100); do
  if python3 - "$PORT" <<'PY' 2>/dev/null; then ready=1; break; fi
import socket, sys
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1) as s:
    s.sendall(b"PING\r\n")
    sys.exit(0 if s.recv(16).startswith(b"+PONG") else 1)
PY
  kill -0 "$PID" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$ready" ]; then
  echo "with-redis: redis-server did not start" >&2
  cat "$WORK/redis.log" >&2 || true
  exit 1
fi

export REDIS_URL="redis://127.0.0.1:$PORT/0"
echo "with-redis: $("$REDIS_SERVER" --version | awk '{print $1, $2, $3}') on port $PORT"
set +e
"$@"
rc=$?
set -e
exit $rc
