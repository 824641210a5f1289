"""
PostgreSQL only: the same name or email created by several people at once.

Every service checks uniqueness before it writes, so parallel creates can all
pass the check; the database's unique constraint then refuses all but one,
and the service must turn that into the check's own ``ValidationError`` (which
the form shows next to the field), never an ``IntegrityError`` (a 500).
Each case runs ``THREADS`` threads released by a barrier, ``ROUNDS`` times.
The last tests replay the lost race on any database: the check is made to
miss the row the other request just wrote, and the constraint must answer.
"""

import datetime
import io
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection

from backoffice.invitations.models import Invitation
from backoffice.licensing.models import License
from backoffice.licensing.services import license_issue
from backoffice.organization import services as organization_services
from backoffice.organization.models import Area, Client, Employee, Team
from backoffice.organization.services import (
    area_create,
    client_create,
    company_create,
    employee_archive,
    employee_create,
    employee_restore,
    team_create,
    team_update,
)
from backoffice.tenancy import services as tenancy_services
from backoffice.tenancy.choices import Role
from backoffice.tenancy.models import Company, User
from backoffice.tenancy.permissions import OPERATOR_COMMAND
from backoffice.tenancy.scoping import company_scope
from backoffice.tenancy.services import user_create
from tests.conftest import login
from tests.factories import make_user
from tests.racing import outcome_label, race

THREADS = 6
ROUNDS = 8


def postgres_race(test: Callable[..., None]) -> Callable[..., None]:
    """A race between connections: PostgreSQL, committed transactions."""
    for mark in (
        pytest.mark.django_db(transaction=True),
        pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL"),
        pytest.mark.postgres_only,
    ):
        test = mark(test)
    return test


def scoped(company, call: Callable[[], Any]) -> Callable[[], Any]:
    """``call`` inside the company scope, which each thread opens for itself (as the middleware does)."""

    def run() -> Any:
        with company_scope(company):
            return call()

    return run


def spelling(name: str, i: int) -> str:
    """The same name as different people type it: the checks and constraints ignore case."""
    return (name, name.upper(), name.lower())[i % 3]


def assert_one_created(labels: list[str], error: str) -> None:
    """Exactly one call succeeded; every other one got the documented error."""
    counts = Counter(labels)
    assert counts == {"ok": 1, f"invalid:{error}": len(labels) - 1}, counts


def report(name: str, seen: Counter) -> None:
    print(f"\n{name}: {ROUNDS} rounds of {THREADS} threads: {dict(seen)}")


# Through the services


@postgres_race
def test_parallel_team_creates(company_a, admin_a):
    seen: Counter = Counter()
    for n in range(ROUNDS):
        name = f"Night Shift {n}"
        labels = [
            outcome_label(outcome)
            for outcome in race(
                *(
                    scoped(
                        company_a,
                        lambda i=i, name=name: team_create(
                            acting_user=admin_a, name=spelling(name, i), time_zone="America/Chicago"
                        ),
                    )
                    for i in range(THREADS)
                )
            )
        ]
        seen.update(labels)
        assert_one_created(labels, "A team with this name already exists.")
        with company_scope(company_a):
            assert Team.objects.filter(name__iexact=name).count() == 1
    report("team_create", seen)


@postgres_race
def test_parallel_area_creates(company_a, admin_a):
    seen: Counter = Counter()
    for n in range(ROUNDS):
        name = f"North Metro {n}"
        labels = [
            outcome_label(outcome)
            for outcome in race(
                *(
                    scoped(company_a, lambda i=i, name=name: area_create(acting_user=admin_a, name=spelling(name, i)))
                    for i in range(THREADS)
                )
            )
        ]
        seen.update(labels)
        assert_one_created(labels, "An area with this name already exists.")
        with company_scope(company_a):
            assert Area.objects.filter(name__iexact=name).count() == 1
    report("area_create", seen)


