"""
The whole path through the stable interfaces: Add New Devices in the Back
Office → code in Pending Registrations → email received by a real SMTP
server → code from the email redeemed through the device API → device in the
Active Devices list → check-in and config → Edit changes the config →
Replace and re-registration revoke the old phone → Delete revokes the new one.
"""

import email
import re

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client as HttpClient

from backoffice.devices.models import Device
from backoffice.tenancy.scoping import company_scope
from tests.device_api.conftest import bearer, post_json, register
from tests.devices.conftest import device_payload
from tests.devices.test_active_devices import rows
from tests.factories import LicenseFactory
from tests.notifications.conftest import smtp_mailers, smtp_server  # noqa: F401 - fixture

CODE_RE = re.compile(r"\b([B-Z]{4}-[B-Z]{4}-[B-Z]{4})\b")
API = "/api/device/v1"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def received_codes(server, recipient: str) -> list[str]:
    """Codes in the plain-text part of every email the SMTP server got for ``recipient``."""
    found = []
    for envelope in server.handler.messages:
        if recipient not in envelope.rcpt_tos:
            continue
        message = email.message_from_bytes(envelope.content)
        text = next(part for part in message.walk() if part.get_content_type() == "text/plain")
        found += CODE_RE.findall(text.get_payload(decode=True).decode())
    return found


def pending_section(http) -> str:
    html = http.get("/devices/").content.decode()
    return html.split('id="pending-registrations"', 1)[1].split('id="device-table"', 1)[0]


def licenses_free(http) -> int:
    return int(re.search(r'id="licenses-free"[^>]*>(\d+)<', http.get("/devices/").content.decode()).group(1))


def test_add_email_redeem_list_edit_replace_delete(as_admin_a, company_a, team_a, smtp_server, settings):  # noqa: F811
    settings.MAILERS = smtp_mailers(smtp_server.port)
    with company_scope(company_a):
        lic = LicenseFactory(company=company_a, number="NW-5001")
        LicenseFactory(company=company_a, number="NW-5002")
    assert licenses_free(as_admin_a) == 2

    # Add New Devices → the code is shown in Pending Registrations.
    response = as_admin_a.post(
        "/devices/add/",
        device_payload(team=team_a, license=lic, nickname="Truck 7 tablet", recipients=["tech7@example.com"]),
    )
    assert response.status_code == 302
    section = pending_section(as_admin_a)
    assert "Truck 7 tablet" in section
    shown = CODE_RE.findall(section)
    assert len(shown) == 1
    assert licenses_free(as_admin_a) == 1

    # The outbox worker emails it through a real SMTP server.
    call_command("send_outbox")
    assert received_codes(smtp_server, "tech7@example.com") == shown

    # The phone redeems the code from the email (typed in lower case, with spaces).
    phone = HttpClient()
    typed = shown[0].lower().replace("-", " ")
    response = register(
        phone,
        typed,
        name="Galaxy Tab S9",
        device_id="AND-77",
        platform="Android",
        app_version="5.4.2",
        os_type="Android 14",
    )
    assert response.status_code == 201, response.content
    credential = response.json()["credential"]
    assert "Truck 7 tablet" not in pending_section(as_admin_a)
    assert rows(as_admin_a.get("/devices/")) == ["Truck 7 tablet"]
    listing = as_admin_a.get("/devices/").content.decode()
    assert "ReconPro 5.4.2" in listing
    assert "Galaxy Tab S9" in listing

    # Check-in and config.
    assert (
        post_json(
            phone,
            "/check-ins",
            {"name": "Galaxy Tab S9", "os_type": "Android 14", "platform": "Android", "app_version": "5.4.3"},
            **bearer(credential),
        ).status_code
        == 200
    )
    config = phone.get(f"{API}/config", headers=bearer(credential))
    assert config.status_code == 200
    assert config.json()["time_zone"] == "America/Denver"
    etag = config["ETag"]
    assert phone.get(f"{API}/config", headers={**bearer(credential), "If-None-Match": etag}).status_code == 304

    # Edit: a time zone of its own changes the device's configuration.
    with company_scope(company_a):
        device = Device.objects.get(nickname="Truck 7 tablet")
    response = as_admin_a.post(
        f"/devices/{device.pk}/edit/",
        {
            "team": str(team_a.pk),
            "time_zone": "Europe/Paris",
            "license": str(lic.pk),
            "nickname": "Truck 7 tablet",
            "description": "",
        },
    )
    assert response.status_code == 302
    changed = phone.get(f"{API}/config", headers={**bearer(credential), "If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.json()["time_zone"] == "Europe/Paris"
    assert changed["ETag"] != etag

    # Replace: a new code for the same device entry, emailed again; a reset phone redeems it.
    assert as_admin_a.post(f"/devices/{device.pk}/replace/").status_code == 302
    call_command("send_outbox")
    codes = received_codes(smtp_server, "tech7@example.com")
    assert len(codes) == 2
    assert codes[1] != codes[0]
    new_phone = HttpClient()
    response = register(new_phone, codes[1], name="Galaxy Tab S10", device_id="AND-78")
    assert response.status_code == 201
    new_credential = response.json()["credential"]
    refused = phone.get(f"{API}/config", headers=bearer(credential))
    assert refused.status_code == 401
    assert refused.json()["error"] == "credential_invalid"
    assert new_phone.get(f"{API}/config", headers=bearer(new_credential)).status_code == 200
    assert "Galaxy Tab S10" in as_admin_a.get("/devices/").content.decode()
    assert rows(as_admin_a.get("/devices/")) == ["Truck 7 tablet"]

    # Delete: the license is free at once and the phone is refused.
    assert as_admin_a.post(f"/devices/{device.pk}/delete/").status_code == 302
    assert licenses_free(as_admin_a) == 2
    refused = post_json(
        new_phone,
        "/check-ins",
        {"name": "x", "os_type": "x", "platform": "x", "app_version": "1"},
        **bearer(new_credential),
    )
    assert refused.status_code == 401
    assert refused.json()["error"] == "credential_invalid"
