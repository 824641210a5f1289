"""
Expired codes of never-registered devices: the Pending Registrations row says
Expired (when, and when the license is released), offers Replace and Cancel;
housekeeping releases the license after the company's grace period, as the
housekeeping worker, with an audit event; until then the license counts as
held (Licenses Free, the Licenses page's "Held by expired codes").
"""

import datetime
import io
import re
from collections import Counter
from collections.abc import Callable

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client as HttpClient
from django.utils import timezone

from backoffice.audit.models import AuditEvent
from backoffice.devices.models import Device, RegistrationCode
from backoffice.devices.services import device_cancel, registration_code_replace
from backoffice.devices.services.registration import registration_license_release_expired
from backoffice.licensing.models import License
from backoffice.licensing.selectors import license_counts
from backoffice.tenancy.models import Company
from backoffice.tenancy.permissions import HOUSEKEEPING
from backoffice.tenancy.scoping import company_scope
from tests.device_api.conftest import add_code, make_pending, register
from tests.devices.test_races import assert_consistent, in_scope, spread
from tests.factories import LicenseFactory, TeamFactory
from tests.racing import outcome_label
from tests.racing import race as run_at_once


@pytest.fixture
def team_b(company_b):
    with company_scope(company_b):
        return TeamFactory(company=company_b)


@pytest.fixture
def http():
    return HttpClient()


def expire(pending, *, ago: datetime.timedelta) -> datetime.datetime:
    """Make the pending device's code expire ``ago`` before now; return the expiry."""
    expires_at = timezone.now() - ago
    with company_scope(pending.device.company):
        RegistrationCode.objects.filter(pk=pending.row.pk).update(expires_at=expires_at, sealed_code=None)
    return expires_at


def stored(device) -> Device:
    with company_scope(device.company):
        return Device.objects.select_related("license").get(pk=device.pk)


def pending_row(html: str, device) -> str:
    match = re.search(rf'<tr id="pending-{device.pk}".*?</tr>', html, re.S)
    assert match, f"no pending row for device {device.pk}"
    return match.group(0)


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def released_events(company) -> list[AuditEvent]:
    with company_scope(company):
        return list(AuditEvent.objects.filter(action="device.license_released"))


def local(moment: datetime.datetime, company) -> str:
    return timezone.localtime(moment, company.zone).strftime("%Y-%m-%d %H:%M")


# The row


def test_an_expired_row_says_expired_with_when_and_the_license_release(as_admin_a, company_a, team_a):
    pending = make_pending(company_a, team_a, nickname="Bay 9 iPad")
    expires_at = expire(pending, ago=datetime.timedelta(hours=2))
    row = pending_row(as_admin_a.get("/devices/").content.decode(), pending.device)
    text = text_of(row)
    assert "Waiting for registration" not in text
    assert "read the code from this screen" not in text
    assert "Expired code not entered in time" in text
    assert f"Expired {local(expires_at, company_a)}" in text
    release = expires_at + datetime.timedelta(days=7)
    assert f"Released {local(release, company_a)} unless you click Replace" in text
    assert f'datetime="{timezone.localtime(release, company_a.zone).isoformat()}"' in row
    assert "No email was sent" in text
    assert f'action="/devices/{pending.device.pk}/replace/"' in row
    assert f'action="/devices/{pending.device.pk}/cancel/"' in row
    assert 'class="reg-code"' not in row


def test_a_live_row_still_waits_for_registration(as_admin_a, company_a, team_a):
    pending = make_pending(company_a, team_a)
    text = text_of(pending_row(as_admin_a.get("/devices/").content.decode(), pending.device))
    assert "Waiting for registration" in text
    assert "No email: read the code from this screen" in text
    assert "Expired" not in text
    assert "Released" not in text


