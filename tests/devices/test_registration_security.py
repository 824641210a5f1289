"""
A registration code never sits in clear in the database, a log line or an audit row; the per-company
cap on live codes (its licenses), and no count or lock across companies when a code is issued.
"""

import logging
import re

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backoffice.audit.models import AuditEvent
from backoffice.devices.codes import CODE_LENGTH, code_format, code_unseal
from backoffice.devices.models import Device, RegistrationCode
from backoffice.devices.services import (
    RegistrationCodeLimitReached,
    device_add,
    registration,
    registration_code_replace,
)
from backoffice.licensing.models import License
from backoffice.notifications.services import outbox_send_due
from backoffice.organization.models import Team
from backoffice.tenancy.scoping import company_scope, scopes_disabled
from tests.device_api.conftest import make_pending
from tests.devices.conftest import device_payload, snapshot
from tests.factories import DeviceFactory


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


def test_codes_are_issued_with_twelve_characters(as_admin_a, company_a, team_a, licenses_a):
    assert as_admin_a.post("/devices/add/", device_payload(team=team_a, license=licenses_a[0])).status_code == 302
    with company_scope(company_a):
        code = code_unseal(RegistrationCode.objects.get().sealed_code)
    assert code is not None
    assert len(code) == CODE_LENGTH == 12
    assert re.fullmatch(
        r"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}", code_format(code)
    )


def test_issuing_a_code_counts_and_locks_nothing_across_companies(admin_a, company_a, company_b, team_a, licenses_a):
    """
    (c) Another company's rollout (here 60 live codes, standing in for any
    number) never stops company A adding a device: issuing a code neither
    counts live codes nor takes a service-wide lock.
    """
    with company_scope(company_b):
        team_b = Team.objects.get(is_default=True)
    for _ in range(60):
        make_pending(company_b, team_b)
    with CaptureQueriesContext(connection) as queries, company_scope(company_a):
        device_add(acting_user=admin_a, team=team_a, license=licenses_a[0], nickname="Bay 4", recipients=[])
    issued = [query["sql"] for query in queries.captured_queries]
    assert not [sql for sql in issued if "advisory" in sql.lower()]
    assert not [sql for sql in issued if "devices_registrationcode" in sql and "COUNT(" in sql.upper()]
    assert not hasattr(registration, "_LIVE_CODES_LOCK_KEY")
    assert not hasattr(registration, "_live_code_count")
    with scopes_disabled():
        assert RegistrationCode.objects.live(timezone.now()).count() == 61


def test_a_companys_live_codes_never_outnumber_its_licenses(admin_a, company_a, team_a, licenses_a):
    """The per-company cap: one device per license, one open code per device, no code without a license."""
    with company_scope(company_a):
        devices = [
            device_add(acting_user=admin_a, team=team_a, license=lic, nickname=f"Bay {n}", recipients=[])
            for n, lic in enumerate(licenses_a)
        ]
        for device in devices:
            registration_code_replace(device=device, acting_user=admin_a)
        live = RegistrationCode.objects.live(timezone.now()).count()
        assert live == len(devices) == License.objects.count() == 3
        unlicensed = DeviceFactory(company=company_a, team=team_a, license=None)
        before = snapshot(company_a)
        with pytest.raises(RegistrationCodeLimitReached, match="needs a license"):
            registration_code_replace(device=unlicensed, acting_user=admin_a)
        assert snapshot(company_a) == before


def test_a_taken_license_is_a_form_error_and_the_column_refuses_it_too(admin_a, company_a, team_a, licenses_a):
    """
    A license held by another device is refused with a clear error and
    nothing changes; whatever slipped past the service's lock and re-check,
    the unique license column itself refuses the second device. (Two adds
    racing for one license on PostgreSQL: tests/devices/test_races.py.)
    """
    with company_scope(company_a):
        DeviceFactory(company=company_a, team=team_a, license=licenses_a[0])
        before = snapshot(company_a)
        with pytest.raises(ValidationError) as refused:
            device_add(acting_user=admin_a, team=team_a, license=licenses_a[0], nickname="Late")
        assert refused.value.message_dict == {"license": ["License NW-10041 was just taken; pick another."]}
        assert snapshot(company_a) == before
        with pytest.raises(IntegrityError), transaction.atomic():
            DeviceFactory(company=company_a, team=team_a, license=licenses_a[0], nickname="Bypass")
    assert snapshot(company_a) == before
