"""The license status rule (one definition, two evaluations), the lock a device takes, the operators-only services."""

import datetime
import random

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from backoffice.audit.models import AuditEvent
from backoffice.licensing import services
from backoffice.licensing.choices import LicenseStatus
from backoffice.licensing.models import License
from backoffice.licensing.selectors import license_active_q, license_status_q
from backoffice.tenancy.permissions import DEVICE_API, OPERATOR_COMMAND
from backoffice.tenancy.scoping import company_scope
from tests.dbstate import snapshot
from tests.factories import DeviceFactory, LicenseFactory

BASE = datetime.date(2026, 3, 15)


def test_status_on_agrees_with_the_database_filter(company_a):
    rng = random.Random(20260315)
    with company_scope(company_a):
        licenses = [
            LicenseFactory(
                company=company_a,
                is_suspended=rng.random() < 0.3,
                expires_on=rng.choice([None, BASE + datetime.timedelta(days=rng.randint(-5, 5))]),
            )
            for _ in range(40)
        ]
        for _ in range(15):
            day = BASE + datetime.timedelta(days=rng.randint(-7, 7))
            for status in LicenseStatus.values:
                in_python = {lic.pk for lic in licenses if lic.status_on(day) == status}
                in_sql = set(License.objects.filter(license_status_q(status, day=day)).values_list("pk", flat=True))
                assert in_sql == in_python, (status, day)
            active = set(License.objects.filter(license_active_q(day=day)).values_list("pk", flat=True))
            assert active == {lic.pk for lic in licenses if lic.status_on(day) == LicenseStatus.ACTIVE}


def test_statuses_at_the_boundaries(company_a):
    with company_scope(company_a):
        lic = LicenseFactory(company=company_a, expires_on=BASE)
    assert lic.status_on(BASE) == LicenseStatus.ACTIVE  # the expiry date is the last valid day
    assert lic.status_on(BASE + datetime.timedelta(days=1)) == LicenseStatus.EXPIRED
    lic.is_suspended = True
    assert lic.status_on(BASE + datetime.timedelta(days=1)) == LicenseStatus.SUSPENDED
    with pytest.raises(ValueError, match="Unknown license status"):
        license_status_q("lost", day=BASE)


def test_a_device_without_license_has_no_license_status(company_a, team_a):
    from backoffice.devices.models import Device

    with company_scope(company_a):
        DeviceFactory(company=company_a, team=team_a, license=None)
        held = DeviceFactory(company=company_a, team=team_a, license=LicenseFactory(company=company_a))
        for status in LicenseStatus.values:
            found = set(
                Device.objects.filter(license_status_q(status, prefix="license__")).values_list("pk", flat=True)
            )
            assert found == ({held.pk} if status == LicenseStatus.ACTIVE else set()), status


def test_lock_free_license(company_a, team_a):
    with company_scope(company_a):
        free = LicenseFactory(company=company_a, number="F-1")
        expired = LicenseFactory(company=company_a, number="E-1", expires_on=datetime.date(2020, 1, 1))
        suspended = LicenseFactory(company=company_a, number="S-1", is_suspended=True)
        held = LicenseFactory(company=company_a, number="H-1")
        DeviceFactory(company=company_a, team=team_a, license=held)
        gone = LicenseFactory(company=company_a, number="G-1")
        License.objects.filter(pk=gone.pk).delete()
        assert services.license_lock_free(license=free) == free
        for lic, message in (
            (gone, "Select one of the available licenses."),
            (expired, "License E-1 is expired; pick another."),
            (suspended, "License S-1 is suspended; pick another."),
            (held, "License H-1 was just taken; pick another."),
        ):
            with pytest.raises(ValidationError) as excinfo:
                services.license_lock_free(license=lic)
            assert excinfo.value.message_dict == {"license": [message]}


def test_lock_free_license_sees_only_the_open_company(company_a, company_b):
    with company_scope(company_b):
        other = LicenseFactory(company=company_b)
    with company_scope(company_a), pytest.raises(ValidationError) as excinfo:
        services.license_lock_free(license=other)
    assert excinfo.value.message_dict == {"license": ["Select one of the available licenses."]}


def test_license_services_need_an_operator(company_a, admin_a):
    with company_scope(company_a):
        lic = LicenseFactory(company=company_a)
    before = snapshot()
    for actor in (admin_a, DEVICE_API, None):
        with pytest.raises(PermissionDenied):
            services.license_issue(acting_user=actor, company=company_a, count=1, license_type="trial", expires_on=None)
        with pytest.raises(PermissionDenied):
            services.license_suspend(acting_user=actor, license=lic)
        with pytest.raises(PermissionDenied):
            services.license_update(acting_user=actor, license=lic, license_type="trial", expires_on=None)
    assert snapshot() == before
    [issued] = services.license_issue(
        acting_user=OPERATOR_COMMAND, company=company_a, count=1, license_type="trial", expires_on=None
    )
    with company_scope(company_a):
        event = AuditEvent.objects.get(action="license.issued")
    assert issued.number in event.summary
    assert (event.actor_id, event.actor_label) == (None, "Operator (manage.py command)")