def test_the_release_time_follows_the_company_grace_period(as_admin_a, company_a, team_a):
    Company.objects.filter(pk=company_a.pk).update(expired_code_grace_days=30)
    pending = make_pending(company_a, team_a)
    expires_at = expire(pending, ago=datetime.timedelta(days=1))
    text = text_of(pending_row(as_admin_a.get("/devices/").content.decode(), pending.device))
    assert f"Released {local(expires_at + datetime.timedelta(days=30), company_a)} unless you click Replace" in text


def test_a_release_past_due_says_it_happens_at_the_next_pass(as_admin_a, company_a, team_a):
    pending = make_pending(company_a, team_a)
    expire(pending, ago=datetime.timedelta(days=8))
    text = text_of(pending_row(as_admin_a.get("/devices/").content.decode(), pending.device))
    assert "Released at the next housekeeping pass unless you click Replace" in text


# Housekeeping releases the license


def test_housekeeping_releases_the_license_after_the_grace_period(company_a, team_a):
    kept = make_pending(company_a, team_a, nickname="Kept")
    expire(kept, ago=datetime.timedelta(days=6, hours=23))
    due = make_pending(company_a, team_a, nickname="Due")
    expires_at = expire(due, ago=datetime.timedelta(days=7, minutes=1))
    license_number = due.device.license.number
    out = io.StringIO()
    call_command("send_outbox", stdout=out)
    assert "released 1 license of expired codes" in out.getvalue()
    assert stored(kept.device).license_id == kept.device.license_id
    released = stored(due.device)
    assert released.license_id is None
    assert released.registered_at is None
    # The device keeps its pending row and its expired code.
    with company_scope(company_a):
        assert RegistrationCode.objects.open().filter(device_id=due.device.pk).count() == 1
        assert License.objects.filter(number=license_number, device__isnull=True).exists()
    [event] = released_events(company_a)
    assert (event.actor_label, event.object_id, event.actor_id) == (str(HOUSEKEEPING), str(due.device.pk), None)
    assert event.data == {
        "device_id": due.device.pk,
        "license": license_number,
        "license_type": "standard",
        "registration_code_ids": [due.row.pk],
        "code_expired_at": expires_at.isoformat(),
        "grace_days": 7,
    }
    assert event.summary == (f"License {license_number} of Due released: its registration code expired 7 days before")
    # Running again changes nothing.
    before = stored(kept.device).license_id
    assert registration_license_release_expired() == 0
    assert stored(kept.device).license_id == before
    assert len(released_events(company_a)) == 1


def test_grace_zero_releases_as_soon_as_the_code_expires(company_a, team_a):
    Company.objects.filter(pk=company_a.pk).update(expired_code_grace_days=0)
    live = make_pending(company_a, team_a)
    expired = make_pending(company_a, team_a)
    expire(expired, ago=datetime.timedelta(seconds=1))
    assert registration_license_release_expired() == 1
    assert stored(expired.device).license_id is None
    assert stored(live.device).license_id is not None
    [event] = released_events(company_a)
    assert event.summary.endswith("its registration code expired and the company keeps no grace period")


def test_each_company_has_its_own_grace_period(company_a, company_b, team_a, team_b):
    Company.objects.filter(pk=company_b.pk).update(expired_code_grace_days=30)
    a = make_pending(company_a, team_a)
    b = make_pending(company_b, team_b)
    expire(a, ago=datetime.timedelta(days=10))
    expire(b, ago=datetime.timedelta(days=10))
    assert registration_license_release_expired() == 1
    assert stored(a.device).license_id is None
    assert stored(b.device).license_id is not None
    assert released_events(company_b) == []


def test_a_registered_device_never_loses_its_license_to_an_expired_replacement_code(http, company_a, team_a):
    pending = make_pending(company_a, team_a)
    assert register(http, pending.code).status_code == 201
    _code, row = add_code(pending.device)
    with company_scope(company_a):
        RegistrationCode.objects.filter(pk=row.pk).update(expires_at=timezone.now() - datetime.timedelta(days=60))
    assert registration_license_release_expired() == 0
    assert stored(pending.device).license_id == pending.device.license_id


