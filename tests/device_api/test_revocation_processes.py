"""
PostgreSQL only: a revoked credential is refused at once by every process.

A second app process (Django's WSGI application under ``wsgiref``, its own
caches in its own memory) serves the API against the test database beside
this test process. Each process serves a credential first, so whatever it
keeps from a check-in is warm; the credential is then revoked through the
other process, and the next call to the first one is refused.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.db import connection
from django.test import Client as HttpClient

from backoffice.devices.models import Device
from backoffice.devices.services import device_delete
from backoffice.licensing.models import License
from backoffice.licensing.services import license_suspend
from backoffice.organization.models import Team
from backoffice.organization.services import company_create, team_update
from backoffice.tenancy.choices import Role
from backoffice.tenancy.permissions import OPERATOR_COMMAND
from backoffice.tenancy.scoping import company_scope, scopes_disabled
from tests.device_api.conftest import API, add_code, bearer, make_pending, post_json, register
from tests.factories import make_user

ROOT = Path(__file__).resolve().parents[2]
CHECK_IN = {"name": "Tech Tablet 7", "os_type": "Android 14", "platform": "Android", "app_version": "5.4.1"}

SERVER = """
import sys
from wsgiref.simple_server import WSGIRequestHandler, make_server

import django
django.setup()
from backoffice.wsgi import application

class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass

