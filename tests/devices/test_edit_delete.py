"""Edit and Delete on the Active Devices page, through the HTTP views."""

import datetime
import json
import re

import pytest
from django.utils import timezone

from backoffice.audit.models import AuditEvent
from backoffice.devices.codes import credential_digest
from backoffice.devices.models import Device, DeviceCredential
from backoffice.licensing.models import License
from backoffice.organization.models import Team
from backoffice.tenancy.scoping import company_scope
from tests.factories import DeviceFactory, LicenseFactory, TeamFactory, company_today

REGISTERED_AT = datetime.datetime(2026, 5, 1, 12, 0, tzinfo=datetime.UTC)


@pytest.fixture
def device_a(company_a, team_a):
    with company_scope(company_a):
        device = DeviceFactory(
            company=company_a,
            team=team_a,
            nickname="Bay 1 iPad",
            time_zone="",
            description="",
            device_name="iPad Air",
            device_identifier="IOS-0001",
            os_type="iOS 18.1",
            license=LicenseFactory(company=company_a, number="NW-1"),
            registered_at=REGISTERED_AT,
            changed_at=REGISTERED_AT,
        )
        DeviceCredential.objects.create(company=company_a, device=device, digest=credential_digest("secret-1"))
        return device


def state(company) -> list[tuple]:
    """Everything a refused Edit or Delete must leave as it was."""
    with company_scope(company):
        return list(
            Device.objects.order_by("pk").values_list(
                "pk", "team_id", "license_id", "time_zone", "nickname", "description", "changed_at", "registered_at"
            )
        ) + list(DeviceCredential.objects.order_by("pk").values_list("pk", "revoked_at"))


def edit_payload(device, **overrides) -> dict:
    data = {
        "team": str(device.team_id),
        "time_zone": device.time_zone,
        "license": str(device.license_id),
        "nickname": device.nickname,
        "description": device.description,
    }
    data.update(overrides)
    return data


def test_edit_dialog_is_filled_in_and_shows_what_the_device_reported(as_admin_a, device_a):
    html = as_admin_a.get(f"/devices/{device_a.pk}/edit/").content.decode()
    assert 'value="Bay 1 iPad"' in html
    assert re.search(r"<dt>Device</dt><dd>iPad Air</dd>", html)
    assert re.search(r'<dt>Device ID</dt><dd class="tabular">IOS-0001</dd>', html)
    assert re.search(r"<dt>OS Type</dt><dd>iOS 18.1</dd>", html)
    assert f'<option value="{device_a.license_id}" selected>NW-1' in html
    assert "Registration email" not in html


def test_edit_saves_and_sets_change_date_not_reg_date(as_admin_a, company_a, device_a):
    with company_scope(company_a):
        other = TeamFactory(company=company_a, name="Other", time_zone="Asia/Tokyo")
    before = timezone.now()
    response = as_admin_a.post(
        f"/devices/{device_a.pk}/edit/",
        edit_payload(
            device_a, team=str(other.pk), time_zone="Europe/Paris", nickname="Bay 2 iPad", description="Shared"
        ),
    )
    assert response.status_code == 302
    with company_scope(company_a):
        device = Device.objects.get(pk=device_a.pk)
        assert (device.team_id, device.time_zone, device.nickname, device.description) == (
            other.pk,
            "Europe/Paris",
            "Bay 2 iPad",
            "Shared",
        )
        assert device.registered_at == REGISTERED_AT
        assert device.changed_at >= before
        event = AuditEvent.objects.get(action="device.changed")
        assert event.data["changed"] == ["description", "nickname", "team", "time_zone"]
    assert "Bay 2 iPad saved." in as_admin_a.get("/devices/").content.decode()


