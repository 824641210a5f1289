"""The company audit log page through HTTP: who sees it, what each role sees, filters, paging, bad input."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backoffice.audit.models import AuditEvent
from backoffice.auditlog.forms import AuditLogFilterForm
from backoffice.auditlog.selectors import Cursor, audit_filter_choices
from backoffice.tenancy.models import Company
from backoffice.tenancy.permissions import DEVICE_API, OPERATOR_COMMAND
from backoffice.tenancy.scoping import company_scope
from tests.auditlog.helpers import T0, new_batch, record, record_many
from tests.factories import DeviceFactory

URL = "/audit/"
ROW = re.compile(r'<tr>\s*<td class="tabular" data-label="Time">')


def rows(response) -> int:
    return len(ROW.findall(response.content.decode()))


def summaries(response) -> list[str]:
    return [row.event.summary for row in response.context["page"].rows]


@pytest.fixture
def events(company_a, company_b, admin_a, admin_b, team_a, default_team_a):
    """Company A: one event of team A, one of the Default Team, one company-wide; company B: one."""
    record(company_a, admin_a, "team.updated", obj=team_a, summary="A: team A renamed")
    record(company_a, admin_a, "team.updated", obj=default_team_a, summary="A: default team renamed")
    record(company_a, admin_a, "company.settings_updated", summary="A: settings changed")
    record(company_b, admin_b, "company.settings_updated", summary="B: settings changed")


def allow_viewers(company, allowed=True):
    Company.objects.filter(pk=company.pk).update(audit_log_for_viewers=allowed)


# Who sees what


def test_an_administrator_sees_every_event_of_the_company_and_none_of_another(as_admin_a, events):
    response = as_admin_a.get(URL)
    assert response.status_code == 200
    shown = summaries(response)
    assert {"A: team A renamed", "A: default team renamed", "A: settings changed"} <= set(shown)
    assert "B: settings changed" not in shown
    assert b"B: settings changed" not in response.content


def test_a_team_administrator_sees_only_the_events_of_their_team(as_teamadmin_a, events):
    response = as_teamadmin_a.get(URL)
    assert response.status_code == 200
    assert summaries(response) == ["A: team A renamed"]


def test_a_team_administrator_asking_for_another_team_gets_nothing(as_teamadmin_a, events, default_team_a):
    response = as_teamadmin_a.get(URL, {"team": default_team_a.pk})
    # The other team is not even a choice.
    assert response.context["form"].errors == {
        "team": [f"Select a valid choice. {default_team_a.pk} is not one of the available choices."]
    }
    assert summaries(response) == []


def test_viewers_get_404_unless_the_company_lets_them_read_the_log(as_viewer_a, company_a, events):
    assert as_viewer_a.get(URL).status_code == 404
    assert as_viewer_a.get(URL + "AuditLog.csv").status_code == 404
    allow_viewers(company_a)
    response = as_viewer_a.get(URL)
    assert response.status_code == 200
    assert {"A: team A renamed", "A: default team renamed", "A: settings changed"} <= set(summaries(response))
    assert as_viewer_a.get(URL + "AuditLog.csv").status_code == 200


def test_another_companys_administrator_sees_only_their_own(as_admin_b, events):
    response = as_admin_b.get(URL)
    shown = summaries(response)
    assert "B: settings changed" in shown
    assert not [text for text in shown if text.startswith("A:")]


def test_anonymous_visitors_are_sent_to_sign_in_and_operators_get_404(client, as_operator, events):
    response = client.get(URL)
    assert response.status_code == 302
    assert "/login/" in response["Location"]
    assert as_operator.get(URL).status_code == 404


def test_the_menu_offers_the_log_only_to_those_who_may_read_it(as_admin_a, as_teamadmin_a, as_viewer_a, company_a):
    link = b'href="/audit/"'
    assert link in as_admin_a.get("/devices/").content
    assert link in as_teamadmin_a.get("/devices/").content
    assert link not in as_viewer_a.get("/devices/").content
    allow_viewers(company_a)
    assert link in as_viewer_a.get("/devices/").content


# What a row shows


def test_a_row_shows_the_label_the_changes_and_links_the_device(as_admin_a, admin_a, company_a, team_a):
    with company_scope(company_a):
        device = DeviceFactory(company=company_a, team=team_a, nickname="Van 3 tablet")
    changes = [{"field": "Team", "old": "Downtown", "new": "Fleet Services"}]
    record(company_a, admin_a, "device.changed", obj=device, summary="Device Van 3 tablet changed", changes=changes)
    response = as_admin_a.get(URL, {"device": device.pk})
    html = response.content.decode()
    assert summaries(response) == ["Device Van 3 tablet changed"]
    assert "Device changed" in html
    assert f'<a href="/devices/{device.pk}/">Van 3 tablet</a>' in html
    assert re.search(r"Team:</span> Downtown <span aria-label=\"changed to\">→</span> Fleet Services", html)
    # The active filter names the device and can be removed.
    assert "Device: <strong>Van 3 tablet</strong>" in html
    assert 'href="?">Remove<span class="visually-hidden"> the device filter' in html
    # Filtering further keeps the device: the form carries it.
    assert f'<input type="hidden" name="device" value="{device.pk}"' in html


def test_a_deleted_device_is_named_by_number_and_not_linked(as_admin_a, admin_a, company_a, team_a):
    with company_scope(company_a):
        device = DeviceFactory(company=company_a, team=team_a)
        record(company_a, admin_a, "device.deleted", obj=device, summary="Device deleted")
        pk = device.pk
        device.delete()
    html = as_admin_a.get(URL, {"device": pk}).content.decode()
    assert f"#{pk} (deleted or out of reach)" in html
    assert f'href="/devices/{pk}/"' not in html


def test_times_are_shown_in_the_company_time_zone(as_admin_a, admin_a, company_a):
    record(company_a, admin_a, "team.created", at=T0, summary="at T0")
    html = as_admin_a.get(URL, {"action": "team.created"}).content.decode()
    # 15:00 UTC is 10:00 in Chicago in March (daylight saving time from 2026-03-08).
    assert "2026-03-10 10:00:00" in html


# Filters


@pytest.fixture
def mixed(company_a, admin_a, teamadmin_a, team_a, default_team_a):
    with company_scope(company_a):
        device = DeviceFactory(company=company_a, team=team_a, nickname="Blue van")
        other = DeviceFactory(company=company_a, team=default_team_a, nickname="Red truck")
    batch = new_batch()
    record(company_a, admin_a, "device.changed", obj=device, at=T0, summary="blue changed", batch_id=batch)
    record(
        company_a,
        teamadmin_a,
        "device.changed",
        obj=other,
        at=T0 - datetime.timedelta(days=1),
        summary="red changed",
        batch_id=batch,
    )
    record(
        company_a,
        DEVICE_API,
        "device.registered",
        obj=device,
        at=T0 - datetime.timedelta(days=2),
        summary="blue registered",
    )
    record(company_a, OPERATOR_COMMAND, "license.issued", at=T0 - datetime.timedelta(days=3), summary="license issued")
    return {"device": device, "other": other, "batch": batch}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"action": "device.changed"}, ["blue changed", "red changed"]),
        ({"action": "device.registered"}, ["blue registered"]),
        ({"actor": "system:device-api"}, ["blue registered"]),
        ({"actor": "system:command", "action": "license.issued"}, ["license issued"]),
        (
            {"object_type": "devices.device", "date_from": "2026-03-07"},
            ["blue changed", "red changed", "blue registered"],
        ),
        ({"device_name": "blue"}, ["blue changed", "blue registered"]),
        # The company's days (Chicago), inclusive at both ends: T0 is 2026-03-10 10:00 there.
        ({"date_from": "2026-03-09", "date_to": "2026-03-09"}, ["red changed"]),
        (
            {"date_from": "2026-03-08", "date_to": "2026-03-10", "object_type": "devices.device"},
            ["blue changed", "red changed", "blue registered"],
        ),
        ({"date_to": "2026-03-07"}, ["license issued"]),
    ],
)
def test_filters_narrow_the_log(as_admin_a, mixed, query, expected):
    response = as_admin_a.get(URL, query)
    assert response.context["form"].errors == {}
    assert summaries(response) == expected


def test_filter_by_device_team_actor_and_batch(as_admin_a, mixed, team_a, teamadmin_a):
    assert summaries(as_admin_a.get(URL, {"device": mixed["device"].pk})) == ["blue changed", "blue registered"]
    assert summaries(as_admin_a.get(URL, {"team": team_a.pk, "action": "device.changed"})) == ["blue changed"]
    assert summaries(as_admin_a.get(URL, {"actor": teamadmin_a.pk})) == ["red changed"]
    assert summaries(as_admin_a.get(URL, {"batch": str(mixed["batch"])})) == ["blue changed", "red changed"]


def test_the_filter_form_keeps_its_values(as_admin_a, mixed):
    html = as_admin_a.get(URL, {"action": "device.changed", "date_from": "2026-03-01"}).content.decode()
    assert '<option value="device.changed" selected>Device changed</option>' in html
    assert 'value="2026-03-01"' in html
    assert '<optgroup label="Devices">' in html


@pytest.mark.parametrize(
    "query",
    [
        {"device": "12\x00"},
        {"device": "9" * 40},
        {"device": "-1"},
        {"device": "abc"},
        {"device_name": "blue\x00"},
        {"device_name": "x" * 101},
        {"actor": "999999999999999999999"},
        {"actor": "system:nobody"},
        {"action": "device.exploded"},
        {"team": "1\x00"},
        {"object_type": "auth.user"},
        {"date_from": "2026-02-30"},
        {"date_from": "0001-01-01"},
        {"date_to": "9999-12-31"},
        {"date_from": "2026-03-10", "date_to": "2026-03-01"},
        {"batch": "not-a-uuid"},
        {"before": "123"},
        {"before": "99999999999999999-1"},
        {"after": "1-" + "9" * 13},
        {"before": "1\x00-1"},
    ],
)
def test_bad_input_is_a_form_error_and_lists_nothing(as_admin_a, mixed, query):
    response = as_admin_a.get(URL, query)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert summaries(response) == []
    assert b"The filters could not be used" in response.content
    export = as_admin_a.get(URL + "AuditLog.csv", query)
    if set(query) <= {"before", "after"}:
        assert export.status_code == 200  # the export ignores the page cursor
    else:
        assert export.status_code == 302
        assert export["Location"].startswith("/audit/?")


def test_a_lone_surrogate_is_a_form_error(admin_a, company_a):
    # The test client cannot put one in a URL (a browser sends U+FFFD); the form refuses it all the same.
    with company_scope(company_a):
        form = AuditLogFilterForm({"device_name": "\ud800"}, choices=audit_filter_choices(user=admin_a))
        assert not form.is_valid()
    assert form.errors == {"device_name": ["Device nickname contains an invalid character (a lone surrogate)."]}


# Paging


def _walk(http, query=None, *, via="older"):
    """Every summary, page after page, following the Older links (then back with Newer)."""
    query = dict(query or {})
    pages = []
    response = http.get(URL, query)
    while True:
        pages.append(summaries(response))
        page = response.context["page"]
        if page.older is None:
            break
        response = http.get(URL, {**query, "before": page.older.token})
    if via == "older":
        return pages
    back = [summaries(response)]
    while response.context["page"].newer is not None:
        response = http.get(URL, {**query, "after": response.context["page"].newer.token})
        back.append(summaries(response))
    return pages, back


def test_pages_of_50_with_identical_times_across_the_boundaries(as_admin_a, admin_a, company_a):
    # 120 events, every one at the same microsecond: only the id orders them.
    record_many(company_a, admin_a, 120, step=datetime.timedelta(0), action="team.created")
    pages, back = _walk(as_admin_a, {"action": "team.created"}, via="newer")
    assert [len(page) for page in pages] == [50, 50, 20]
    flat = [text for page in pages for text in page]
    assert flat == [f"Event {n}" for n in reversed(range(120))]
    assert len(set(flat)) == 120
    # Back with Newer: the same pages, in reverse.
    assert back == list(reversed(pages))


def test_the_first_page_has_no_newer_link_and_the_last_no_older(as_admin_a, admin_a, company_a):
    record_many(company_a, admin_a, 51, action="team.created")
    first = as_admin_a.get(URL, {"action": "team.created"})
    assert first.context["older_url"]
    assert not first.context["newer_url"]
    assert "action=team.created" in first.context["older_url"]
    last = as_admin_a.get(first.context["older_url"].replace("?", URL + "?", 1))
    assert summaries(last) == ["Event 0"]
    assert last.context["newer_url"]
    assert not last.context["older_url"]
    assert b"Older" not in last.content
    assert b"Newer" in last.content


def test_a_forged_cursor_moves_only_within_what_the_user_may_see(as_teamadmin_a, events, company_b, admin_b):
    # A cursor after every event of both companies: the team administrator still sees only their team's.
    far = "9999999999999999-999999999999"
    response = as_teamadmin_a.get(URL, {"before": far})
    assert summaries(response) == ["A: team A renamed"]
    response = as_teamadmin_a.get(URL, {"after": "0-0"})
    assert summaries(response) == ["A: team A renamed"]


# Query counts


def _queries(http, query) -> int:
    http.get(URL, query)  # the session and the caches warm
    with CaptureQueriesContext(connection) as queries:
        response = http.get(URL, query)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("query", [{}, {"action": "team.created", "date_from": "2026-01-01"}])
def test_the_page_costs_the_same_number_of_queries_for_10_and_300_events(as_admin_a, admin_a, company_a, team_a, query):
    with company_scope(company_a):
        devices = [DeviceFactory(company=company_a, team=team_a) for _ in range(3)]
    for device in devices:
        record_many(company_a, admin_a, 3, action="team.created", device_id=device.pk, team_id=team_a.pk)
    record_many(company_a, admin_a, 1, action="team.created", at=T0 + datetime.timedelta(hours=1))
    with company_scope(company_a):
        assert AuditEvent.objects.filter(action="team.created").count() == 10
    few = _queries(as_admin_a, query)
    for device in devices:
        record_many(company_a, admin_a, 97, action="team.created", device_id=device.pk, team_id=team_a.pk,
                    at=T0 + datetime.timedelta(hours=2))  # fmt: skip
    with company_scope(company_a):
        assert AuditEvent.objects.filter(action="team.created").count() == 301
    assert _queries(as_admin_a, query) == few
    # A page far back costs one query more than the first (whether a newer page exists), whatever the depth.
    second = as_admin_a.get(URL, query).context["page"].older
    near = _queries(as_admin_a, {**query, "before": second.token})
    with company_scope(company_a):
        oldest_but_one = AuditEvent.objects.filter(action="team.created").order_by("created_at", "id")[1]
    far = _queries(as_admin_a, {**query, "before": f"{Cursor.of(oldest_but_one).token}"})
    assert near == far == few + 1
