"""Adding several devices in one Device dialog: a quantity or a list of nicknames, all or nothing."""

import json

import pytest
from django.core.exceptions import ValidationError

from backoffice.audit.models import AuditEvent
from backoffice.devices.codes import code_format, code_unseal
from backoffice.devices.models import Device, DeviceClient, RegistrationCode
from backoffice.devices.services import devices_add_batch
from backoffice.notifications.models import OutboxEmail
from backoffice.organization.models import Client
from backoffice.tenancy.scoping import company_scope, scopes_disabled
from tests.dbstate import snapshot
from tests.devices.batch_setup import batch_payload, free_licenses
from tests.factories import DeviceFactory


def _batch_devices(company) -> list[Device]:
    with company_scope(company):
        return list(Device.objects.filter(codes__batch_id__isnull=False).select_related("license").order_by("nickname"))


def test_quantity_adds_numbered_devices_each_with_its_own_license_code_and_one_email_per_recipient(
    as_admin_a, company_a, team_a
):
    free_licenses(company_a, 25)
    response = as_admin_a.post("/devices/add/", batch_payload(team=team_a))
    assert response.status_code == 302
    assert response["Location"].startswith("/devices/codes/sheet/?batch=")

    devices = _batch_devices(company_a)
    assert [device.nickname for device in devices] == [f"Van tablet {n:02d}" for n in range(1, 21)]
    assert len({device.license_id for device in devices}) == 20
    assert all(device.team_id == team_a.pk and device.description == "Rollout day" for device in devices)
    with company_scope(company_a):
        codes = list(RegistrationCode.objects.filter(device__in=devices))
        emails = list(OutboxEmail.objects.all())
    assert len(codes) == 20
    assert len({code.batch_id for code in codes}) == 1
    assert len({code.digest for code in codes}) == 20
    batch_id = codes[0].batch_id
    # One email per recipient for the whole batch, not one per device.
    assert sorted(email.recipient for email in emails) == ["lead@a.example", "tech@a.example"]
    assert all(email.batch_id == batch_id and email.registration_code_id is None for email in emails)

    with scopes_disabled():
        events = list(AuditEvent.objects.filter(batch_id=batch_id))
    actions = sorted(event.action for event in events)
    assert actions == ["device.added"] * 20 + ["device.batch_added"]
    batch_event = next(event for event in events if event.action == "device.batch_added")
    assert batch_event.data["added"] == 20
    assert batch_event.team_id == team_a.pk
    # Never a code in the audit trail.
    trail = json.dumps([[e.summary, e.data, e.changes] for e in events])
    for code in codes:
        plain = code_unseal(code.sealed_code)
        assert plain
        assert plain not in trail
        assert code_format(plain) not in trail


def test_generated_nicknames_skip_names_the_company_already_has(as_admin_a, company_a, team_a, default_team_a):
    licenses = free_licenses(company_a, 6)
    with company_scope(company_a):
        DeviceFactory(company=company_a, team=default_team_a, license=licenses[0], nickname="van TABLET 02")
    as_admin_a.post("/devices/add/", batch_payload(team=team_a, quantity="3"))
    assert [d.nickname for d in _batch_devices(company_a)] == ["Van tablet 01", "Van tablet 03", "Van tablet 04"]


def test_a_list_of_nicknames_adds_one_device_per_line(as_admin_a, company_a, team_a):
    free_licenses(company_a, 5)
    as_admin_a.post(
        "/devices/add/",
        batch_payload(team=team_a, quantity="1", nickname="", nicknames="Bay 1 iPad\r\n\r\n  Bay 2 iPad \nDétail ✓\n"),
    )
    assert [d.nickname for d in _batch_devices(company_a)] == ["Bay 1 iPad", "Bay 2 iPad", "Détail ✓"]


