"""
Every role, and another company's Administrator, against every URL of the
devices app: the action succeeds (and changes the database, with its audit
events), or it is refused (403 for a role that may never do it, 404 for an
object outside the user's team or company) and every table is exactly as
before.
"""

import re

import pytest
from django.urls import get_resolver, resolve

from backoffice.devices.selectors import DeviceListState
from backoffice.devices.services import device_add, saved_view_create
from backoffice.tenancy.scoping import company_scope
from tests.conftest import login
from tests.dbstate import snapshot
from tests.devices.conftest import device_payload
from tests.factories import DeviceFactory, LicenseFactory

ADMIN, TEAM_ADMIN, VIEWER, OTHER_COMPANY = "administrator", "team_administrator", "viewer", "other company"
ROLES = (ADMIN, TEAM_ADMIN, VIEWER, OTHER_COMPANY)


@pytest.fixture
def world(company_a, team_a, default_team_a, admin_a, teamadmin_a, viewer_a, admin_b):
    with company_scope(company_a):
        licenses = [LicenseFactory(company=company_a, number=f"NW-{20001 + i}") for i in range(8)]
        own = DeviceFactory(company=company_a, team=team_a, license=licenses[0], nickname="Own tablet")
        other = DeviceFactory(company=company_a, team=default_team_a, license=licenses[1], nickname="Other tablet")
        own_pending = device_add(
            acting_user=admin_a, team=team_a, license=licenses[2], nickname="Own pending", recipients=["t@a.example"]
        )
        other_pending = device_add(
            acting_user=admin_a,
            team=default_team_a,
            license=licenses[3],
            nickname="Other pending",
            recipients=["o@a.example"],
        )
        objects = {
            "own": own.pk,
            "other": other.pk,
            "own_pending": own_pending.pk,
            "other_pending": other_pending.pk,
            "own_email": own_pending.codes.get().emails.get().pk,
            "other_email": other_pending.codes.get().emails.get().pk,
            "team": team_a.pk,
            "default_team": default_team_a.pk,
            "free_license": licenses[4].pk,
            "spare_license": licenses[5].pk,
            # The Administrator's saved view, shared: only its owner may change it.
            "admin_view": saved_view_create(
                acting_user=admin_a, name="Admin's view", state=DeviceListState(), is_shared=True
            ).pk,
        }
    users = {ADMIN: admin_a, TEAM_ADMIN: teamadmin_a, VIEWER: viewer_a, OTHER_COMPANY: admin_b}
    return objects, users


def add_payload(team: str, license: str) -> dict:
    class Row:
        def __init__(self, pk: str) -> None:
            self.pk = pk

    return device_payload(team=Row(team), license=Row(license), nickname="Matrix tablet")


def edit_payload(team: str, license: str, nickname: str) -> dict:
    return {
        "team": team,
        "time_zone": "",
        "license": license,
        "nickname": nickname,
        "description": "",
        "action": "save",
    }


# (label, method, URL, POST data, outcome by role, audit events on success).
# Outcomes: "ok" (200 for GET, 302 for a POST that writes), "read" (a POST
# that answers 200 and changes nothing) or the refusal status.
ANY_MEMBER = {ADMIN: "ok", TEAM_ADMIN: "ok", VIEWER: "ok", OTHER_COMPANY: "ok"}
WRITERS = {ADMIN: "ok", TEAM_ADMIN: "ok", VIEWER: 403, OTHER_COMPANY: "ok"}
OWN_TEAM = {ADMIN: "ok", TEAM_ADMIN: "ok", VIEWER: 403, OTHER_COMPANY: 404}
OWNER_ONLY = {ADMIN: "ok", TEAM_ADMIN: 404, VIEWER: 404, OTHER_COMPANY: 404}
OTHER_TEAM = {ADMIN: "ok", TEAM_ADMIN: 404, VIEWER: 403, OTHER_COMPANY: 404}
SEEN_OWN = {ADMIN: "ok", TEAM_ADMIN: "ok", VIEWER: "ok", OTHER_COMPANY: 404}
SEEN_OTHER = {ADMIN: "ok", TEAM_ADMIN: 404, VIEWER: "ok", OTHER_COMPANY: 404}

