"""The device page: what it shows, who may see and act on it, and its fixed query count."""

import datetime
import html as html_lib
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backoffice.audit.services import audit_record
from backoffice.devices.models import CheckInKind, DeviceCheckIn
from backoffice.devices.selectors.detail import HISTORY_PER_PAGE
from backoffice.documents.choices import DocumentKind
from backoffice.organization.choices import ClientType
from backoffice.tenancy.models import Company
from backoffice.tenancy.permissions import DEMO_DATA
from backoffice.tenancy.scoping import company_scope, scopes_disabled
from tests.factories import (
    AreaFactory,
    ClientFactory,
    DeviceFactory,
    DocumentFactory,
    EmployeeFactory,
)


def page_url(device) -> str:
    return f"/devices/{device.pk}/"


@pytest.fixture
def device_a(company_a, team_a):
    with company_scope(company_a):
        return DeviceFactory(company=company_a, team=team_a, nickname="Van 7 tablet", recipients=["tech@a.example"])


@pytest.fixture
def other_team_device_a(company_a, default_team_a):
    with company_scope(company_a):
        return DeviceFactory(company=company_a, team=default_team_a, nickname="Yard phone")


def test_the_page_shows_settings_reported_details_and_the_configuration(as_admin_a, company_a, team_a, device_a):
    with company_scope(company_a):
        EmployeeFactory(company=company_a, team=team_a, name="Ana Alvarez")
        ClientFactory(company=company_a, name="Metro Ford", client_type=ClientType.RETAIL)
    response = as_admin_a.get(page_url(device_a))
    assert response.status_code == 200
    html = response.content.decode()
    for text in (
        "Van 7 tablet",
        "Alpha Team",
        "Galaxy Tab",
        "Android 14",
        "5.4.1",
        "Ana Alvarez",
        "Metro Ford",
        "tech@a.example",
    ):
        assert text in html
    effective = response.context["effective"]
    assert html_lib.escape(effective.etag) in html
    assert [c.name for c in effective.clients] == ["Metro Ford"]
    assert effective.clients[0].reasons == ["Client Selection Type Both, All"]
    assert f'href="/audit/?device={device_a.pk}"' in html


def test_each_client_says_why_it_is_available(as_admin_a, company_a, team_a, device_a):
    with company_scope(company_a):
        area = AreaFactory(company=company_a, name="North")
        team_a.area = area
        team_a.save()
        Company.objects.filter(pk=company_a.pk).update(area_support=True)
        retail = ClientFactory(company=company_a, name="Corner Garage", client_type=ClientType.RETAIL)
        assigned = ClientFactory(company=company_a, name="Metro Ford")
        used = ClientFactory(company=company_a, name="Fleet Lease")
        in_area = ClientFactory(company=company_a, name="North Motors", area=area)
        ClientFactory(company=company_a, name="Not Available")
        device_a.client_scope = "selected"
        device_a.include_area_clients = True
        device_a.save()
        device_a.client_links.create(company=company_a, client=assigned)
        DocumentFactory(company=company_a, device=device_a, client=used)
    effective = as_admin_a.get(page_url(device_a)).context["effective"]
    reasons = {client.name: client.reasons for client in effective.clients}
    assert reasons == {
        retail.name: ["All retail clients (not selected one by one)"],
        assigned.name: ["Assigned to this device"],
        used.name: ["Used in documents recorded on this device"],
        in_area.name: ["From area North"],
    }
    assert [client["name"] for client in effective.config["clients"]] == sorted(reasons)


def test_a_team_administrator_sees_and_acts_on_own_team_only(as_teamadmin_a, device_a, other_team_device_a):
    own = as_teamadmin_a.get(page_url(device_a))
    assert own.status_code == 200
    assert own.context["can_act"] is True
    assert f'hx-get="/devices/{device_a.pk}/edit/"' in own.content.decode()
    assert as_teamadmin_a.get(page_url(other_team_device_a)).status_code == 404


def test_a_viewer_sees_the_page_without_any_action(as_viewer_a, device_a):
    response = as_viewer_a.get(page_url(device_a))
    assert response.status_code == 200
    html = response.content.decode()
    assert response.context["can_act"] is False
    for action in ("/edit/", "/delete/", "/replace/", "/cancel/"):
        assert f"/devices/{device_a.pk}{action}" not in html


def test_another_company_and_bad_ids_answer_404(as_admin_b, as_admin_a, device_a):
    assert as_admin_b.get(page_url(device_a)).status_code == 404
    for pk in ("0", "99999999", str(2**63), "9" * 40):
        assert as_admin_a.get(f"/devices/{pk}/").status_code == 404


