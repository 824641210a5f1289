"""
Benchmark of one company among many in the same PostgreSQL.

    scripts/with-postgres.sh .venv/bin/python bench/tenants.py [--devices 5000] [--companies 1000] [--total 1000000]

It builds the same company of ``--devices`` registered devices
(bench/report.py's generator: teams, licenses of every status, hostile
nicknames, documents) in two databases of one server: alone in one, and in
the other with ``--companies`` - 1 other companies holding ``--total``
devices in all (one license each), VACUUM ANALYZE in both. Then it measures,
as that company's Administrator and devices, handled in-process: its Active
Devices page, a nickname search, its DeviceReport.csv, and its devices'
check-ins (coalesced, and writing). Each database keeps its own open
connection, and every figure is taken as a pair: the same request in one
database, then at once in the other (the order alternating from round to
round), because this machine's speed drifts by up to 2x over seconds and
only a pair taken within a fraction of a second sees the same machine. It
prints each figure in both states (medians) and the ratio among-many / alone
(the median of the pairs' ratios; aim <= 1.2), and exits non-zero when one
misses it. Before each round's writing pass, the devices that check in are
set to have been seen two minutes ago, in both databases alike: their
writes leave dead row versions in each, as real check-ins do, until
autovacuum takes them (docs/scaling.md, "Vacuum of a shared devices table").
"""

import argparse
import datetime
import json
import statistics
import sys
import time
from collections.abc import Callable

from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import load_backend
from django.test import Client
from django.utils import timezone
from report import (  # the same environment and data as bench/report.py
    PLATFORMS,
    VERSIONS,
    company_with_admin,
    insert_select,
    populate,
    sql_array,
)

from backoffice.devices.codes import credential_digest, credential_generate
from backoffice.devices.models import Device, DeviceCredential, version_sort_key
from backoffice.licensing.models import License
from backoffice.licensing.selectors import license_active_q
from backoffice.organization.models import Team
from backoffice.organization.services import company_create
from backoffice.tenancy.permissions import OPERATOR_COMMAND
from backoffice.tenancy.scoping import company_scope, scopes_disabled

ROUNDS = 9
PAGE_REPEATS = 3
CHECK_INS = 200
API = "/api/device/v1"
CHECK_IN_BODY = json.dumps({"name": "Model 1", "os_type": "Android 14", "platform": "Android", "app_version": "5.4.1"})


def consume(response) -> int:
    assert response.status_code == 200, response.status_code
    if response.streaming:
        return sum(len(chunk) for chunk in response.streaming_content)
    return len(response.content)


def credentials_for(company, n: int) -> list[str]:
    """Live credentials for ``n`` of the company's devices whose license is active."""
    with company_scope(company):
        devices = list(Device.objects.filter(license_active_q(prefix="license__")).order_by("pk")[:n])
        secrets = [credential_generate() for _ in devices]
        DeviceCredential.objects.bulk_create(
            DeviceCredential(company=company, device=device, digest=credential_digest(secret))
            for device, secret in zip(devices, secrets, strict=True)
        )
    return secrets


