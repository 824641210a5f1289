"""
Benchmark of DeviceReport.csv on PostgreSQL against a bare COPY of the same rows.

    scripts/with-postgres.sh .venv/bin/python bench/report.py [--devices 100000] [--memory-devices 1000000]

It builds one company with ``--devices`` registered devices in SQL (``INSERT
... SELECT`` over ``generate_series``: teams with their own time zones,
licenses of every type and status, versions, platforms, device time zones,
documents, and hostile nicknames such as ``=cmd``, ``+1``, ``@x``, ``-2`` and
cells with commas, quotes and line breaks), then in the same run:

1. throughput: the product's ``DeviceReport.csv`` streamed in full through the
   Django test client as the company's Administrator, against the report's own
   ``COPY (SELECT ...) TO STDOUT (FORMAT csv)`` (the same rows and 17
   columns, byte for byte; the report adds its statistics block) read in
   full through psycopg on the same connection; medians of ``--repeat``
   interleaved rounds. A bare COPY of the unformatted row query and the
   statistics block alone are printed for information; ``--profile`` prints
   a cProfile of one report stream instead;
2. memory: the growth of the resident set (VmHWM after the report minus VmRSS
   before it, the high-water mark reset through ``/proc/self/clear_refs``) and
   the peak of Python allocations (tracemalloc) while streaming the report of a
   10,000-device company and of a company grown to ``--memory-devices``;
3. the output: a hostile nickname appears neutralised, a cell with a comma,
   quotes and a line break is quoted, and the dates are in the company's time
   zone. A failed check, or a missed aim (ratio >= 0.5, memory difference
   < 20 MB), exits non-zero.
"""

import argparse
import contextlib
import cProfile
import ctypes
import datetime
import gc
import os
import pstats
import resource
import statistics
import sys
import time
import tracemalloc
import zoneinfo
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
os.environ.setdefault("BACKOFFICE_TESTING", "1")
os.environ.setdefault("BACKOFFICE_VAR_DIR", "/tmp/backoffice-bench")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, models  # noqa: E402
from django.test import Client  # noqa: E402

from backoffice.devices.models import Device, version_sort_key  # noqa: E402
from backoffice.devices.selectors import DeviceSearch, device_report_statistics  # noqa: E402
from backoffice.devices.selectors.report import device_report_copy_sql, device_report_rows_query  # noqa: E402
from backoffice.documents.choices import DocumentKind  # noqa: E402
from backoffice.documents.models import Document  # noqa: E402
from backoffice.licensing.choices import LicenseType  # noqa: E402
from backoffice.licensing.models import License  # noqa: E402
from backoffice.organization.choices import ClientType  # noqa: E402
from backoffice.organization.models import Client as Customer  # noqa: E402
from backoffice.organization.models import Team  # noqa: E402
from backoffice.organization.services import company_create  # noqa: E402
from backoffice.tenancy.choices import Role  # noqa: E402
from backoffice.tenancy.models import Company, User  # noqa: E402
from backoffice.tenancy.permissions import OPERATOR_COMMAND  # noqa: E402
from backoffice.tenancy.scoping import company_scope  # noqa: E402

URL = "/devices/DeviceReport.csv"
COMPANY_ZONE = "America/Chicago"
VERSIONS = ("5.1.0", "5.2.3", "5.3.0", "5.4.1", "5.4.2", "6.0.0", "6.10.1", "")
PLATFORMS = ("Android", "iOS", "Windows", "")
DEVICE_ZONES = ("", "", "", "Europe/Berlin", "Asia/Kolkata", "UTC")
TEAM_ZONES = ("America/Denver", "America/New_York", "Europe/London", "Australia/Sydney")
WORDS = ("Lot", "Shop", "Van", "Office", "Bay", "Yard", "Front", "Back", "Mobile", "Detail")
# One device in HOSTILE_EVERY gets one of these nicknames.
HOSTILE = ("=cmd", "+1", "@x", "-2", '=HYPERLINK("http://x")', 'a, "b"\nc', "\tTab")
HOSTILE_EVERY = 50
# The fixed instants of every device: the report must show them in the company's zone.
REGISTERED = datetime.datetime(2026, 7, 1, 12, 0, tzinfo=datetime.UTC)
CHANGED = datetime.datetime(2026, 1, 15, 18, 30, tzinfo=datetime.UTC)
# Chicago: CDT (UTC-5) on 1 July, CST (UTC-6) on 15 January.
REGISTERED_SHOWN = b"2026-07-01 07:00"
CHANGED_SHOWN = b"2026-01-15 12:30"