def test_edit_over_htmx_refreshes_the_list_or_goes_to_it(as_admin_a, company_a, device_a):
    from_list = as_admin_a.post(
        f"/devices/{device_a.pk}/edit/",
        edit_payload(device_a, nickname="New name"),
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/devices/?team=alpha"},
    )
    assert from_list.status_code == 204
    # The list refreshes in place: a toast naming the device, then both sections.
    assert json.loads(from_list["HX-Trigger"]) == {
        "toast": {"message": "New name saved.", "level": "success", "await": "device-table"},
        "devices-changed": {},
        "registrations-changed": {},
    }
    assert "HX-Refresh" not in from_list
    # The toast said it: the next page shows no stale message.
    assert "New name saved." not in as_admin_a.get("/devices/").content.decode()
    from_page = as_admin_a.post(
        f"/devices/{device_a.pk}/edit/",
        edit_payload(device_a, nickname="Newer name"),
        headers={"HX-Request": "true", "HX-Current-URL": f"http://testserver/devices/{device_a.pk}/edit/"},
    )
    assert from_page.status_code == 204
    assert from_page["HX-Redirect"] == "/devices/"


def test_changing_the_license_frees_the_old_one(as_admin_a, company_a, device_a):
    with company_scope(company_a):
        new = LicenseFactory(company=company_a, number="NW-2")
    as_admin_a.post(f"/devices/{device_a.pk}/edit/", edit_payload(device_a, license=str(new.pk)))
    with company_scope(company_a):
        assert Device.objects.get(pk=device_a.pk).license_id == new.pk
        assert not Device.objects.filter(license__number="NW-1").exists()
    html = as_admin_a.get("/devices/").content.decode()
    assert re.search(r'id="licenses-free"[^>]*>1<', html)


def test_a_device_keeps_its_own_expired_license_on_edit(as_admin_a, company_a, device_a):
    with company_scope(company_a):
        License.objects.filter(pk=device_a.license_id).update(
            expires_on=company_today(company_a) - datetime.timedelta(1)
        )
    response = as_admin_a.post(f"/devices/{device_a.pk}/edit/", edit_payload(device_a, nickname="Renamed"))
    assert response.status_code == 302
    with company_scope(company_a):
        assert Device.objects.get(pk=device_a.pk).nickname == "Renamed"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("nickname", "", "This field is required."),
        ("nickname", "x" * 65, "Ensure this value has at most 64 characters"),
        ("time_zone", "Mars/Olympus", "Choose a time zone from the list, e.g. America/Chicago."),
        ("description", "d" * 501, "Ensure this value has at most 500 characters"),
        ("license", "held", "pick another"),
        ("license", "expired", "is expired; pick another"),
        ("license", "other_company", "Select one of the free licenses"),
        ("team", "other_company", "Select one of your company"),
    ],
)
def test_bad_edit_input_gives_a_form_error_and_changes_nothing(
    as_admin_a, company_a, company_b, team_a, device_a, field, value, message
):
    with company_scope(company_a):
        held = DeviceFactory(company=company_a, team=team_a, license=LicenseFactory(company=company_a)).license
        expired = LicenseFactory(company=company_a, expires_on=company_today(company_a) - datetime.timedelta(days=2))
    with company_scope(company_b):
        lic_b = LicenseFactory(company=company_b)
        team_b_pk = Team.objects.get(is_default=True).pk
    value = {
        "held": str(held.pk),
        "expired": str(expired.pk),
        "other_company": str(lic_b.pk) if field == "license" else str(team_b_pk),
    }.get(value, value)
    before = state(company_a)
    response = as_admin_a.post(f"/devices/{device_a.pk}/edit/", edit_payload(device_a, **{field: value}))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert state(company_a) == before


def test_team_administrator_cannot_move_a_device_to_another_team(as_teamadmin_a, company_a, device_a, default_team_a):
    before = state(company_a)
    response = as_teamadmin_a.post(f"/devices/{device_a.pk}/edit/", edit_payload(device_a, team=str(default_team_a.pk)))
    assert "Team Administrators may pick only their own team." in response.content.decode()
    assert state(company_a) == before