def test_team_clients_and_functionality_apply_to_every_device(as_admin_a, company_a, team_a):
    free_licenses(company_a, 3)
    with company_scope(company_a):
        client = Client.objects.create(company=company_a, name="Wholesale One", client_type="wholesale")
    as_admin_a.post(
        "/devices/add/",
        batch_payload(
            team=team_a,
            quantity="3",
            time_zone="Europe/Berlin",
            client_selection_type="wholesale",
            client_scope="selected",
            assigned_clients=[str(client.pk)],
            functionality_mode="custom",
            functionality=["service_requests"],
        ),
    )
    devices = _batch_devices(company_a)
    assert len(devices) == 3
    with company_scope(company_a):
        links = DeviceClient.objects.filter(device__in=devices, client=client).count()
    assert links == 3
    for device in devices:
        assert (device.time_zone, device.client_selection_type, device.client_scope) == (
            "Europe/Berlin",
            "wholesale",
            "selected",
        )
        assert device.functionality_mode == "custom"
        assert device.functionality == ["service_requests"]


def test_fewer_free_licenses_than_asked_refuses_the_whole_batch_and_changes_nothing(as_admin_a, company_a, team_a):
    free_licenses(company_a, 12)
    before = snapshot()
    response = as_admin_a.post("/devices/add/", batch_payload(team=team_a))
    assert response.status_code == 200
    assert "Only 12 licenses are free; you asked for 20." in response.content.decode()
    assert snapshot() == before


def test_as_many_as_there_are_licenses_adds_the_first_ones(as_admin_a, company_a, team_a):
    free_licenses(company_a, 12)
    response = as_admin_a.post("/devices/add/", batch_payload(team=team_a, as_many_as_licenses="on"))
    assert response.status_code == 302
    devices = _batch_devices(company_a)
    assert [d.nickname for d in devices] == [f"Van tablet {n:02d}" for n in range(1, 13)]
    with scopes_disabled():
        event = AuditEvent.objects.get(action="device.batch_added")
    assert (event.data["asked"], event.data["added"]) == (20, 12)


def test_as_many_as_there_are_licenses_with_none_free_is_refused(as_admin_a, company_a, team_a):
    before = snapshot()
    response = as_admin_a.post("/devices/add/", batch_payload(team=team_a, as_many_as_licenses="on"))
    assert "No license is free; you asked for 20." in response.content.decode()
    assert snapshot() == before


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"quantity": "0"}, "Enter a number of devices from 1 to 200."),
        ({"quantity": "201"}, "Enter a number of devices from 1 to 200."),
        ({"quantity": "9" * 40}, "Enter a number of devices from 1 to 200."),
        ({"quantity": "-3"}, "Enter a number of devices from 1 to 200."),
        ({"quantity": "2.5"}, "Enter a whole number of devices from 1 to 200."),
        ({"quantity": "1e3"}, "Enter a whole number of devices from 1 to 200."),
        ({"quantity": "3", "nickname": ""}, "This field is required."),
        ({"quantity": "3", "nickname": "x" * 62}, "With a quantity, the nickname is a prefix"),
        ({"quantity": "1", "nicknames": "Bay 1\nBay\x00 2"}, "contains a control character"),
        ({"quantity": "1", "nicknames": "Bay 1\nBay\u200b2"}, "Line 2 contains an invisible"),
        ({"quantity": "1", "nicknames": "Bay 1\n" + "x" * 65}, "Line 2 is 65 characters long; at most 64."),
        ({"quantity": "1", "nicknames": "Bay 1\nBay 2\nbay 1"}, "Line 3 repeats “bay 1” of line 1."),
        ({"quantity": "1", "nicknames": "\n".join(f"D{i}" for i in range(201))}, "At most 200 devices at once"),
        ({"quantity": "3", "nicknames": "Bay 1\nBay 2"}, "Give either a quantity or a list of nicknames"),
        ({"quantity": "3", "team": "99999999999999999999"}, "Select one of your company"),
    ],
)
def test_bad_input_is_a_clear_form_error_and_saves_nothing(as_admin_a, company_a, team_a, overrides, message):
    free_licenses(company_a, 5)
    before = snapshot()
    response = as_admin_a.post("/devices/add/", {**batch_payload(team=team_a), **overrides})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert snapshot() == before


