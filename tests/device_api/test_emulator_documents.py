"""
The emulator's document command end to end, as docs/clients-and-functionality.md
walks through it: a work order recorded under Both + All keeps its wholesale
client on the device after it is switched to Wholesale + Selected.
"""

import json

import pytest

from backoffice.devices.clients import ClientSettings
from backoffice.devices.codes import code_format
from backoffice.devices.models import Device
from backoffice.devices.services import device_update
from backoffice.documents.models import Document
from backoffice.organization.choices import ClientType
from backoffice.organization.services import company_create
from backoffice.tenancy.choices import Role
from backoffice.tenancy.permissions import OPERATOR_COMMAND
from backoffice.tenancy.scoping import company_scope
from tests.device_api.conftest import make_pending
from tests.device_api.test_emulator import emulator
from tests.factories import ClientFactory, TeamFactory, make_user


@pytest.mark.django_db(transaction=True)
def test_document_command_and_the_three_wholesale_clients(live_server, tmp_path):
    company = company_create(acting_user=OPERATOR_COMMAND, name="Docs Co", default_time_zone="UTC")
    admin = make_user(company, Role.ADMINISTRATOR, email="docs-admin@example.com")
    with company_scope(company):
        team = TeamFactory(company=company, name="Crew")
        first = ClientFactory(company=company, client_type=ClientType.WHOLESALE, name="Alpha Fleet")
        second = ClientFactory(company=company, client_type=ClientType.WHOLESALE, name="Bravo Fleet")
        third = ClientFactory(company=company, client_type=ClientType.WHOLESALE, name="Charlie Fleet")
        ClientFactory(company=company, client_type=ClientType.WHOLESALE, name="Delta Fleet")
        ClientFactory(company=company, client_type=ClientType.RETAIL, name="Walk-in")
    pending = make_pending(company, team, nickname="Docs tablet")
    state = tmp_path / "device.json"
    done = emulator("register", code_format(pending.code), "--server", live_server.url, "--state", str(state))
    assert done.returncode == 0, done.stderr

    recorded = emulator(
        "document", "--kind", "work_order", "--number", "WO-1001", "--client-id", str(third.pk), "--state", str(state)
    )
    assert recorded.returncode == 0, recorded.stderr
    assert "Recorded work_order WO-1001" in recorded.stdout

    with company_scope(company):
        device = Device.objects.select_related("team", "license", "company").get(pk=pending.device.pk)
        device_update(
            device=device,
            acting_user=admin,
            team=device.team,
            license=device.license,
            nickname=device.nickname,
            clients=ClientSettings(
                client_selection_type="wholesale", client_scope="selected", assigned_client_ids=(first.pk, second.pk)
            ),
        )
    config = json.loads(emulator("config", "--state", str(state)).stdout)
    assert [c["name"] for c in config["clients"]] == ["Alpha Fleet", "Bravo Fleet", "Charlie Fleet"]
    assert config["functionality"] == company.default_functionality

    with company_scope(company):
        device = Device.objects.select_related("team", "license", "company").get(pk=pending.device.pk)
        device_update(
            device=device,
            acting_user=admin,
            team=device.team,
            license=device.license,
            nickname=device.nickname,
            functionality_mode="custom",
            functionality=["work_orders", "photos"],
        )
    assert "has changed" in emulator("check-in", "--state", str(state)).stdout
    config = json.loads(emulator("config", "--state", str(state)).stdout)
    assert config["functionality"] == ["work_orders", "photos"]
    assert len(config["clients"]) == 3

    refused = emulator(
        "document", "--kind", "inspection", "--number", "I-1", "--client-id", "999999", "--state", str(state)
    )
    assert refused.returncode == 1
    assert "client_not_available" in refused.stderr
    with company_scope(company):
        assert Document.objects.count() == 1