MATRIX = [
    ("list", "get", "/devices/", None, ANY_MEMBER, 0),
    ("report", "get", "/devices/DeviceReport.csv", None, ANY_MEMBER, 0),
    ("pending section", "get", "/devices/pending/", None, ANY_MEMBER, 0),
    ("add form", "get", "/devices/add/", None, WRITERS, 0),
    # The code sheet shows codes: Viewers, who never see them, get 404 like another company.
    (
        "own code sheet",
        "get",
        "/devices/codes/sheet/?ids={own_pending}",
        None,
        {ADMIN: "ok", TEAM_ADMIN: "ok", VIEWER: 404, OTHER_COMPANY: 404},
        0,
    ),
    (
        "other team code sheet",
        "get",
        "/devices/codes/sheet/?ids={own_pending},{other_pending}",
        None,
        {ADMIN: "ok", TEAM_ADMIN: 404, VIEWER: 404, OTHER_COMPANY: 404},
        0,
    ),
    ("client search", "get", "/devices/clients/search/?q=a", None, WRITERS, 0),
    # A pending row's QR image shows its code: those who may act on the device's team.
    ("own QR image", "get", "/devices/{own_pending}/qr.svg", None, OWN_TEAM, 0),
    ("other team QR image", "get", "/devices/{other_pending}/qr.svg", None, OTHER_TEAM, 0),
    ("own device page", "get", "/devices/{own}/", None, SEEN_OWN, 0),
    ("other team device page", "get", "/devices/{other}/", None, SEEN_OTHER, 0),
    ("own edit form", "get", "/devices/{own}/edit/", None, OWN_TEAM, 0),
    ("other team edit form", "get", "/devices/{other}/edit/", None, OTHER_TEAM, 0),
    ("own delete form", "get", "/devices/{own}/delete/", None, OWN_TEAM, 0),
    ("other team delete form", "get", "/devices/{other}/delete/", None, OTHER_TEAM, 0),
    (
        "add",
        "post",
        "/devices/add/",
        {"team": "{team}", "license": "{free_license}"},
        {ADMIN: "ok", TEAM_ADMIN: "ok", VIEWER: 403, OTHER_COMPANY: "read"},
        2,
    ),
    (
        "add preview",
        "post",
        "/devices/add/preview/",
        {"team": "{team}", "license": "{free_license}"},
        {ADMIN: "read", TEAM_ADMIN: "read", VIEWER: 403, OTHER_COMPANY: "read"},
        0,
    ),
    (
        "own edit",
        "post",
        "/devices/{own}/edit/",
        {"edit": ("{team}", "{spare_license}", "Own renamed")},
        OWN_TEAM,
        1,
    ),
    (
        "other team edit",
        "post",
        "/devices/{other}/edit/",
        {"edit": ("{default_team}", "{spare_license}", "Other renamed")},
        OTHER_TEAM,
        1,
    ),
    (
        "own edit preview",
        "post",
        "/devices/{own}/edit/preview/",
        {"edit": ("{team}", "", "Own tablet")},
        {ADMIN: "read", TEAM_ADMIN: "read", VIEWER: 403, OTHER_COMPANY: 404},
        0,
    ),
    (
        "other team edit preview",
        "post",
        "/devices/{other}/edit/preview/",
        {"edit": ("{team}", "", "x")},
        {ADMIN: "read", TEAM_ADMIN: 404, VIEWER: 403, OTHER_COMPANY: 404},
        0,
    ),
    ("own delete", "post", "/devices/{own}/delete/", {}, OWN_TEAM, 1),
    ("other team delete", "post", "/devices/{other}/delete/", {}, OTHER_TEAM, 1),
    ("own replace", "post", "/devices/{own_pending}/replace/", {}, OWN_TEAM, 2),
    ("other team replace", "post", "/devices/{other_pending}/replace/", {}, OTHER_TEAM, 2),
    ("own cancel", "post", "/devices/{own_pending}/cancel/", {}, OWN_TEAM, 1),
    ("other team cancel", "post", "/devices/{other_pending}/cancel/", {}, OTHER_TEAM, 1),
    ("own email resend", "post", "/devices/emails/{own_email}/resend/", {}, OWN_TEAM, 1),
    ("other team email resend", "post", "/devices/emails/{other_email}/resend/", {}, OTHER_TEAM, 1),
    # The selection bar's actions: Viewers get 404 there (they see no selection controls).
    (
        "own bulk time zone",
        "post",
        "/devices/bulk/time_zone/",
        {"ids": "{own}", "time_zone": "Asia/Tokyo", "step": "confirm"},
        {ADMIN: "ok", TEAM_ADMIN: "ok", VIEWER: 404, OTHER_COMPANY: 404},
        2,
    ),
    (
        "other team bulk delete",
        "post",
        "/devices/bulk/delete/",
        {"ids": "{other}", "step": "confirm"},
        {ADMIN: "ok", TEAM_ADMIN: 404, VIEWER: 404, OTHER_COMPANY: 404},
        2,
    ),
    ("save view", "post", "/devices/views/", {"name": "Matrix view", "query": "team=a"}, ANY_MEMBER, 1),
    ("rename view", "post", "/devices/views/{admin_view}/rename/", {"name": "Renamed view"}, OWNER_ONLY, 1),
    ("delete view", "post", "/devices/views/{admin_view}/delete/", {}, OWNER_ONLY, 1),
]

CASES = [
    pytest.param(role, method, url, data, outcomes[role], events, id=f"{role}: {label}")
    for label, method, url, data, outcomes, events in MATRIX
    for role in ROLES
]


def post_data(data: dict, objects: dict) -> dict:
    if "edit" in data:
        team, license, nickname = (value.format(**objects) for value in data["edit"])
        return edit_payload(team, license, nickname)
    if "team" in data:
        return add_payload(data["team"].format(**objects), data["license"].format(**objects))
    return {key: value.format(**objects) for key, value in data.items()}


@pytest.mark.parametrize(("role", "method", "url", "data", "outcome", "events"), CASES)
def test_devices_role_matrix(world, role, method, url, data, outcome, events):
    objects, users = world
    http = login(users[role])
    url = url.format(**objects)
    before = snapshot()
    if method == "get":
        # As htmx asks (the pending section answers only htmx); pages answer 200 either way.
        response = http.get(url, headers={"HX-Request": "true"})
    else:
        response = http.post(url, post_data(data, objects))
    after = snapshot()
    if outcome == "ok":
        assert response.status_code == (200 if method == "get" else 302), response.content[:2000]
        if method == "post":
            assert after != before
            assert len(after["AuditEvent"]) == len(before["AuditEvent"]) + events
        else:
            assert after == before
    elif outcome == "read":
        assert response.status_code == 200, response.content[:2000]
        assert after == before
    else:
        assert response.status_code == outcome
        assert after == before


def test_every_devices_url_is_in_the_matrix():
    """Adding a URL to the devices app without a row here fails this test."""
    names = {
        f"devices:{name}" for name in get_resolver().namespace_dict["devices"][1].reverse_dict if isinstance(name, str)
    }
    covered = {resolve(re.sub(r"{\w+}", "1", url.split("?")[0])).view_name for _, _, url, _, _, _ in MATRIX}
    assert covered == names
