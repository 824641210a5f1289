import datetime
import logging

import pytest
from django.utils import timezone

from backoffice.audit.models import AuditEvent
from backoffice.devices.codes import code_format, credential_digest
from backoffice.devices.models import Device, DeviceCredential, RegistrationCode
from backoffice.tenancy.scoping import company_scope, scopes_disabled
from tests.device_api.conftest import REPORTED, add_code, bearer, make_pending, register
from tests.factories import LicenseFactory, company_today


def snapshot(device: Device) -> dict:
    """Everything a refused redemption must leave as it was."""
    with scopes_disabled():
        fresh = Device.objects.get(pk=device.pk)
        return {
            "device": {f.attname: getattr(fresh, f.attname) for f in Device._meta.concrete_fields},
            "codes": list(RegistrationCode.objects.filter(device=device).order_by("pk").values()),
            "credentials": list(DeviceCredential.objects.filter(device=device).order_by("pk").values()),
        }


def test_redemption_registers_the_device_and_returns_the_credential_once(http, pending, company_a):
    before = timezone.now()
    response = register(http, code_format(pending.code))
    assert response.status_code == 201
    body = response.json()
    credential = body["credential"]
    assert len(credential) >= 43  # 256 bits, URL-safe base64
    assert body["device"]["id"] == pending.device.pk
    assert body["device"]["nickname"] == "Truck 12 tablet"
    assert {key: body["device"][key] for key in ("name", "device_id", "os_type", "platform", "app_version")} == REPORTED
    assert body["config"]["device"] == {"id": pending.device.pk, "nickname": "Truck 12 tablet"}
    assert body["config_etag"].startswith('"')

    with scopes_disabled():
        device = Device.objects.get(pk=pending.device.pk)
        stored = DeviceCredential.objects.get(device=device)
        code = RegistrationCode.objects.get(pk=pending.row.pk)
        stored_row = str(DeviceCredential.objects.filter(pk=stored.pk).values())
    assert device.registered_at is not None
    assert device.registered_at >= before
    assert (device.device_name, device.device_identifier, device.os_type, device.platform, device.app_version) == (
        "Tech Tablet 7",
        "A1B2-C3D4-E5F6",
        "Android 14",
        "Android",
        "5.4.1",
    )
    # Only the digest is stored; the code is used and its displayed copy wiped.
    assert stored.digest == credential_digest(credential)
    assert credential not in stored_row
    assert stored.revoked_at is None
    assert code.used_at is not None
    assert code.sealed_code is None

    # The credential works, and is never handed out again.
    assert http.get("/api/device/v1/config", headers=bearer(credential)).status_code == 200
    again = register(http, code_format(pending.code))
    assert again.status_code == 409
    assert "credential" not in again.json()

    with company_scope(company_a):
        actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert "device.registered" in actions


@pytest.mark.parametrize("typed", ["{lower}", " {spaced} ", "{plain}", "{dashed}"])
def test_code_is_normalised(http, company_a, team_a, typed):
    pending = make_pending(company_a, team_a, code="BCDFGHJKLM")
    text = typed.format(lower="bcdfg-hjklm", spaced="BCDFG HJKLM", plain="BCDFGHJKLM", dashed="BCDFG-HJKLM")
    assert register(http, text).status_code == 201
    with scopes_disabled():
        assert Device.objects.get(pk=pending.device.pk).registered_at is not None


def test_code_works_one_second_before_expiry(http, company_a, team_a):
    pending = make_pending(company_a, team_a, expires_in=datetime.timedelta(seconds=1))
    # Issued 15 minutes ago with a 15-minute TTL, redeemed at TTL - 1 s.
    assert register(http, pending.code).status_code == 201


def test_expired_code_is_refused_and_changes_nothing(http, company_a, team_a):
    pending = make_pending(company_a, team_a, expires_in=datetime.timedelta(seconds=-1))
    before = snapshot(pending.device)
    response = register(http, pending.code)
    assert response.status_code == 410
    assert response.json()["error"] == "code_expired"
    assert snapshot(pending.device) == before


def test_used_code_is_refused(http, registered, pending):
    before = snapshot(pending.device)
    response = register(http, pending.code, name="Another tablet")
    assert response.status_code == 409
    assert response.json() == {
        "error": "code_used",
        "detail": "This registration code has already been used; each code works once.",
    }
    assert snapshot(pending.device) == before


def test_replaced_code_is_invalid_and_the_new_one_works(http, pending):
    new_code, _ = add_code(pending.device)
    before = snapshot(pending.device)
    old = register(http, pending.code)
    assert old.status_code == 400
    assert old.json()["error"] == "code_invalid"
    assert snapshot(pending.device) == before
    assert register(http, new_code).status_code == 201


