"""Adding devices through the Device dialog, and the Pending Registrations section."""

import datetime
import json
import re

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backoffice.audit.models import AuditEvent
from backoffice.devices.codes import code_digest, code_format, code_unseal
from backoffice.devices.models import Device, RegistrationCode
from backoffice.devices.qr import qr_svg_document
from backoffice.devices.services import device_add, device_cancel
from backoffice.notifications.choices import EmailState
from backoffice.notifications.models import OutboxEmail
from backoffice.tenancy.scoping import company_scope
from tests.devices.conftest import device_payload, snapshot
from tests.factories import DeviceFactory, LicenseFactory, TeamFactory, company_today

CODE_RE = re.compile(r'<span class="reg-code">([A-Z]{4}-[A-Z]{4}-[A-Z]{4})</span>')


def shown_codes(response) -> list[str]:
    return CODE_RE.findall(response.content.decode())


def live_code(company, device) -> RegistrationCode:
    with company_scope(company):
        return RegistrationCode.objects.get(device=device, used_at__isnull=True, revoked_at__isnull=True)


def pending_rows(http) -> str:
    """The Pending Registrations section of the Active Devices page."""
    html = http.get("/devices/").content.decode()
    return html.split('id="pending-registrations"', 1)[1].split('id="device-table"', 1)[0]


def plain(code: RegistrationCode) -> str:
    value = code_unseal(code.sealed_code)
    assert value is not None
    return value


# The dialog


