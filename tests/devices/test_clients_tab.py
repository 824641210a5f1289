"""The Clients tab of the Device dialog: Add and Edit, the Assigned Clients box, its search, the database rule."""

import pytest
from django.db import IntegrityError, transaction

from backoffice.audit.models import AuditEvent
from backoffice.devices.models import Device, DeviceClient
from backoffice.documents.models import Document
from backoffice.organization.models import Client
from backoffice.tenancy.models import Company
from backoffice.tenancy.scoping import company_scope
from tests.devices.clients_setup import R, W, lay_out
from tests.devices.conftest import device_payload, snapshot
from tests.factories import ClientFactory, DeviceFactory, LicenseFactory


@pytest.fixture
def layout(company_a, team_a):
    return lay_out(company_a, team_a)


@pytest.fixture
def device_a(company_a, team_a, layout):
    with company_scope(company_a):
        return DeviceFactory(
            company=company_a, team=team_a, license=LicenseFactory(company=company_a), nickname="Bay 7"
        )


def clients_of(device) -> set[int]:
    with company_scope(device.company):
        return set(DeviceClient.objects.filter(device=device).values_list("client_id", flat=True))


def edit_payload(device, **overrides) -> dict:
    data = {
        "team": str(device.team_id),
        "time_zone": device.time_zone,
        "license": str(device.license_id),
        "nickname": device.nickname,
        "description": device.description,
        "client_selection_type": "both",
        "client_scope": "all",
        "functionality_mode": "company",
        "action": "save",
    }
    data.update(overrides)
    return data


def test_add_dialog_has_three_tabs_and_the_clients_controls(as_admin_a, layout):
    html = as_admin_a.get("/devices/add/").content.decode()
    for tab in ("Device Settings", "Clients", "Allowed Functionality"):
        assert 'role="tab"' in html
        assert f">{tab}</button>" in html
    assert html.count('role="tabpanel"') == 3
    assert 'name="client_selection_type" value="wholesale"' in html
    assert 'name="client_scope" value="selected"' in html
    assert "Include ALL from Area" in html
    assert 'list="client-options"' in html
    assert "wholesale_in · #" in html  # offered in the drop-down
    assert "retail_in · #" not in html  # retail clients are never offered
    assert "The device will get" in html


def test_add_saves_wholesale_selected_with_two_clients(as_admin_a, company_a, team_a, licenses_a, layout):
    picked = layout.ids("wholesale_picked", "wholesale_in")
    response = as_admin_a.post(
        "/devices/add/",
        device_payload(
            team=team_a,
            license=licenses_a[0],
            client_selection_type="wholesale",
            client_scope="selected",
            assigned_clients=[str(pk) for pk in sorted(picked)],
            functionality_mode="custom",
            functionality=["photos", "inspections"],
        ),
    )
    assert response.status_code == 302
    with company_scope(company_a):
        device = Device.objects.get(nickname="Bay 3 iPad")
        assert (device.client_selection_type, device.client_scope) == ("wholesale", "selected")
        assert device.functionality == ["inspections", "photos"]
        event = AuditEvent.objects.get(action="device.added")
    assert clients_of(device) == picked
    assert sorted(event.data["assigned_client_ids"]) == sorted(picked)


@pytest.mark.parametrize(
    ("overrides", "field_error"),
    [
        (
            {"client_selection_type": "retail", "client_scope": "selected"},
            "Particular retail clients cannot be selected",
        ),
        ({"client_scope": "selected", "assigned_clients": ["RETAIL"]}, "Only wholesale clients can be assigned"),
        ({"client_scope": "selected", "assigned_clients": ["FOREIGN"]}, "Select your company&#x27;s clients"),
        ({"client_scope": "selected", "assigned_clients": ["ARCHIVED"]}, "Archived clients cannot be assigned"),
        ({"client_scope": "selected", "assigned_clients": ["12x"]}, "Select clients from the list."),
        ({"functionality_mode": "custom", "functionality": ["teleport"]}, "Select a valid choice"),
    ],
)
def test_add_refuses_bad_client_settings_and_changes_nothing(
    as_admin_a, company_a, company_b, team_a, licenses_a, layout, overrides, field_error
):
    with company_scope(company_b):
        foreign = ClientFactory(company=company_b, client_type=W, name="Foreign")
    replace = {
        "RETAIL": str(layout.clients["retail_in"].pk),
        "FOREIGN": str(foreign.pk),
        "ARCHIVED": str(layout.clients["wholesale_archived"].pk),
    }
    if "assigned_clients" in overrides:
        overrides = {**overrides, "assigned_clients": [replace.get(v, v) for v in overrides["assigned_clients"]]}
    before = snapshot(company_a)
    response = as_admin_a.post("/devices/add/", device_payload(team=team_a, license=licenses_a[0], **overrides))
    assert response.status_code == 200
    assert field_error in response.content.decode()
    assert snapshot(company_a) == before
    with company_scope(company_a):
        assert DeviceClient.objects.count() == 0


