"""
Saved views of the Active Devices page: a named search + filters + sort +
page size per user, optionally shared with the company.
"""

import html
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from backoffice.audit.models import AuditEvent
from backoffice.devices.models import SavedView
from backoffice.devices.selectors import DeviceListState
from backoffice.devices.services import (
    MAX_SAVED_VIEWS_PER_USER,
    saved_view_create,
    saved_view_delete,
    saved_view_rename,
)
from backoffice.tenancy.scoping import company_scope
from tests.dbstate import snapshot
from tests.devices.test_active_devices import rows
from tests.factories import DeviceFactory

HTMX = {"HX-Request": "true"}


def views_of(company) -> list[tuple[str, str, str, bool]]:
    with company_scope(company):
        return list(SavedView.objects.order_by("pk").values_list("owner__email", "name", "query", "is_shared"))


def events(company, action: str) -> list[AuditEvent]:
    with company_scope(company):
        return list(AuditEvent.objects.filter(action=action))


def panel(response) -> str:
    """The Saved views panel of the page (or the panel alone, over htmx)."""
    page = html.unescape(response.content.decode())
    return page.split('id="saved-views"', 1)[1].split("</aside>", 1)[0]


def save(http, name: str, query: str = "", **extra):
    return http.post("/devices/views/", {"name": name, "query": query, **extra}, **extra.pop("headers", {}))


# Saving


