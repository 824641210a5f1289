"""
Every role against every write URL of the company set-up pages: the action
succeeds and changes the database, or it is refused (403 for a role that may
never do it, 404 for an object outside a Team Administrator's team) and the
database is exactly as before.
"""

import re

import pytest
from django.urls import get_resolver, resolve

from backoffice.invitations.services import invitation_send
from backoffice.tenancy.choices import Role
from backoffice.tenancy.models import Company
from backoffice.tenancy.scoping import company_scope
from tests.conftest import login
from tests.dbstate import snapshot
from tests.factories import AreaFactory, ClientFactory, EmployeeFactory, TeamFactory, make_user

ADMIN, TEAM_ADMIN, VIEWER = "administrator", "team_administrator", "viewer"


@pytest.fixture
def world(company_a, team_a, default_team_a, admin_a, teamadmin_a, viewer_a):
    Company.objects.filter(pk=company_a.pk).update(area_support=True)
    with company_scope(company_a):
        objects = {
            "team": team_a.pk,
            "default_team": default_team_a.pk,
            "spare_team": TeamFactory(company=company_a, name="Spare Team").pk,
            "own": EmployeeFactory(company=company_a, team=team_a, email="own@a.example").pk,
            "other": EmployeeFactory(company=company_a, team=default_team_a, email="other@a.example").pk,
            "own_archived": EmployeeFactory(company=company_a, team=team_a, is_active=False).pk,
            "other_archived": EmployeeFactory(company=company_a, team=default_team_a, is_active=False).pk,
            "area": AreaFactory(company=company_a, name="North").pk,
            "client": ClientFactory(company=company_a, name="Metro Ford").pk,
        }
    objects["user"] = make_user(company_a, Role.VIEWER, email="target@a.example").pk
    inactive = make_user(company_a, Role.VIEWER, email="inactive@a.example")
    inactive.is_active = False
    inactive.save(update_fields=["is_active"])
    objects["inactive_user"] = inactive.pk
    with company_scope(company_a):
        objects["invitation"] = invitation_send(
            acting_user=admin_a, email="invited@a.example", full_name="", role="viewer", team=None
        ).public_id
    users = {ADMIN: admin_a, TEAM_ADMIN: teamadmin_a, VIEWER: viewer_a}
    return objects, users


