"""
``GET /ready``: 200 once the database answered, 503 ``database_unavailable``
with ``Retry-After`` when it does not (a real server process pointed at a
PostgreSQL port where nothing listens), while ``/health`` still answers.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.device_api.conftest import API

ROOT = Path(__file__).resolve().parents[2]


def test_ready_answers_after_one_trivial_statement(http):
    with CaptureQueriesContext(connection) as queries:
        response = http.get(f"{API}/ready")
    assert response.status_code == 200
    assert response.json() == {}
    assert [query["sql"] for query in queries.captured_queries] == ["SELECT 1"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


PROBE = """
import json, django
django.setup()
from django.test import Client
http = Client()
ready = http.get("/api/device/v1/ready")
health = http.get("/api/device/v1/health")
print(json.dumps({"ready": [ready.status_code, ready.json(), ready.get("Retry-After")], "health": health.status_code}))
"""


def test_ready_refuses_without_a_database_and_health_still_answers(tmp_path):
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "DJANGO_SETTINGS_MODULE": "backoffice.settings",
        "BACKOFFICE_TESTING": "1",
        "BACKOFFICE_VAR_DIR": str(tmp_path),
        "ALLOWED_HOSTS": "testserver",
        # Nothing listens there: every connection attempt is refused at once.
        "DATABASE_URL": f"postgres://nobody@127.0.0.1:{_closed_port()}/none?connect_timeout=2",
    }
    run = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 0, run.stderr
    answer = json.loads(run.stdout.strip().splitlines()[-1])
    assert answer["ready"] == [
        503,
        {"error": "database_unavailable", "detail": "The server cannot reach its database; try again shortly."},
        "5",
    ]
    assert answer["health"] == 200