def test_edit_replaces_assigned_clients_sets_change_date_and_audits(as_admin_a, company_a, device_a, layout):
    with company_scope(company_a):
        DeviceClient.objects.create(company=company_a, device=device_a, client=layout.clients["wholesale_out"])
    before = device_a.changed_at
    response = as_admin_a.post(
        f"/devices/{device_a.pk}/edit/",
        edit_payload(
            device_a,
            client_selection_type="wholesale",
            client_scope="selected",
            assigned_clients=[str(layout.clients["wholesale_picked"].pk), str(layout.clients["wholesale_in"].pk)],
        ),
    )
    assert response.status_code == 302
    assert clients_of(device_a) == layout.ids("wholesale_picked", "wholesale_in")
    with company_scope(company_a):
        device_a.refresh_from_db()
        event = AuditEvent.objects.filter(action="device.changed").latest("pk")
    assert device_a.changed_at > before
    assert {"assigned_clients", "client_scope", "client_selection_type"} <= set(event.data["changed"])


def test_edit_with_another_companys_client_changes_nothing(as_admin_a, company_a, company_b, device_a, layout):
    with company_scope(company_b):
        foreign = ClientFactory(company=company_b, client_type=W)
    with company_scope(company_a):
        DeviceClient.objects.create(company=company_a, device=device_a, client=layout.clients["wholesale_out"])
    before = device_a.changed_at
    response = as_admin_a.post(
        f"/devices/{device_a.pk}/edit/",
        edit_payload(
            device_a, client_selection_type="wholesale", client_scope="selected", assigned_clients=[str(foreign.pk)]
        ),
    )
    assert response.status_code == 200
    assert "Select your company&#x27;s clients" in response.content.decode()
    assert clients_of(device_a) == layout.ids("wholesale_out")
    with company_scope(company_a):
        device_a.refresh_from_db()
    assert (device_a.client_scope, device_a.changed_at) == ("all", before)


def test_add_and_delete_buttons_round_trip_without_javascript(as_admin_a, team_a, licenses_a, layout):
    picked = layout.clients["wholesale_picked"]
    data = device_payload(
        team=team_a, license=licenses_a[0], client_scope="selected", client_pick=f"wholesale_picked · #{picked.pk}"
    )
    data["action"] = "add_client"
    data["tab"] = "clients"  # the tab the Add button is on
    html = as_admin_a.post("/devices/add/", data).content.decode()
    assert f'<input type="hidden" name="assigned_clients" value="{picked.pk}">' in html
    assert 'aria-label="Delete wholesale_picked"' in html
    assert 'value="Bay 3 iPad"' in html  # the rest of the dialog as entered
    assert '<input type="hidden" name="tab" value="clients" data-tab-state>' in html  # back on the Clients tab

    by_name = {**data, "client_pick": "WHOLESALE_IN", "assigned_clients": [str(picked.pk)]}
    html = as_admin_a.post("/devices/add/", by_name).content.decode()
    assert html.count('name="assigned_clients"') == 2

    unknown = {**data, "client_pick": "retail_in"}
    html = as_admin_a.post("/devices/add/", unknown).content.decode()
    assert "No active wholesale client is called" in html
    assert 'name="assigned_clients"' not in html

    removed = {**data, "assigned_clients": [str(picked.pk)], "remove_client": str(picked.pk)}
    removed.pop("action")
    html = as_admin_a.post("/devices/add/", removed).content.decode()
    assert 'name="assigned_clients"' not in html
    assert "No assigned clients." in html


def test_clients_used_in_documents_are_shown_on_edit(as_admin_a, company_a, device_a, layout):
    with company_scope(company_a):
        Document.objects.create(
            company=company_a, kind="work_order", number="WO-9", client=layout.clients["wholesale_doc"], device=device_a
        )
        Document.objects.create(
            company=company_a, kind="work_order", number="WO-8", client=layout.clients["retail_out"], device=device_a
        )
    html = as_admin_a.get(f"/devices/{device_a.pk}/edit/").content.decode()
    assert 'wholesale_doc <span class="badge badge--neutral">used in documents</span>' in html
    assert "retail_out <span" not in html


def test_area_support_off_hides_the_check_box_and_ignores_a_forged_value(
    as_admin_a, company_a, team_a, licenses_a, layout
):
    Company.objects.filter(pk=company_a.pk).update(area_support=False)
    html = as_admin_a.get("/devices/add/").content.decode()
    assert "Include ALL from Area" not in html
    response = as_admin_a.post(
        "/devices/add/",
        device_payload(
            team=team_a,
            license=licenses_a[0],
            client_selection_type="both",
            client_scope="all",
            include_area_clients="on",
        ),
    )
    assert response.status_code == 302
    with company_scope(company_a):
        assert Device.objects.get(nickname="Bay 3 iPad").include_area_clients is False