def test_team_administrator_gets_404_for_another_teams_device(as_teamadmin_a, company_a, default_team_a):
    with company_scope(company_a):
        other = DeviceFactory(company=company_a, team=default_team_a)
    before = state(company_a)
    assert as_teamadmin_a.get(f"/devices/{other.pk}/edit/").status_code == 404
    assert as_teamadmin_a.post(f"/devices/{other.pk}/edit/", edit_payload(other, nickname="x")).status_code == 404
    assert as_teamadmin_a.post(f"/devices/{other.pk}/delete/").status_code == 404
    assert state(company_a) == before


def test_viewer_and_other_company_are_refused_with_nothing_changed(as_viewer_a, as_admin_b, company_a, device_a):
    before = state(company_a)
    for http, status in ((as_viewer_a, 403), (as_admin_b, 404)):
        assert http.get(f"/devices/{device_a.pk}/edit/").status_code == status
        assert http.post(f"/devices/{device_a.pk}/edit/", edit_payload(device_a, nickname="x")).status_code == status
        assert http.get(f"/devices/{device_a.pk}/delete/").status_code == status
        assert http.post(f"/devices/{device_a.pk}/delete/").status_code == status
    assert state(company_a) == before


def test_delete_asks_for_confirmation_naming_the_device(as_admin_a, company_a, device_a):
    before = state(company_a)
    html = as_admin_a.get(f"/devices/{device_a.pk}/delete/").content.decode()
    assert "Delete Bay 1 iPad?" in html
    assert "frees license NW-1 at once" in html
    assert state(company_a) == before
    listing = as_admin_a.get("/devices/").content.decode()
    assert 'hx-confirm="Delete Bay 1 iPad? Its license becomes free at once' in listing


def test_delete_frees_the_license_revokes_the_credential_and_is_audited(as_admin_a, company_a, device_a):
    free_before = re.search(r'id="licenses-free"[^>]*>(\d+)<', as_admin_a.get("/devices/").content.decode())
    response = as_admin_a.post(f"/devices/{device_a.pk}/delete/")
    assert response.status_code == 302
    html = as_admin_a.get("/devices/").content.decode()
    assert "Bay 1 iPad deleted; license NW-1 is free again." in html
    assert re.search(r'id="licenses-free"[^>]*>(\d+)<', html).group(1) == str(int(free_before.group(1)) + 1)
    with company_scope(company_a):
        assert not Device.objects.filter(pk=device_a.pk).exists()
        assert not DeviceCredential.objects.filter(digest=credential_digest("secret-1")).exists()
        assert list(
            AuditEvent.objects.filter(action__in=["device.deleted", "credential.revoked"])
            .order_by("pk")
            .values_list("action", flat=True)
        ) == ["device.deleted", "credential.revoked"]


def test_deleting_a_pending_device_is_the_same_as_cancel(as_admin_a, company_a, team_a):
    with company_scope(company_a):
        pending = DeviceFactory(
            company=company_a, team=team_a, registered_at=None, license=LicenseFactory(company=company_a)
        )
    as_admin_a.post(f"/devices/{pending.pk}/delete/")
    with company_scope(company_a):
        assert not Device.objects.filter(pk=pending.pk).exists()
        assert AuditEvent.objects.filter(action="device.cancelled").count() == 1


def test_rows_offer_edit_delete_and_replace_to_writers_only(as_admin_a, as_viewer_a, device_a):
    html = as_admin_a.get("/devices/").content.decode()
    assert f'href="/devices/{device_a.pk}/edit/"' in html
    assert f'href="/devices/{device_a.pk}/delete/"' in html
    assert f'action="/devices/{device_a.pk}/replace/"' in html
    viewer_html = as_viewer_a.get("/devices/").content.decode()
    assert f"/devices/{device_a.pk}/edit/" not in viewer_html
    assert f"/devices/{device_a.pk}/replace/" not in viewer_html
