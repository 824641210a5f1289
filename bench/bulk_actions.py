"""
Benchmark of the Active Devices list's bulk actions on PostgreSQL: move
5,000 devices to another team and delete 5,000 devices, each the whole
request (the OK of the confirmation, "all matching this search", handled
in-process by Django: the selection evaluated again, the row locks, the
set-based UPDATE or DELETE, one audit event per device and one for the
batch) as a ratio to a plain SQL UPDATE / DELETE of the same rows in the
same run. Each figure is the median of several runs.

    scripts/with-postgres.sh .venv/bin/python bench/bulk_actions.py [--devices 5000]
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
os.environ.setdefault("BACKOFFICE_TESTING", "1")
os.environ.setdefault("BACKOFFICE_VAR_DIR", "/tmp/backoffice-bench")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from backoffice.devices.models import Device, DeviceCredential  # noqa: E402
from backoffice.licensing.models import License  # noqa: E402
from backoffice.organization.models import Team  # noqa: E402
from backoffice.organization.services import company_create  # noqa: E402
from backoffice.tenancy.choices import Role  # noqa: E402
from backoffice.tenancy.models import User  # noqa: E402
from backoffice.tenancy.permissions import OPERATOR_COMMAND  # noqa: E402
from backoffice.tenancy.scoping import company_scope  # noqa: E402

REPEAT = 5
_run = iter(range(1_000_000))


def populate(company, team: Team, count: int) -> list[int]:
    """``count`` registered devices of ``team``, each with a license and a live credential; their ids."""
    run = next(_run)
    now = timezone.now()
    with company_scope(company):
        licenses = License.objects.bulk_create(
            License(company=company, number=f"B{run}-{i:05d}", expires_on=now.date().replace(year=now.year + 1))
            for i in range(count)
        )
        devices = Device.objects.bulk_create(
            Device(
                company=company,
                team=team,
                license=licenses[i],
                nickname=f"Bench {run}-{i:05d}",
                platform="Android",
                app_version="5.4.1",
                device_identifier=f"BENCH-{run}-{i:06d}",
                registered_at=now,
                changed_at=now,
            )
            for i in range(count)
        )
        DeviceCredential.objects.bulk_create(
            DeviceCredential(company=company, device=device, digest=f"bench-{run}-{device.pk}") for device in devices
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return [device.pk for device in devices]


def post(http: Client, action: str, data: dict[str, str]) -> float:
    started = time.perf_counter()
    response = http.post(reverse("devices:bulk", args=[action]), data, HTTP_HX_REQUEST="true")
    elapsed = time.perf_counter() - started
    assert response.status_code == 204, response.content[:500]
    return elapsed


def sql(statements: list[tuple[str, list[object]]]) -> float:
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for statement, params in statements:
            cursor.execute(statement, params)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=5000)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("bench/bulk_actions.py measures PostgreSQL: run it under scripts/with-postgres.sh")
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    company = company_create(acting_user=OPERATOR_COMMAND, name="Bulk Bench", default_time_zone="America/Chicago")
    with company_scope(company):
        home = Team.objects.get(is_default=True)
        other = Team.objects.create(company=company, name="Fleet Services", time_zone="Europe/Berlin")
    user = User.objects.create_user("bulk@example.com", "bench-password-1", company=company, role=Role.ADMINISTRATOR)
    http = Client()
    http.force_login(user)
    n = args.devices
    device_table = Device._meta.db_table
    credential_table = DeviceCredential._meta.db_table

    ids = populate(company, home, n)
    moves, move_sql = [], []
    for _ in range(REPEAT):
        # Request: every device of the search (all in the home team), to the other team.
        moves.append(
            post(
                http,
                "move",
                {"all_matching": "on", "query": f"team={home.name}", "team": str(other.pk), "step": "confirm"},
            )
        )
        # Plain SQL: the same rows back, one UPDATE.
        move_sql.append(
            sql([(f"UPDATE {device_table} SET team_id = %s, changed_at = now() WHERE id = ANY(%s)", [home.pk, ids])])
        )

    deletes, delete_sql = [], []
    with company_scope(company):
        Device.objects.filter(pk__in=ids).delete()
    for _ in range(REPEAT):
        populate(company, home, n)
        deletes.append(post(http, "delete", {"all_matching": "on", "query": "nickname=Bench", "step": "confirm"}))
        again = populate(company, home, n)
        # Plain SQL: the same rows, the devices and their credentials.
        delete_sql.append(
            sql(
                [
                    (f"DELETE FROM {credential_table} WHERE device_id = ANY(%s)", [again]),
                    (f"DELETE FROM {device_table} WHERE id = ANY(%s)", [again]),
                ]
            )
        )

    print(f"bulk actions on PostgreSQL, {n} devices, median of {REPEAT}")
    for label, request, plain in (("move", moves, move_sql), ("delete", deletes, delete_sql)):
        r, p = statistics.median(request), statistics.median(plain)
        print(f"{label:>7}: request {r * 1000:8.1f} ms   plain SQL {p * 1000:7.1f} ms   ratio {r / p:5.1f}x")


if __name__ == "__main__":
    main()
