"""The device emulator, end to end against a live server, through the public HTTP API only."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from backoffice.devices.codes import code_format
from backoffice.devices.models import Device
from backoffice.organization.models import Team
from backoffice.organization.services import company_create
from backoffice.tenancy.permissions import OPERATOR_COMMAND
from backoffice.tenancy.scoping import company_scope, scopes_disabled
from tests.device_api.conftest import make_pending
from tests.factories import EmployeeFactory, TeamFactory

EMULATOR = Path(__file__).resolve().parents[2] / "bin" / "backoffice-device"


def emulator(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(EMULATOR), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": ""},
    )


@pytest.mark.django_db(transaction=True)
def test_register_check_in_and_config(live_server, tmp_path):
    company = company_create(acting_user=OPERATOR_COMMAND, name="Emulator Co", default_time_zone="Europe/London")
    with company_scope(company):
        team = TeamFactory(company=company, name="Mobile Crew", time_zone="Europe/Dublin")
        EmployeeFactory(company=company, team=team, name="Pat Field")
    pending = make_pending(company, team, nickname="Loaner phone")
    state = tmp_path / "device.json"

    wrong = emulator("register", "ZZZZZ-ZZZZZ", "--server", live_server.url, "--state", str(state))
    assert wrong.returncode == 1
    assert "code_invalid" in wrong.stderr
    assert not state.exists()

    done = emulator(
        "register",
        code_format(pending.code).lower(),
        "--server",
        live_server.url,
        "--state",
        str(state),
        "--platform",
        "iOS",
        "--version",
        "5.4.1",
        "--name",
        "Pat's iPhone",
        "--device-id",
        "EMU-1",
        "--os-type",
        "iOS 18",
    )
    assert done.returncode == 0, done.stderr
    assert "Loaner phone" in done.stdout
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    saved = json.loads(state.read_text())
    assert pending.code not in state.read_text()
    with scopes_disabled():
        device = Device.objects.get(pk=pending.device.pk)
    assert (device.device_name, device.device_identifier, device.platform, device.os_type) == (
        "Pat's iPhone",
        "EMU-1",
        "iOS",
        "iOS 18",
    )

    checked = emulator("check-in", "--state", str(state), "--version", "5.5.0")
    assert checked.returncode == 0, checked.stderr
    assert "unchanged" in checked.stdout
    with scopes_disabled():
        assert Device.objects.get(pk=pending.device.pk).app_version == "5.5.0"

    shown = emulator("config", "--state", str(state))
    assert shown.returncode == 0, shown.stderr
    config = json.loads(shown.stdout)
    assert config["team"]["name"] == "Mobile Crew"
    assert [e["name"] for e in config["employees"]] == ["Pat Field"]
    assert config["time_zone"] == "Europe/Dublin"
    assert json.loads(state.read_text())["config_etag"] == saved["config_etag"]

    with company_scope(company):
        Team.objects.filter(pk=team.pk).update(time_zone="Europe/Lisbon")
    checked = emulator("check-in", "--state", str(state))
    assert "has changed" in checked.stdout
    assert json.loads(emulator("config", "--state", str(state)).stdout)["time_zone"] == "Europe/Lisbon"

    # A deleted device's credential is refused, with advice.
    with scopes_disabled():
        Device.objects.filter(pk=pending.device.pk).delete()
    refused = emulator("check-in", "--state", str(state))
    assert refused.returncode == 1
    assert "credential_invalid" in refused.stderr
    assert "Register it again" in refused.stderr


def test_usage_errors(tmp_path):
    missing = emulator("check-in", "--state", str(tmp_path / "none.json"))
    assert missing.returncode == 2
    assert "register" in missing.stderr
    unreachable = emulator("register", "BCDFG-HJKLM", "--server", "http://127.0.0.1:9", "--state", str(tmp_path / "s"))
    assert unreachable.returncode == 3
    assert "Cannot reach" in unreachable.stderr
