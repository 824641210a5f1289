#!/usr/bin/env bash
# Serve the demo Back Office on the embedded SQLite database.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p var
if [ ! -s var/secret_key ]; then
  .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(50))' > var/secret_key
  chmod 600 var/secret_key
fi
export SECRET_KEY="$(cat var/secret_key)"
# The demo serves plain HTTP on this machine: no HTTPS redirect or secure-only cookies.
export SECURE_SSL_REDIRECT=0 SESSION_COOKIE_SECURE=0 CSRF_COOKIE_SECURE=0 SECURE_HSTS_SECONDS=0
unset DATABASE_URL
PORT=${PORT:-8000}
export DEMO=1
# Links in emails (invitations) point at the demo.
export PUBLIC_BASE_URL=${PUBLIC_BASE_URL:-http://localhost:$PORT}
export EMAIL_BACKEND=${EMAIL_BACKEND:-file}
export ALLOWED_HOSTS=${ALLOWED_HOSTS:-127.0.0.1,localhost}
export CSRF_TRUSTED_ORIGINS=${CSRF_TRUSTED_ORIGINS:-http://127.0.0.1:$PORT,http://localhost:$PORT}
M=(.venv/bin/python manage.py)

"${M[@]}" migrate --no-input -v 0
"${M[@]}" load_demo
"${M[@]}" collectstatic --no-input -v 0

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

if "${M[@]}" help send_outbox >/dev/null 2>&1; then
  "${M[@]}" send_outbox --loop &
  pids+=($!)
fi

cat <<INFO

  ReconPro Back Office is running at  http://localhost:$PORT/   (passkeys need the name localhost)

  Demo logins (password for all: reconpro-demo)
    admin@northwind.example       Administrator, Northwind Auto Reconditioning
    teamadmin@northwind.example   Team Administrator of Downtown Detail
    viewer@northwind.example      Viewer
    admin@bayside.example         Administrator, Bayside Dent & Paint (second company)
    operator@backoffice.example   Operator: Django admin at http://localhost:$PORT/admin/

  Emails land in var/mail/.  Press Ctrl-C to stop.

INFO
HOST=127.0.0.1 PORT="$PORT" WORKERS=2 THREADS=4 scripts/serve.sh &
pids+=($!)
wait "${pids[-1]}"
