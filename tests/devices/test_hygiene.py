"""
Data hygiene on the Active Devices page: the Reg Date is never after the
Change Date (a registration is the device's latest change), and counts are
told in words that agree with them (one device, two devices).
"""

import datetime
import re

import pytest
from django.test import Client as HttpClient
from django.utils import timezone

from backoffice.devices.codes import code_format, code_unseal
from backoffice.devices.models import Device, RegistrationCode
from backoffice.devices.services import device_update, registration_code_replace
from backoffice.devices.services.registration import registration_housekeeping
from backoffice.organization.selectors import team_delete_refusal
from backoffice.tenancy.scoping import company_scope
from tests.device_api.conftest import make_pending, register
from tests.devices.conftest import device_payload, snapshot
from tests.factories import ClientFactory, DeviceFactory, EmployeeFactory, LicenseFactory, TeamFactory, make_user


def stored(device) -> Device:
    with company_scope(device.company):
        return Device.objects.get(pk=device.pk)


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


# Reg Date and Change Date


def test_a_registration_sets_reg_date_and_change_date_to_the_same_moment(company_a, team_a):
    # The device was added (and last changed) an hour before the code is entered.
    pending = make_pending(company_a, team_a, changed_at=timezone.now() - datetime.timedelta(hours=1))
    before = timezone.now()
    response = register(HttpClient(), code_format(pending.code))
    assert response.status_code == 201, response.content
    device = stored(pending.device)
    assert device.registered_at is not None
    assert device.registered_at == device.changed_at == device.last_check_in_at
    assert device.registered_at >= before


def test_a_re_registration_moves_both_dates(company_a, team_a, admin_a):
    pending = make_pending(company_a, team_a)
    assert register(HttpClient(), pending.code).status_code == 201
    first = stored(pending.device)
    with company_scope(company_a):
        code = registration_code_replace(device=first, acting_user=admin_a)
    plain = code_unseal(code.sealed_code)
    assert register(HttpClient(), plain, device_id="NEW-PHONE-1").status_code == 201
    again = stored(pending.device)
    assert again.registered_at == again.changed_at
    assert again.registered_at > first.registered_at


def test_an_edit_never_sets_a_change_date_before_the_reg_date(company_a, team_a, admin_a):
    """A Reg Date stored by a server whose clock ran ahead: the edit's Change Date does not go before it."""
    ahead = timezone.now() + datetime.timedelta(minutes=5)
    with company_scope(company_a):
        device = DeviceFactory(
            company=company_a,
            team=team_a,
            license=LicenseFactory(company=company_a),
            registered_at=ahead,
            changed_at=ahead,
        )
        device_update(
            device=device,
            acting_user=admin_a,
            team=team_a,
            license=device.license,
            nickname="Renamed",
            description="",
            time_zone="",
        )
    device = stored(device)
    assert (device.nickname, device.changed_at) == ("Renamed", ahead)


# Plurals, with one and with two


@pytest.mark.parametrize(("count", "header"), [(1, "1 device matches the search"), (2, "2 devices match the search")])
def test_the_device_list_header_agrees_with_its_count(as_admin_a, company_a, team_a, count, header):
    with company_scope(company_a):
        for n in range(count):
            DeviceFactory(company=company_a, team=team_a, nickname=f"Lot Tablet {n}", app_version="6.1.1")
    text = text_of(as_admin_a.get("/devices/?nickname=lot").content.decode())
    assert header in text
    wrong = "1 device match the search" if count == 1 else "2 devices matches the search"
    assert wrong not in text


@pytest.mark.parametrize(
    ("count", "label"), [(1, "Version 6.1.1: 1 device, 100%"), (2, "Version 6.1.1: 2 devices, 100%")]
)
def test_the_chart_labels_agree_with_their_counts(as_admin_a, company_a, team_a, count, label):
    with company_scope(company_a):
        for n in range(count):
            DeviceFactory(company=company_a, team=team_a, nickname=f"Chart {n}", app_version="6.1.1")
    html = as_admin_a.get("/devices/").content.decode()
    assert f'aria-label="{label}"' in html
    assert "1 devices" not in html