make_server("127.0.0.1", int(sys.argv[1]), application, handler_class=Quiet).serve_forever()
"""

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="a second process needs a shared database"),
    pytest.mark.django_db(transaction=True),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def other_process(other_process_with_pid):
    return other_process_with_pid[0]


@pytest.fixture
def other_process_with_pid(credential_cache, settings):
    """
    The base URL and process id of a second app process on the test
    database, with the credential cache on when this process has it on (the
    same Redis, pushed generations included).
    """
    db = connection.settings_dict
    url = f"postgresql://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT']}/{db['NAME']}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "BACKOFFICE_TESTING": "1",
        "DJANGO_SETTINGS_MODULE": "backoffice.settings",
        "PYTHONPATH": str(ROOT / "src"),
        "ALLOWED_HOSTS": "127.0.0.1",
        "CACHE_URL": "",
        "GENERATIONS_REDIS_URL": settings.GENERATIONS_REDIS_URL or "none",
    }
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}{API}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise AssertionError("the second app process did not start")
            time.sleep(0.2)
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def setup():
    company = company_create(acting_user=OPERATOR_COMMAND, name="Processes Co")
    with company_scope(company):
        team = Team.objects.get(is_default=True)
    return company, team


def check_in_there(base: str, credential: str) -> httpx.Response:
    return httpx.post(f"{base}{API}/check-ins", json=CHECK_IN, headers=bearer(credential), timeout=30)


def test_device_deleted_here_is_refused_at_once_by_the_other_process(other_process, setup):
    company, team = setup
    pending = make_pending(company, team)
    response = register(HttpClient(), pending.code)
    assert response.status_code == 201
    credential = response.json()["credential"]
    for _ in range(3):
        assert check_in_there(other_process, credential).status_code == 200

    admin = make_user(company, Role.ADMINISTRATOR, email="admin@processes.example")
    with company_scope(company):
        device_delete(device=Device.objects.get(pk=pending.device.pk), acting_user=admin)

    refused = check_in_there(other_process, credential)
    assert refused.status_code == 401
    assert refused.json()["error"] == "credential_invalid"
    config = httpx.get(f"{other_process}{API}/config", headers=bearer(credential), timeout=30)
    assert config.status_code == 401


def test_device_re_registered_through_the_other_process_is_refused_at_once_here(other_process, setup):
    company, team = setup
    pending = make_pending(company, team)
    http = HttpClient()
    response = register(http, pending.code)
    assert response.status_code == 201
    old = response.json()["credential"]
    for _ in range(3):
        assert post_json(http, "/check-ins", CHECK_IN, **bearer(old)).status_code == 200

    code, _ = add_code(pending.device)
    again = httpx.post(
        f"{other_process}{API}/registrations", json={"code": code, "device": {**CHECK_IN, "device_id": "X"}}, timeout=30
    )
    assert again.status_code == 201, again.text
    new = again.json()["credential"]

    refused = post_json(http, "/check-ins", CHECK_IN, **bearer(old))
    assert refused.status_code == 401
    assert refused.json()["error"] == "credential_invalid"
    assert post_json(http, "/check-ins", CHECK_IN, **bearer(new)).status_code == 200
    with scopes_disabled():
        assert Device.objects.get(pk=pending.device.pk).credentials.filter(revoked_at__isnull=True).count() == 1


def test_license_suspended_here_is_refused_at_once_by_the_other_process(other_process, setup):
    company, team = setup
    pending = make_pending(company, team)
    credential = register(HttpClient(), pending.code).json()["credential"]
    for _ in range(3):
        assert check_in_there(other_process, credential).status_code == 200

    with scopes_disabled():
        license = License.objects.get(device=pending.device.pk)
    license_suspend(acting_user=OPERATOR_COMMAND, license=license)

    refused = check_in_there(other_process, credential)
    assert refused.status_code == 403
    assert refused.json()["error"] == "license_inactive"


def test_team_time_zone_changed_here_reaches_the_other_process_at_once(other_process, setup):
    company, team = setup
    pending = make_pending(company, team)
    credential = register(HttpClient(), pending.code).json()["credential"]
    for _ in range(3):
        before = check_in_there(other_process, credential)
    admin = make_user(company, Role.ADMINISTRATOR, email="tz@processes.example")
    with company_scope(company):
        team_update(acting_user=admin, team=Team.objects.get(pk=team.pk), name=team.name, time_zone="Asia/Tokyo")

    after = check_in_there(other_process, credential).json()["config_etag"]
    assert after != before.json()["config_etag"]
    config = httpx.get(f"{other_process}{API}/config", headers=bearer(credential), timeout=30).json()
    assert config["time_zone"] == "Asia/Tokyo"


def test_the_other_process_holds_its_copy_only_while_the_company_generation_stands(
    other_process, setup, credential_cache
):
    """
    A change that bypasses the models (raw SQL, which bumps nothing) shows
    the other process's copy at work: with the cache on it keeps answering
    from its copy, without it it reads the row at once; the next change
    through a service bumps the generation and the copy is read again.
    """
    company, team = setup
    pending = make_pending(company, team)
    credential = register(HttpClient(), pending.code).json()["credential"]
    for _ in range(3):
        etag = check_in_there(other_process, credential).json()["config_etag"]

    with connection.cursor() as cursor:
        cursor.execute("UPDATE devices_device SET nickname = %s WHERE id = %s", ["Renamed by SQL", pending.device.pk])
    unbumped = check_in_there(other_process, credential).json()["config_etag"]
    if credential_cache == "credential-cache":
        assert unbumped == etag
    else:
        assert unbumped != etag

    with scopes_disabled():
        license = License.objects.get(device=pending.device.pk)
    license_suspend(acting_user=OPERATOR_COMMAND, license=license)
    assert check_in_there(other_process, credential).status_code == 403


def test_a_device_deleted_while_the_other_process_is_stalled_is_refused_when_it_runs_again(
    other_process_with_pid, setup, credential_cache
):
    """
    The other process is stopped (SIGSTOP) while it holds the credential, as a
    process stalls in a long pause: the deletion answers only once that
    process's lease ran out (it cannot acknowledge), and the very first call
    it serves when it runs again is refused, whether or not its watcher has
    caught up with the bump meanwhile.
    """
    base, pid = other_process_with_pid
    company, team = setup
    pending = make_pending(company, team)
    credential = register(HttpClient(), pending.code).json()["credential"]
    for _ in range(3):
        assert check_in_there(base, credential).status_code == 200
    admin = make_user(company, Role.ADMINISTRATOR, email="stalled@processes.example")
    os.kill(pid, signal.SIGSTOP)
    try:
        with company_scope(company):
            device_delete(device=Device.objects.get(pk=pending.device.pk), acting_user=admin)
    finally:
        os.kill(pid, signal.SIGCONT)
    refused = check_in_there(base, credential)
    assert refused.status_code == 401
    assert refused.json()["error"] == "credential_invalid"