def test_area_support_on_saves_the_check_box(as_admin_a, company_a, team_a, licenses_a, layout):
    response = as_admin_a.post(
        "/devices/add/",
        device_payload(
            team=team_a,
            license=licenses_a[0],
            client_selection_type="wholesale",
            client_scope="selected",
            include_area_clients="on",
        ),
    )
    assert response.status_code == 302
    with company_scope(company_a):
        assert Device.objects.get(nickname="Bay 3 iPad").include_area_clients is True


def test_retail_clients_cannot_be_assigned_in_the_database(company_a, device_a, layout):
    with company_scope(company_a):
        with pytest.raises(IntegrityError), transaction.atomic():
            DeviceClient.objects.create(company=company_a, device=device_a, client=layout.clients["retail_in"])
        link = DeviceClient.objects.create(company=company_a, device=device_a, client=layout.clients["wholesale_in"])
        with pytest.raises(IntegrityError), transaction.atomic():
            DeviceClient.objects.filter(pk=link.pk).update(client=layout.clients["retail_out"])
        assert DeviceClient.objects.filter(device=device_a).count() == 1


def test_a_client_changed_to_retail_leaves_the_devices(company_a, device_a, layout):
    with company_scope(company_a):
        DeviceClient.objects.create(company=company_a, device=device_a, client=layout.clients["wholesale_in"])
        DeviceClient.objects.create(company=company_a, device=device_a, client=layout.clients["wholesale_out"])
        Client.objects.filter(pk=layout.clients["wholesale_in"].pk).update(client_type=R)
    assert clients_of(device_a) == layout.ids("wholesale_out")


def test_client_search_lists_matching_active_wholesale_clients_only(as_admin_a, company_a, company_b, layout):
    with company_scope(company_a):
        for i in range(60):
            ClientFactory(company=company_a, client_type=W, name=f"Fleet {i:02d}")
    with company_scope(company_b):
        ClientFactory(company=company_b, client_type=W, name="wholesale_foreign")
    html = as_admin_a.get(
        "/devices/clients/search/", {"q": "WHOLESALE"}, headers={"HX-Request": "true"}
    ).content.decode()
    for name in ("wholesale_in", "wholesale_out", "wholesale_picked", "wholesale_doc"):
        assert f"{name} · #{layout.clients[name].pk}" in html
    assert "archived" not in html
    assert "retail" not in html
    assert "foreign" not in html
    many = as_admin_a.get("/devices/clients/search/", {"q": "fleet"}).content.decode()
    assert many.count("<option") == 50
    own_name = as_admin_a.get("/devices/clients/search/", {"client_pick": "picked"}).content.decode()
    assert own_name.count("<option") == 1


def test_preview_counts_the_unsaved_settings(as_admin_a, team_a, licenses_a, layout):
    data = device_payload(
        team=team_a,
        license=licenses_a[0],
        client_selection_type="wholesale",
        client_scope="selected",
        assigned_clients=[str(layout.clients["wholesale_picked"].pk)],
        functionality_mode="custom",
        functionality=["photos"],
    )
    html = as_admin_a.post("/devices/add/preview/", data, headers={"HX-Request": "true"}).content.decode()
    assert "<strong>1 client</strong>: wholesale_picked." in html
    assert "<strong>Functionality:</strong> Photos." in html
    assert "<form" not in html


def test_preview_on_edit_includes_document_clients(as_admin_a, company_a, device_a, layout):
    with company_scope(company_a):
        Document.objects.create(
            company=company_a, kind="inspection", number="I-1", client=layout.clients["wholesale_doc"], device=device_a
        )
    data = edit_payload(device_a, client_selection_type="wholesale", client_scope="selected")
    html = as_admin_a.post(f"/devices/{device_a.pk}/edit/preview/", data).content.decode()
    assert "<strong>1 client</strong>: wholesale_doc." in html


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/devices/clients/search/?q=a"),
        ("post", "/devices/add/preview/"),
        ("post", "/devices/DEVICE/edit/preview/"),
    ],
)
def test_viewer_is_refused_every_new_url(as_viewer_a, device_a, method, path):
    response = getattr(as_viewer_a, method)(path.replace("DEVICE", str(device_a.pk)))
    assert response.status_code == 403


def test_team_administrator_limits(as_teamadmin_a, as_admin_b, company_a, default_team_a, device_a, layout):
    with company_scope(company_a):
        other = DeviceFactory(company=company_a, team=default_team_a, license=LicenseFactory(company=company_a))
    assert as_teamadmin_a.post(f"/devices/{other.pk}/edit/preview/", {}).status_code == 404
    assert as_teamadmin_a.post(f"/devices/{device_a.pk}/edit/preview/", {}).status_code == 200
    assert as_teamadmin_a.get("/devices/clients/search/?q=whole").status_code == 200
    assert as_admin_b.post(f"/devices/{device_a.pk}/edit/preview/", {}).status_code == 404
    assert "wholesale" not in as_admin_b.get("/devices/clients/search/?q=whole").content.decode()


def test_preview_refuses_get(as_admin_a):
    assert as_admin_a.get("/devices/add/preview/").status_code == 405