# (label, method, URL template, POST data, outcome by role). Outcomes: "ok"
# (302 for POST, 200 for GET) or the refusal status.
WRITES = [
    ("team add form", "get", "/teams/add/", None, {ADMIN: "ok", TEAM_ADMIN: 403, VIEWER: 403}),
    (
        "team add",
        "post",
        "/teams/add/",
        {"name": "New", "time_zone": "UTC"},
        {ADMIN: "ok", TEAM_ADMIN: 403, VIEWER: 403},
    ),
    ("team edit form", "get", "/teams/{spare_team}/edit/", None, {ADMIN: "ok", TEAM_ADMIN: 403, VIEWER: 403}),
    (
        "own team edit",
        "post",
        "/teams/{team}/edit/",
        {"name": "Renamed", "time_zone": "UTC"},
        {ADMIN: "ok", TEAM_ADMIN: 403, VIEWER: 403},
    ),
    ("team delete", "post", "/teams/{spare_team}/delete/", {}, {ADMIN: "ok", TEAM_ADMIN: 403, VIEWER: 403}),
    ("employee add form", "get", "/employees/add/", None, {ADMIN: "ok", TEAM_ADMIN: "ok", VIEWER: 403}),
    (
        "employee add",
        "post",
        "/employees/add/",
        {"name": "New", "email": "new@a.example", "team": "{team}"},
        {ADMIN: "ok", TEAM_ADMIN: "ok", VIEWER: 403},
    ),
    ("own employee edit form", "get", "/employees/{own}/edit/", None, {ADMIN: "ok", TEAM_ADMIN: "ok", VIEWER: 403}),
    (
        "own employee edit",
        "post",
        "/employees/{own}/edit/",
        {"name": "Changed", "email": "own@a.example", "team": "{team}"},
        {ADMIN: "ok", TEAM_ADMIN: "ok", VIEWER: 403},
    ),
    (
        "other team employee edit form",
        "get",
        "/employees/{other}/edit/",
        None,
        {ADMIN: "ok", TEAM_ADMIN: 404, VIEWER: 403},
    ),
    (
        "other team employee edit",
        "post",
        "/employees/{other}/edit/",
        {"name": "Changed", "email": "other@a.example", "team": "{default_team}"},
        {ADMIN: "ok", TEAM_ADMIN: 404, VIEWER: 403},
    ),
    ("own employee archive", "post", "/employees/{own}/archive/", {}, {ADMIN: "ok", TEAM_ADMIN: "ok", VIEWER: 403}),
    (
        "other team employee archive",
        "post",
        "/employees/{other}/archive/",
        {},
        {ADMIN: "ok", TEAM_ADMIN: 404, VIEWER: 403},
    ),
    (
        "own employee restore",
        "post",
        "/employees/{own_archived}/restore/",
        {},
        {ADMIN: "ok", TEAM_ADMIN: "ok", VIEWER: 403},
    ),
    (
        "other team employee restore",
        "post",
        "/employees/{other_archived}/restore/",
        {},
        {ADMIN: "ok", TEAM_ADMIN: 404, VIEWER: 403},
    ),
    ("area add form", "get", "/areas/add/", None, {ADMIN: "ok", TEAM_ADMIN: 403, VIEWER: 403}),
    ("area add", "post", "/areas/add/", {"name": "South"}, {ADMIN: "ok", TEAM_ADMIN: 403, VIEWER: 403}),
    ("area edit", "post", "/areas/{area}/edit/", {"name": "Northern"}, {ADMIN: "ok", TEAM_ADMIN: 403, VIEWER: 403}),
    ("area delete form", "get", "/areas/{area}/delete/", None, {ADMIN: "ok", TEAM_ADMIN: 403, VIEWER: 403}),
    ("area delete", "post", "/areas/{area}/delete/", {}, {ADMIN: "ok", TEAM_ADMIN: 403, VIEWER: 403}),
    ("client add form", "get", "/clients/add/", None, {ADMIN: "ok", TEAM_ADMIN: 403, VIEWER: 403}),
    (
        "client add",
        "post",
        "/clients/add/",
        {"name": "Lakeside", "client_type": "retail", "is_active": "on"},
        {ADMIN: "ok", TEAM_ADMIN: 403, VIEWER: 403},
    ),
    (
        "client edit",
        "post",
        "/clients/{client}/edit/",
        {"name": "Metro", "client_type": "retail", "area": "{area}"},
        {ADMIN: "ok", TEAM_ADMIN: 403, VIEWER: 403},
    ),
    ("invite form", "get", "/users/invite/", None, {ADMIN: "ok", TEAM_ADMIN: 403, VIEWER: 403}),
    (
        "invite",
        "post",
        "/users/invite/",
        {"email": "fresh@a.example", "role": "viewer"},
        {ADMIN: "ok", TEAM_ADMIN: 403, VIEWER: 403},
    ),
    (
        "invitation resend",
        "post",
        "/users/invitations/{invitation}/resend/",
        {},
        {ADMIN: "ok", TEAM_ADMIN: 403, VIEWER: 403},
    ),
    (
        "invitation revoke",
        "post",
        "/users/invitations/{invitation}/revoke/",
        {},
        {ADMIN: "ok", TEAM_ADMIN: 403, VIEWER: 403},
    ),
    ("user edit form", "get", "/users/{user}/edit/", None, {ADMIN: "ok", TEAM_ADMIN: 403, VIEWER: 403}),
    (
        "user edit",
        "post",
        "/users/{user}/edit/",
        {"full_name": "T", "role": "administrator"},
        {ADMIN: "ok", TEAM_ADMIN: 403, VIEWER: 403},
    ),
    ("user deactivate", "post", "/users/{user}/deactivate/", {}, {ADMIN: "ok", TEAM_ADMIN: 403, VIEWER: 403}),
    ("user reactivate", "post", "/users/{inactive_user}/reactivate/", {}, {ADMIN: "ok", TEAM_ADMIN: 403, VIEWER: 403}),
    (
        "company settings",
        "post",
        "/settings/",
        {"default_time_zone": "Europe/Paris", "default_functionality": ["photos"], "expired_code_grace_days": "7"},
        {ADMIN: "ok", TEAM_ADMIN: 403, VIEWER: 403},
    ),
]

CASES = [
    pytest.param(role, method, url, data, outcomes[role], id=f"{role}: {label}")
    for label, method, url, data, outcomes in WRITES
    for role in (ADMIN, TEAM_ADMIN, VIEWER)
]


def fill(value, objects):
    if isinstance(value, str):
        return value.format(**objects)
    if isinstance(value, list):
        return [fill(v, objects) for v in value]
    return value


@pytest.mark.parametrize(("role", "method", "url", "data", "outcome"), CASES)
def test_role_matrix(world, role, method, url, data, outcome):
    objects, users = world
    http = login(users[role])
    url = fill(url, objects)
    before = snapshot()
    if method == "get":
        response = http.get(url)
    else:
        response = http.post(url, {key: fill(value, objects) for key, value in data.items()})
    after = snapshot()
    if outcome == "ok":
        assert response.status_code == (200 if method == "get" else 302), response.content[:2000]
        if method == "post":
            assert after != before
            assert len(after["AuditEvent"]) == len(before["AuditEvent"]) + 1
    else:
        assert response.status_code == outcome
        assert after == before


def test_every_write_url_is_in_the_matrix():
    """Adding a write URL to the set-up pages without a row here fails this test."""
    write_names = {
        f"{namespace}:{name}"
        for namespace in ("organization", "tenancy", "licensing", "invitations")
        for name in get_resolver().namespace_dict[namespace][1].reverse_dict
        if isinstance(name, str)
        and re.search(r"_(add|edit|delete|archive|restore|deactivate|reactivate|resend|revoke)$", name)
    }
    covered = {resolve(re.sub(r"{\w+}", "1", url)).view_name for _, _, url, _, _ in WRITES}
    assert covered == write_names | {"tenancy:settings"}
