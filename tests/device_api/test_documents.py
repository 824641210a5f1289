"""POST /documents: a document for a client the device may choose, and nothing else."""

import pytest

from backoffice.audit.models import AuditEvent
from backoffice.devices.models import Device, DeviceClient
from backoffice.documents.models import Document
from backoffice.organization.choices import ClientType
from backoffice.tenancy.scoping import company_scope, scopes_disabled
from tests.device_api.conftest import API, bearer, post_json
from tests.factories import ClientFactory


def set_clients(device, **fields):
    with scopes_disabled():
        Device.objects.filter(pk=device.pk).update(**fields)


@pytest.fixture
def clients(company_a):
    with company_scope(company_a):
        return {
            "retail": ClientFactory(company=company_a, client_type=ClientType.RETAIL, name="Walk-in"),
            "assigned": ClientFactory(company=company_a, client_type=ClientType.WHOLESALE, name="Assigned Fleet"),
            "other": ClientFactory(company=company_a, client_type=ClientType.WHOLESALE, name="Other Fleet"),
            "archived": ClientFactory(
                company=company_a, client_type=ClientType.WHOLESALE, name="Gone Fleet", is_active=False
            ),
        }


def record(http, credential, **body):
    payload = {"kind": "work_order", "number": "WO-1001", **body}
    return post_json(http, "/documents", payload, **bearer(credential))


def documents_count() -> int:
    with scopes_disabled():
        return Document.objects.count()


def test_records_a_document_for_an_available_client(http, registered, clients):
    response = record(http, registered.credential, client_id=clients["assigned"].pk, number="  WO-1001 ")
    assert response.status_code == 201
    body = response.json()
    assert {k: body[k] for k in ("kind", "number", "client_id")} == {
        "kind": "work_order",
        "number": "WO-1001",
        "client_id": clients["assigned"].pk,
    }
    with scopes_disabled():
        document = Document.objects.get(pk=body["id"])
        assert (document.device_id, document.company_id) == (registered.device.pk, registered.device.company_id)
        assert AuditEvent.objects.filter(action="document.recorded", company_id=document.company_id).count() == 1


def test_selected_device_may_record_only_its_clients(http, registered, company_a, clients):
    set_clients(registered.device, client_selection_type="wholesale", client_scope="selected")
    with company_scope(company_a):
        DeviceClient.objects.create(company=company_a, device=registered.device, client=clients["assigned"])
    for name in ("retail", "other", "archived"):
        response = record(http, registered.credential, client_id=clients[name].pk)
        assert response.status_code == 403, name
        assert response.json()["error"] == "client_not_available"
    assert documents_count() == 0
    assert record(http, registered.credential, client_id=clients["assigned"].pk).status_code == 201


def test_foreign_and_missing_clients_look_alike(http, registered, company_b):
    with company_scope(company_b):
        foreign = ClientFactory(company=company_b, client_type=ClientType.WHOLESALE)
    answers = [record(http, registered.credential, client_id=pk) for pk in (foreign.pk, 999_999_999, 2**63 - 1)]
    assert {r.status_code for r in answers} == {403}
    assert {r.content for r in answers} == {answers[0].content}
    assert documents_count() == 0


def test_credential_required(http, registered, clients):
    response = post_json(http, "/documents", {"kind": "work_order", "number": "1", "client_id": clients["assigned"].pk})
    assert response.status_code == 401
    assert response.json()["error"] == "credential_invalid"
    assert record(http, "nonsense", client_id=clients["assigned"].pk).status_code == 401
    assert documents_count() == 0


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "invoice", "number": "1", "client_id": 1},
        {"kind": "work_order", "number": "", "client_id": 1},
        {"kind": "work_order", "number": "   ", "client_id": 1},
        {"kind": "work_order", "number": "x" * 65, "client_id": 1},
        {"kind": "work_order", "number": "1", "client_id": "1"},
        {"kind": "work_order", "number": "1", "client_id": 1.5},
        {"kind": "work_order", "number": "1", "client_id": True},
        {"kind": "work_order", "number": "1", "client_id": 10**30},
        {"kind": "work_order", "number": "1", "client_id": 0},
        {"kind": "work_order", "number": "1", "client_id": -5},
        {"kind": "work_order", "number": "1"},
        {"kind": "work_order", "number": "1", "client_id": 1, "device_id": 3},
        {"kind": "work_order", "number": 1001, "client_id": 1},
        [],
        "null",
    ],
)
def test_bad_input_is_422_never_500(http, registered, body):
    response = post_json(http, "/documents", body, **bearer(registered.credential))
    assert response.status_code == 422, response.content
    assert response.json()["error"] == "invalid_request"
    assert documents_count() == 0


def test_malformed_json_is_400(http, registered):
    response = post_json(http, "/documents", "{not json", **bearer(registered.credential))
    assert response.status_code == 400
    assert documents_count() == 0


def test_a_recorded_wholesale_client_stays_available_under_selected(http, registered, company_a, clients):
    assert record(http, registered.credential, client_id=clients["other"].pk).status_code == 201
    set_clients(registered.device, client_selection_type="wholesale", client_scope="selected")
    config = http.get(f"{API}/config", headers=bearer(registered.credential)).json()
    assert [c["name"] for c in config["clients"]] == ["Other Fleet"]
    assert record(http, registered.credential, client_id=clients["other"].pk, number="WO-1002").status_code == 201
