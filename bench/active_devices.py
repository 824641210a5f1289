"""
Benchmark of the Active Devices page on PostgreSQL: does its cost stay flat
as the fleet grows?

    scripts/with-postgres.sh .venv/bin/python bench/active_devices.py [--devices 100000] [--small 1000]

Two companies share one database: a small one (1,000 devices) and a large
one (100,000). In the same run it prints, as medians of several requests
handled in-process by Django:

* the first page (unfiltered, with the counts, the license figures and the
  versions chart) of the large company as a ratio to the same page of the
  small one (aim <= 2);
* a nickname search matching about 1 % of the devices, large to small
  (aim <= 3);
* a deep page (the middle of the large fleet) to the first page (aim <= 1.2);
* each case's SQL run directly, and its number of statements;
* an EXPLAIN of every statement of the page for every sort (both
  directions), every filter choice and every search box: none may scan
  ``devices_device`` sequentially, neither the list nor the filters'
  counts (the benchmark exits non-zero if one does).

The fleet looks like one in use: most devices checked in within the last
minutes, a few idle, offline or never seen; a few licenses expired or
suspended. The Devices Report has its own benchmark (bench/report.py).
"""

import argparse
import datetime
import os
import re
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

REPEAT = 9
VERSIONS = ("5.1.0", "5.2.3", "5.3.0", "5.4.1", "5.4.2", "6.0.0")
PLATFORMS = ("Android", "iOS", "Windows")
WORDS = ("Lot", "Shop", "Van", "Office", "Bay", "Yard", "Front", "Back", "Mobile", "Detail")


def populate(count: int, *, name: str) -> User:
    """A company of ``count`` registered devices in 21 teams, and its administrator."""
    company = company_create(acting_user=OPERATOR_COMMAND, name=name, default_time_zone="America/Chicago")
    now = timezone.now()
    with company_scope(company):
        teams = [Team.objects.get(is_default=True)] + [
            Team.objects.create(company=company, name=f"Team {i}", time_zone="America/Denver") for i in range(20)
        ]
        batch = 10_000
        for start in range(0, count, batch):
            licenses = License.objects.bulk_create(
                License(
                    company=company,
                    number=f"B-{i:07d}",
                    license_type="standard",
                    # 1 in 100 expired, 1 in 200 suspended.
                    expires_on=now.date() - datetime.timedelta(days=10) if i % 100 == 7 else None,
                    is_suspended=i % 200 == 3,
                )
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
                    last_check_in_at=None,
                )
                for i in range(start, min(start + batch, count))
            )
    return User.objects.create_user(
        f"admin@{name.lower().replace(' ', '-')}.example", "bench-password-1", company=company, role=Role.ADMINISTRATOR
    )


def check_ins_now() -> None:
    """
    Place every device's last check-in relative to now, as a fleet in use has
    them: 95 in 100 within the last 5 minutes, 3 idle (hours ago), 1 offline
    (days ago), 1 never seen. Run just before measuring, so that the online
    ones are still online.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE devices_device SET last_check_in_at = CASE
              WHEN id % 100 = 0 THEN NULL
              WHEN id % 100 = 1 THEN now() - interval '3 days'
              WHEN id % 100 IN (2, 3, 4) THEN now() - interval '5 hours'
              ELSE now() - (id % 300) * interval '1 second' END
            """
        )
        cursor.execute("VACUUM ANALYZE")


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


def page_statements(http: Client, url: str) -> list[str]:
    """The SQL statements the page at ``url`` runs (the session's and the user's left out)."""
    with CaptureQueriesContext(connection) as ctx:
        assert consume(http.get(url)) > 0
    skipped = ("SAVEPOINT", "RELEASE", "FETCH", "CLOSE")
    session = ('FROM "django_session"', 'FROM "tenancy_user"', 'FROM "tenancy_company"')
    return [
        q["sql"]
        for q in ctx.captured_queries
        if not q["sql"].startswith(skipped) and not any(t in q["sql"] for t in session)
    ]


def measure_sql(http: Client, url: str) -> tuple[float, int]:
    """Return (seconds for the statements of ``url`` run directly, number of statements)."""
    statements = page_statements(http, url)

    def run_sql() -> None:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
                cursor.fetchall()

    return median_seconds(run_sql), len(statements)


def sequential_scans(http: Client, url: str) -> tuple[list[str], list[str]]:
    """
    The statements of ``url`` whose plan reads ``devices_device``
    sequentially, as (list statements, count statements): the list is the
    page's rows, the counts are the filters' choices.
    """
    listed, counted = [], []
    for sql in page_statements(http, url):
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN " + sql)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        if re.search(r"Seq Scan on devices_device\b", plan):
            (counted if "COUNT(" in sql else listed).append(sql[:160])
    return listed, counted


