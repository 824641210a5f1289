"""
Scale-out: two app server processes and two outbox workers against one
PostgreSQL and one Redis, driven at the same time through HTTP only.

Administrators add devices on both servers, the workers email the codes
through a real SMTP server, the phones redeem them and check in on either
server, administrators resend some emails, and an attacker's wrong codes
arrive on both servers at once. Afterwards: every write is there, every
email went out exactly once per send, and the per-network limit on failed
redemptions held exactly across the processes.
"""

import email
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import psycopg
import pytest
from aiosmtpd.controller import Controller

from tests.e2e.conftest import start_app_server, throwaway_database
from tests.notifications.conftest import CollectingHandler, free_port

ROOT = Path(__file__).resolve().parents[1]
CODE_RE = re.compile(r"\b([B-Z]{4}-[B-Z]{4}-[B-Z]{4}|[B-Z]{5}-[B-Z]{5})\b")
API = "/api/device/v1"
ADMIN = "admin@northwind.example"
PASSWORD = "reconpro-demo"
ADDS = 8
WRONG = 24

pytestmark = [pytest.mark.postgres_only]


@pytest.fixture(autouse=True)
def _db():
    """The processes under test have their own database; the test reads it with psycopg."""


def wait_until(check, *, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.fixture
def cluster(tmp_path):
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        pytest.skip("needs the PostgreSQL test cluster")
    redis_url = os.environ.get("REDIS_URL", "")
    if not redis_url:
        if os.environ.get("CI") == "true":
            pytest.fail("REDIS_URL is not set on CI: the scale-out test needs a Redis server")
        pytest.skip("needs a Redis server (REDIS_URL)")
    handler = CollectingHandler()
    smtp = Controller(handler, hostname="127.0.0.1", port=free_port())
    smtp.start()
    gen = throwaway_database(tmp_path)
    database_url = next(gen)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CACHE_URL": redis_url,
        "RATE_LIMIT_REDIS_URL": redis_url,
        "SECRET_KEY": "scale-out-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "BACKOFFICE_TESTING": "1",
        "BACKOFFICE_VAR_DIR": str(tmp_path),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "TRUSTED_PROXIES": "127.0.0.1",
        "EMAIL_BACKEND": "smtp",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp.port),
        "PYTHONPATH": str(ROOT / "src"),
    }

    def manage(*args: str) -> None:
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True)

    manage("migrate", "--no-input", "-v", "0")
    manage("createcachetable")
    manage("load_demo")
    # Clear Redis's rate-limit counters of earlier runs that shared this server.
    subprocess.run(["redis-cli", "-u", redis_url, "FLUSHDB"], check=False, capture_output=True)
    log = open(tmp_path / "processes.log", "w")  # noqa: SIM115
    ports = [free_port(), free_port()]
    processes = [start_app_server(port, env, log) for port in ports] + [
        subprocess.Popen(
            [sys.executable, "manage.py", "send_outbox", "--loop", "--interval", "0.3"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for _ in range(2)
    ]
    bases = [f"http://127.0.0.1:{port}" for port in ports]

    def up() -> bool:
        try:
            return all(httpx.get(f"{base}/login/", timeout=2).status_code == 200 for base in bases)
        except httpx.HTTPError:
            return False

    try:
        wait_until(up, seconds=30, what="both app servers")
        yield {"bases": bases, "smtp": handler, "db": database_url}
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=15)
        log.close()
        smtp.stop()
        next(gen, None)


def signed_in(base: str) -> httpx.Client:
    http = httpx.Client(base_url=base, timeout=20, follow_redirects=False)
    http.get("/login/")
    response = http.post(
        "/login/",
        data={"login": ADMIN, "password": PASSWORD, "csrfmiddlewaretoken": http.cookies["csrftoken"]},
        headers={"Referer": f"{base}/login/"},
    )
    assert response.status_code == 302, response.text[:500]
    return http


def csrf_post(http: httpx.Client, url: str, data: dict) -> httpx.Response:
    return http.post(
        url,
        data={**data, "csrfmiddlewaretoken": http.cookies["csrftoken"]},
        headers={"Referer": f"{http.base_url}/devices/"},
    )


def query(database_url: str, sql: str, *params) -> list[tuple]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(sql, params).fetchall()


def codes_for(handler: CollectingHandler, recipient: str) -> list[str]:
    found = []
    with handler.lock:
        envelopes = list(handler.messages)
    for envelope in envelopes:
        if recipient not in envelope.rcpt_tos:
            continue
        message = email.message_from_bytes(envelope.content)
        text = next(part for part in message.walk() if part.get_content_type() == "text/plain")
        found += CODE_RE.findall(text.get_payload(decode=True).decode())
    return found


def run_together(*jobs) -> list:
    """Run every job in its own thread, released together by a barrier; return their results in order."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def run(index: int, job) -> None:
        barrier.wait()
        try:
            results[index] = job()
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            results[index] = error

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    errors = [result for result in results if isinstance(result, Exception)]
    assert errors == [], errors
    return results


def test_two_servers_and_two_workers_behave_as_one(cluster, settings):
    bases, smtp, db = cluster["bases"], cluster["smtp"], cluster["db"]
    admins = [signed_in(base) for base in bases]
    team_id = query(db, "SELECT id FROM organization_team WHERE name = %s", "Downtown Detail")[0][0]
    free = [
        row[0]
        for row in query(
            db,
            "SELECT l.id FROM licensing_license l JOIN tenancy_company c ON c.id = l.company_id "
            "WHERE c.name = %s AND NOT l.is_suspended AND (l.expires_on IS NULL OR l.expires_on >= CURRENT_DATE) "
            "AND NOT EXISTS (SELECT 1 FROM devices_device d WHERE d.license_id = l.id) ORDER BY l.number",
            "Northwind Auto Reconditioning",
        )
    ]
    assert len(free) >= ADDS
    devices_before = query(db, "SELECT count(*) FROM devices_device")[0][0]

    # Administrators add devices on both servers at once.
    def add(i: int):
        return lambda: (
            csrf_post(
                admins[i % 2],
                "/devices/add/",
                {
                    "team": str(team_id),
                    "time_zone": "",
                    "license": str(free[i]),
                    "nickname": f"Scale tablet {i}",
                    "description": "",
                    "email": "",
                    "expires_in": "60",
                    "employee": "",
                    "recipients": [f"tech{i}@scale.example"],
                    "action": "save",
                },
            ).status_code
        )

    assert run_together(*(add(i) for i in range(ADDS))) == [302] * ADDS
    assert query(db, "SELECT count(*) FROM devices_device")[0][0] == devices_before + ADDS

    # Both workers drain the outbox: one email per device, none twice.
    wait_until(lambda: all(codes_for(smtp, f"tech{i}@scale.example") for i in range(ADDS)), seconds=60, what="emails")
    time.sleep(1.5)  # a second worker pass would show a duplicate
    first_codes = {i: codes_for(smtp, f"tech{i}@scale.example") for i in range(ADDS)}
    assert all(len(codes) == 1 for codes in first_codes.values()), first_codes

    # Resend two emails (on different servers) while the phones redeem and check in on both.
    email_ids = {
        nickname: pk
        for pk, nickname in query(
            db,
            "SELECT e.id, d.nickname FROM notifications_outboxemail e "
            "JOIN devices_registrationcode r ON r.id = e.registration_code_id "
            "JOIN devices_device d ON d.id = r.device_id WHERE d.nickname LIKE 'Scale tablet %%'",
        )
    }

    def resend(i: int):
        return lambda: csrf_post(admins[i % 2], f"/devices/emails/{email_ids[f'Scale tablet {i}']}/resend/", {})

    def redeem(i: int):
        def job():
            response = httpx.post(
                f"{bases[(i + 1) % 2]}{API}/registrations",
                json={
                    "code": first_codes[i][0],
                    "device": {
                        "name": f"Tab {i}",
                        "device_id": f"SCALE-{i}",
                        "os_type": "Android 15",
                        "platform": "Android",
                        "app_version": "6.1.0",
                    },
                },
                timeout=20,
            )
            assert response.status_code == 201, response.text
            credential = response.json()["credential"]
            for n in range(3):
                checked = httpx.post(
                    f"{bases[n % 2]}{API}/check-ins",
                    json={"name": f"Tab {i}", "os_type": "Android 15", "platform": "Android", "app_version": "6.1.1"},
                    headers={"Authorization": f"Bearer {credential}"},
                    timeout=20,
                )
                assert checked.status_code == 200, checked.text
            return credential

        return job

    results = run_together(resend(0), resend(1), *(redeem(i) for i in range(2, ADDS)))
    assert [response.status_code for response in results[:2]] == [302, 302]
    assert len(set(results[2:])) == ADDS - 2

    # The two resent emails arrive once more each, and only once.
    wait_until(
        lambda: all(len(codes_for(smtp, f"tech{i}@scale.example")) == 2 for i in (0, 1)), seconds=60, what="resends"
    )
    time.sleep(1.5)
    sent = Counter(
        recipient
        for envelope in list(smtp.messages)
        for recipient in envelope.rcpt_tos
        if recipient.endswith("@scale.example")  # the demo's own pending devices are emailed too
    )
    assert sent == Counter(
        {**{f"tech{i}@scale.example": 1 for i in range(2, ADDS)}, "tech0@scale.example": 2, "tech1@scale.example": 2}
    )

    # No lost write: every redeemed device is registered with its last reported version.
    rows = query(
        db,
        "SELECT nickname, registered_at IS NOT NULL, app_version FROM devices_device "
        "WHERE nickname LIKE 'Scale tablet %%' ORDER BY nickname",
    )
    assert rows == sorted(
        [(f"Scale tablet {i}", True, "6.1.1") for i in range(2, ADDS)]
        + [(f"Scale tablet {i}", False, "") for i in range(2)]
    )
    live_credentials = query(
        db,
        "SELECT count(*) FROM devices_devicecredential c JOIN devices_device d ON d.id = c.device_id "
        "WHERE c.revoked_at IS NULL AND d.nickname LIKE 'Scale tablet %%'",
    )[0][0]
    assert live_credentials == ADDS - 2

    # An attacker's wrong codes from one network, on both servers at once: exactly the limit is evaluated.
    def wrong(i: int):
        return lambda: (
            httpx.post(
                f"{bases[i % 2]}{API}/registrations",
                json={
                    "code": "BCDF-GHJK-LMNP" if i % 3 else "BCDFG-HJKLM",
                    "device": {
                        "name": "x",
                        "device_id": "x",
                        "os_type": "x",
                        "platform": "Android",
                        "app_version": "1",
                    },
                },
                headers={"X-Forwarded-For": "198.51.100.23"},
                timeout=20,
            ).status_code
        )

    statuses = Counter(run_together(*(wrong(i) for i in range(WRONG))))
    limit = settings.REGISTRATION_FAILED_PER_ADDRESS
    assert statuses[429] == WRONG - limit, statuses
    assert statuses[400] == limit, statuses
