"""AuditLog.csv: parsed back with the csv module; the filter, the time zone, the formula guard, the streaming."""

import csv
import datetime
import io

from django.http import StreamingHttpResponse

from backoffice.auditlog.selectors import EXPORT_HEADER
from backoffice.core.spreadsheet import BOM
from backoffice.tenancy.permissions import DEVICE_API
from backoffice.tenancy.scoping import company_scope
from tests.auditlog.helpers import T0, new_batch, record, record_many
from tests.factories import DeviceFactory

URL = "/audit/AuditLog.csv"


def parse(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="AuditLog.csv"'
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith(BOM)
    assert "\r\n" in body
    return list(csv.reader(io.StringIO(body.removeprefix(BOM))))


def test_the_export_parses_back_with_every_column(as_admin_a, admin_a, company_a, team_a):
    with company_scope(company_a):
        device = DeviceFactory(company=company_a, team=team_a, nickname="Van 3")
    batch = new_batch()
    changes = [
        {"field": "Team", "old": "Downtown", "new": "Fleet Services"},
        {"field": "Nickname", "old": "A", "new": "B"},
    ]
    record(company_a, admin_a, "device.changed", obj=device, at=T0, summary="Device Van 3 changed", changes=changes,
           batch_id=batch)  # fmt: skip
    table = parse(as_admin_a.get(URL, {"device": device.pk}))
    assert table[0] == ["Time (America/Chicago)", *EXPORT_HEADER[1:]]
    assert table[1:] == [
        [
            "2026-03-10 10:00:00",  # 15:00 UTC in Chicago
            "admin@a.example",
            "Device changed",
            "device.changed",
            "Device",
            str(device.pk),
            str(device.pk),
            str(team_a.pk),
            "Device Van 3 changed",
            "Team: Downtown → Fleet Services; Nickname: A → B",
            str(batch),
        ]
    ]


def test_a_hostile_summary_and_actor_stay_text(as_admin_a, admin_a, company_a):
    record(company_a, admin_a, "team.updated", summary='=HYPERLINK("http://evil.example","x")',
           changes=[{"field": "Name", "old": "+1", "new": "@SUM(A1)"}])  # fmt: skip
    record(company_a, DEVICE_API, "device.registered", summary="-2+3")
    table = parse(as_admin_a.get(URL))
    by_action = {row[3]: row for row in table[1:]}
    assert by_action["team.updated"][8] == '\'=HYPERLINK("http://evil.example","x")'
    # The changes cell starts with the field's name, so it is no formula; its values are kept as they were.
    assert by_action["team.updated"][9] == "Name: +1 → @SUM(A1)"
    assert by_action["device.registered"][8] == "'-2+3"
    assert by_action["device.registered"][1] == DEVICE_API.label


def test_the_export_follows_the_filter_and_the_role(
    as_admin_a, as_teamadmin_a, admin_a, company_a, team_a, company_b, admin_b
):
    record_many(company_a, admin_a, 30, action="team.updated", team_id=team_a.pk)
    record_many(company_a, admin_a, 20, action="area.updated")
    record_many(company_b, admin_b, 5, action="team.updated")
    everything = parse(as_admin_a.get(URL))[1:]
    assert {row[3] for row in everything} >= {"team.updated", "area.updated"}
    assert len(parse(as_admin_a.get(URL, {"action": "team.updated"}))) == 1 + 30
    team_rows = parse(as_teamadmin_a.get(URL))[1:]
    assert len(team_rows) == 30
    assert {row[7] for row in team_rows} == {str(team_a.pk)}


def test_the_export_is_every_event_newest_first_and_ignores_the_page_cursor(as_admin_a, admin_a, company_a):
    ids = record_many(company_a, admin_a, 1200, action="area.updated", step=datetime.timedelta(0))
    response = as_admin_a.get(URL, {"action": "area.updated", "before": "1-1"})
    chunks = list(response.streaming_content)
    assert len(chunks) >= 3  # header, then rows in chunks: not one string built in memory
    table = list(csv.reader(io.StringIO(b"".join(chunks).decode().removeprefix(BOM))))
    assert [row[8] for row in table[1:]] == [f"Event {n}" for n in reversed(range(1200))]
    assert len(ids) == 1200
