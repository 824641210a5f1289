"""
PostgreSQL only: two batches of 30 devices racing for 40 free licenses,
released together by a barrier. Exactly one succeeds in full and the other
is refused as a whole, or with "as many as there are licenses" takes exactly
the 10 left; no license is held twice and the database stays consistent.
"""

from collections import Counter

import pytest
from django.db import connection
from django.db.models import Count

from backoffice.devices.models import Device, RegistrationCode
from backoffice.devices.services import BatchAdded, devices_add_batch
from backoffice.licensing.models import License
from backoffice.notifications.models import OutboxEmail
from backoffice.tenancy.choices import Role
from backoffice.tenancy.scoping import company_scope, scopes_disabled
from tests.devices.batch_setup import free_licenses
from tests.factories import make_user
from tests.racing import outcome_label, race

ROUNDS = 4

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
    pytest.mark.django_db(transaction=True),
]


def _batch(company, team, user, prefix: str, *, as_many: bool):
    def call() -> BatchAdded:
        with company_scope(company):
            return devices_add_batch(
                acting_user=user,
                team=team,
                quantity=30,
                nickname_prefix=prefix,
                as_many_as_licenses=as_many,
                recipients=["lead@a.example"],
            )

    return call


def _consistent(company) -> None:
    with scopes_disabled():
        held = Device.objects.filter(license__isnull=False).values("license_id").annotate(n=Count("id"))
        assert all(row["n"] == 1 for row in held)
        assert not Device.objects.exclude(license__company_id=company.pk).filter(license__isnull=False).exists()
        per_device = RegistrationCode.objects.open().values("device_id").annotate(n=Count("id"))
        assert all(row["n"] == 1 for row in per_device)
        assert RegistrationCode.objects.count() == Device.objects.count()
        names = Counter(name.casefold() for name in Device.objects.values_list("nickname", flat=True))
        assert all(n == 1 for n in names.values())


@pytest.mark.parametrize("as_many", [False, True], ids=["all-or-nothing", "as-many-as"])
def test_two_batches_of_30_for_40_free_licenses(company_a, team_a, as_many):
    admins = [make_user(company_a, Role.ADMINISTRATOR, email=f"racer{i}@a.example") for i in range(2)]
    for round_number in range(ROUNDS):
        with scopes_disabled():
            Device.objects.all().delete()
            License.objects.all().delete()
            OutboxEmail.objects.all().delete()
        free_licenses(company_a, 40, prefix=f"R{round_number}")
        outcomes = race(
            _batch(company_a, team_a, admins[0], "Van", as_many=as_many),
            _batch(company_a, team_a, admins[1], "Van", as_many=as_many),
            jitter=0.05,
        )
        labels = sorted(outcome_label(outcome) for outcome in outcomes)
        with scopes_disabled():
            devices = Device.objects.count()
            batch_emails = OutboxEmail.objects.filter(batch_id__isnull=False).count()
        if as_many:
            assert labels == ["ok", "ok"], labels
            assert sorted(len(o.devices) for o in outcomes if isinstance(o, BatchAdded)) == [10, 30]
            assert devices == 40
            assert batch_emails == 2
        else:
            assert labels == [
                "invalid:Only 10 licenses are free; you asked for 30. Free licenses by cancelling "
                "pending registrations or deleting devices, or tick “As many as there are licenses”.",
                "ok",
            ], labels
            assert devices == 30
            assert batch_emails == 1
        _consistent(company_a)
