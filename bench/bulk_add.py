"""
Benchmark of adding 200 devices in one batch (the Device dialog's quantity) on PostgreSQL.

    scripts/with-postgres.sh .venv/bin/python bench/bulk_add.py [--only add_batch] [--devices 200]

``devices_add_batch`` (licenses locked and counted again, devices, codes with
their digests and encrypted copies, one email per recipient, one audit event
per device and one for the batch) against a plain SQL ``INSERT`` of the same
device and code rows in the same run, each in a transaction that is rolled
back, so that every run starts from the same 200 free licenses. Prints the
median of several runs and the ratio (aim <= 10x). One function per
measurement, chosen with ``--only``, as in bench/bulk.py.
"""

import argparse
import os
import statistics
import sys
import time
import uuid
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

from backoffice.devices.codes import code_digest, code_generate, code_seal  # noqa: E402
from backoffice.devices.models import Device, RegistrationCode  # noqa: E402
from backoffice.devices.services import devices_add_batch  # noqa: E402
from backoffice.licensing.models import License  # noqa: E402
from backoffice.organization.models import Team  # noqa: E402
from backoffice.organization.services import company_create  # noqa: E402
from backoffice.tenancy.choices import Role  # noqa: E402
from backoffice.tenancy.models import User  # noqa: E402
from backoffice.tenancy.permissions import OPERATOR_COMMAND  # noqa: E402
from backoffice.tenancy.scoping import company_scope  # noqa: E402

REPEAT = 7
RECIPIENTS = ["lead@bench.example", "tech@bench.example"]


class Rollback(Exception):
    """Ends a measured transaction without keeping what it wrote."""


def median_seconds(fn) -> float:
    """Median of ``REPEAT`` runs (after one warm-up) of ``fn`` in a transaction that is rolled back."""

    def once() -> float:
        started = time.perf_counter()
        try:
            with transaction.atomic():
                fn()
                raise Rollback
        except Rollback:
            pass
        return time.perf_counter() - started

    once()
    return statistics.median(once() for _ in range(REPEAT))


def _rows(model, objects) -> tuple[str, list[str], list[tuple]]:
    """The table, columns and values of ``objects`` as Django would insert them (every concrete column but the id)."""
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    for obj in objects:
        for field in fields:
            field.pre_save(obj, add=True)
    values = [
        tuple(field.get_db_prep_save(getattr(obj, field.attname), connection) for field in fields) for obj in objects
    ]
    return model._meta.db_table, [field.column for field in fields], values


def _insert(table: str, columns: list[str], values: list[tuple]) -> list[int]:
    """One plain multi-row INSERT ... RETURNING id."""
    row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([row] * len(values))} RETURNING id"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for row_values in values for value in row_values])
        return [r[0] for r in cursor.fetchall()]


def add_batch(count: int) -> None:
    """Add ``count`` devices in one batch through the service vs the plain INSERT of the same devices and codes."""
    company = company_create(acting_user=OPERATOR_COMMAND, name="Bulk Add Co", default_time_zone="America/Chicago")
    admin = User.objects.create_user(
        "bench@bulkadd.example", "bench-password-1", company=company, role=Role.ADMINISTRATOR
    )
    with company_scope(company):
        team = Team.objects.get(is_default=True)
        License.objects.bulk_create(License(company=company, number=f"BA-{i:05d}") for i in range(count))
        # Devices the company already has, so that the numbering has names to skip.
        licenses = list(License.objects.order_by("number"))

        def service() -> None:
            batch = devices_add_batch(
                acting_user=admin, team=team, quantity=count, nickname_prefix="Van tablet", recipients=RECIPIENTS
            )
            assert len(batch.devices) == count

        def make_rows(device_ids: list[int] | None = None):
            """The devices' and codes' rows as Django would write them (codes for ``device_ids``)."""
            now = timezone.now()
            devices = [
                Device(
                    company=company,
                    team=team,
                    license=license,
                    nickname=f"Van tablet {i + 1:03d}",
                    recipients=RECIPIENTS,
                    changed_at=now,
                )
                for i, license in enumerate(licenses)
            ]
            codes = []
            for device_id in device_ids or [0] * len(devices):
                code = code_generate()
                codes.append(
                    RegistrationCode(
                        company=company,
                        device_id=device_id,
                        digest=code_digest(code),
                        sealed_code=code_seal(code),
                        expires_at=now,
                        batch_id=uuid.UUID(int=0),
                    )
                )
            return _rows(Device, devices), _rows(RegistrationCode, codes)

        def plain_sql_with_rows() -> None:
            device_rows, _codes = make_rows()
            ids = _insert(*device_rows)
            _insert(*make_rows(ids)[1])

        device_rows, code_rows = make_rows()
        code_column = code_rows[1].index("device_id")

        def plain_insert() -> None:
            ids = _insert(*device_rows)
            values = [
                (*row[:code_column], pk, *row[code_column + 1 :]) for row, pk in zip(code_rows[2], ids, strict=True)
            ]
            _insert(code_rows[0], code_rows[1], values)

        service_seconds = median_seconds(service)
        insert_seconds = median_seconds(plain_insert)
        rows_seconds = median_seconds(plain_sql_with_rows)
    print(f"{'measurement':<44} {'ms':>8} {'service ratio':>14}")
    print(f"{f'add {count} devices in one batch (service)':<44} {service_seconds * 1000:>8.1f}")
    print(
        f"{'plain INSERT of the same devices + codes':<44} {insert_seconds * 1000:>8.1f} "
        f"{service_seconds / insert_seconds:>13.1f}x  (aim <= 10x)"
    )
    print(
        f"{'  the same, making the rows and codes too':<44} {rows_seconds * 1000:>8.1f} "
        f"{service_seconds / rows_seconds:>13.1f}x"
    )


MEASUREMENTS = {"add_batch": add_batch}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=sorted(MEASUREMENTS), action="append")
    parser.add_argument("--devices", type=int, default=200)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Run on PostgreSQL: scripts/with-postgres.sh .venv/bin/python bench/bulk_add.py")
    call_command("migrate", verbosity=0)
    for name in args.only or sorted(MEASUREMENTS):
        MEASUREMENTS[name](args.devices)


if __name__ == "__main__":
    main()
