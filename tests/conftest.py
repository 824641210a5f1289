import os

os.environ.setdefault("BACKOFFICE_TESTING", "1")

from importlib import import_module  # noqa: E402

import pytest  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client as HttpClient  # noqa: E402

from backoffice.organization.models import Team  # noqa: E402
from backoffice.organization.services import company_create  # noqa: E402
from backoffice.tenancy.choices import Role  # noqa: E402
from backoffice.tenancy.models import User  # noqa: E402
from backoffice.tenancy.permissions import OPERATOR_COMMAND  # noqa: E402
from backoffice.tenancy.scoping import company_scope  # noqa: E402
from tests.factories import PASSWORD, TeamFactory, make_user  # noqa: E402


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """
    Run the browser tests last: Playwright's sync API keeps an event loop
    running in the main thread while its browser is open, and Django refuses
    database work from a thread with a running loop.
    """
    items.sort(key=lambda item: "e2e" in item.keywords)


PENDING_TRIGGERS = [
    name for name, _, _ in import_module("backoffice.devices.migrations.0018_pending_version_triggers")._triggers()
]


@pytest.fixture(autouse=True)
def _db(db):
    """
    Every test may use the database; each runs in its own rolled-back
    transaction. Browser tests override this in tests/e2e/conftest.py.

    On PostgreSQL the triggers that raise ``Company.pending_version`` fire
    at commit, which a rolled-back test never reaches: here they fire at
    the end of each statement instead (tests/devices/test_pending_version.py
    tests them at commit).
    """
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        names = ", ".join(f'"{name}"' for name in PENDING_TRIGGERS)
        with connection.cursor() as cursor:
            cursor.execute(f"SET CONSTRAINTS {names} IMMEDIATE")


@pytest.fixture
def company_a():
    return company_create(acting_user=OPERATOR_COMMAND, name="Company A", default_time_zone="America/Chicago")


@pytest.fixture
def company_b():
    return company_create(acting_user=OPERATOR_COMMAND, name="Company B", default_time_zone="Europe/Berlin")


@pytest.fixture
def team_a(company_a):
    with company_scope(company_a):
        return TeamFactory(company=company_a, name="Alpha Team", time_zone="America/Denver")


@pytest.fixture
def default_team_a(company_a):
    with company_scope(company_a):
        return Team.objects.get(is_default=True)


@pytest.fixture
def admin_a(company_a):
    return make_user(company_a, Role.ADMINISTRATOR, email="admin@a.example")


@pytest.fixture
def teamadmin_a(company_a, team_a):
    return make_user(company_a, Role.TEAM_ADMINISTRATOR, team=team_a, email="teamadmin@a.example")


@pytest.fixture
def viewer_a(company_a):
    return make_user(company_a, Role.VIEWER, email="viewer@a.example")


@pytest.fixture
def admin_b(company_b):
    return make_user(company_b, Role.ADMINISTRATOR, email="admin@b.example")


def login(user) -> HttpClient:
    http = HttpClient()
    http.force_login(user)
    return http


@pytest.fixture
def as_admin_a(admin_a):
    return login(admin_a)


@pytest.fixture
def as_teamadmin_a(teamadmin_a):
    return login(teamadmin_a)


@pytest.fixture
def as_viewer_a(viewer_a):
    return login(viewer_a)


@pytest.fixture
def as_admin_b(admin_b):
    return login(admin_b)


# Operators: staff users without a company, on the Django admin.


@pytest.fixture
def operator():
    return User.objects.create_superuser("op@service.example", PASSWORD)


@pytest.fixture
def as_operator(operator):
    return login(operator)


def admin_form_errors(response):
    """The errors of the Django admin form a refused edit shows again (status 200)."""
    assert response.status_code == 200, response
    return response.context["adminform"].form.errors


@pytest.fixture
def inside_one_window(monkeypatch):
    """
    The rate limiter's clock held one second into a window, so that no
    sequence of attempts in a test straddles a window's end whenever the test
    runs (a test that moves the clock sets its own).
    """
    from backoffice.core import ratelimit
    from tests.core.ratelimit_backends import WINDOW_START

    monkeypatch.setattr(ratelimit, "_clock", lambda: WINDOW_START + 1)
