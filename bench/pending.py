"""
Benchmark of the Pending Registrations poll on PostgreSQL (issue 16).

    scripts/with-postgres.sh .venv/bin/python bench/pending.py [--rows 200] [--few 5]

Two companies: one with ``--few`` pending devices, one with ``--rows``, each
device with a live code and two queued emails, added through the service.
Every request goes through the same in-process Django test client, signed in
as each company's administrator. It prints:

(a) the poll answered ``304 Not Modified`` (``If-None-Match`` of the current
    ETag) against a bare signed-in endpoint of the same client in the same
    run: a view that needs a company member and answers 204, mounted by this
    benchmark beside the product's URLs (the browser middleware, the session,
    the user and the company alike; the device API's ``/health`` skips all of
    those since it is not a page): the ratio, aim at most 1.2;
(b) the section rendered (``200``, no ``If-None-Match``) with ``--rows``
    pending codes against ``--few``: the ratio, aim at most 3.

Each figure is the median of several rounds; each round times a batch of
requests of the one case, then of its baseline, and the ratio is the median
of the rounds' ratios, so that both sides see the same load.
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

import types  # noqa: E402

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import clear_url_caches, path  # noqa: E402

from backoffice import urls as product_urls  # noqa: E402
from backoffice.devices.services import device_add  # noqa: E402
from backoffice.licensing.models import License  # noqa: E402
from backoffice.organization.models import Team  # noqa: E402
from backoffice.organization.services import company_create  # noqa: E402
from backoffice.tenancy.choices import Role  # noqa: E402
from backoffice.tenancy.models import User  # noqa: E402
from backoffice.tenancy.permissions import OPERATOR_COMMAND, company_member_required  # noqa: E402
from backoffice.tenancy.scoping import company_scope  # noqa: E402

REPEAT = 9
BATCH = 50
POLL = "/devices/pending/"
BARE = "/bench/bare/"


@company_member_required
def bare(request: HttpRequest) -> HttpResponse:
    """The bare signed-in endpoint: a company member's request that does nothing."""
    return HttpResponse(status=204)


def mount_bare() -> None:
    """Serve the product's URLs plus ``BARE`` (this benchmark's own URLconf)."""
    module = types.ModuleType("bench_pending_urls")
    module.urlpatterns = [path(BARE.strip("/") + "/", bare), *product_urls.urlpatterns]  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    settings.ROOT_URLCONF = module.__name__
    clear_url_caches()


HTMX = {"HX-Request": "true"}


def populate(name: str, rows: int) -> User:
    """A company with ``rows`` pending devices, each with a live code and two queued emails."""
    company = company_create(acting_user=OPERATOR_COMMAND, name=name, default_time_zone="America/Chicago")
    admin = User.objects.create_user(
        f"admin@{name.lower().replace(' ', '-')}.example", "bench-password-1", company=company, role=Role.ADMINISTRATOR
    )
    with company_scope(company):
        team = Team.objects.get(is_default=True)
        licenses = License.objects.bulk_create(
            License(company=company, number=f"P-{i:05d}", license_type="standard") for i in range(rows + 10)
        )
        for i in range(rows):
            device_add(
                acting_user=admin,
                team=team,
                license=licenses[i],
                nickname=f"Pending {i:04d}",
                recipients=[f"tech{i}@example.com", "office@example.com"],
            )
    return admin


def client_for(user: User) -> Client:
    http = Client()
    http.force_login(user)
    return http


def batch_seconds(fn) -> float:
    """The time of one call of ``fn``, from a batch of ``BATCH`` calls."""
    started = time.perf_counter()
    for _ in range(BATCH):
        fn()
    return (time.perf_counter() - started) / BATCH


def paired(measured, baseline) -> tuple[float, float, float]:
    """
    Median seconds of ``measured`` and of ``baseline`` and the median of their
    ratios, from ``REPEAT`` rounds that each time a batch of one, then of the
    other: both see the same load on a shared machine.
    """
    for _ in range(5):
        measured()  # warm-up
        baseline()
    rounds = [(batch_seconds(measured), batch_seconds(baseline)) for _ in range(REPEAT)]
    return (
        statistics.median(m for m, _ in rounds),
        statistics.median(b for _, b in rounds),
        statistics.median(m / b for m, b in rounds),
    )


def get(http: Client, url: str, status: int, headers: dict[str, str] | None = None) -> None:
    response = http.get(url, headers=headers or {})
    assert response.status_code == status, (url, response.status_code)


def statements(http: Client, url: str, headers: dict[str, str] | None = None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        http.get(url, headers=headers or {})
    return len([q for q in ctx.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--few", type=int, default=5)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Run under scripts/with-postgres.sh (PostgreSQL needed).")
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    mount_bare()
    started = time.perf_counter()
    few = client_for(populate("Few Co", args.few))
    many = client_for(populate("Many Co", args.rows))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"populated {args.few} + {args.rows} pending devices in {time.perf_counter() - started:.0f} s")

    print(f"{'case':<34} {'ms':>8} {'baseline ms':>12} {'ratio':>7} {'aim':>6}  statements")
    for http, rows in ((few, args.few), (many, args.rows)):
        http.get(POLL, headers=HTMX)  # sets the CSRF cookie, part of the ETag
        etag = http.get(POLL, headers=HTMX).get("ETag")
        if etag is None:
            print("(a) skipped: this version's poll has no ETag")
            break
        conditional = {**HTMX, "If-None-Match": etag}
        not_modified, bare_seconds, ratio = paired(
            lambda http=http, conditional=conditional: get(http, POLL, 304, conditional),
            lambda http=http: get(http, BARE, 204),
        )
        n = statements(http, POLL, conditional)
        print(
            f"{f'(a) 304 poll, {rows} rows':<34} {not_modified * 1000:>8.2f} {bare_seconds * 1000:>12.2f} "
            f"{ratio:>6.2f}x {1.2:>5.1f}x  {n} (bare: {statements(http, BARE)})"
        )
    rendered_many, rendered_few, ratio = paired(lambda: get(many, POLL, 200, HTMX), lambda: get(few, POLL, 200, HTMX))
    print(
        f"{f'(b) 200 poll, {args.rows} vs {args.few} rows':<34} {rendered_many * 1000:>8.2f} "
        f"{rendered_few * 1000:>12.2f} {ratio:>6.2f}x {3.0:>5.1f}x  "
        f"{statements(many, POLL, HTMX)} vs {statements(few, POLL, HTMX)}"
    )


if __name__ == "__main__":
    main()
