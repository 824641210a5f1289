"""
Benchmark of the company audit log on PostgreSQL with 1,000,000 events.

    scripts/with-postgres.sh .venv/bin/python bench/audit_log.py [--events 1000000]

The measured company has ``--events`` events (a fifth as many again in each
of two other companies), written by one INSERT ... SELECT per company. For
the first page, a page far back (a cursor 90% of the way down), the log
filtered by device, by action, and by team and a date range, and the CSV
export of one team (a twentieth of the events: 50,000 rows at a million),
it prints the server time (the request handled in-process by Django) as a
ratio to the same SQL statements run directly on the same connection in
the same run, the index the page query uses, and the peak Python memory of
the export at a tenth and at all of its rows. Each figure is the median of
several runs.
"""

import argparse
import datetime
import os
import re
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

from backoffice.audit.actions import ACTIONS  # noqa: E402
from backoffice.audit.models import AuditEvent  # noqa: E402
from backoffice.auditlog.selectors import Cursor  # noqa: E402
from backoffice.devices.models import Device  # noqa: E402
from backoffice.organization.models import Team  # noqa: E402
from backoffice.organization.services import company_create  # noqa: E402
from backoffice.tenancy.choices import Role  # noqa: E402
from backoffice.tenancy.models import Company, User  # noqa: E402
from backoffice.tenancy.permissions import OPERATOR_COMMAND  # noqa: E402
from backoffice.tenancy.scoping import company_scope  # noqa: E402

REPEAT = 5
TEAMS = 20
DEVICES = 2_000
# One event every 2 seconds, going back from now: a million events cover about 23 days.
STEP_SECONDS = 2
BENCH_ACTIONS = [action for action in ACTIONS if action.startswith(("device.", "registration_code.", "team."))][:8]


def insert_events(
    company: Company, count: int, *, team_ids: list[int], device_ids: list[int], actor: User | None
) -> None:
    """``count`` events in one statement: devices, teams, actions and actors spread evenly."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO audit_auditevent (company_id, action, actor_id, actor_label, object_type, object_id,
                summary, data, changes, device_id, team_id, batch_id, created_at)
            SELECT %(company)s, (%(actions)s::text[])[1 + g %% %(n_actions)s],
                CASE WHEN g %% 3 = 0 THEN NULL ELSE %(actor)s END,
                CASE WHEN g %% 3 = 0 THEN 'ReconPro app (device API)' ELSE 'bench@example.com' END,
                'devices.device', ((%(devices)s::bigint[])[1 + g %% %(n_devices)s])::text,
                'Device ' || g || ' changed', '{}'::jsonb,
                '[{"field": "Team", "old": "Downtown", "new": "Fleet Services"}]'::jsonb,
                (%(devices)s::bigint[])[1 + g %% %(n_devices)s],
                (%(teams)s::bigint[])[1 + g %% %(n_teams)s], NULL,
                %(now)s - make_interval(secs => g * %(step)s)
            FROM generate_series(1, %(count)s) AS g
            """,
            {
                "company": company.pk,
                "actions": BENCH_ACTIONS,
                "n_actions": len(BENCH_ACTIONS),
                "actor": actor.pk if actor else None,
                "devices": device_ids,
                "n_devices": len(device_ids),
                "teams": team_ids,
                "n_teams": len(team_ids),
                "now": timezone.now(),
                "step": STEP_SECONDS,
                "count": count,
            },
        )