def check_in(devices_http: Client, secret: str) -> None:
    response = devices_http.post(
        f"{API}/check-ins",
        data=CHECK_IN_BODY,
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 200, response.content


def interleaved(states: dict, order: tuple[str, ...], calls: int, call: Callable, *, best: bool) -> dict[str, float]:
    """
    Seconds per state of ``calls`` calls of ``call(state's row, n)``, the
    states taking turns call by call in ``order``: the smallest call when
    ``best``, else their sum.
    """
    times: dict[str, list[float]] = {state: [] for state in order}
    for n in range(calls):
        for state in order:
            row = states[state]
            use_connection(row[0])
            started = time.perf_counter()
            call(row, n)
            times[state].append(time.perf_counter() - started)
    return {state: min(values) if best else sum(values) for state, values in times.items()}


def measure(states: dict, order: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """
    One round: seconds for the page, the search and the report (the best of
    three), and per check-in (coalesced, writing), the states of ``order``
    taking turns request by request.
    """
    figures: dict[str, dict[str, float]] = {state: {} for state in order}

    def pages(path: str) -> dict[str, float]:
        return interleaved(states, order, PAGE_REPEATS, lambda row, _n: consume(row[2].get(path)), best=True)

    def check_ins() -> dict[str, float]:
        calls = len(states[order[0]][4])
        spent = interleaved(states, order, calls, lambda row, n: check_in(row[3], row[4][n]), best=False)
        return {state: seconds / calls for state, seconds in spent.items()}

    check_ins()  # warm-up of each connection
    pages("/devices/")
    for case, path in (
        ("first page", "/devices/"),
        ("nickname search", "/devices/?nickname=shop+van"),
        ("report", "/devices/DeviceReport.csv"),
    ):
        for state, seconds in pages(path).items():
            figures[state][case] = seconds
    for state, seconds in check_ins().items():
        figures[state]["check-in (coalesced)"] = seconds
    # The devices that check in last seen two minutes ago: every check-in of
    # this pass writes (the company's other devices are left as they are: a
    # write of each of them every round would leave 25 times the dead rows
    # that the check-ins leave).
    for state in order:
        wrapper, user, *_ = states[state]
        use_connection(wrapper)
        with scopes_disabled():
            Device.objects.filter(company=user.company, credentials__isnull=False).update(
                last_check_in_at=timezone.now() - datetime.timedelta(minutes=2)
            )
    for state, seconds in check_ins().items():
        figures[state]["check-in (writing)"] = seconds
    return figures


def use_database(name: str) -> None:
    """Point the default connection at database ``name`` of the same server."""
    connection.close()
    connection.settings_dict["NAME"] = name


def connection_to(name: str) -> BaseDatabaseWrapper:
    """A connection of its own to database ``name`` of the same server, to swap in with ``use_connection``."""
    settings_dict = {**connections.settings[DEFAULT_DB_ALIAS], "NAME": name}
    return load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, DEFAULT_DB_ALIAS)


def use_connection(wrapper: BaseDatabaseWrapper) -> None:
    """Make ``wrapper`` this thread's default connection (it stays open while the other one is in use)."""
    connections[DEFAULT_DB_ALIAS] = wrapper


def target_company(devices: int):
    """The measured company (the same rows in either database), its admin's client and device credentials."""
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    user = company_with_admin("Target Co", "admin@target.example")
    populate(user.company, start=0, count=devices)
    secrets = credentials_for(user.company, CHECK_INS)
    http = Client()
    http.force_login(user)
    return user, http, secrets


def add_companies(companies: int, total: int) -> None:
    """``companies`` more companies sharing ``total`` devices, each device with its license."""
    ids, teams = [], []
    for n in range(companies):
        company = company_create(acting_user=OPERATOR_COMMAND, name=f"Other {n:04d}", default_time_zone="UTC")
        ids.append(company.pk)
        with company_scope(company):
            teams.append(Team.objects.get(is_default=True).pk)
    now = datetime.datetime.now(datetime.UTC)
    series = ("generate_series(0, %s::int - 1) AS s(i)", [total])
    company_of = f"(%s::bigint[])[i %% {companies} + 1]"
    insert_select(
        License,
        {
            "company_id": (company_of, [ids]),
            "number": ("'O-' || lpad(i::text, 8, '0')", []),
            "license_type": ("'standard'", []),
            "expires_on": ("CASE WHEN i %% 50 = 0 THEN DATE '2020-01-01' END", []),
            "created_at": ("%s", [now]),
            "changed_at": ("%s", [now]),
        },
        series,
    )
    keys = tuple(version_sort_key(v) for v in VERSIONS)
    insert_select(
        Device,
        {
            "company_id": ("l.company_id", []),
            "team_id": (f"(%s::bigint[])[i %% {companies} + 1]", [teams]),
            "license_id": ("l.id", []),
            "nickname": ("'Unit ' || lpad(i::text, 8, '0')", []),
            "time_zone": ("''", []),
            "description": ("''", []),
            "device_name": ("'Model'", []),
            "device_identifier": ("'OID-' || i", []),
            "os_type": ("'Android 14'", []),
            "platform": (f"({sql_array(PLATFORMS)})[i %% {len(PLATFORMS)} + 1]", list(PLATFORMS)),
            "app_version": (f"({sql_array(VERSIONS)})[i %% {len(VERSIONS)} + 1]", list(VERSIONS)),
            "app_version_key": (f"({sql_array(keys)})[i %% {len(VERSIONS)} + 1]", list(keys)),
            "last_check_in_at": ("%s::timestamptz - (i %% 300) * interval '1 second'", [now]),
            "registered_at": ("%s", [now]),
            "created_at": ("%s", [now]),
            "changed_at": ("%s", [now]),
        },
        (
            f"{series[0]} JOIN {License._meta.db_table} l "
            f"ON l.company_id = {company_of} AND l.number = 'O-' || lpad(i::text, 8, '0')",
            [*series[1], ids],
        ),
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=5_000)
    parser.add_argument("--companies", type=int, default=1_000)
    parser.add_argument("--total", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Run under scripts/with-postgres.sh (PostgreSQL needed).")
    among_db = connection.settings_dict["NAME"]
    alone_db = f"{among_db}_alone"
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{alone_db}"')
        cursor.execute(f'CREATE DATABASE "{alone_db}"')
    states = {}
    for state, name in (("among", among_db), ("alone", alone_db)):
        use_database(name)
        user, http, secrets = target_company(args.devices)
        if state == "among":
            started = time.perf_counter()
            others = args.total - args.devices
            add_companies(args.companies - 1, others)
            seconds = time.perf_counter() - started
            print(f"added {args.companies - 1:,} companies with {others:,} devices in {seconds:.0f} s")
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        with scopes_disabled():
            print(f"{state}: {Device.objects.count():,} devices in the database")
        states[state] = (name, user, http, Client(), secrets)
    connection.close()
    builder = connections[DEFAULT_DB_ALIAS]
    held = {state: (connection_to(name), *rest) for state, (name, *rest) in states.items()}
    rounds: dict[str, list[dict[str, float]]] = {"alone": [], "among": []}
    for number in range(args.rounds):
        figures = measure(held, ("alone", "among") if number % 2 == 0 else ("among", "alone"))
        for state, values in figures.items():
            rounds[state].append(values)
    for wrapper, *_ in held.values():
        wrapper.close()
    use_connection(builder)
    print(f"{'case':<22} {'alone ms':>9} {'among ms':>9} {'ratio':>7}  aim <= 1.2 ({args.rounds} rounds of pairs)")
    missed = False
    for case in rounds["alone"][0]:
        alone = statistics.median(r[case] for r in rounds["alone"])
        among = statistics.median(r[case] for r in rounds["among"])
        ratios = [b[case] / a[case] for a, b in zip(rounds["alone"], rounds["among"], strict=True)]
        ratio = statistics.median(ratios)
        missed |= ratio > 1.2
        print(
            f"{case:<22} {alone * 1000:>9.2f} {among * 1000:>9.2f} {ratio:>6.2f}x  "
            f"{'met' if ratio <= 1.2 else 'MISSED'}  (pairs {min(ratios):.2f}-{max(ratios):.2f})"
        )
    use_database(among_db)
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{alone_db}"')
    return 2 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