class CheckFailed(Exception):
    pass


SQL = tuple[str, list[Any]]


def insert_select(model: type[models.Model], expressions: dict[str, SQL], source: SQL) -> int:
    """
    ``INSERT INTO model (...) SELECT ... FROM source``: the columns in
    ``expressions`` get their SQL and parameters, every other concrete field
    its Python default as a parameter (so a field added later needs no
    change here).
    """
    columns, selected, params = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(connection.ops.quote_name(field.column))
        if field.attname in expressions:
            sql, values = expressions[field.attname]
            selected.append(sql)
            params += values
        else:
            if not field.has_default() and not field.null:
                raise CheckFailed(f"{model.__name__}.{field.name} needs a value in the bench")
            selected.append("%s")
            params.append(field.get_db_prep_save(field.get_default(), connection))
    statement = (
        f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({', '.join(columns)}) "
        f"SELECT {', '.join(selected)} FROM {source[0]}"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [*params, *source[1]])
        return cursor.rowcount


def sql_array(values: tuple[str, ...]) -> str:
    return "ARRAY[" + ", ".join("%s" for _ in values) + "]::text[]"


def populate(company: Company, *, start: int, count: int) -> None:
    """Add devices ``start`` to ``start + count`` to ``company``, with their licenses and documents."""
    now = datetime.datetime.now(datetime.UTC)
    with company_scope(company):
        teams = list(Team.objects.order_by("id").values_list("id", flat=True))
        if len(teams) == 1:
            for i in range(20):
                name = f"=Team {i}" if i == 7 else f"Team {i}"
                Team.objects.create(company=company, name=name, time_zone=TEAM_ZONES[i % len(TEAM_ZONES)])
            teams = list(Team.objects.order_by("id").values_list("id", flat=True))
        customer, _ = Customer.objects.get_or_create(
            company=company, name="Bench Client", client_type=ClientType.RETAIL
        )
    first, last = start, start + count - 1
    series = ("generate_series(%s::int, %s::int) AS s(i)", [first, last])
    types = tuple(LicenseType.values)
    insert_select(
        License,
        {
            "company_id": ("%s", [company.pk]),
            "number": ("'B-' || lpad(i::text, 8, '0')", []),
            "license_type": (f"({sql_array(types)})[i %% {len(types)} + 1]", list(types)),
            # Some expired, some suspended: every status shows up.
            "expires_on": (
                "CASE WHEN i %% 11 = 0 THEN DATE '2020-01-01' WHEN i %% 3 = 0 THEN DATE '2099-12-31' END",
                [],
            ),
            "is_suspended": ("i %% 13 = 0", []),
            "created_at": ("%s", [now]),
            "changed_at": ("%s", [now]),
        },
        series,
    )
    keys = tuple(version_sort_key(v) for v in VERSIONS)
    words = sql_array(WORDS)
    nickname = (
        f"CASE WHEN i %% {HOSTILE_EVERY} = 0 THEN ({sql_array(HOSTILE)})[(i / {HOSTILE_EVERY}) %% {len(HOSTILE)} + 1] "
        f"ELSE ({words})[i %% 10 + 1] || ' ' || ({words})[(i / 10) %% 10 + 1] || ' ' || lpad(i::text, 7, '0') END"
    )
    insert_select(
        Device,
        {
            "company_id": ("%s", [company.pk]),
            "team_id": (f"(%s::bigint[])[i %% {len(teams)} + 1]", [teams]),
            "time_zone": (f"({sql_array(DEVICE_ZONES)})[i %% {len(DEVICE_ZONES)} + 1]", list(DEVICE_ZONES)),
            "license_id": ("l.id", []),
            "nickname": (nickname, [*HOSTILE, *WORDS, *WORDS]),
            "description": ("''", []),
            "device_name": ("'Model ' || (i %% 40)", []),
            "device_identifier": ("'ID-' || lpad(i::text, 9, '0')", []),
            "os_type": ("CASE WHEN i %% 2 = 0 THEN 'Android 14' ELSE 'iOS 18' END", []),
            "platform": (f"({sql_array(PLATFORMS)})[i %% {len(PLATFORMS)} + 1]", list(PLATFORMS)),
            "app_version": (f"({sql_array(VERSIONS)})[i %% {len(VERSIONS)} + 1]", list(VERSIONS)),
            "app_version_key": (f"({sql_array(keys)})[i %% {len(VERSIONS)} + 1]", list(keys)),
            "last_check_in_at": (
                "CASE WHEN i %% 9 = 0 THEN NULL ELSE %s::timestamptz - (i %% 5000) * interval '1 minute' END",
                [now],
            ),
            "registered_at": ("%s", [REGISTERED]),
            "created_at": ("%s", [now]),
            "changed_at": ("%s", [CHANGED]),
        },
        (
            f"{series[0]} JOIN {License._meta.db_table} l "
            "ON l.company_id = %s AND l.number = 'B-' || lpad(i::text, 8, '0')",
            [*series[1], company.pk],
        ),
    )
    kinds = tuple(DocumentKind.values)
    insert_select(
        Document,
        {
            "company_id": ("%s", [company.pk]),
            "kind": (f"({sql_array(kinds)})[d.id %% {len(kinds)} + 1]", list(kinds)),
            "number": ("'D-' || d.id", []),
            "client_id": ("%s", [customer.pk]),
            "device_id": ("d.id", []),
            "created_at": ("%s", [now]),
        },
        (
            f"{Device._meta.db_table} d WHERE d.company_id = %s AND d.id %% 7 = 0 AND d.device_identifier >= %s",
            [company.pk, f"ID-{first:09d}"],
        ),
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def company_with_admin(name: str, email: str) -> User:
    company = company_create(acting_user=OPERATOR_COMMAND, name=name, default_time_zone=COMPANY_ZONE)
    return User.objects.create_user(email, "bench-password-1", company=company, role=Role.ADMINISTRATOR)


def copy_statements(user: User) -> tuple[tuple[str, list[Any]], tuple[str, list[Any]]]:
    """The report's own COPY statement, and a bare COPY of its unformatted row query."""
    search = DeviceSearch.from_query({})
    today = datetime.datetime.now(zoneinfo.ZoneInfo(COMPANY_ZONE)).date()
    with company_scope(user.company):
        report = device_report_copy_sql(user=user, search=search, time_zone=COMPANY_ZONE, today=today)
        inner, params = device_report_rows_query(user=user, search=search).query.sql_with_params()
    return report, (f"COPY ({inner}) TO STDOUT (FORMAT csv)", list(params))


def statistics_queries(user: User) -> int:
    """The report's statistics block alone (its aggregate queries), as the view counts it."""
    with company_scope(user.company):
        device_report_statistics(user=user, search=DeviceSearch.from_query({}))
    return 0


def copy_bytes(statement: tuple[str, list[Any]]) -> int:
    """Run a COPY ... TO STDOUT and read it in full; the number of bytes."""
    total = 0
    with connection.cursor() as cursor, cursor.cursor.copy(*statement) as copy:
        for data in copy:
            total += len(data)
    return total


def report_bytes(http: Client) -> bytes:
    response = http.get(URL)
    if response.status_code != 200 or not response.streaming:
        raise CheckFailed(f"{URL} answered {response.status_code}")
    body = b"".join(response.streaming_content)
    response.close()
    return body


def report_size(http: Client) -> int:
    response = http.get(URL)
    total = sum(len(chunk) for chunk in response.streaming_content)
    response.close()
    return total


def interleaved(cases: dict[str, Callable[[], int]], repeat: int) -> dict[str, tuple[list[float], int]]:
    """
    Run every case once for warm-up, then ``repeat`` rounds of every case one
    after the other, so that a change in the machine's load hits every case
    alike: per case the seconds of each round and the size it returned.
    """
    sizes = {name: fn() for name, fn in cases.items()}
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeat):
        for name, fn in cases.items():
            started = time.perf_counter()
            sizes[name] = fn()
            samples[name].append(time.perf_counter() - started)
    return {name: (samples[name], sizes[name]) for name in cases}


