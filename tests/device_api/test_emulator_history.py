"""A version upgrade reported by the emulator, through the public API, shows in the device's check-in history."""

import pytest

from backoffice.devices.codes import code_format
from backoffice.devices.models import DeviceCheckIn
from backoffice.organization.services import company_create
from backoffice.tenancy.choices import Role
from backoffice.tenancy.permissions import OPERATOR_COMMAND
from backoffice.tenancy.scoping import company_scope, scopes_disabled
from tests.conftest import login
from tests.device_api.conftest import make_pending
from tests.device_api.test_emulator import emulator
from tests.factories import TeamFactory, make_user


@pytest.mark.django_db(transaction=True)
def test_an_upgrade_reported_by_the_emulator_appears_in_the_history(live_server, tmp_path):
    company = company_create(acting_user=OPERATOR_COMMAND, name="Upgrade Co", default_time_zone="Europe/London")
    with company_scope(company):
        team = TeamFactory(company=company, name="Mobile Crew", time_zone="Europe/Dublin")
    pending = make_pending(company, team, nickname="Loaner phone")
    state = str(tmp_path / "device.json")
    server = ["--server", live_server.url]
    done = emulator("register", code_format(pending.code), *server, "--state", state, "--version", "5.4.1")
    assert done.returncode == 0, done.stderr

    same = emulator("check-in", "--state", state, "--version", "5.4.1")
    assert same.returncode == 0, same.stderr
    upgraded = emulator("check-in", "--state", state, "--version", "5.4.2")
    assert upgraded.returncode == 0, upgraded.stderr

    with scopes_disabled():
        rows = list(DeviceCheckIn.objects.filter(device_id=pending.device.pk).order_by("at", "id"))
    assert [(row.kind, row.app_version) for row in rows] == [("registered", "5.4.1"), ("changed", "5.4.2")]

    http = login(make_user(company, Role.VIEWER, email="viewer@upgrade.example"))
    page = http.get(f"/devices/{pending.device.pk}/")
    assert page.status_code == 200
    assert "ReconPro 5.4.1 → 5.4.2" in page.content.decode()