def test_save_current_stores_the_normalised_list_and_audits_it(as_admin_a, company_a):
    response = as_admin_a.post(
        "/devices/views/",
        {
            "name": "  Android, active  ",
            "query": "nickname=+Van+&p=Android&lic=active&t=abc&sort=bogus&per_page=100&page=3&evil=1",
            "is_shared": "on",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/devices/?nickname=Van&p=Android&lic=active&per_page=100#saved-views"
    assert views_of(company_a) == [
        ("admin@a.example", "Android, active", "nickname=Van&p=Android&lic=active&per_page=100", True)
    ]
    (event,) = events(company_a, "saved_view.created")
    assert event.summary == "Saved view Android, active created and shared"
    page = as_admin_a.get(response["Location"])
    assert "View Android, active saved and shared with the company." in page.content.decode()
    assert re.search(
        r'<a href="/devices/\?nickname=Van&p=Android&lic=active&per_page=100#registered-devices"'
        r' aria-current="true">Android, active</a>',
        panel(page),
    )


def test_save_over_htmx_answers_the_panel(as_admin_a, company_a):
    response = as_admin_a.post(
        "/devices/views/", {"name": "By version", "query": "sort=version&dir=desc"}, headers=HTMX
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<aside class="card saved-views" id="saved-views"')
    assert "View By version saved." in html
    assert 'href="/devices/?sort=version&amp;dir=desc#registered-devices" aria-current="true">By version<' in html
    assert views_of(company_a) == [("admin@a.example", "By version", "sort=version&dir=desc", False)]


def test_a_viewer_may_save_views(as_viewer_a, company_a):
    assert as_viewer_a.post("/devices/views/", {"name": "Mine", "query": "seen=never"}).status_code == 302
    assert views_of(company_a) == [("viewer@a.example", "Mine", "seen=never", False)]


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("", "This field is required."),
        ("   ", "This field is required."),
        ("x" * 61, "Ensure this value has at most 60 characters (it has 61)."),
        ("tab\tname", "Name contains a control character."),
        ("nul\x00name", "Name contains a control character."),
        ("bidi\u202ename", "Name contains an invisible or text-direction character"),
        ("zero\u200bwidth", "Name contains an invisible or text-direction character"),
    ],
)
def test_hostile_names_are_refused_and_change_nothing(as_admin_a, company_a, name, error):
    before = snapshot()
    response = as_admin_a.post("/devices/views/", {"name": name, "query": "lic=none"}, headers=HTMX)
    assert response.status_code == 200
    assert error in response.content.decode().replace("&#x27;", "'")
    assert 'aria-invalid="true"' in response.content.decode()
    assert snapshot() == before


def test_hostile_name_without_javascript_says_why_on_the_page(as_admin_a, company_a):
    before = snapshot()
    response = as_admin_a.post("/devices/views/", {"name": "a\x07b", "query": "lic=none"}, follow=True)
    assert "Name contains a control character." in response.content.decode()
    assert snapshot() == before


def test_names_are_unique_per_user_whatever_the_case(as_admin_a, as_viewer_a, company_a):
    assert save(as_admin_a, "Fleet").status_code == 302
    before = snapshot()
    response = as_admin_a.post("/devices/views/", {"name": "FLEET", "query": ""}, headers=HTMX)
    assert "You already have a saved view with this name." in response.content.decode()
    assert snapshot() == before
    # Another person may use the same name.
    assert save(as_viewer_a, "fleet").status_code == 302
    assert [row[:2] for row in views_of(company_a)] == [("admin@a.example", "Fleet"), ("viewer@a.example", "fleet")]


def test_at_most_fifty_views_per_user(admin_a, as_admin_a, company_a):
    with company_scope(company_a):
        for i in range(MAX_SAVED_VIEWS_PER_USER):
            saved_view_create(acting_user=admin_a, name=f"View {i}", state=DeviceListState())
    before = snapshot()
    response = as_admin_a.post("/devices/views/", {"name": "One more", "query": ""}, headers=HTMX)
    assert "You have 50 saved views, the most there can be; delete one to save another." in response.content.decode()
    assert snapshot() == before


def test_a_search_too_long_to_store_is_refused(as_admin_a, company_a):
    long_box = "\u00e9" * 100
    query = "&".join(f"{box}={long_box}" for box in ("team", "license", "nickname", "platform", "version"))
    before = snapshot()
    response = as_admin_a.post("/devices/views/", {"name": "Long", "query": query}, headers=HTMX)
    assert "This search is too long to save; shorten the search boxes." in response.content.decode()
    assert snapshot() == before


# Listing and opening


def test_shared_views_are_listed_for_every_member_private_ones_only_for_their_owner(
    admin_a, viewer_a, teamadmin_a, as_viewer_a, as_teamadmin_a, as_admin_b, company_a
):
    with company_scope(company_a):
        saved_view_create(acting_user=admin_a, name="Shared by admin", state=DeviceListState(), is_shared=True)
        saved_view_create(acting_user=admin_a, name="Private of admin", state=DeviceListState())
        saved_view_create(acting_user=viewer_a, name="Viewer's own", state=DeviceListState())
    viewer_panel = panel(as_viewer_a.get("/devices/"))
    assert "Shared by admin" in viewer_panel
    assert "by admin@a.example" in viewer_panel
    assert "Viewer's own" in viewer_panel
    assert "Private of admin" not in viewer_panel
    team_panel = panel(as_teamadmin_a.get("/devices/"))
    assert "Shared by admin" in team_panel
    assert "Viewer's own" not in team_panel
    # Another company sees none of them.
    other = as_admin_b.get("/devices/").content.decode()
    assert "Shared by admin" not in other
    assert "Private of admin" not in other


def test_a_shared_view_shows_each_person_only_what_they_may_see(
    teamadmin_a, admin_a, as_admin_a, as_teamadmin_a, company_a, team_a, default_team_a
):
    with company_scope(company_a):
        DeviceFactory(company=company_a, team=team_a, nickname="Alpha tablet", platform="Android")
        DeviceFactory(company=company_a, team=default_team_a, nickname="Default tablet", platform="Android")
        DeviceFactory(company=company_a, team=default_team_a, nickname="Default phone", platform="iOS")
        by_team_admin = saved_view_create(
            acting_user=teamadmin_a,
            name="Android",
            state=DeviceListState.from_query({"p": "Android"}),
            is_shared=True,
        )
        by_admin = saved_view_create(
            acting_user=admin_a,
            name="Tablets",
            state=DeviceListState.from_query({"nickname": "tablet"}),
            is_shared=True,
        )
    # The Team Administrator's view, opened by the Administrator: every team's Android devices.
    assert rows(as_admin_a.get(f"/devices/?{by_team_admin.query}")) == ["Alpha tablet", "Default tablet"]
    # The Administrator's view, opened by the Team Administrator: their own team only.
    assert rows(as_teamadmin_a.get(f"/devices/?{by_admin.query}")) == ["Alpha tablet"]


# Renaming and deleting


def test_rename_and_share_own_view(admin_a, as_admin_a, company_a):
    with company_scope(company_a):
        view = saved_view_create(acting_user=admin_a, name="Old", state=DeviceListState.from_query({"lic": "none"}))
    response = as_admin_a.post(
        f"/devices/views/{view.pk}/rename/",
        {"name": "Unlicensed", "is_shared": "on", "query": "lic=none"},
        headers=HTMX,
    )
    assert "View Unlicensed saved." in response.content.decode()
    assert views_of(company_a) == [("admin@a.example", "Unlicensed", "lic=none", True)]
    (event,) = events(company_a, "saved_view.renamed")
    assert event.summary == "Saved view Old renamed to Unlicensed"
    assert event.data["is_shared"] is True


def test_rename_to_a_taken_or_hostile_name_changes_nothing(admin_a, as_admin_a, company_a):
    with company_scope(company_a):
        saved_view_create(acting_user=admin_a, name="Taken", state=DeviceListState())
        view = saved_view_create(acting_user=admin_a, name="Mine", state=DeviceListState())
    before = snapshot()
    for name, error in [("taken", "You already have a saved view with this name."), ("x\x1by", "control character")]:
        response = as_admin_a.post(f"/devices/views/{view.pk}/rename/", {"name": name}, headers=HTMX)
        assert error in response.content.decode()
        assert f'id="rename-{view.pk}" name="name"' in response.content.decode()
    assert snapshot() == before


def test_delete_own_view(admin_a, as_admin_a, company_a):
    with company_scope(company_a):
        view = saved_view_create(acting_user=admin_a, name="Gone soon", state=DeviceListState())
    response = as_admin_a.post(f"/devices/views/{view.pk}/delete/", {"query": "lic=none"})
    assert response.status_code == 302
    assert response["Location"] == "/devices/?lic=none#saved-views"
    assert views_of(company_a) == []
    (event,) = events(company_a, "saved_view.deleted")
    assert event.summary == "Saved view Gone soon deleted"


@pytest.mark.parametrize("action", ["rename", "delete"])
@pytest.mark.parametrize("shared", [False, True])
def test_another_persons_or_companys_view_answers_404(
    admin_a, as_viewer_a, as_teamadmin_a, as_admin_b, company_a, action, shared
):
    with company_scope(company_a):
        view = saved_view_create(acting_user=admin_a, name="Admin's", state=DeviceListState(), is_shared=shared)
    before = snapshot()
    for http in (as_viewer_a, as_teamadmin_a, as_admin_b):
        assert http.post(f"/devices/views/{view.pk}/{action}/", {"name": "Stolen"}).status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("pk", ["999999", "99999999999999999999999"])
def test_missing_views_answer_404(as_admin_a, pk):
    assert as_admin_a.post(f"/devices/views/{pk}/rename/", {"name": "x"}).status_code == 404
    assert as_admin_a.post(f"/devices/views/{pk}/delete/").status_code == 404


def test_saved_view_endpoints_take_post_only(admin_a, as_admin_a, company_a):
    with company_scope(company_a):
        view = saved_view_create(acting_user=admin_a, name="Mine", state=DeviceListState())
    for url in ("/devices/views/", f"/devices/views/{view.pk}/rename/", f"/devices/views/{view.pk}/delete/"):
        assert as_admin_a.get(url).status_code == 405


def test_saved_view_posts_need_the_csrf_token(admin_a, company_a):
    from django.test import Client

    http = Client(enforce_csrf_checks=True)
    http.force_login(admin_a)
    before = snapshot()
    assert http.post("/devices/views/", {"name": "No token", "query": ""}).status_code == 403
    assert snapshot() == before


# Services


def test_services_check_the_acting_user(admin_a, viewer_a, admin_b, company_a):
    with company_scope(company_a):
        view = saved_view_create(acting_user=admin_a, name="Owned", state=DeviceListState(), is_shared=True)
        before = snapshot()
        with pytest.raises(PermissionDenied):
            saved_view_rename(acting_user=viewer_a, view=view, name="Taken over", is_shared=False)
        with pytest.raises(PermissionDenied):
            saved_view_delete(acting_user=admin_b, view=view)
        with pytest.raises(ValidationError):
            saved_view_create(acting_user=admin_a, name="bad\u2066name", state=DeviceListState())
        assert snapshot() == before
