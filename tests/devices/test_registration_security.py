"""A registration code never sits in clear in the database, a log line or an audit row; the live-code cap."""

import datetime
import logging

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from backoffice.audit.models import AuditEvent
from backoffice.devices.codes import code_format, code_unseal
from backoffice.devices.models import Device, RegistrationCode
from backoffice.devices.services import device_add
from backoffice.notifications.services import outbox_send_due
from backoffice.organization.models import Team
from backoffice.tenancy.scoping import company_scope
from tests.devices.conftest import device_payload, snapshot
from tests.factories import DeviceFactory, LicenseFactory


def every_stored_value():
    """Every text and binary value of every table, read with the cursor."""
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, memoryview | bytes | bytearray):
                        yield table, bytes(value).decode("latin-1")
                    elif isinstance(value, str):
                        yield table, value
                    elif isinstance(value, dict | list):
                        yield table, repr(value)


def test_no_code_in_clear_in_any_column_log_or_audit_row(as_admin_a, company_a, team_a, licenses_a, caplog, mailoutbox):
    caplog.set_level(logging.DEBUG)
    as_admin_a.post("/devices/add/", device_payload(team=team_a, license=licenses_a[0], email="boss@a.example"))
    with company_scope(company_a):
        device = Device.objects.get()
        first = code_unseal(RegistrationCode.objects.get().sealed_code)
    as_admin_a.get("/devices/")
    outbox_send_due()
    as_admin_a.post(f"/devices/{device.pk}/replace/")
    with company_scope(company_a):
        second = code_unseal(RegistrationCode.objects.get(revoked_at__isnull=True).sealed_code)
    outbox_send_due()
    as_admin_a.get("/devices/")
    assert first is not None
    assert second is not None
    assert first != second
    assert len(mailoutbox) == 4  # the codes really were in play
    needles = [variant for code in (first, second) for variant in (code, code_format(code), code.lower())]
    values = list(every_stored_value())
    assert any(table == "devices_registrationcode" for table, _ in values)
    for table, value in values:
        for needle in needles:
            assert needle not in value, f"a code is stored in clear in {table}"
    for needle in needles:
        assert needle not in caplog.text
    with company_scope(company_a):
        events = list(AuditEvent.objects.values_list("action", "summary", "data"))
    assert {action for action, _, _ in events} >= {
        "device.added",
        "registration_code.issued",
        "email.sent",
        "registration_code.replaced",
    }
    for event in events:
        for needle in needles:
            assert needle not in repr(event)


def test_live_code_cap_is_enforced_with_a_clear_error(settings, as_admin_a, company_a, team_a, licenses_a):
    settings.REGISTRATION_MAX_LIVE_CODES = 2
    for lic in licenses_a[:2]:
        assert as_admin_a.post("/devices/add/", device_payload(team=team_a, license=lic)).status_code == 302
    before = snapshot(company_a)
    response = as_admin_a.post("/devices/add/", device_payload(team=team_a, license=licenses_a[2]))
    assert response.status_code == 200
    assert "The service has too many registration codes waiting to be used." in response.content.decode()
    assert snapshot(company_a) == before
    # Expired codes no longer count.
    with company_scope(company_a):
        RegistrationCode.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert as_admin_a.post("/devices/add/", device_payload(team=team_a, license=licenses_a[2])).status_code == 302


def test_live_code_cap_counts_every_company(settings, as_admin_a, as_admin_b, company_a, company_b, team_a, licenses_a):
    settings.REGISTRATION_MAX_LIVE_CODES = 1
    assert as_admin_a.post("/devices/add/", device_payload(team=team_a, license=licenses_a[0])).status_code == 302
    with company_scope(company_b):
        team_b = Team.objects.get(is_default=True)
        lic_b = LicenseFactory(company=company_b)
    response = as_admin_b.post("/devices/add/", device_payload(team=team_b, license=lic_b))
    assert "too many registration codes" in response.content.decode()


def test_a_race_lost_on_the_unique_license_column_is_a_form_error(monkeypatch, admin_a, company_a, team_a, licenses_a):
    """
    Whatever slips past the lock and the re-check, the unique license column
    still refuses the second device, and that becomes a clear error.
    """
    with company_scope(company_a):
        DeviceFactory(company=company_a, team=team_a, license=licenses_a[0])
        before = snapshot(company_a)
        monkeypatch.setattr(QuerySet, "exists", lambda self: False)
        with pytest.raises(ValidationError) as refused:
            device_add(acting_user=admin_a, team=team_a, license=licenses_a[0], nickname="Late")
        monkeypatch.undo()
        assert refused.value.message_dict == {"license": ["License NW-10041 was just taken; pick another."]}
    assert snapshot(company_a) == before