# After the release: Replace asks for a license, Edit gives one


def test_replace_after_the_release_asks_to_pick_a_license_in_edit(as_admin_a, admin_a, company_a, team_a):
    pending = make_pending(company_a, team_a, nickname="Bay 9 iPad")
    expire(pending, ago=datetime.timedelta(days=8))
    registration_license_release_expired()
    html = as_admin_a.get("/devices/").content.decode()
    row = pending_row(html, pending.device)
    text = text_of(row)
    assert "License released after the code expired" in text
    assert "Pick a license in Edit, then click Replace" in text
    assert f'href="/devices/{pending.device.pk}/edit/"' in row
    with company_scope(company_a):
        codes_before = list(RegistrationCode.objects.values_list("pk", "revoked_at"))
    response = as_admin_a.post(f"/devices/{pending.device.pk}/replace/", follow=True)
    assert response.status_code == 200
    assert (
        "Bay 9 iPad has no license: its registration code expired and the license was released. "
        "Pick a license in Edit, then click Replace."
    ) in response.content.decode()
    with company_scope(company_a):
        assert list(RegistrationCode.objects.values_list("pk", "revoked_at")) == codes_before
        # With a license again (Edit), Replace issues a new code.
        device = stored(pending.device)
        device.license = LicenseFactory(company=company_a)
        device.save(update_fields=["license"])
        code = registration_code_replace(device=device, acting_user=admin_a)
        assert code.is_live(timezone.now())


# Honest counts in the meantime


def test_a_license_held_by_an_expired_code_is_not_free_until_released(as_admin_a, company_a, team_a):
    with company_scope(company_a):
        LicenseFactory(company=company_a, number="NW-FREE")
    pending = make_pending(company_a, team_a, license=None)
    with company_scope(company_a):
        held_number = stored(pending.device).license.number
    expire(pending, ago=datetime.timedelta(days=1))
    with company_scope(company_a):
        assert license_counts().free == 1
        assert license_counts().held_by_expired_codes == 1
    devices_page = as_admin_a.get("/devices/").content.decode()
    assert re.search(r'id="licenses-free"[^>]*>1<', devices_page)
    licenses_page = as_admin_a.get("/licenses/").content.decode()
    assert re.search(r'id="held-by-expired"[^>]*>1<', licenses_page)
    assert re.search(r'id="licenses-free">1<', licenses_page)
    assert "not free: released 7 days after the code expired, unless replaced" in text_of(licenses_page)
    held_row = re.search(rf"<strong>{held_number}</strong>.*?</tr>", licenses_page, re.S)
    assert held_row
    assert "Held by an expired code" in held_row.group(0)
    assert "Not free until released or the code is replaced" in held_row.group(0)
    free_row = re.search(r"<strong>NW-FREE</strong>.*?</tr>", licenses_page, re.S)
    assert free_row
    assert "Held by an expired code" not in free_row.group(0)

    expire(pending, ago=datetime.timedelta(days=8))
    registration_license_release_expired()
    licenses_page = as_admin_a.get("/licenses/").content.decode()
    assert re.search(r'id="held-by-expired"[^>]*>0<', licenses_page)
    assert re.search(r'id="licenses-free">2<', licenses_page)


def test_a_live_code_holds_its_license_but_not_as_expired(company_a, team_a):
    make_pending(company_a, team_a)
    with company_scope(company_a):
        assert (license_counts().free, license_counts().held_by_expired_codes) == (0, 0)


def test_the_licenses_page_counts_only_its_own_company(as_admin_b, company_a, team_a):
    pending = make_pending(company_a, team_a)
    expire(pending, ago=datetime.timedelta(days=1))
    assert re.search(r'id="held-by-expired"[^>]*>0<', as_admin_b.get("/licenses/").content.decode())