def test_anonymous_is_sent_to_sign_in(client, device_a):
    response = client.get(page_url(device_a))
    assert response.status_code == 302


def _fill(company, device, n: int) -> None:
    """``n`` audit events, documents and check-ins on ``device``, with one client per document."""
    now = timezone.now()
    with company_scope(company):
        clients = [ClientFactory(company=company, client_type=ClientType.WHOLESALE) for _ in range(min(n, 5))]
        for i in range(n):
            audit_record(
                company=company,
                actor=DEMO_DATA,
                action="device.updated",
                obj=device,
                summary=f"edit {i}",
                changes=[{"field": "Nickname", "old": f"a{i}", "new": f"b{i}"}],
            )
            kind = DocumentKind.values[i % len(DocumentKind.values)]
            DocumentFactory(company=company, device=device, client=clients[i % len(clients)], kind=kind)
        DeviceCheckIn.objects.bulk_create(
            DeviceCheckIn(
                company=company,
                device=device,
                at=now - datetime.timedelta(hours=i),
                kind=CheckInKind.CHANGED if i % 10 == 0 else CheckInKind.SAMPLE,
                device_name="Tab",
                os_type="Android 14",
                platform="Android",
                app_version=f"5.4.{i // 10}",
            )
            for i in range(n)
        )


def _count_queries(http, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert http.get(url).status_code == 200
    return len(queries)


def test_the_query_count_does_not_grow_with_the_lists(as_admin_a, company_a, team_a, device_a):
    with company_scope(company_a):
        small = DeviceFactory(company=company_a, team=team_a, nickname="Small")
    _fill(company_a, small, 1)
    _fill(company_a, device_a, 100)
    as_admin_a.get(page_url(small))  # warm the session and the user
    one = _count_queries(as_admin_a, page_url(small))
    hundred = _count_queries(as_admin_a, page_url(device_a))
    assert one == hundred
    # Later pages too.
    assert _count_queries(as_admin_a, page_url(device_a) + "?trail=2&documents=3&history=2") == hundred


def test_the_trail_shows_who_when_and_what_changed_never_data(as_admin_a, company_a, device_a):
    with company_scope(company_a):
        audit_record(
            company=company_a,
            actor=DEMO_DATA,
            action="device.updated",
            obj=device_a,
            summary="Van 7 tablet edited",
            data={"client_address": "203.0.113.9"},
            changes=[{"field": "Team", "old": "Downtown", "new": "Fleet Services"}],
        )
    html = as_admin_a.get(page_url(device_a)).content.decode()
    assert "Team: Downtown → Fleet Services" in html
    assert "Demo data loader" in html
    assert "203.0.113.9" not in html


def test_the_trail_is_paged_newest_first(as_admin_a, company_a, device_a):
    _fill(company_a, device_a, 60)
    first = as_admin_a.get(page_url(device_a))
    events = list(first.context["trail"].object_list)
    assert len(events) == 50
    assert events[0].summary == "edit 59"
    second = as_admin_a.get(page_url(device_a) + "?trail=2").context["trail"]
    assert [e.summary for e in second.object_list] == [f"edit {i}" for i in range(9, -1, -1)]
    documents = first.context["documents"]
    assert documents.paginator.count == 60
    assert len(documents.object_list) == 25


def test_the_history_shows_changes_old_to_new_and_summarises_samples(as_admin_a, company_a, device_a):
    start = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0) - datetime.timedelta(days=2)
    rows = [
        (start, CheckInKind.REGISTERED, "5.4.1"),
        (start + datetime.timedelta(hours=1), CheckInKind.SAMPLE, "5.4.1"),
        (start + datetime.timedelta(hours=2), CheckInKind.SAMPLE, "5.4.1"),
        (start + datetime.timedelta(hours=3), CheckInKind.SAMPLE, "5.4.1"),
        (start + datetime.timedelta(hours=4), CheckInKind.CHANGED, "5.4.2"),
    ]
    with company_scope(company_a):
        for at, kind, version in rows:
            DeviceCheckIn.objects.create(
                company=company_a,
                device=device_a,
                at=at,
                kind=kind,
                device_name="Tab",
                os_type="Android 14",
                platform="Android",
                app_version=version,
            )
    response = as_admin_a.get(page_url(device_a))
    timeline = response.context["timeline"]
    assert [entry.kind for entry in timeline] == ["changed", "sample", "registered"]
    assert timeline[0].changes == [("ReconPro", "5.4.1", "5.4.2")]
    assert timeline[1].count == 3
    html = response.content.decode()
    assert "ReconPro 5.4.1 → 5.4.2" in html
    assert "Checked in 3 times between" in html


