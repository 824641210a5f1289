"""The Allowed Functionality tab: Use Company Settings follows the company; Custom is the device's own set."""

import pytest

from backoffice.devices.models import Device
from backoffice.devices.selectors import device_effective_config
from backoffice.tenancy.models import Company
from backoffice.tenancy.scoping import company_scope
from backoffice.tenancy.services import company_settings_update
from tests.devices.conftest import device_payload, snapshot


@pytest.fixture(autouse=True)
def _company_set(company_a):
    Company.objects.filter(pk=company_a.pk).update(default_functionality=["inspections", "work_orders"])


def config_of(company, nickname="Bay 3 iPad"):
    with company_scope(company):
        device = Device.objects.select_related("team", "company").get(nickname=nickname)
        return device, device_effective_config(device=device)


def test_the_tab_starts_custom_from_the_company_set(as_admin_a):
    html = as_admin_a.get("/devices/add/").content.decode()
    assert 'name="functionality_mode" value="company" checked' in html
    assert 'value="inspections" checked' in html
    assert 'value="work_orders" checked' in html
    assert 'value="photos" checked' not in html
    assert "> Use Company Settings <" in html
    assert "> Custom</label>" in html


def test_use_company_settings_follows_a_later_company_change(as_admin_a, admin_a, company_a, team_a, licenses_a):
    response = as_admin_a.post(
        "/devices/add/",
        device_payload(team=team_a, license=licenses_a[0], functionality_mode="company", functionality=["photos"]),
    )
    assert response.status_code == 302
    device, config = config_of(company_a)
    assert (device.functionality_mode, device.functionality) == ("company", [])
    assert config["functionality"] == ["inspections", "work_orders"]
    company_settings_update(acting_user=admin_a, default_time_zone="America/Chicago", default_functionality=["photos"])
    assert config_of(company_a)[1]["functionality"] == ["photos"]


def test_custom_is_the_devices_own_set_in_catalog_order(as_admin_a, admin_a, company_a, team_a, licenses_a):
    response = as_admin_a.post(
        "/devices/add/",
        device_payload(
            team=team_a, license=licenses_a[0], functionality_mode="custom", functionality=["signatures", "photos"]
        ),
    )
    assert response.status_code == 302
    device, config = config_of(company_a)
    assert device.functionality == ["photos", "signatures"]
    assert config["functionality"] == ["photos", "signatures"]
    company_settings_update(
        acting_user=admin_a, default_time_zone="America/Chicago", default_functionality=["invoices"]
    )
    assert config_of(company_a)[1]["functionality"] == ["photos", "signatures"]


def test_edit_switches_to_custom_and_back(as_admin_a, company_a, team_a, licenses_a):
    as_admin_a.post("/devices/add/", device_payload(team=team_a, license=licenses_a[0]))
    device, _ = config_of(company_a)
    html = as_admin_a.get(f"/devices/{device.pk}/edit/").content.decode()
    assert 'value="inspections" checked' in html
    base = {
        "team": str(team_a.pk),
        "time_zone": "",
        "license": str(device.license_id),
        "nickname": device.nickname,
        "description": "",
        "client_selection_type": "both",
        "client_scope": "all",
        "action": "save",
    }
    assert (
        as_admin_a.post(
            f"/devices/{device.pk}/edit/", {**base, "functionality_mode": "custom", "functionality": ["vin_scanner"]}
        ).status_code
        == 302
    )
    assert config_of(company_a)[1]["functionality"] == ["vin_scanner"]
    assert as_admin_a.post(f"/devices/{device.pk}/edit/", {**base, "functionality_mode": "company"}).status_code == 302
    assert config_of(company_a)[1]["functionality"] == ["inspections", "work_orders"]


@pytest.mark.parametrize(
    "values", [{"functionality_mode": "everything"}, {"functionality_mode": "custom", "functionality": ["root"]}]
)
def test_values_outside_the_catalog_are_refused(as_admin_a, company_a, team_a, licenses_a, values):
    before = snapshot(company_a)
    response = as_admin_a.post("/devices/add/", device_payload(team=team_a, license=licenses_a[0], **values))
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert snapshot(company_a) == before


def test_service_refuses_unknown_functionality(admin_a, company_a, team_a, licenses_a):
    from django.core.exceptions import ValidationError

    from backoffice.devices.services import device_add

    with company_scope(company_a), pytest.raises(ValidationError) as refused:
        device_add(
            acting_user=admin_a,
            team=team_a,
            license=licenses_a[0],
            nickname="X",
            functionality_mode="custom",
            functionality=["teleport"],
        )
    assert "functionality" in refused.value.message_dict
    assert snapshot(company_a)["devices"] == 0


def test_custom_still_starts_from_the_company_set_after_a_round_trip(as_admin_a, team_a, licenses_a):
    data = device_payload(team=team_a, license=licenses_a[0], functionality_mode="company", action="preview")
    html = as_admin_a.post("/devices/add/", data).content.decode()
    assert 'value="inspections" checked' in html
    assert 'value="work_orders" checked' in html