def explained_urls(last_page: int) -> list[str]:
    """Every sort both ways, every filter choice, every search box, and a deep page."""
    from backoffice.devices.selectors.active_devices import (
        DEVICE_SORTS,
        LAST_SEEN_FILTER_CHOICES,
        LICENSE_FILTER_CHOICES,
    )

    urls = [f"/devices/?sort={key}" + ("&dir=desc" if desc else "") for key in DEVICE_SORTS for desc in (False, True)]
    urls += [f"/devices/?lic={value}" for value, _ in LICENSE_FILTER_CHOICES]
    urls += [f"/devices/?seen={value}" for value, _ in LAST_SEEN_FILTER_CHOICES]
    urls += ["/devices/?p=iOS", "/devices/?v=5.4.1", "/devices/?v=%28none%29"]
    urls += [
        "/devices/?nickname=shop+van",
        "/devices/?team=team+1",
        "/devices/?license=B-00001",
        "/devices/?platform=ios",
    ]
    urls += [
        "/devices/?version=5.4",
        f"/devices/?page={last_page // 2}",
        "/devices/?lic=expired&seen=idle&sort=version",
    ]
    return urls


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=1_000)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Run under scripts/with-postgres.sh (PostgreSQL needed).")
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    started = time.perf_counter()
    small_user = populate(args.small, name="Small Co")
    large_user = populate(args.devices, name="Large Co")
    check_ins_now()
    print(f"populated {args.small:,} + {args.devices:,} devices in {time.perf_counter() - started:.0f} s")
    small, large = Client(), Client()
    small.force_login(small_user)
    large.force_login(large_user)
    last_page = (args.devices + 49) // 50
    search = "/devices/?nickname=shop+van"  # about 1 in 100 devices
    cases = [
        ("first page", small, "/devices/"),
        ("first page", large, "/devices/"),
        ("nickname search 1 %", small, search),
        ("nickname search 1 %", large, search),
        ("deep page", large, f"/devices/?page={last_page // 2}"),
        ("filters + version sort", large, "/devices/?lic=active&seen=online&sort=version&dir=desc"),
        ("200 a page", large, "/devices/?per_page=200&sort=last_seen"),
    ]
    print(f"{'case':<24} {'fleet':>8} {'server ms':>10} {'SQL ms':>9} statements")
    # The cases' requests are timed in interleaved rounds (every case once per
    # round), so that the machine's load, which drifts over a minute on this
    # shared machine, weighs on every case alike.
    samples: dict[int, list[float]] = {index: [] for index in range(len(cases))}
    for _ in range(REPEAT + 1):
        for index, (_, http, url) in enumerate(cases):
            started = time.perf_counter()
            consume(http.get(url))
            samples[index].append(time.perf_counter() - started)
    times: dict[tuple[str, int], float] = {}
    for index, (name, http, url) in enumerate(cases):
        fleet = args.small if http is small else args.devices
        server = statistics.median(samples[index][1:])  # the first round warms up
        sql, n = measure_sql(http, url)
        times[(name, fleet)] = server
        print(f"{name:<24} {fleet:>8,} {server * 1000:>10.1f} {sql * 1000:>9.1f} {n:>5}")
    ratios = [
        ("first page, large / small", times[("first page", args.devices)] / times[("first page", args.small)], 2.0),
        (
            "search 1 %, large / small",
            times[("nickname search 1 %", args.devices)] / times[("nickname search 1 %", args.small)],
            3.0,
        ),
        ("deep page / first page", times[("deep page", args.devices)] / times[("first page", args.devices)], 1.2),
    ]
    failed = False
    for label, ratio, aim in ratios:
        met = ratio <= aim
        failed |= not met
        print(f"{label:<28} {ratio:>6.2f}x  aim <= {aim:.1f}x  {'met' if met else 'MISSED'}")
    scans = {url: sequential_scans(large, url) for url in ["/devices/", *explained_urls(last_page)]}
    listed = {url: found[0] for url, found in scans.items() if found[0]}
    counted = {url: found[1] for url, found in scans.items() if found[1]}
    print(
        f"EXPLAIN: {len(scans)} pages; the list read sequentially on {len(listed)}; "
        f"filter counts read sequentially on {len(counted)} pages"
    )
    for url, found in listed.items():
        for sql in found:
            print(f"  list {url}: {sql}")
    for url, found in counted.items():
        print(f"  counts {url}: {len(found)} statements")
    if listed or counted:
        sys.exit(1)
    if failed:
        sys.exit(2)


if __name__ == "__main__":
    main()