def test_dialog_renders_as_page_and_as_htmx_fragment(as_admin_a, licenses_a, employee_a):
    page = as_admin_a.get("/devices/add/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "<html" in html
    for label in ("Team", "Time Zone", "Lic.#", "Nickname", "Description", "Email", "Expires In", "Employee"):
        assert f">{label}</label>" in html
    assert ">Recipients<" in html
    assert 'placeholder="(Use Team&#x27;s default time zone: America/Chicago)"' in html
    assert 'role="tablist"' in html
    assert html.count('role="tab"') == 3
    assert "Device Settings" in html
    for minutes, label in (
        (15, "15 minutes"),
        (30, "30 minutes"),
        (60, "1 hour"),
        (240, "4 hours"),
        (1440, "1 day"),
        (4320, "3 days"),
        (10080, "7 days"),
    ):
        assert f'<option value="{minutes}"' in html
        assert label in html
    assert '<option value="15" selected>' in html
    for lic in licenses_a:
        assert lic.number in html
    assert "Ana Alvarez" in html
    assert ">OK</button>" in html

    fragment = as_admin_a.get("/devices/add/", headers={"HX-Request": "true"}).content.decode()
    assert fragment.lstrip().startswith(
        '<dialog class="dialog" id="device-dialog" aria-labelledby="device-dialog-heading"'
    )
    assert "<html" not in fragment
    assert "autofocus" in fragment


def test_dialog_offers_only_free_active_licenses(as_admin_a, company_a, team_a, licenses_a):
    today = company_today(company_a)
    with company_scope(company_a):
        LicenseFactory(company=company_a, number="EXPIRED-1", expires_on=today - datetime.timedelta(days=1))
        LicenseFactory(company=company_a, number="SUSPENDED-1", is_suspended=True)
        DeviceFactory(company=company_a, team=team_a, license=LicenseFactory(company=company_a, number="HELD-1"))
    html = as_admin_a.get("/devices/add/").content.decode()
    assert "NW-10041" in html
    for number in ("EXPIRED-1", "SUSPENDED-1", "HELD-1"):
        assert number not in html


def test_no_free_license_shows_a_message_and_no_ok(as_admin_a, company_a):
    html = as_admin_a.get("/devices/add/").content.decode()
    assert "No free licenses." in html
    assert ">OK</button>" not in html


def test_ok_creates_device_code_and_emails(as_admin_a, admin_a, company_a, team_a, licenses_a):
    before = snapshot(company_a)
    response = as_admin_a.post(
        "/devices/add/",
        device_payload(
            team=team_a,
            license=licenses_a[0],
            time_zone="Europe/Paris",
            email="boss@a.example",
            expires_in="240",
            recipients=["tech@a.example", "TECH@a.example", "second@a.example"],
        ),
    )
    assert response.status_code == 302
    with company_scope(company_a):
        device = Device.objects.get()
    assert response["Location"] == f"/devices/#pending-{device.pk}"
    after = snapshot(company_a)
    assert after == {
        "devices": before["devices"] + 1,
        "codes": before["codes"] + 1,
        "emails": before["emails"] + 3,
        "free": before["free"] - 1,
    }
    with company_scope(company_a):
        device = Device.objects.get(nickname="Bay 3 iPad")
        assert device.team == team_a
        assert device.license == licenses_a[0]
        assert device.time_zone == "Europe/Paris"
        assert device.description == "Shared by the morning shift."
        assert device.registered_at is None
        assert device.recipients == ["tech@a.example", "second@a.example", "boss@a.example"]
        code = RegistrationCode.objects.get(device=device)
        lifetime = code.expires_at - code.created_at
        assert datetime.timedelta(hours=4) - datetime.timedelta(seconds=5) < lifetime <= datetime.timedelta(hours=4)
        assert code.created_by == admin_a
        assert code.digest == code_digest(plain(code))
        emails = list(OutboxEmail.objects.filter(registration_code=code).order_by("pk"))
        assert [e.recipient for e in emails] == ["tech@a.example", "second@a.example", "boss@a.example"]
        assert {e.state for e in emails} == {EmailState.QUEUED}
        actions = list(AuditEvent.objects.order_by("pk").values_list("action", flat=True))
    assert actions[-2:] == ["device.added", "registration_code.issued"]

    page = as_admin_a.get("/devices/")
    assert shown_codes(page) == [code_format(plain(code))]
    html = page.content.decode()
    assert "Bay 3 iPad" in html
    assert "tech@a.example" in html
    assert 'class="badge badge--queued">Queued<' in html
    # The countdown counts to the expiry, written in the company's time zone.
    expires = timezone.localtime(code.expires_at, company_a.zone).isoformat()
    assert f'data-expires="{expires}"' in html
    # The QR code, drawn on the server, loads only when "Show QR" is opened.
    assert "Show QR" in html
    assert "<svg" not in html.split('id="pending-registrations"')[1].split("</section>")[0]
    qr_url = f"/devices/{device.pk}/qr.svg?code={code.pk}"
    assert f'<img src="{qr_url}" loading="lazy" alt="QR code of the registration code"' in html
    image = as_admin_a.get(qr_url)
    assert image.status_code == 200
    assert image["Content-Type"] == "image/svg+xml"
    assert image.content == qr_svg_document(code_format(plain(code)))


def test_ok_with_no_recipient_is_allowed(as_admin_a, company_a, team_a, licenses_a):
    response = as_admin_a.post("/devices/add/", device_payload(team=team_a, license=licenses_a[0], recipients=None))
    assert response.status_code == 302
    with company_scope(company_a):
        device = Device.objects.get()
        assert device.recipients == []
        assert OutboxEmail.objects.count() == 0
    html = as_admin_a.get("/devices/").content.decode()
    assert len(shown_codes(as_admin_a.get("/devices/"))) == 1
    assert "No email: read the code from this screen" in html


def test_default_time_zone_and_expiry(as_admin_a, company_a, team_a, licenses_a):
    as_admin_a.post("/devices/add/", device_payload(team=team_a, license=licenses_a[0]))
    with company_scope(company_a):
        device = Device.objects.get()
        code = RegistrationCode.objects.get()
    assert device.time_zone == ""
    assert device.effective_time_zone == "America/Denver"
    assert abs((code.expires_at - code.created_at) - datetime.timedelta(minutes=15)) < datetime.timedelta(seconds=5)


def test_htmx_ok_closes_the_dialog_and_refreshes_the_section(as_admin_a, company_a, team_a, licenses_a):
    response = as_admin_a.post(
        "/devices/add/", device_payload(team=team_a, license=licenses_a[0]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 204
    with company_scope(company_a):
        device = Device.objects.get()
    # The toast first (it closes the dialog), then Pending Registrations refreshes.
    assert json.loads(response["HX-Trigger"]) == {
        "toast": {
            "message": "Bay 3 iPad added. Its registration code is shown in Pending Registrations.",
            "level": "success",
            "highlight": f"#pending-{device.pk}",
            "await": "pending-registrations",
        },
        "registrations-changed": {},
    }


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"nickname": ""}, "nickname", "This field is required."),
        ({"nickname": "   "}, "nickname", "This field is required."),
        ({"nickname": "x" * 65}, "nickname", "Ensure this value has at most 64 characters (it has 65)."),
        ({"description": "x" * 501}, "description", "Ensure this value has at most 500 characters (it has 501)."),
        ({"email": "not-an-address"}, "email", "Enter a valid email address."),
        ({"recipients": ["ok@a.example", "bad@@a"]}, "recipients", "is not a valid email address; remove it."),
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone", "Choose a time zone from the list, e.g. America/Chicago."),
        ({"expires_in": "9999"}, "expires_in", "Select a valid choice."),
        ({"license": ""}, "license", "This field is required."),
        ({"license": "999999"}, "license", "Select one of the free licenses in the list."),
        ({"team": "999999"}, "team", "Select one of your company&#x27;s teams."),
    ],
)
def test_bad_input_gives_a_form_error_and_changes_nothing(
    as_admin_a, company_a, team_a, licenses_a, overrides, field, message
):
    before = snapshot(company_a)
    payload = device_payload(team=team_a, license=licenses_a[0]) | overrides
    response = as_admin_a.post("/devices/add/", payload)
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    if field not in ("recipients",):
        assert re.search(rf'<p class="error" id="id_{field}_error">', html), field
    assert snapshot(company_a) == before