@pytest.mark.parametrize("fixture", ["as_viewer_a", "as_teamadmin_a"])
def test_every_role_sees_the_expired_row_and_count(request, fixture, company_a, team_a):
    http = request.getfixturevalue(fixture)
    pending = make_pending(company_a, team_a)
    expire(pending, ago=datetime.timedelta(hours=1))
    text = text_of(pending_row(http.get("/devices/").content.decode(), pending.device))
    assert "Expired code not entered in time" in text
    assert re.search(r'id="held-by-expired"[^>]*>1<', http.get("/licenses/").content.decode())


# Racing the release (PostgreSQL, committed transactions, barrier-released threads)

RACE_ROUNDS = 12


def postgres_race(test):
    for mark in (
        pytest.mark.django_db(transaction=True),
        pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
        pytest.mark.postgres_only,
    ):
        test = mark(test)
    return test


def release_call() -> Callable[[], str]:
    return lambda: f"released:{registration_license_release_expired()}"


def report(name: str, seen: Counter) -> None:
    """How often each pair of outcomes occurred (shown with ``pytest -s``)."""
    pairs = {" / ".join(re.sub(r"\d+", "N", label) for label in key): count for key, count in seen.items()}
    print(f"\n{name}: {RACE_ROUNDS} rounds: {pairs}")


def race(*calls: Callable[[], object], jitter: float) -> list[str]:
    """``tests.racing.race`` with each outcome as a label: the release's own, else ``outcome_label``'s."""
    return [
        outcome if isinstance(outcome, str) else outcome_label(outcome)
        for outcome in run_at_once(*calls, jitter=jitter)
    ]


@postgres_race
def test_release_against_replace(company_a, team_a, admin_a):
    """
    Both orders are documented: the release first (1 released; Replace then
    refuses with "pick a license in Edit" and changes nothing), or Replace
    first (a new live code; the release finds nothing due and keeps the
    license). Never both, never a deadlock, the database consistent.
    """
    seen: Counter = Counter()
    refused = (
        "invalid:Racer {n} has no license: its registration code expired and the license was released. "
        "Pick a license in Edit, then click Replace."
    )
    for n in range(RACE_ROUNDS):
        pending = make_pending(company_a, team_a, nickname=f"Racer {n}")
        expire(pending, ago=datetime.timedelta(days=8))
        labels = race(
            release_call(),
            in_scope(company_a, lambda d=pending.device: registration_code_replace(device=d, acting_user=admin_a)),
            jitter=spread(n),
        )
        seen[tuple(labels)] += 1
        device = stored(pending.device)
        with company_scope(company_a):
            live = RegistrationCode.objects.live(timezone.now()).filter(device_id=device.pk).count()
        if labels == ["released:1", refused.format(n=n)]:
            assert (device.license_id, live) == (None, 0)
        else:
            assert labels == ["released:0", "ok"], labels
            assert (device.license_id, live) == (pending.device.license_id, 1)
        assert_consistent(company_a)
    report("release vs Replace", seen)


@postgres_race
def test_release_against_cancel(company_a, team_a, admin_a):
    """The release first (Cancel then deletes the licence-less device) or Cancel first (nothing to release)."""
    seen: Counter = Counter()
    for n in range(RACE_ROUNDS):
        pending = make_pending(company_a, team_a, nickname=f"Canceller {n}")
        expire(pending, ago=datetime.timedelta(days=8))
        labels = race(
            release_call(),
            in_scope(company_a, lambda d=pending.device: device_cancel(device=d, acting_user=admin_a)),
            jitter=spread(n),
        )
        seen[tuple(labels)] += 1
        assert labels in (["released:1", "ok"], ["released:0", "ok"]), labels
        with company_scope(company_a):
            assert not Device.objects.filter(pk=pending.device.pk).exists()
            assert License.objects.filter(pk=pending.device.license_id, device__isnull=True).exists()
        assert_consistent(company_a)
    report("release vs Cancel", seen)