def populate(count: int) -> tuple[User, list[int], list[int]]:
    """The measured company (returned as its Administrator, its teams, its devices) and two others."""
    made = []
    for name, events in (("Bench Co", count), ("Other Co 1", count // 5), ("Other Co 2", count // 5)):
        company = company_create(acting_user=OPERATOR_COMMAND, name=name, default_time_zone="America/Chicago")
        user = User.objects.create_user(
            f"bench@{name.replace(' ', '').lower()}.example", "bench-password-1", company=company,
            role=Role.ADMINISTRATOR,
        )  # fmt: skip
        with company_scope(company):
            teams = [Team.objects.get(is_default=True)] + [
                Team.objects.create(company=company, name=f"Team {i}", time_zone="America/Denver")
                for i in range(TEAMS - 1)
            ]
            devices = Device.objects.bulk_create(
                Device(
                    company=company,
                    team=teams[i % TEAMS],
                    nickname=f"Van {i:05d}",
                    device_identifier=f"D{i}",
                    changed_at=timezone.now(),
                )
                for i in range(DEVICES)
            )
        team_ids, device_ids = [team.pk for team in teams], [device.pk for device in devices]
        insert_events(company, events, team_ids=team_ids, device_ids=device_ids, actor=user)
        made.append((user, team_ids, device_ids))
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE audit_auditevent")
    return made[0]


def median_seconds(fn) -> float:
    fn()  # warm-up
    samples = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def consume(response) -> int:
    assert response.status_code == 200, response.status_code
    if response.streaming:
        return sum(len(chunk) for chunk in response.streaming_content)
    return len(response.content)


def measure(http: Client, url: str) -> tuple[float, float, int, str]:
    """(server seconds, direct SQL seconds, statements, index of the events query) for ``url``."""
    with CaptureQueriesContext(connection) as ctx:
        assert consume(http.get(url)) > 0
    statements = []
    for query in ctx.captured_queries:
        sql = query["sql"]
        if sql.startswith(("SAVEPOINT", "RELEASE", "FETCH", "CLOSE")):
            continue
        if sql.startswith("DECLARE"):
            # A server-side cursor streams the export; run its SELECT directly.
            sql = sql[sql.index(" FOR ") + len(" FOR ") :]
        statements.append(sql)
    server = median_seconds(lambda: consume(http.get(url)))

    def run_sql() -> None:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
                while cursor.fetchmany(2000):
                    pass

    events_sql = next(sql for sql in statements if 'FROM "audit_auditevent"' in sql and "EXISTS" not in sql[:40])
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + events_sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    found = re.search(r"Index (?:Only )?Scan(?: Backward)? using (\w+)", plan)
    index = found[1] if found else ("Seq Scan" if "Seq Scan" in plan else "?")
    return server, median_seconds(run_sql), len(statements), index


def export_peak(http: Client, url: str) -> tuple[float, int]:
    tracemalloc.start()
    size = consume(http.get(url))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1024 / 1024, size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Run under scripts/with-postgres.sh (PostgreSQL needed).")
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    started = time.perf_counter()
    user, team_ids, device_ids = populate(args.events)
    print(
        f"populated {args.events:,} events (and {2 * (args.events // 5):,} in two other companies) "
        f"in {time.perf_counter() - started:.0f} s"
    )
    http = Client()
    http.force_login(user)
    with company_scope(user.company):
        far = AuditEvent.objects.order_by("-created_at", "-id")[int(args.events * 0.9)]
    zone = user.company.zone
    newest = timezone.now().astimezone(zone).date()
    week = (newest - datetime.timedelta(days=9)).isoformat(), (newest - datetime.timedelta(days=3)).isoformat()
    team = team_ids[5]
    # A page's SQL takes a few milliseconds at any size, so rendering 50 rows dominates its ratio: the aim
    # for a page is its server time (the same at 20,000 and at 1,000,000 events); for the export, its ratio.
    cases = [
        ("first page", "/audit/", "<= 100 ms"),
        ("deep page (90% back)", f"/audit/?before={Cursor.of(far).token}", "<= 100 ms"),
        ("by device", f"/audit/?device={device_ids[17]}", "<= 100 ms"),
        ("by action", f"/audit/?action={BENCH_ACTIONS[2]}", "<= 100 ms"),
        ("by team + date range", f"/audit/?team={team}&date_from={week[0]}&date_to={week[1]}", "<= 100 ms"),
        (f"CSV export, one team ({args.events // TEAMS:,} rows)", f"/audit/AuditLog.csv?team={team}", "<= 3x"),
    ]
    print(f"{'case':<36} {'server ms':>10} {'SQL ms':>9} {'ratio':>7} {'aim':>10}  statements  index")
    for name, url, aim in cases:
        server, sql, n, index = measure(http, url)
        ratio = server / sql
        print(f"{name:<36} {server * 1000:>10.1f} {sql * 1000:>9.1f} {ratio:>6.2f}x {aim:>10}  {n:>10}  {index}")
    # Export memory: one team's last tenth of the days, then all of its rows.
    days = args.events * STEP_SECONDS / 86_400
    recent = (newest - datetime.timedelta(days=max(int(days / 10), 1))).isoformat()
    small, small_size = export_peak(http, f"/audit/AuditLog.csv?team={team}&date_from={recent}")
    large, large_size = export_peak(http, f"/audit/AuditLog.csv?team={team}")
    print(
        f"export peak memory: {small:.1f} MB for {small_size / 1e6:.1f} MB of CSV, {large:.1f} MB for "
        f"{large_size / 1e6:.1f} MB of CSV, growth {large - small:.1f} MB (aim < 20 MB)"
    )


if __name__ == "__main__":
    main()