@postgres_race
def test_parallel_employee_creates(company_a, admin_a, team_a):
    seen: Counter = Counter()
    for n in range(ROUNDS):
        email = f"Tech{n}@A.example"
        labels = [
            outcome_label(outcome)
            for outcome in race(
                *(
                    scoped(
                        company_a,
                        lambda i=i, email=email: employee_create(
                            acting_user=admin_a, name=f"Tech {i}", email=spelling(email, i), team=team_a
                        ),
                    )
                    for i in range(THREADS)
                )
            )
        ]
        seen.update(labels)
        assert_one_created(labels, "An active employee with this email already exists.")
        with company_scope(company_a):
            assert Employee.objects.filter(email__iexact=email, is_active=True).count() == 1
    report("employee_create", seen)


@postgres_race
def test_parallel_client_creates(company_a, admin_a):
    seen: Counter = Counter()
    for n in range(ROUNDS):
        name = f"Metro Ford {n}"
        calls = [
            scoped(
                company_a,
                lambda i=i, name=name: client_create(
                    acting_user=admin_a, name=spelling(name, i), client_type="wholesale"
                ),
            )
            for i in range(THREADS)
        ]
        labels = [outcome_label(outcome) for outcome in race(*calls)]
        seen.update(re.sub(r"named .* already", "named … already", label) for label in labels)
        counts = Counter(re.sub(r"named .* already", "named … already", label) for label in labels)
        assert counts == {"ok": 1, "invalid:A wholesale client named … already exists.": THREADS - 1}, counts
        with company_scope(company_a):
            assert Client.objects.filter(name__iexact=name, client_type="wholesale").count() == 1
    report("client_create", seen)