@pytest.mark.parametrize(
    ("count", "sentence"),
    [
        (1, "Move its 1 device, 1 employee and 1 Team Administrator to another team first."),
        (2, "Move its 2 devices, 2 employees and 2 Team Administrators to another team first."),
    ],
)
def test_the_team_delete_refusal_agrees_with_its_counts(company_a, count, sentence):
    with company_scope(company_a):
        team = TeamFactory(company=company_a)
        for _ in range(count):
            DeviceFactory(company=company_a, team=team)
            EmployeeFactory(company=company_a, team=team)
            make_user(company_a, "team_administrator", team=team)
        assert team_delete_refusal(team=team) == sentence


@pytest.mark.parametrize("count", [1, 2])
def test_housekeeping_reports_in_agreeing_words(company_a, team_a, count):
    for _ in range(count):
        pending = make_pending(company_a, team_a)
        with company_scope(company_a):
            RegistrationCode.objects.filter(pk=pending.row.pk).update(
                expires_at=timezone.now() - datetime.timedelta(days=8)
            )
    result = registration_housekeeping()
    if count == 1:
        assert "wiped 1 expired code copy, released 1 license of expired codes" in result
    else:
        assert "wiped 2 expired code copies, released 2 licenses of expired codes" in result


@pytest.mark.parametrize(("count", "words"), [(1, "1 license"), (2, "2 licenses")])
def test_the_licenses_page_count_agrees(as_admin_a, company_a, count, words):
    with company_scope(company_a):
        for _ in range(count):
            LicenseFactory(company=company_a)
    text = text_of(as_admin_a.get("/licenses/").content.decode())
    assert f"{words} · showing 1–{count}" in text


# Warnings in the Device dialog: the first OK warns, "Save anyway" saves


def device_rows(company) -> list[str]:
    with company_scope(company):
        return list(Device.objects.order_by("pk").values_list("nickname", flat=True))


def warnings_box(html: str) -> str:
    match = re.search(r'<div class="message message--warning dialog-warnings".*?</div>', html, re.S)
    return text_of(match.group(0)) if match else ""


DUPLICATE = (
    "Another device waiting for registration is already called “{name}”: their rows and codes are easy to mix up. "
    "Change the nickname, or save anyway."
)
NO_CLIENTS = (
    "No clients are assigned: with Wholesale and Selected this device will get no clients. "
    "Add clients on the Clients tab, or save anyway."
)


@pytest.mark.parametrize("htmx", [False, True])
def test_a_duplicate_pending_nickname_warns_then_saves_anyway(as_admin_a, company_a, team_a, licenses_a, htmx):
    make_pending(company_a, team_a, nickname="Bay 3 iPad")
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    data = device_payload(team=team_a, license=licenses_a[0], nickname="bay 3 IPAD")
    before = snapshot(company_a)
    first = as_admin_a.post("/devices/add/", data, **headers)
    assert first.status_code == 200
    html = first.content.decode()
    assert warnings_box(html) == "Check before saving " + DUPLICATE.format(name="bay 3 IPAD")
    assert '<input type="hidden" name="acknowledged" value="nickname:bay 3 ipad">' in html
    assert re.search(r'<button type="submit" name="action" value="save" class="btn"[^>]*>Save anyway</button>', html)
    assert snapshot(company_a) == before
    second = as_admin_a.post("/devices/add/", {**data, "acknowledged": ["nickname:bay 3 ipad"]}, **headers)
    assert second.status_code == (204 if htmx else 302)
    assert device_rows(company_a)[-1] == "bay 3 IPAD"


def test_an_acknowledgement_of_another_nickname_does_not_count(as_admin_a, company_a, team_a, licenses_a):
    make_pending(company_a, team_a, nickname="Bay 3 iPad")
    make_pending(company_a, team_a, nickname="Bay 4 iPad")
    data = device_payload(team=team_a, license=licenses_a[0], nickname="Bay 4 iPad")
    before = snapshot(company_a)
    response = as_admin_a.post("/devices/add/", {**data, "acknowledged": ["nickname:bay 3 ipad"]})
    assert response.status_code == 200
    assert DUPLICATE.format(name="Bay 4 iPad") in warnings_box(response.content.decode())
    assert snapshot(company_a) == before