def test_license_of_another_company_is_refused(as_admin_a, company_a, company_b, team_a, licenses_a):
    with company_scope(company_b):
        foreign = LicenseFactory(company=company_b, number="B-LIC-1")
    before = snapshot(company_a)
    response = as_admin_a.post("/devices/add/", device_payload(team=team_a, license=foreign))
    assert response.status_code == 200
    assert "Select one of the free licenses in the list." in response.content.decode()
    assert snapshot(company_a) == before
    with company_scope(company_b):
        assert not Device.objects.exists()


@pytest.mark.parametrize("kind", ["held", "expired", "suspended"])
def test_license_not_free_is_refused_with_its_number(as_admin_a, company_a, team_a, licenses_a, kind):
    today = company_today(company_a)
    with company_scope(company_a):
        lic = LicenseFactory(
            company=company_a,
            number="NW-20001",
            expires_on=today - datetime.timedelta(days=1) if kind == "expired" else None,
            is_suspended=kind == "suspended",
        )
        if kind == "held":
            DeviceFactory(company=company_a, team=team_a, license=lic)
    before = snapshot(company_a)
    response = as_admin_a.post("/devices/add/", device_payload(team=team_a, license=lic))
    html = response.content.decode()
    expected = {
        "held": "License NW-20001 was just taken; pick another.",
        "expired": "License NW-20001 is expired; pick another.",
        "suspended": "License NW-20001 is suspended; pick another.",
    }[kind]
    assert expected in html
    assert snapshot(company_a) == before


def test_team_of_another_company_is_refused(as_admin_a, company_a, company_b, team_a, licenses_a):
    with company_scope(company_b):
        foreign_team = TeamFactory(company=company_b, name="B team")
    before = snapshot(company_a)
    response = as_admin_a.post("/devices/add/", device_payload(team=foreign_team, license=licenses_a[0]))
    assert "Select one of your company&#x27;s teams." in response.content.decode()
    assert snapshot(company_a) == before