def test_the_oldest_change_on_a_page_compares_with_the_next_page(as_admin_a, company_a, device_a):
    now = timezone.now()
    with company_scope(company_a):
        DeviceCheckIn.objects.bulk_create(
            DeviceCheckIn(
                company=company_a,
                device=device_a,
                at=now - datetime.timedelta(days=i),
                kind=CheckInKind.CHANGED,
                app_version=f"5.{1000 - i}",
            )
            for i in range(HISTORY_PER_PAGE + 1)
        )
    timeline = as_admin_a.get(page_url(device_a)).context["timeline"]
    assert len(timeline) == HISTORY_PER_PAGE
    oldest = 1000 - HISTORY_PER_PAGE
    assert timeline[-1].changes == [("ReconPro", f"5.{oldest}", f"5.{oldest + 1}")]
    second = as_admin_a.get(page_url(device_a) + "?history=2").context["timeline"]
    assert len(second) == 1
    assert second[0].changes == []  # nothing older to compare with


def test_edit_on_the_page_reloads_the_page(as_admin_a, company_a, device_a, default_team_a):
    from tests.devices.conftest import device_payload

    with company_scope(company_a):
        from tests.factories import LicenseFactory

        license = LicenseFactory(company=company_a)
        device_a.license = license
        device_a.save()
    payload = device_payload(team=default_team_a, license=license, nickname="Van 7 tablet", recipients=None)
    payload.pop("expires_in")
    response = as_admin_a.post(
        f"/devices/{device_a.pk}/edit/",
        payload,
        headers={"HX-Request": "true", "HX-Current-URL": f"http://testserver/devices/{device_a.pk}/"},
    )
    assert response.status_code == 204, response.content.decode()[:2000]
    trigger = json.loads(response["HX-Trigger"])
    assert trigger["toast"]["message"] == "Van 7 tablet saved."
    assert "device-changed" in trigger
    assert "registrations-changed" in trigger  # closes the dialog
    with scopes_disabled():
        device_a.refresh_from_db()
    assert device_a.team_id == default_team_a.pk


def test_delete_on_the_page_goes_back_to_the_list(as_admin_a, device_a):
    response = as_admin_a.post(
        f"/devices/{device_a.pk}/delete/",
        headers={"HX-Request": "true", "HX-Current-URL": f"http://testserver/devices/{device_a.pk}/"},
    )
    assert response["HX-Redirect"] == "/devices/"
    assert as_admin_a.get(page_url(device_a)).status_code == 404


def test_bad_page_numbers_give_a_page_never_an_error(as_admin_a, company_a, device_a):
    _fill(company_a, device_a, 3)
    bad = ("documents=abc", "trail=-1", "history=" + "9" * 40, "trail=%00", "documents=%ED%A0%80", "history=1.5")
    for query in bad:
        response = as_admin_a.get(f"{page_url(device_a)}?{query}")
        assert response.status_code == 200, query


def _from_the_page(http, device, action: str):
    return http.post(
        f"/devices/{device.pk}/{action}/",
        headers={"HX-Request": "true", "HX-Current-URL": f"http://testserver/devices/{device.pk}/"},
    )


def test_replace_and_cancel_on_the_page_refresh_it(as_admin_a, company_a, device_a):
    with company_scope(company_a):
        from tests.factories import LicenseFactory

        device_a.license = LicenseFactory(company=company_a)
        device_a.save()
    replaced = _from_the_page(as_admin_a, device_a, "replace")
    assert replaced.status_code == 204
    trigger = json.loads(replaced["HX-Trigger"])
    assert "device-changed" in trigger
    assert trigger["toast"]["level"] == "success"
    page = as_admin_a.get(page_url(device_a))
    assert page.context["open_code"] is not None
    assert "Cancel replacement code" in page.content.decode()
    cancelled = _from_the_page(as_admin_a, device_a, "cancel")
    assert json.loads(cancelled["HX-Trigger"])["toast"]["message"].startswith("Replacement code for Van 7 tablet")
    assert as_admin_a.get(page_url(device_a)).context["open_code"] is None


def test_a_pending_device_page_offers_cancel_registration(as_admin_a, company_a, team_a):
    from tests.device_api.conftest import make_pending

    pending = make_pending(company_a, team_a, nickname="Waiting tablet")
    page = as_admin_a.get(page_url(pending.device))
    html = page.content.decode()
    assert "Cancel registration" in html
    assert "Waiting for its registration code" in html
    assert f"/devices/{pending.device.pk}/delete/" not in html
    assert page.context["effective"].config["device"]["nickname"] == "Waiting tablet"
    assert page.context["timeline"] == []