def check_output(body: bytes, devices: int) -> None:
    """The report's rows: as many as devices, hostile cells neutralised, dates in the company's zone."""
    text = body.decode("utf-8")
    if not text.startswith("\ufeff"):
        raise CheckFailed("the report does not start with the BOM")
    header = b"Team,Nickname,Platform,"
    rows = body[body.index(header) :]
    lines = rows.count(b"\r\n")
    # The header, one line per device, one more for each nickname with a line break.
    broken = sum(1 for i in range(0, devices, HOSTILE_EVERY) if "\n" in HOSTILE[(i // HOSTILE_EVERY) % len(HOSTILE)])
    if lines != 1 + devices:
        raise CheckFailed(f"{lines - 1} device rows (CRLF) for {devices} devices")
    if rows.count(b"\n") != 1 + devices + broken:
        raise CheckFailed("a line break inside a cell was not kept as written")
    for guarded in (b",'=cmd,", b",'+1,", b",'@x,", b",'-2,", b',"\'=HYPERLINK(""http://x"")",', b",'\tTab,"):
        if guarded not in rows:
            raise CheckFailed(f"no neutralised cell {guarded!r} in the report")
    for raw in (b",=cmd,", b",+1,", b",@x,", b",-2,", b",=HYPERLINK", b",\tTab,", b"\n=Team", b"\r\n=Team"):
        if raw in rows:
            raise CheckFailed(f"a formula cell {raw!r} reached the report")
    if b"'=Team 7," not in rows:
        raise CheckFailed("the hostile team name is not neutralised")
    if b',"a, ""b""\nc",' not in rows:
        raise CheckFailed("a cell with a comma, quotes and a line break is not quoted")
    if rows.count(b"," + REGISTERED_SHOWN + b"," + CHANGED_SHOWN + b",") != devices:
        raise CheckFailed(f"Reg Date / Change Date not shown in {COMPANY_ZONE} on every row")


def _status_kb(name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    raise CheckFailed(f"no {name} in /proc/self/status")


def _release_free_memory() -> None:
    """Collect garbage and hand freed heap back to the system, so that growth from here shows in the RSS."""
    gc.collect()
    # Not glibc: no trim, and the RSS baseline is looser (the figure stays honest).
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def memory_growth(http: Client) -> tuple[float, float, float, int]:
    """
    Stream the report once for the resident set, once under tracemalloc:
    (RSS growth MB, tracemalloc peak MB, ru_maxrss MB after, bytes). No
    warm-up of the same size: the throughput runs before have loaded the
    code, and a warm-up of the same report would hide its growth in heap
    the allocator keeps.
    """
    _release_free_memory()
    before = _status_kb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    size = report_size(http)
    rss_growth = (_status_kb("VmHWM") - before) / 1024
    tracemalloc.start()
    report_size(http)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return rss_growth, peak / 1024 / 1024, maxrss, size


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--memory-devices", type=int, default=1_000_000)
    parser.add_argument("--small-devices", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one report stream, then stop")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Run under scripts/with-postgres.sh (PostgreSQL needed).")
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)

    user = company_with_admin("Bench Report Co", "bench@example.com")
    started = time.perf_counter()
    populate(user.company, start=0, count=args.devices)
    print(f"populated {args.devices:,} devices in {time.perf_counter() - started:.1f} s")
    http = Client()
    http.force_login(user)

    check_output(report_bytes(http), args.devices)
    print("output checks: formula cells neutralised, quoted cells kept, dates in the company's zone: ok")

    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(report_size, http)
        pstats.Stats(profile).sort_stats("tottime").print_stats(20)
        return 0

    report_copy, bare_copy = copy_statements(user)
    runs = interleaved(
        {
            "COPY of the report's SELECT (baseline)": lambda: copy_bytes(report_copy),
            "DeviceReport.csv through Django": lambda: report_size(http),
            "COPY of the raw row query (information)": lambda: copy_bytes(bare_copy),
            "the statistics block alone (information)": lambda: statistics_queries(user),
        },
        args.repeat,
    )
    print(f"\n{args.devices:,} devices, medians of {args.repeat} interleaved rounds")
    print(f"{'what':<44} {'seconds':>8} {'MB':>8} {'MB/s':>8} {'rows/s':>10}")
    for name, (samples, size) in runs.items():
        seconds = statistics.median(samples)
        if not size:
            print(f"{name:<44} {seconds:>8.3f}")
            continue
        mb = size / 1e6
        print(f"{name:<44} {seconds:>8.3f} {mb:>8.1f} {mb / seconds:>8.1f} {args.devices / seconds:>10,.0f}")
    (copy_samples, copy_size), (product_samples, product_size) = list(runs.values())[:2]
    ratio = (product_size / statistics.median(product_samples)) / (copy_size / statistics.median(copy_samples))
    # The same ratio round by round (each round's two runs close together in time).
    rounds = sorted((product_size / p) / (copy_size / c) for p, c in zip(product_samples, copy_samples, strict=True))
    print(
        f"ratio product / COPY (bytes/s): {ratio:.2f} (aim >= 0.5); "
        f"round by round {', '.join(f'{r:.2f}' for r in rounds)}"
    )

    small = company_with_admin("Bench Report Small Co", "small@example.com")
    populate(small.company, start=0, count=args.small_devices)
    small_http = Client()
    small_http.force_login(small)
    small_rss, small_peak, _, small_size = memory_growth(small_http)
    started = time.perf_counter()
    if args.memory_devices > args.devices:
        populate(user.company, start=args.devices, count=args.memory_devices - args.devices)
    print(f"\ngrew the company to {args.memory_devices:,} devices in {time.perf_counter() - started:.1f} s")
    large_rss, large_peak, maxrss, large_size = memory_growth(http)
    print(f"{'memory while streaming':<28} {'rows':>10} {'CSV MB':>8} {'RSS growth MB':>14} {'tracemalloc MB':>15}")
    for rows, size, rss, peak in (
        (args.small_devices, small_size, small_rss, small_peak),
        (args.memory_devices, large_size, large_rss, large_peak),
    ):
        print(f"{'DeviceReport.csv':<28} {rows:>10,} {size / 1e6:>8.1f} {rss:>14.1f} {peak:>15.1f}")
    print(
        f"difference {args.memory_devices:,} vs {args.small_devices:,} rows: RSS {large_rss - small_rss:+.1f} MB, "
        f"tracemalloc {large_peak - small_peak:+.1f} MB (aim < 20 MB); ru_maxrss of the process {maxrss:.0f} MB"
    )
    failed = []
    if ratio < 0.5:
        failed.append(f"ratio {ratio:.2f} < 0.5")
    if max(large_rss - small_rss, large_peak - small_peak) >= 20:
        failed.append("memory grows by 20 MB or more")
    if failed:
        print("aims missed: " + "; ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except CheckFailed as exc:
        sys.exit(f"CHECK FAILED: {exc}")
