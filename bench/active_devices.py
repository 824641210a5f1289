"""
Benchmark of the Active Devices page on PostgreSQL with 100,000 devices.

    scripts/with-postgres.sh .venv/bin/python bench/active_devices.py [--devices 100000]

For the first page, a deep page, a nickname substring search and the Devices
Report (its statistics block and every row) it prints the server time (the request handled in-process by Django)
as a ratio to the same SQL statements run directly on the same connection in
the same run, and the peak Python memory of the report at 10,000 and at
100,000 rows. Each figure is the median of several runs.
"""

import argparse
import os
import statistics
import sys
import time
import tracemalloc
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
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from backoffice.devices.models import Device  # noqa: E402
from backoffice.licensing.models import License  # noqa: E402
from backoffice.organization.models import Team  # noqa: E402
from backoffice.organization.services import company_create  # noqa: E402
from backoffice.tenancy.choices import Role  # noqa: E402
from backoffice.tenancy.models import User  # noqa: E402
from backoffice.tenancy.permissions import OPERATOR_COMMAND  # noqa: E402
from backoffice.tenancy.scoping import company_scope  # noqa: E402

REPEAT = 7
VERSIONS = ("5.1.0", "5.2.3", "5.3.0", "5.4.1", "5.4.2", "6.0.0")
PLATFORMS = ("Android", "iOS", "Windows")
WORDS = ("Lot", "Shop", "Van", "Office", "Bay", "Yard", "Front", "Back", "Mobile", "Detail")


def populate(count: int) -> User:
    company = company_create(acting_user=OPERATOR_COMMAND, name="Bench Co", default_time_zone="America/Chicago")
    now = timezone.now()
    with company_scope(company):
        teams = [Team.objects.get(is_default=True)] + [
            Team.objects.create(company=company, name=f"Team {i}", time_zone="America/Denver") for i in range(20)
        ]
        batch = 10_000
        for start in range(0, count, batch):
            licenses = License.objects.bulk_create(
                License(company=company, number=f"B-{i:07d}", license_type="standard")
                for i in range(start, min(start + batch, count))
            )
            Device.objects.bulk_create(
                Device(
                    company=company,
                    team=teams[i % len(teams)],
                    license=licenses[i - start],
                    nickname=f"{WORDS[i % 10]} {WORDS[(i // 10) % 10]} {i:06d}",
                    platform=PLATFORMS[i % 3],
                    app_version=VERSIONS[i % 6],
                    os_type="OS",
                    device_name="Model",
                    device_identifier=f"ID-{i:09d}",
                    registered_at=now,
                    changed_at=now,
                    last_check_in_at=now,
                    # The first 10,000 devices form the "10k" report sample.
                    description="sample" if i < 10_000 else "",
                )
                for i in range(start, min(start + batch, count))
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return User.objects.create_user("bench@example.com", "bench-password-1", company=company, role=Role.ADMINISTRATOR)


def median_seconds(fn) -> float:
    fn()  # warm-up
    samples = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def consume(response) -> int:
    if response.streaming:
        return sum(len(chunk) for chunk in response.streaming_content)
    return len(response.content)


def measure(http: Client, url: str) -> tuple[float, float, int]:
    """Return (server seconds, direct SQL seconds, number of statements) for ``url``."""
    with CaptureQueriesContext(connection) as ctx:
        assert consume(http.get(url)) > 0
    statements = []
    for query in ctx.captured_queries:
        sql = query["sql"]
        if sql.startswith(("SAVEPOINT", "RELEASE", "FETCH", "CLOSE")):
            continue
        if sql.startswith("DECLARE"):
            # A server-side cursor streams the report; run its SELECT directly.
            sql = sql[sql.index(" FOR ") + len(" FOR ") :]
        statements.append(sql)
    server = median_seconds(lambda: consume(http.get(url)))

    def run_sql() -> None:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
                while cursor.fetchmany(2000):
                    pass

    return server, median_seconds(run_sql), len(statements)


def report_peak(http: Client, url: str) -> float:
    tracemalloc.start()
    consume(http.get(url))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1024 / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=100_000)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Run under scripts/with-postgres.sh (PostgreSQL needed).")
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    started = time.perf_counter()
    user = populate(args.devices)
    print(f"populated {args.devices} devices in {time.perf_counter() - started:.0f} s")
    http = Client()
    http.force_login(user)
    last_page = (args.devices + 49) // 50
    cases = [
        ("first page", "/devices/", 2.0),
        ("deep page", f"/devices/?page={last_page // 2}", 2.0),
        ("nickname search", "/devices/?nickname=shop+van", 2.0),
        ("filters + version sort", "/devices/?lic=active&seen=never&sort=version&dir=desc", 2.0),
        ("200 a page", "/devices/?per_page=200&sort=last_seen", 2.0),
        ("report (all rows)", "/devices/DeviceReport.csv", 3.0),
    ]
    print(f"{'case':<24} {'server ms':>10} {'SQL ms':>9} {'ratio':>7} {'aim':>6}  statements")
    for name, url, aim in cases:
        server, sql, n = measure(http, url)
        ratio = server / sql
        print(f"{name:<24} {server * 1000:>10.1f} {sql * 1000:>9.1f} {ratio:>6.2f}x {aim:>5.1f}x  {n}")
    # Report memory: the 10k sample and the whole 100k fleet.
    with company_scope(user.company):
        Device.objects.exclude(description="sample").update(registered_at=None)
    small = report_peak(http, "/devices/DeviceReport.csv")
    with company_scope(user.company):
        Device.objects.update(registered_at=timezone.now())
    large = report_peak(http, "/devices/DeviceReport.csv")
    print(
        f"report peak memory: {small:.1f} MB at 10,000 rows, {large:.1f} MB at {args.devices:,} rows, "
        f"growth {large - small:.1f} MB (aim < 50 MB)"
    )


if __name__ == "__main__":
    main()