def test_team_administrator_adds_only_to_their_own_team(as_teamadmin_a, company_a, team_a, default_team_a, licenses_a):
    html = as_teamadmin_a.get("/devices/add/").content.decode()
    assert "Alpha Team" in html
    assert "Default Team" not in html
    before = snapshot(company_a)
    response = as_teamadmin_a.post("/devices/add/", device_payload(team=default_team_a, license=licenses_a[0]))
    assert "Team Administrators may pick only their own team." in response.content.decode()
    assert snapshot(company_a) == before
    response = as_teamadmin_a.post("/devices/add/", device_payload(team=team_a, license=licenses_a[0]))
    assert response.status_code == 302
    with company_scope(company_a):
        assert Device.objects.get().team == team_a


def test_team_administrator_employee_choice_is_limited_to_their_team(
    as_teamadmin_a, company_a, team_a, licenses_a, employee_a, other_team_employee_a
):
    html = as_teamadmin_a.get("/devices/add/").content.decode()
    assert "Ana Alvarez" in html
    assert "Zed Zimmer" not in html
    response = as_teamadmin_a.post(
        "/devices/add/",
        device_payload(team=team_a, license=licenses_a[0], recipients=None)
        | {"action": "add_employee", "employee": str(other_team_employee_a.pk)},
    )
    assert "Select an employee, then click Add Email." in response.content.decode()
    assert "zed@a.example" not in response.content.decode()


# Recipients box: Add Email, Add and remove, with and without htmx


