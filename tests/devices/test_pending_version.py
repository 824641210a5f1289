"""
``Company.pending_version``, which the Pending Registrations poll's ETag
names, is raised by the database for every write that changes what the
section shows, whoever makes it, and by nothing else: not by a check-in, not
by another company's writes, and a stale copy of the company saved later
never lowers it. On PostgreSQL it is raised once per transaction, at commit
(tested here with real commits), and concurrent writers all count.
"""

import pytest
from django.db import connection, transaction
from django.utils import timezone

from backoffice.devices.models import Device, RegistrationCode
from backoffice.devices.services import device_add, device_cancel, device_update, registration_code_replace
from backoffice.licensing.models import License
from backoffice.notifications.models import OutboxEmail
from backoffice.notifications.services import outbox_send_due
from backoffice.organization.models import Team
from backoffice.organization.services import team_update
from backoffice.tenancy.models import Company
from backoffice.tenancy.scoping import company_scope, scopes_disabled
from tests.device_api.conftest import bearer, http, pending, post_json, registered
from tests.device_api.test_check_in import CHECK_IN
from tests.factories import LicenseFactory
from tests.racing import outcome_label, race

ROUNDS = 10

__all__ = ["http", "pending", "registered"]


def version(company: Company) -> int:
    return Company.objects.values_list("pending_version", flat=True).get(pk=company.pk)


def add(company, admin, team, nickname="Bay 3 iPad", license=None) -> Device:
    with company_scope(company):
        return device_add(
            acting_user=admin,
            team=team,
            license=license or LicenseFactory(company=company),
            nickname=nickname,
            recipients=["tech@a.example"],
        )


def raises(company, write) -> bool:
    before = version(company)
    write()
    return version(company) > before


def test_every_write_the_section_shows_raises_it(http, admin_a, company_a, team_a):
    assert raises(company_a, lambda: add(company_a, admin_a, team_a))
    with company_scope(company_a):
        device = Device.objects.get()
        assert raises(
            company_a,
            lambda: device_update(
                device=device, acting_user=admin_a, team=team_a, license=device.license, nickname="Renamed"
            ),
        )
        # A description is not shown in the section: nothing to raise.
        assert not raises(company_a, lambda: Device.objects.filter(pk=device.pk).update(description="Shelf 2"))
        # The outbox worker sending the code's email.
        assert raises(company_a, outbox_send_due)
        assert raises(company_a, lambda: registration_code_replace(device=device, acting_user=admin_a))
        assert raises(company_a, lambda: team_update(acting_user=admin_a, team=team_a, name="Bravo", time_zone="UTC"))
        assert raises(company_a, lambda: LicenseFactory(company=company_a))
        assert raises(company_a, lambda: License.objects.filter(device=device).update(is_suspended=True))
        # Writes outside the services (the Django admin, a shell) count alike.
        assert raises(company_a, lambda: Device.objects.filter(pk=device.pk).update(nickname="By hand"))
        assert raises(company_a, lambda: RegistrationCode.objects.update(expires_at=timezone.now()))
        assert raises(company_a, lambda: OutboxEmail.objects.update(attempts=3))
        assert raises(company_a, lambda: device_cancel(device=device, acting_user=admin_a))
        assert not Device.objects.exists()


def test_a_check_in_raises_nothing(http, registered, company_a):
    before = version(company_a)
    body = {**CHECK_IN, "app_version": "9.9.9", "name": "Renamed by the device"}
    assert post_json(http, "/check-ins", body, **bearer(registered.credential)).status_code == 200
    with company_scope(company_a):
        assert Device.objects.get().app_version == "9.9.9"
    assert version(company_a) == before


def test_another_companys_writes_raise_only_its_own(admin_a, admin_b, company_a, company_b, team_a):
    with company_scope(company_b):
        team_b = Team.objects.get(is_default=True)
    before = version(company_a)
    assert raises(company_b, lambda: add(company_b, admin_b, team_b))
    assert version(company_a) == before


def test_a_stale_copy_of_the_company_never_lowers_it(admin_a, company_a, team_a):
    stale = Company.objects.get(pk=company_a.pk)
    add(company_a, admin_a, team_a)
    raised = version(company_a)
    assert raised > stale.pending_version
    stale.name = "Company A (renamed)"
    stale.save()
    assert version(company_a) == raised
    assert Company.objects.get(pk=company_a.pk).name == "Company A (renamed)"
    Company.objects.filter(pk=company_a.pk).update(pending_version=0)
    assert version(company_a) == raised


@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="deferred triggers fire at a real commit")
@pytest.mark.django_db(transaction=True)
def test_raised_once_per_transaction_at_commit(admin_a, company_a, team_a):
    before = version(company_a)
    with transaction.atomic():
        for i in range(3):
            add(company_a, admin_a, team_a, nickname=f"Tablet {i}")
        # Not before the commit: the company row is the transaction's last lock.
        assert version(company_a) == before
    assert version(company_a) == before + 1
    with transaction.atomic():
        add(company_a, admin_a, team_a, nickname="Rolled back")
        transaction.set_rollback(True)
    assert version(company_a) == before + 1


@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks")
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_all_count_and_never_deadlock(admin_a, company_a, team_a):
    """
    Device adds, a cancel, a team rename and a stale company save at once:
    each writing transaction raises the version exactly once, nothing
    deadlocks, and the stale save lowers nothing.
    """
    for round_ in range(ROUNDS):
        victim = add(company_a, admin_a, team_a, nickname=f"Victim {round_}")
        with company_scope(company_a):
            licenses = [LicenseFactory(company=company_a) for _ in range(3)]
        stale = Company.objects.get(pk=company_a.pk)
        before = version(company_a)

        def settings_save(stale=stale):
            stale.save()

        def cancel(victim=victim):
            with company_scope(company_a):
                device_cancel(device=Device.objects.get(pk=victim.pk), acting_user=admin_a)

        def rename(round_=round_):
            with company_scope(company_a):
                team = Team.objects.get(pk=team_a.pk)
                team_update(acting_user=admin_a, team=team, name=f"Alpha {round_}", time_zone=team.time_zone)

        calls = [
            *(
                lambda i=i, round_=round_, licenses=licenses: add(
                    company_a, admin_a, team_a, nickname=f"R{round_} {i}", license=licenses[i]
                )
                for i in range(3)
            ),
            cancel,
            rename,
            settings_save,
        ]
        outcomes = [outcome_label(outcome) for outcome in race(*calls, jitter=0.02)]
        assert outcomes == ["ok"] * len(calls)
        # Five writing transactions (three adds, the cancel, the rename); the stale save none.
        assert version(company_a) == before + 5
        with scopes_disabled():
            assert not Device.objects.filter(pk=victim.pk).exists()