def test_a_listed_nickname_a_device_already_has_refuses_the_batch(as_admin_a, company_a, team_a):
    licenses = free_licenses(company_a, 5)
    with company_scope(company_a):
        DeviceFactory(company=company_a, team=team_a, license=licenses[0], nickname="Bay 2")
    before = snapshot()
    response = as_admin_a.post("/devices/add/", batch_payload(team=team_a, quantity="1", nicknames="Bay 1\nbay 2"))
    assert "A device is already called “Bay 2”" in response.content.decode()
    assert snapshot() == before


def test_over_htmx_the_dialog_shows_the_batch_and_links_its_code_sheet(as_admin_a, company_a, team_a):
    free_licenses(company_a, 3)
    response = as_admin_a.post("/devices/add/", batch_payload(team=team_a, quantity="3"), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert "3 devices added." in html
    assert "Van tablet 03" in html
    assert 'href="/devices/codes/sheet/?batch=' in html
    assert "batch-added" in response["HX-Trigger-After-Settle"]


def test_a_team_administrator_adds_batches_to_their_own_team_only(as_teamadmin_a, company_a, team_a, default_team_a):
    free_licenses(company_a, 4)
    before = snapshot()
    response = as_teamadmin_a.post("/devices/add/", batch_payload(team=default_team_a, quantity="2"))
    assert "Team Administrators may pick only their own team." in response.content.decode()
    assert snapshot() == before
    assert as_teamadmin_a.post("/devices/add/", batch_payload(team=team_a, quantity="2")).status_code == 302
    assert {d.team_id for d in _batch_devices(company_a)} == {team_a.pk}


def test_a_viewer_cannot_add_a_batch(as_viewer_a, company_a, team_a):
    free_licenses(company_a, 4)
    before = snapshot()
    assert as_viewer_a.post("/devices/add/", batch_payload(team=team_a, quantity="2")).status_code == 403
    assert snapshot() == before


def test_one_device_still_takes_the_license_picked(as_admin_a, company_a, team_a):
    licenses = free_licenses(company_a, 3)
    response = as_admin_a.post(
        "/devices/add/", batch_payload(team=team_a, quantity="1", license=str(licenses[2].pk), nickname="Solo")
    )
    assert response.status_code == 302
    with company_scope(company_a):
        device = Device.objects.get(nickname="Solo")
        assert device.license_id == licenses[2].pk
        assert OutboxEmail.objects.filter(registration_code__device=device).count() == 2


def test_the_pending_section_shows_the_batch_email_on_each_row(as_admin_a, company_a, team_a):
    free_licenses(company_a, 2)
    as_admin_a.post("/devices/add/", batch_payload(team=team_a, quantity="2", recipients=["lead@a.example"]))
    html = as_admin_a.get("/devices/").content.decode()
    section = html.split('id="pending-registrations"', 1)[1].split('id="device-table"', 1)[0]
    assert section.count("lead@a.example") == 2


def test_the_service_refuses_what_the_form_would(company_a, team_a, admin_a):
    free_licenses(company_a, 3)
    with company_scope(company_a):
        for kwargs, key in (
            ({"quantity": 0}, "quantity"),
            ({"quantity": 201}, "quantity"),
            ({"nicknames": ["a", "A"]}, "nicknames"),
            ({"nicknames": ["a\x00"]}, "nicknames"),
            # A lone surrogate cannot come through a form (the request decodes as UTF-8), only from code.
            ({"nicknames": ["ok", "b\ud800"]}, "nicknames"),
        ):
            with pytest.raises(ValidationError) as caught:
                devices_add_batch(acting_user=admin_a, team=team_a, nickname_prefix="T", **kwargs)
            assert key in caught.value.message_dict
        assert Device.objects.count() == 0
