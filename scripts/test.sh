#!/usr/bin/env bash
# Run the whole test suite on SQLite, then on a throwaway PostgreSQL cluster.
# Where no PostgreSQL binaries exist the PostgreSQL run is skipped with a loud
# warning, except under CI (CI=true), where that is an error.
set -uo pipefail
cd "$(dirname "$0")/.."
export BACKOFFICE_TESTING=1
PYTEST=(.venv/bin/python -m pytest "$@")

echo "=== Test suite on SQLite ==="
env -u DATABASE_URL "${PYTEST[@]}"
sqlite_rc=$?

echo "=== Test suite on PostgreSQL ==="
scripts/with-postgres.sh "${PYTEST[@]}"
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
