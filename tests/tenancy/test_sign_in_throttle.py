"""
Failed sign-ins are limited per account and per client network, exactly, on
/login/ (where the operators' /admin/login/ sends them too): the answer is the same for an
address nobody has and for a wrong password, the right password is refused
too while the account is locked, a success gives its slot back, a lockout is
an audit event (never the password), and parallel attempts never get more
than the limit tried (PostgreSQL).
"""

import re
from functools import partial

import pytest
from django.db import connection
from django.test import Client as HttpClient

from backoffice.audit.models import AuditEvent
from backoffice.tenancy.models import User
from backoffice.tenancy.scoping import scopes_disabled
from tests.core.ratelimit_backends import rate_limit_backend
from tests.factories import PASSWORD
from tests.racing import race

pytestmark = pytest.mark.usefixtures("inside_one_window")  # no test straddles a window's end

THROTTLED = re.compile(r"Too many failed sign-ins\. Try again in \d+ minutes?\.")
INVALID = "The email address and/or password you specified are not correct."


def sign_in(email: str, password: str, *, address: str = "198.51.100.7", path: str = "/login/"):
    return HttpClient(REMOTE_ADDR=address).post(path, {"login": email, "password": password})


def error_text(response) -> str:
    """The form's error as the page shows it (the sign-in page's alert, or the admin's error list)."""
    html = response.content.decode()
    found = re.search(r'<div class="nonfield" role="alert">(.*?)</div>', html, re.S) or re.search(
        r'<p class="errornote">(.*?)</p>|<ul class="errorlist nonfield">(.*?)</ul>', html, re.S
    )
    if not found:
        return ""
    return re.sub(r"<[^>]+>", "", next(group for group in found.groups() if group)).strip()


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.SIGN_IN_FAILED_PER_ACCOUNT = 10
    settings.SIGN_IN_FAILED_PER_ADDRESS = 30


def lockouts() -> list[AuditEvent]:
    with scopes_disabled():
        return list(AuditEvent.objects.filter(action="user.locked_out"))


def test_ten_wrong_passwords_lock_the_account_even_for_the_right_one(admin_a):
    for _ in range(10):
        response = sign_in("admin@a.example", "wrong password")
        assert INVALID in response.content.decode()
    refused = sign_in("admin@a.example", PASSWORD)
    assert refused.status_code == 200
    assert "_auth_user_id" not in refused.client.session
    assert THROTTLED.search(refused.content.decode())
    [event] = lockouts()
    assert event.company_id == admin_a.company_id
    assert "10 failed attempts" in event.summary
    assert PASSWORD not in str(event.data)
    assert "wrong password" not in str(event.data)
    # Another account from the same network still signs in.
    other = User.objects.create_user("other@a.example", PASSWORD, company=admin_a.company, role=admin_a.role)
    assert sign_in(other.email, PASSWORD).status_code == 302


def test_an_unknown_address_gets_the_same_answers_and_no_event(admin_a):
    known = [error_text(sign_in("admin@a.example", "wrong")) for _ in range(11)]
    unknown = [error_text(sign_in("nobody@a.example", "wrong")) for _ in range(11)]
    # The wait shown counts down with the clock: the two runs may straddle a minute.
    assert [re.sub(r"\d+ minutes?", "N minutes", text) for text in known] == [
        re.sub(r"\d+ minutes?", "N minutes", text) for text in unknown
    ]
    assert INVALID in known[0]
    assert THROTTLED.search(known[-1])
    assert len(lockouts()) == 1  # the known account's only


def test_a_success_gives_its_slot_back(admin_a):
    for _ in range(9):
        sign_in("admin@a.example", "wrong")
    for _ in range(5):
        assert sign_in("admin@a.example", PASSWORD).status_code == 302
    assert INVALID in sign_in("admin@a.example", "wrong").content.decode()  # the 10th failure
    assert THROTTLED.search(sign_in("admin@a.example", PASSWORD).content.decode())


def test_one_network_is_limited_across_accounts(admin_a):
    for n in range(30):
        assert INVALID in sign_in(f"guess{n}@a.example", "wrong").content.decode()
    assert THROTTLED.search(sign_in("admin@a.example", PASSWORD).content.decode())
    # From another network the account is not locked.
    assert sign_in("admin@a.example", PASSWORD, address="203.0.113.50").status_code == 302


def test_the_operators_sign_in_is_throttled_too(db):
    # The admin's own form is not offered: it sends operators to the throttled sign-in page.
    response = HttpClient().get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=%2Fadmin%2F"
    operator = User.objects.create_superuser("root@ops.example", PASSWORD)
    for _ in range(10):
        assert sign_in(operator.email, "wrong").status_code == 200
    refused = sign_in(operator.email, PASSWORD)
    assert refused.status_code == 200
    assert THROTTLED.search(refused.content.decode())


def _failed_attempt(email: str, address: str) -> str:
    return error_text(sign_in(email, "wrong", address=address))


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only
@pytest.mark.parametrize("backend", ["database", "redis"])
def test_parallel_wrong_passwords_are_tried_exactly_the_limit(company_a, backend):
    """
    With the counters in the database and in Redis, on PostgreSQL: the
    in-memory SQLite test database refuses concurrent writers outright
    ("database table is locked", where a file database waits its turn), and
    every lockout is an audit event written while the other attempts run.
    """
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent database connections (PostgreSQL)")
    with rate_limit_backend(backend):
        _parallel_wrong_passwords(company_a)


def _parallel_wrong_passwords(company_a) -> None:
    User.objects.create_user("racer@a.example", PASSWORD, company=company_a, role="administrator")
    for round_number in range(3):
        address = f"198.51.100.{100 + round_number}"
        email = f"racer{round_number}@a.example" if round_number else "racer@a.example"
        attempt = partial(_failed_attempt, email, address)
        answers = race(*[attempt for _ in range(16)])
        tried = sum(INVALID in answer for answer in answers)
        throttled = sum(bool(THROTTLED.search(answer)) for answer in answers)
        assert (tried, throttled) == (10, 6), answers
