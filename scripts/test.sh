#!/usr/bin/env bash
# Run the whole test suite on SQLite, then on a throwaway PostgreSQL cluster,
# both with a throwaway Redis server (scripts/with-redis.sh exports REDIS_URL
# for the rate-limit tests on Redis). Where no PostgreSQL binaries or no
# redis-server exist, that part is skipped with a loud warning, except under
# CI (CI=true), where that is an error (and the Redis tests fail without
# REDIS_URL).
set -uo pipefail
cd "$(dirname "$0")/.."
export BACKOFFICE_TESTING=1
PYTEST=(.venv/bin/python -m pytest "$@")

if command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ]; then
  WITH_REDIS=(scripts/with-redis.sh)
elif [ "${CI:-}" = "true" ]; then
  echo "ERROR: redis-server is missing on CI." >&2
  exit 1
else
  echo "WARNING: redis-server not found: the rate-limit tests on Redis are SKIPPED." >&2
  WITH_REDIS=()
fi

echo "=== Test suite on SQLite ==="
env -u DATABASE_URL "${WITH_REDIS[@]}" "${PYTEST[@]}"
sqlite_rc=$?

echo "=== Test suite on PostgreSQL ==="
"${WITH_REDIS[@]}" scripts/with-postgres.sh "${PYTEST[@]}"
pg_rc=$?
if [ $pg_rc -eq 3 ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "ERROR: PostgreSQL binaries are missing on CI." >&2
  else
    echo "WARNING: PostgreSQL binaries not found: the PostgreSQL run was SKIPPED." >&2
    pg_rc=0
  fi
fi
if [ $sqlite_rc -ne 0 ] || [ $pg_rc -ne 0 ]; then
  echo "Tests failed (SQLite: $sqlite_rc, PostgreSQL: $pg_rc)." >&2
  exit 1
fi
echo "All tests passed on SQLite and PostgreSQL."
