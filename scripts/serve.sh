#!/usr/bin/env bash
# Serve the Back Office as production runs it: granian (WSGI) on HOST:PORT.
#
#   HOST=0.0.0.0 PORT=8000 WORKERS=4 THREADS=4 scripts/serve.sh
#
# granian carried more requests per second than gunicorn on the same machine
# (docs/benchmarks.md, "Check-ins (issue 16)"). Its access log writes the
# path without the query string (%(path)s), so nothing a client puts in a
# query string, such as a credential or a registration code sent where they do
# not belong, ever reaches a log; ACCESS_LOG=0 turns the access log off.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
access=(--access-log --access-log-fmt '%(addr)s - [%(time)s] "%(method)s %(path)s %(protocol)s" %(status)d %(dt_ms).1fms')
[ "${ACCESS_LOG:-1}" = "0" ] && access=(--no-access-log)
export PYTHONPATH="$ROOT/src${PYTHONPATH:+:$PYTHONPATH}"
exec "${PYTHON:-$ROOT/.venv/bin/python}" -m granian --interface wsgi --no-ws \
  --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}" \
  --workers "${WORKERS:-2}" --blocking-threads "${THREADS:-4}" \
  --log-level "${LOG_LEVEL:-warning}" "${access[@]}" \
  backoffice.wsgi:application