@pytest.mark.parametrize("code", ["", "BCDFG", "AEIOU-AEIOU", "BCDFG-HJKLM-N", "12345-67890", "unknown"])
def test_malformed_or_unknown_code_is_invalid(http, pending, code):
    before = snapshot(pending.device)
    response = register(http, code)
    assert response.status_code == 400
    assert response.json()["error"] == "code_invalid"
    assert snapshot(pending.device) == before


def test_unknown_well_formed_code_is_invalid(http, pending):
    other = "BBBBBBBBBB" if pending.code != "BBBBBBBBBB" else "CCCCCCCCCC"
    response = register(http, other)
    assert response.status_code == 400
    assert response.json()["error"] == "code_invalid"


def test_re_registration_through_a_replaced_code_revokes_the_old_credential(http, registered, company_a):
    device = registered.device
    with scopes_disabled():
        first_reg_date = Device.objects.get(pk=device.pk).registered_at
    new_code, _ = add_code(device)
    response = register(http, new_code, name="Replacement tablet", app_version="5.5.0", device_id="NEW-ID")
    assert response.status_code == 201
    new_credential = response.json()["credential"]

    assert http.get("/api/device/v1/config", headers=bearer(registered.credential)).status_code == 401
    assert http.get("/api/device/v1/config", headers=bearer(new_credential)).status_code == 200
    with scopes_disabled():
        fresh = Device.objects.get(pk=device.pk)
        credentials = DeviceCredential.objects.filter(device=device)
        assert credentials.count() == 2
        assert credentials.filter(revoked_at__isnull=True).count() == 1
    assert (fresh.device_name, fresh.device_identifier, fresh.app_version) == ("Replacement tablet", "NEW-ID", "5.5.0")
    # Reg Date is the date of the current registration.
    assert fresh.registered_at > first_reg_date
    with company_scope(company_a):
        assert AuditEvent.objects.filter(action="device.credential_revoked", object_id=str(device.pk)).count() == 1


@pytest.mark.parametrize("state", ["expired", "suspended", "missing"])
def test_inactive_license_refuses_registration_and_keeps_the_code(http, company_a, team_a, state):
    with company_scope(company_a):
        lic = LicenseFactory(
            company=company_a,
            expires_on=company_today(company_a) - datetime.timedelta(days=2) if state == "expired" else None,
            is_suspended=state == "suspended",
        )
    pending = make_pending(company_a, team_a, license=lic)
    if state == "missing":
        with scopes_disabled():
            Device.objects.filter(pk=pending.device.pk).update(license=None)
    before = snapshot(pending.device)
    response = register(http, pending.code)
    assert response.status_code == 403
    assert response.json()["error"] == "license_inactive"
    assert snapshot(pending.device) == before


def test_failed_redemptions_of_known_codes_are_audited_without_the_code(http, company_a, team_a, caplog):
    caplog.set_level(logging.DEBUG)
    expired = make_pending(company_a, team_a, expires_in=datetime.timedelta(seconds=-5))
    used = make_pending(company_a, team_a)
    replaced = make_pending(company_a, team_a)
    new_code, _ = add_code(replaced.device)
    assert register(http, expired.code).status_code == 410
    response = register(http, used.code)
    credential = response.json()["credential"]
    assert register(http, used.code).status_code == 409
    assert register(http, replaced.code).status_code == 400
    assert register(http, "ZZZZZ-ZZZZZ").status_code == 400

    with company_scope(company_a):
        failures = {
            (event.object_id, event.data["reason"])
            for event in AuditEvent.objects.filter(action="device.registration_failed")
        }
        everything = " ".join(
            f"{e.summary} {e.data} {e.object_id} {e.actor_label}" for e in AuditEvent.objects.all()
        ).upper()
    assert failures == {
        (str(expired.device.pk), "expired"),
        (str(used.device.pk), "used"),
        (str(replaced.device.pk), "replaced"),
    }
    secrets_used = [expired.code, used.code, replaced.code, new_code, "ZZZZZZZZZZ"]
    for secret in secrets_used:
        assert secret not in everything
        assert code_format(secret) not in everything
    assert credential.upper() not in everything
    logged = caplog.text.upper()
    assert "REFUSED" in logged
    for secret in secrets_used:
        assert secret not in logged
        assert code_format(secret) not in logged
    assert credential.upper() not in logged


def test_code_of_another_company_registers_that_companys_device(http, company_a, company_b, team_a):
    from backoffice.organization.models import Team

    with company_scope(company_b):
        team_b = Team.objects.get(is_default=True)
    pending_b = make_pending(company_b, team_b)
    response = register(http, pending_b.code)
    assert response.status_code == 201
    with scopes_disabled():
        assert DeviceCredential.objects.get(device=pending_b.device).company_id == company_b.pk
    assert response.json()["config"]["team"]["name"] == "Default Team"
