"""
Benchmarks of the bulk writes on PostgreSQL (issue 14), one function per
measurement, each printed as a ratio to the same rows written by plain SQL
on the same connection in the same run (the median of several runs).

    scripts/with-postgres.sh .venv/bin/python bench/bulk.py [--only import_employees] [--repeat 5]

- ``import_employees``: a 5,000-row employee CSV imported through the
  services (parse and keep the upload, then the import: every row checked
  again, one INSERT of the employees, one COPY of their 5,000 audit events
  and the batch's) against one plain multi-row ``INSERT`` of the same 5,000
  employees. Aim: under 5×. The preview's check of the same rows is
  printed too (a page load of the preview).
- ``add_batch`` (bench/bulk_add.py, also runnable alone): 200 devices added in
  one batch through ``devices_add_batch`` against a plain ``INSERT`` of the same
  device and code rows. Aim: ≤ 10×.
- ``bulk_actions`` (bench/bulk_actions.py, also runnable alone): 5,000 devices
  moved to another team and 5,000 deleted through the selection's OK request,
  against a plain ``UPDATE`` / ``DELETE`` of the same rows. Aim: ≤ 10×.
"""

import argparse
import csv
import io
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
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
from django.utils import timezone  # noqa: E402

from backoffice.audit.models import AuditEvent  # noqa: E402
from backoffice.imports.kinds import KINDS  # noqa: E402
from backoffice.imports.selectors import import_preview  # noqa: E402
from backoffice.imports.services import import_run, import_upload_create  # noqa: E402
from backoffice.organization.models import Employee, Team  # noqa: E402
from backoffice.organization.services import company_create  # noqa: E402
from backoffice.tenancy.choices import Role  # noqa: E402
from backoffice.tenancy.models import Company, User  # noqa: E402
from backoffice.tenancy.permissions import OPERATOR_COMMAND  # noqa: E402
from backoffice.tenancy.scoping import company_scope  # noqa: E402

IMPORT_ROWS = 5000


def _median(samples: list[float]) -> float:
    return statistics.median(samples)


def _company(name: str) -> tuple[Company, User, list[Team]]:
    company = company_create(acting_user=OPERATOR_COMMAND, name=name, default_time_zone="America/Chicago")
    admin = User.objects.create_user(
        f"admin@{name.lower().replace(' ', '-')}.example", "bench-password-1", company=company, role=Role.ADMINISTRATOR
    )
    with company_scope(company):
        teams = [Team.objects.get(is_default=True)] + [
            Team.objects.create(company=company, name=f"Team {i}", time_zone="America/Denver") for i in range(20)
        ]
    return company, admin, teams


def _employee_csv(run: int, teams: list[Team]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["Name", "Email", "Team"])
    for i in range(IMPORT_ROWS):
        writer.writerow([f"Technician {run}-{i:05d}", f"tech{run}-{i:05d}@bench.example", teams[i % len(teams)].name])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _plain_insert(company: Company, teams: list[Team], run: int) -> float:
    """One multi-row INSERT of the same employees, in its own transaction; seconds."""
    now = timezone.now()
    params: list[object] = []
    for i in range(IMPORT_ROWS):
        params += [
            company.pk,
            teams[i % len(teams)].pk,
            f"Plain {run}-{i:05d}",
            f"plain{run}-{i:05d}@bench.example",
            True,
            now,
            now,
        ]
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * IMPORT_ROWS)
    sql = (
        f"INSERT INTO {Employee._meta.db_table} (company_id, team_id, name, email, is_active, created_at, changed_at) "
        f"VALUES {values}"
    )
    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
    return time.perf_counter() - start


def import_employees(repeat: int) -> dict[str, float]:
    """The 5,000-row employee CSV through the services vs a plain INSERT of 5,000 employees."""
    company, admin, teams = _company("Bench Import")
    kind = KINDS["employees"]
    service, preview, plain = [], [], []
    for run in range(repeat + 1):  # the first run warms up and is not counted
        data = _employee_csv(run, teams)
        start = time.perf_counter()
        upload = import_upload_create(acting_user=admin, kind=kind, filename="employees.csv", data=data)
        result = import_run(acting_user=admin, kind=kind, upload=upload, all_or_nothing=True)
        elapsed = time.perf_counter() - start
        assert result["created"] == IMPORT_ROWS, result
        # The preview of the same rows (now every email is taken: every row gets a problem).
        start = time.perf_counter()
        shown = import_preview(user=admin, kind=kind, upload=upload)
        preview_elapsed = time.perf_counter() - start
        assert shown.invalid_count == IMPORT_ROWS
        plain_elapsed = _plain_insert(company, teams, run)
        if run:
            service.append(elapsed)
            preview.append(preview_elapsed)
            plain.append(plain_elapsed)
    with company_scope(company):
        events = AuditEvent.objects.filter(action="employee.created").count()
    assert events == IMPORT_ROWS * (repeat + 1)
    figures = {"service_s": _median(service), "preview_s": _median(preview), "plain_insert_s": _median(plain)}
    figures["ratio"] = figures["service_s"] / figures["plain_insert_s"]
    print(
        f"import_employees: {IMPORT_ROWS:,} rows: service {figures['service_s'] * 1000:.0f} ms "
        f"(parse, keep, check, insert, {IMPORT_ROWS:,} + 1 audit events), "
        f"plain INSERT {figures['plain_insert_s'] * 1000:.0f} ms, ratio {figures['ratio']:.1f}× (aim ≤ 5×); "
        f"preview check {figures['preview_s'] * 1000:.0f} ms"
    )
    return figures


def _script(name: str) -> Callable[[int], dict[str, float]]:
    """A measurement kept in its own script, run in the same database (``DATABASE_URL``)."""

    def run(repeat: int) -> dict[str, float]:
        subprocess.run([sys.executable, str(ROOT / "bench" / name)], check=True)
        return {}

    return run


MEASUREMENTS: dict[str, Callable[[int], dict[str, float]]] = {
    "import_employees": import_employees,
    "add_batch": _script("bulk_add.py"),
    "bulk_actions": _script("bulk_actions.py"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--only", action="append", choices=sorted(MEASUREMENTS), help="run only this measurement (repeatable)"
    )
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement (the median is printed)")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("bench/bulk.py measures PostgreSQL: run it under scripts/with-postgres.sh")
    call_command("migrate", verbosity=0)
    for name in args.only or list(MEASUREMENTS):
        MEASUREMENTS[name](args.repeat)


if __name__ == "__main__":
    main()