@postgres_race
def test_parallel_user_creates_in_two_companies(company_a, company_b, admin_a, admin_b):
    """Emails are unique across the whole service: the race runs across companies too."""
    seen: Counter = Counter()
    for n in range(ROUNDS):
        email = f"Newcomer{n}@Example.com"
        calls = [
            scoped(
                company,
                lambda i=i, admin=admin, email=email: user_create(
                    acting_user=admin,
                    email=spelling(email, i),
                    full_name=f"Newcomer {i}",
                    role=Role.VIEWER,
                    team=None,
                    password="a long enough password 42",
                ),
            )
            for i, (company, admin) in enumerate([(company_a, admin_a), (company_b, admin_b)] * (THREADS // 2))
        ]
        labels = [outcome_label(outcome) for outcome in race(*calls)]
        seen.update(labels)
        assert_one_created(labels, "A user with this email already exists.")
        assert User.objects.filter(email__iexact=email).count() == 1
    report("user_create", seen)


@postgres_race
def test_parallel_company_creates():
    seen: Counter = Counter()
    for n in range(ROUNDS):
        name = f"Race Motors {n}"
        labels = [
            outcome_label(outcome)
            for outcome in race(
                *(lambda name=name: company_create(acting_user=OPERATOR_COMMAND, name=name) for _ in range(THREADS))
            )
        ]
        seen.update(labels)
        assert_one_created(labels, "A company with this name already exists.")
        assert Company.objects.filter(name=name).count() == 1
    report("company_create", seen)


def _assert_distinct_contiguous(company, *, prefix: str, total: int) -> None:
    with company_scope(company):
        numbers = list(License.objects.filter(number__startswith=prefix).values_list("number", flat=True))
    assert len(numbers) == len(set(numbers)) == total
    assert sorted(numbers) == [f"{prefix}{serial:05d}" for serial in range(1, total + 1)]


@postgres_race
def test_parallel_license_issues_for_one_company(company_a):
    """Issuing for one company is serialised: every call gets its own numbers, none fails."""
    expires = datetime.date(2030, 12, 31)
    seen: Counter = Counter()
    for n in range(ROUNDS):
        prefix = f"R{n}-"
        labels = [
            outcome_label(outcome)
            for outcome in race(
                *(
                    lambda prefix=prefix: license_issue(
                        acting_user=OPERATOR_COMMAND,
                        company=company_a,
                        count=3,
                        license_type="standard",
                        expires_on=expires,
                        prefix=prefix,
                    )
                    for _ in range(THREADS)
                )
            )
        ]
        seen.update(labels)
        assert labels == ["ok"] * THREADS, labels
        _assert_distinct_contiguous(company_a, prefix=prefix, total=3 * THREADS)
    report("license_issue", seen)


@postgres_race
def test_parallel_issue_licenses_commands_for_one_company(company_a):
    seen: Counter = Counter()
    for n in range(ROUNDS):
        prefix = f"CMD{n}-"

        def issue(prefix: str = prefix) -> str:
            out = io.StringIO()
            call_command(
                "issue_licenses",
                "--company",
                company_a.name,
                "--count",
                "2",
                "--type",
                "standard",
                "--expires",
                "2030-12-31",
                "--prefix",
                prefix,
                stdout=out,
            )
            return out.getvalue()

        labels = [outcome_label(outcome) for outcome in race(*(issue for _ in range(THREADS)))]
        seen.update(labels)
        assert labels == ["ok"] * THREADS, labels
        _assert_distinct_contiguous(company_a, prefix=prefix, total=2 * THREADS)
    report("issue_licenses", seen)


# Through the pages: the loser sees the form again with the error


def _posts(path: str, users: list[User], data: Callable[[int], dict[str, Any]]) -> list[tuple[int, str]]:
    clients = [login(user) for user in users]
    outcomes = race(*(lambda i=i: clients[i].post(path, data(i)) for i in range(len(clients))))
    results: list[tuple[int, str]] = []
    for outcome in outcomes:
        assert not isinstance(outcome, BaseException), outcome_label(outcome)
        results.append((outcome.status_code, outcome.content.decode()))
    return results


def assert_one_redirect(results: list[tuple[int, str]], error: str) -> None:
    statuses = Counter(status for status, _ in results)
    assert statuses == {302: 1, 200: len(results) - 1}, statuses
    for status, html in results:
        if status == 200:
            assert error in html


@pytest.fixture
def admins_a(company_a) -> list[User]:
    return [make_user(company_a, Role.ADMINISTRATOR, email=f"racer{i}@a.example") for i in range(THREADS)]


@postgres_race
def test_parallel_team_adds_on_the_page(company_a, admins_a):
    for n in range(ROUNDS):
        name = f"Swing Shift {n}"
        results = _posts(
            "/teams/add/", admins_a, lambda i, name=name: {"name": spelling(name, i), "time_zone": "Europe/Berlin"}
        )
        assert_one_redirect(results, "A team with this name already exists.")
        with company_scope(company_a):
            assert Team.objects.filter(name__iexact=name).count() == 1


@postgres_race
def test_parallel_area_adds_on_the_page(company_a, admins_a):
    for n in range(ROUNDS):
        name = f"South Bay {n}"
        results = _posts("/areas/add/", admins_a, lambda i, name=name: {"name": spelling(name, i)})
        assert_one_redirect(results, "An area with this name already exists.")
        with company_scope(company_a):
            assert Area.objects.filter(name__iexact=name).count() == 1


@postgres_race
def test_parallel_employee_adds_on_the_page(company_a, admins_a, team_a):
    for n in range(ROUNDS):
        email = f"detailer{n}@a.example"
        results = _posts(
            "/employees/add/",
            admins_a,
            lambda i, email=email: {"name": f"Detailer {i}", "email": spelling(email, i), "team": team_a.pk},
        )
        assert_one_redirect(results, "An active employee with this email already exists.")
        with company_scope(company_a):
            assert Employee.objects.filter(email__iexact=email).count() == 1


@postgres_race
def test_parallel_client_adds_on_the_page(company_a, admins_a):
    for n in range(ROUNDS):
        name = f"Lakeside Toyota {n}"
        results = _posts(
            "/clients/add/",
            admins_a,
            lambda i, name=name: {"name": name, "client_type": "wholesale", "is_active": "on"},
        )
        assert_one_redirect(results, f"A wholesale client named {name} already exists.")
        with company_scope(company_a):
            assert Client.objects.filter(name__iexact=name).count() == 1


@postgres_race
def test_parallel_invitations_of_one_address_on_the_page(company_a, admins_a):
    """Inviting an address that has a pending invitation sends that one again: every racer gets the redirect."""
    for n in range(ROUNDS):
        email = f"clerk{n}@a.example"
        results = _posts(
            "/users/invite/",
            admins_a,
            lambda i, email=email: {"email": spelling(email, i), "full_name": f"Clerk {i}", "role": Role.VIEWER},
        )
        assert Counter(status for status, _ in results) == {302: len(results)}
        with company_scope(company_a):
            assert Invitation.objects.filter(email=email, state="pending").count() == 1
        assert not User.objects.filter(email__iexact=email).exists()


# The race replayed on any database: the pre-check misses the winner's row


def check_misses_once(monkeypatch, module: object, name: str) -> None:
    """Make ``module.name`` (a uniqueness check) answer False once, as when the winner had not committed yet."""
    real = getattr(module, name)
    calls = {"n": 0}

    def check(**kwargs: Any) -> bool:
        calls["n"] += 1
        return False if calls["n"] == 1 else real(**kwargs)

    monkeypatch.setattr(module, name, check)


def test_a_lost_team_name_race_is_the_form_error(monkeypatch, company_a, admin_a, team_a):
    check_misses_once(monkeypatch, organization_services, "team_name_taken")
    with company_scope(company_a), pytest.raises(ValidationError) as raised:
        team_create(acting_user=admin_a, name="ALPHA team", time_zone="America/Chicago")
    assert raised.value.message_dict == {"name": ["A team with this name already exists."]}
    with company_scope(company_a):
        assert Team.objects.filter(name__iexact="alpha team").count() == 1


def test_a_lost_team_rename_race_is_the_form_error(monkeypatch, company_a, admin_a, team_a):
    with company_scope(company_a):
        other = team_create(acting_user=admin_a, name="Beta Team", time_zone="America/Chicago")
    check_misses_once(monkeypatch, organization_services, "team_name_taken")
    with company_scope(company_a), pytest.raises(ValidationError) as raised:
        team_update(acting_user=admin_a, team=other, name="Alpha Team", time_zone="America/Chicago")
    assert raised.value.message_dict == {"name": ["A team with this name already exists."]}


def test_a_lost_area_name_race_is_the_form_error(monkeypatch, company_a, admin_a):
    with company_scope(company_a):
        area_create(acting_user=admin_a, name="North Metro")
    check_misses_once(monkeypatch, organization_services, "area_name_taken")
    with company_scope(company_a), pytest.raises(ValidationError) as raised:
        area_create(acting_user=admin_a, name="north metro")
    assert raised.value.message_dict == {"name": ["An area with this name already exists."]}


def test_a_lost_employee_email_race_is_the_form_error(monkeypatch, company_a, admin_a, team_a):
    with company_scope(company_a):
        employee_create(acting_user=admin_a, name="Ana", email="ana@a.example", team=team_a)
    check_misses_once(monkeypatch, organization_services, "employee_email_taken")
    with company_scope(company_a), pytest.raises(ValidationError) as raised:
        employee_create(acting_user=admin_a, name="Ana Again", email="ANA@a.example", team=team_a)
    assert raised.value.message_dict == {"email": ["An active employee with this email already exists."]}


def test_a_lost_employee_restore_race_is_the_refusal(monkeypatch, company_a, admin_a, team_a):
    with company_scope(company_a):
        archived = employee_create(acting_user=admin_a, name="Ana", email="ana@a.example", team=team_a)
        employee_archive(acting_user=admin_a, employee=archived)
        employee_create(acting_user=admin_a, name="Ana Two", email="ana@a.example", team=team_a)
    check_misses_once(monkeypatch, organization_services, "employee_email_taken")
    with company_scope(company_a), pytest.raises(ValidationError) as raised:
        employee_restore(acting_user=admin_a, employee=archived)
    assert raised.value.messages == ["Ana cannot be restored: an active employee already uses ana@a.example."]


def test_a_lost_user_email_race_is_the_form_error(monkeypatch, company_a, admin_a):
    check_misses_once(monkeypatch, tenancy_services, "user_email_taken")
    with company_scope(company_a), pytest.raises(ValidationError) as raised:
        user_create(
            acting_user=admin_a,
            email="ADMIN@a.example",
            full_name="Twin",
            role=Role.VIEWER,
            team=None,
            password="a long enough password 42",
        )
    assert raised.value.message_dict == {"email": ["A user with this email already exists."]}


def test_a_lost_company_name_race_is_the_form_error(monkeypatch, company_a):
    check_misses_once(monkeypatch, organization_services, "company_name_taken")
    with pytest.raises(ValidationError) as raised:
        company_create(acting_user=OPERATOR_COMMAND, name="Company A")
    assert raised.value.message_dict == {"name": ["A company with this name already exists."]}