def test_a_registered_device_of_that_name_is_no_reason_to_warn(as_admin_a, company_a, team_a, licenses_a):
    with company_scope(company_a):
        DeviceFactory(company=company_a, team=team_a, nickname="Bay 3 iPad")
    response = as_admin_a.post("/devices/add/", device_payload(team=team_a, license=licenses_a[0]))
    assert response.status_code == 302


def test_another_companys_pending_nickname_is_no_reason_to_warn(as_admin_b, company_a, company_b, team_a):
    make_pending(company_a, team_a, nickname="Bay 3 iPad")
    with company_scope(company_b):
        team = TeamFactory(company=company_b)
        lic = LicenseFactory(company=company_b)
    response = as_admin_b.post("/devices/add/", device_payload(team=team, license=lic))
    assert response.status_code == 302


@pytest.mark.parametrize("htmx", [False, True])
def test_wholesale_selected_with_no_clients_warns_then_saves_anyway(as_admin_a, company_a, team_a, licenses_a, htmx):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    data = device_payload(
        team=team_a, license=licenses_a[0], client_selection_type="wholesale", client_scope="selected"
    )
    before = snapshot(company_a)
    first = as_admin_a.post("/devices/add/", data, **headers)
    assert first.status_code == 200
    assert warnings_box(first.content.decode()) == "Check before saving " + NO_CLIENTS
    assert snapshot(company_a) == before
    second = as_admin_a.post("/devices/add/", {**data, "acknowledged": "no_clients"}, **headers)
    assert second.status_code == (204 if htmx else 302)
    with company_scope(company_a):
        device = Device.objects.get(nickname="Bay 3 iPad")
    assert (device.client_selection_type, device.client_scope) == ("wholesale", "selected")


def test_wholesale_selected_with_a_client_saves_at_once(as_admin_a, company_a, team_a, licenses_a):
    with company_scope(company_a):
        client = ClientFactory(company=company_a, name="Metro Ford")
    data = device_payload(
        team=team_a,
        license=licenses_a[0],
        client_selection_type="wholesale",
        client_scope="selected",
        assigned_clients=[str(client.pk)],
    )
    assert as_admin_a.post("/devices/add/", data).status_code == 302


def test_both_warnings_at_once_need_both_acknowledgements(as_admin_a, company_a, team_a, licenses_a):
    make_pending(company_a, team_a, nickname="Bay 3 iPad")
    data = device_payload(
        team=team_a, license=licenses_a[0], client_selection_type="wholesale", client_scope="selected"
    )
    before = snapshot(company_a)
    box = warnings_box(as_admin_a.post("/devices/add/", data).content.decode())
    assert box == "Check before saving " + DUPLICATE.format(name="Bay 3 iPad") + " " + NO_CLIENTS
    assert as_admin_a.post("/devices/add/", {**data, "acknowledged": "no_clients"}).status_code == 200
    assert snapshot(company_a) == before
    both = {**data, "acknowledged": ["no_clients", "nickname:bay 3 ipad"]}
    assert as_admin_a.post("/devices/add/", both).status_code == 302


def test_edit_warns_only_about_what_changed(as_admin_a, company_a, team_a):
    """An unchanged nickname or Clients tab was seen when it was saved: Edit does not warn about it again."""
    with company_scope(company_a):
        device = DeviceFactory(
            company=company_a,
            team=team_a,
            license=LicenseFactory(company=company_a),
            nickname="Bay 3 iPad",
            client_selection_type="wholesale",
            client_scope="selected",
        )
    make_pending(company_a, team_a, nickname="Bay 3 iPad")
    data = {
        "team": str(team_a.pk),
        "time_zone": "",
        "license": str(device.license_id),
        "nickname": "Bay 3 iPad",
        "description": "Renamed shift",
        "client_selection_type": "wholesale",
        "client_scope": "selected",
        "functionality_mode": "company",
        "action": "save",
    }
    assert as_admin_a.post(f"/devices/{device.pk}/edit/", data).status_code == 302
    with company_scope(company_a):
        other = DeviceFactory(company=company_a, team=team_a, license=LicenseFactory(company=company_a))
    response = as_admin_a.post(f"/devices/{other.pk}/edit/", {**data, "license": str(other.license_id)})
    assert response.status_code == 200
    box = warnings_box(response.content.decode())
    assert DUPLICATE.format(name="Bay 3 iPad") in box
    assert "will get only the wholesale clients of its own service requests, inspections and work orders" in box