@pytest.mark.parametrize("htmx", [False, True])
def test_add_email_add_and_remove_recipients(as_admin_a, company_a, team_a, licenses_a, employee_a, htmx):
    headers = {"HX-Request": "true"} if htmx else {}
    base = device_payload(team=team_a, license=licenses_a[0], nickname="Keep me", recipients=["first@a.example"])
    response = as_admin_a.post(
        "/devices/add/", base | {"action": "add_employee", "employee": str(employee_a.pk)}, headers=headers
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert ("<html" in html) is not htmx
    assert re.findall(r'name="recipients" value="([^"]+)"', html) == ["first@a.example", "ana@a.example"]
    assert 'value="Keep me"' in html  # everything else entered stays
    assert "This field is required" not in html

    response = as_admin_a.post(
        "/devices/add/",
        base | {"recipients": ["first@a.example", "ana@a.example"], "action": "add_custom", "email": "x@a.example"},
        headers=headers,
    )
    html = response.content.decode()
    assert re.findall(r'name="recipients" value="([^"]+)"', html) == ["first@a.example", "ana@a.example", "x@a.example"]

    response = as_admin_a.post(
        "/devices/add/",
        base | {"recipients": ["first@a.example", "ana@a.example"], "remove_recipient": "first@a.example"},
        headers=headers,
    )
    html = response.content.decode()
    assert re.findall(r'name="recipients" value="([^"]+)"', html) == ["ana@a.example"]
    assert 'aria-label="Remove ana@a.example"' in html

    response = as_admin_a.post("/devices/add/", base | {"action": "add_custom", "email": "nope"}, headers=headers)
    assert "Enter a valid email address, then click Add." in response.content.decode()
    with company_scope(company_a):
        assert Device.objects.count() == 0


def test_add_email_without_an_employee_says_what_to_do(as_admin_a, team_a, licenses_a):
    response = as_admin_a.post(
        "/devices/add/", device_payload(team=team_a, license=licenses_a[0]) | {"action": "add_employee"}
    )
    assert "Select an employee, then click Add Email." in response.content.decode()


# Permissions and tenancy


def test_viewer_gets_403_on_every_write_url_and_sees_no_write_controls(
    as_viewer_a, as_admin_a, company_a, team_a, licenses_a
):
    as_admin_a.post("/devices/add/", device_payload(team=team_a, license=licenses_a[0]))
    with company_scope(company_a):
        device = Device.objects.get()
        email = OutboxEmail.objects.get()
    before = snapshot(company_a)
    for method, url in (
        ("get", "/devices/add/"),
        ("post", "/devices/add/"),
        ("post", f"/devices/{device.pk}/replace/"),
        ("post", f"/devices/{device.pk}/cancel/"),
        ("post", f"/devices/emails/{email.pk}/resend/"),
    ):
        data = device_payload(team=team_a, license=licenses_a[1]) if url.endswith("add/") else {}
        response = getattr(as_viewer_a, method)(url, data) if method == "post" else as_viewer_a.get(url)
        assert response.status_code == 403, url
    assert snapshot(company_a) == before
    html = as_viewer_a.get("/devices/").content.decode()
    assert "Bay 3 iPad" in html
    for control in ("Add New Devices", ">Replace<", ">Cancel<", ">Resend<", "/replace/", "/cancel/", "/resend/"):
        assert control not in html
    assert shown_codes(as_viewer_a.get("/devices/")) == []
    assert "Shown to administrators only" in html


def test_other_company_gets_404_on_replace_cancel_and_resend(as_admin_a, as_admin_b, company_a, team_a, licenses_a):
    as_admin_a.post("/devices/add/", device_payload(team=team_a, license=licenses_a[0]))
    with company_scope(company_a):
        device = Device.objects.get()
        email = OutboxEmail.objects.get()
        codes_before = list(RegistrationCode.objects.values_list("pk", "revoked_at"))
    before = snapshot(company_a)
    for url in (
        f"/devices/{device.pk}/replace/",
        f"/devices/{device.pk}/cancel/",
        f"/devices/emails/{email.pk}/resend/",
    ):
        assert as_admin_b.post(url).status_code == 404, url
    assert snapshot(company_a) == before
    with company_scope(company_a):
        assert list(RegistrationCode.objects.values_list("pk", "revoked_at")) == codes_before


def test_team_administrator_gets_404_for_another_teams_device(
    as_teamadmin_a, company_a, default_team_a, licenses_a, admin_a
):
    with company_scope(company_a):
        device = device_add(
            acting_user=admin_a,
            team=default_team_a,
            license=licenses_a[0],
            nickname="Headquarters tablet",
            recipients=["a@a.example"],
        )
    before = snapshot(company_a)
    assert as_teamadmin_a.post(f"/devices/{device.pk}/replace/").status_code == 404
    assert as_teamadmin_a.post(f"/devices/{device.pk}/cancel/").status_code == 404
    assert "Headquarters tablet" not in as_teamadmin_a.get("/devices/").content.decode()
    assert snapshot(company_a) == before


def test_write_urls_refuse_get(as_admin_a, company_a, team_a, licenses_a):
    as_admin_a.post("/devices/add/", device_payload(team=team_a, license=licenses_a[0]))
    with company_scope(company_a):
        device = Device.objects.get()
    assert as_admin_a.get(f"/devices/{device.pk}/replace/").status_code == 405
    assert as_admin_a.get(f"/devices/{device.pk}/cancel/").status_code == 405


# Replace, Cancel, Resend


def test_replace_kills_the_old_code_and_issues_a_new_one(as_admin_a, company_a, team_a, licenses_a):
    as_admin_a.post("/devices/add/", device_payload(team=team_a, license=licenses_a[0], expires_in="1440"))
    with company_scope(company_a):
        device = Device.objects.get()
    old = live_code(company_a, device)
    old_plain = plain(old)
    response = as_admin_a.post(f"/devices/{device.pk}/replace/")
    assert response.status_code == 302
    with company_scope(company_a):
        old.refresh_from_db()
        assert old.revoked_at is not None
        assert old.sealed_code is None
        assert OutboxEmail.objects.get(registration_code=old).state == EmailState.OBSOLETE
        new = live_code(company_a, device)
        assert new.pk != old.pk
        assert new.digest != old.digest
        assert OutboxEmail.objects.get(registration_code=new).recipient == "tech@a.example"
        assert OutboxEmail.objects.get(registration_code=new).state == EmailState.QUEUED
        # Same lifetime as chosen for the first code.
        assert abs((new.expires_at - new.created_at) - datetime.timedelta(days=1)) < datetime.timedelta(seconds=5)
        assert AuditEvent.objects.filter(action="registration_code.replaced").count() == 1
    shown = shown_codes(as_admin_a.get("/devices/"))
    assert shown == [code_format(plain(new))]
    assert code_format(old_plain) not in shown


def test_replace_over_htmx_returns_the_section_and_counts(as_admin_a, company_a, team_a, licenses_a):
    as_admin_a.post("/devices/add/", device_payload(team=team_a, license=licenses_a[0]))
    with company_scope(company_a):
        device = Device.objects.get()
    response = as_admin_a.post(f"/devices/{device.pk}/replace/", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card pending" id="pending-registrations"')
    assert 'id="licenses-free-card" hx-swap-oob="true"' in html
    assert json.loads(response["HX-Trigger-After-Settle"]) == {
        "toast": {
            "message": "New registration code issued for Bay 3 iPad; the previous one no longer works.",
            "level": "success",
        }
    }


def test_replace_on_a_registered_device_lists_it_until_cancelled(as_admin_a, company_a, team_a):
    with company_scope(company_a):
        device = DeviceFactory(
            company=company_a, team=team_a, nickname="Old phone", license=LicenseFactory(company=company_a)
        )
    assert ">Old phone</a></strong>" not in pending_rows(as_admin_a)
    as_admin_a.post(f"/devices/{device.pk}/replace/")
    pending_part = pending_rows(as_admin_a)
    assert ">Old phone</a></strong>" in pending_part
    assert "Registered · replacement code" in pending_part
    assert len(shown_codes(as_admin_a.get("/devices/"))) == 1
    # Cancel on a registered device revokes the replacement code only.
    as_admin_a.post(f"/devices/{device.pk}/cancel/")
    with company_scope(company_a):
        assert Device.objects.filter(pk=device.pk, registered_at__isnull=False).exists()
        code = RegistrationCode.objects.get(device=device)
        assert code.revoked_at is not None
        assert code.sealed_code is None
    assert ">Old phone</a></strong>" not in pending_rows(as_admin_a)


def test_cancel_frees_the_license(as_admin_a, company_a, team_a, licenses_a):
    as_admin_a.post("/devices/add/", device_payload(team=team_a, license=licenses_a[0]))
    html = as_admin_a.get("/devices/").content.decode()
    assert re.search(r'id="licenses-free"[^>]*>2<', html)
    with company_scope(company_a):
        device = Device.objects.get()
        code_pk = RegistrationCode.objects.get().pk
    response = as_admin_a.post(f"/devices/{device.pk}/cancel/")
    assert response.status_code == 302
    html = as_admin_a.get("/devices/").content.decode()
    assert re.search(r'id="licenses-free"[^>]*>3<', html)
    assert ">Bay 3 iPad</a></strong>" not in html
    with company_scope(company_a):
        assert not Device.objects.exists()
        assert not RegistrationCode.objects.filter(pk=code_pk).exists()
        assert not OutboxEmail.objects.exists()
        assert AuditEvent.objects.filter(action="device.cancelled").count() == 1


def test_cancel_refuses_a_device_registered_meanwhile(as_admin_a, admin_a, company_a, team_a, licenses_a):
    as_admin_a.post("/devices/add/", device_payload(team=team_a, license=licenses_a[0]))
    with company_scope(company_a):
        device = Device.objects.get()
        Device.objects.filter(pk=device.pk).update(registered_at=timezone.now())
        with pytest.raises(ValidationError, match="has just been registered"):
            device_cancel(device=device, acting_user=admin_a)
        assert Device.objects.filter(pk=device.pk).exists()


def test_resend_queues_the_email_again(as_admin_a, company_a, team_a, licenses_a):
    as_admin_a.post("/devices/add/", device_payload(team=team_a, license=licenses_a[0]))
    with company_scope(company_a):
        email = OutboxEmail.objects.get()
        OutboxEmail.objects.filter(pk=email.pk).update(
            state=EmailState.FAILED, attempts=8, last_error="SMTPServerDisconnected: gone"
        )
    html = as_admin_a.get("/devices/").content.decode()
    assert 'badge--failed">Failed<' in html
    assert "SMTPServerDisconnected: gone" in html
    assert ">Resend<" in html
    response = as_admin_a.post(f"/devices/emails/{email.pk}/resend/")
    assert response.status_code == 302
    with company_scope(company_a):
        email.refresh_from_db()
        assert email.state == EmailState.QUEUED
        assert email.attempts == 0
        assert email.last_error == ""
        assert email.next_attempt_at <= timezone.now()


def test_resend_of_a_dead_code_is_refused(as_admin_a, company_a, team_a, licenses_a):
    as_admin_a.post("/devices/add/", device_payload(team=team_a, license=licenses_a[0]))
    with company_scope(company_a):
        email = OutboxEmail.objects.get()
        RegistrationCode.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    response = as_admin_a.post(f"/devices/emails/{email.pk}/resend/", headers={"HX-Request": "true"})
    assert json.loads(response["HX-Trigger-After-Settle"])["toast"] == {
        "message": "This code can no longer be used; use Replace to send a new one.",
        "level": "error",
    }
    with company_scope(company_a):
        email.refresh_from_db()
        assert email.state == EmailState.QUEUED
        assert email.attempts == 0


def test_expired_code_stays_listed_as_expired_with_replace(as_admin_a, company_a, team_a, licenses_a):
    as_admin_a.post("/devices/add/", device_payload(team=team_a, license=licenses_a[0]))
    with company_scope(company_a):
        RegistrationCode.objects.update(expires_at=timezone.now() - datetime.timedelta(minutes=1))
    response = as_admin_a.get("/devices/")
    html = response.content.decode().split('id="device-table"')[0]
    assert shown_codes(response) == []
    assert "Bay 3 iPad" in html
    assert 'badge--expired">Expired<' in html
    assert ">Replace<" in html
    assert "Show QR" not in html


# The section as a live fragment


def test_pending_fragment_for_polling(as_admin_a, as_viewer_a, company_a, team_a, licenses_a):
    as_admin_a.post("/devices/add/", device_payload(team=team_a, license=licenses_a[0]))
    response = as_admin_a.get("/devices/pending/", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card pending" id="pending-registrations"')
    assert 'hx-trigger="every 10s, registrations-changed from:body"' in html
    assert 'hx-get="/devices/pending/"' in html
    assert re.search(r'id="licenses-free-card" hx-swap-oob="true">.*?id="licenses-free"[^>]*>2<', html, re.S)
    assert re.search(r'id="licenses-total-card" hx-swap-oob="true">', html)
    assert as_viewer_a.get("/devices/pending/", headers={"HX-Request": "true"}).status_code == 200
    assert as_admin_a.get("/devices/pending/").status_code == 302


def test_redeemed_code_leaves_the_section(as_admin_a, company_a, team_a, licenses_a):
    as_admin_a.post("/devices/add/", device_payload(team=team_a, license=licenses_a[0]))
    with company_scope(company_a):
        RegistrationCode.objects.update(used_at=timezone.now(), sealed_code=None)
        Device.objects.update(registered_at=timezone.now())
    html = as_admin_a.get("/devices/pending/", headers={"HX-Request": "true"}).content.decode()
    assert "Bay 3 iPad" not in html
    assert "No pending registrations" in html


def test_pending_section_runs_a_fixed_number_of_queries(as_admin_a, admin_a, company_a, team_a):
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert as_admin_a.get("/devices/pending/", headers={"HX-Request": "true"}).status_code == 200
        return len(ctx.captured_queries)

    def add(n: int) -> None:
        with company_scope(company_a):
            for _ in range(n):
                team = TeamFactory(company=company_a)
                device_add(
                    acting_user=admin_a,
                    team=team,
                    license=LicenseFactory(company=company_a),
                    nickname="Pending",
                    recipients=["a@a.example", "b@a.example"],
                )

    add(2)
    few = count_queries()
    add(25)
    assert count_queries() == few
    # The session, the user and the company; the ETag's statements (the
    # rows, their emails, the license tally and the expired codes' holds);
    # the section's rows, their codes and their emails.
    assert few <= 10
