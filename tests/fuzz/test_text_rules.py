"""
The text rules of ``core.text`` and each problem an attacker found with
them, reproduced: NUL and other control characters, lone surrogates, bidi
and zero-width characters, 30-digit ids, and a document number the schema
let through and the service refused.
"""

import json

import pytest
from django.core.exceptions import ValidationError

from backoffice.core.text import TextKind, id_parse, search_ignored_message, text_problem
from backoffice.devices.models import Device
from backoffice.organization.models import Area, Client, Employee, Team
from backoffice.tenancy.scoping import company_scope
from tests.device_api.conftest import bearer, post_json, register
from tests.devices.conftest import device_payload
from tests.factories import ClientFactory, DeviceFactory

CHECK_IN = {"name": "Tech Tablet 7", "os_type": "Android 14", "platform": "Android", "app_version": "5.4.1"}

# The rules


@pytest.mark.parametrize("text", ["\x00", "a\x01b", "\x1b[2J", "\x1c", "\x7f", "\x85", "\x9f", "\t", "a\nb", "\r"])
def test_a_control_character_is_refused_in_one_line(text) -> None:
    assert text_problem(text) == "contains a control character"
    assert text_problem(text, TextKind.NAME) == "contains a control character"


def test_tab_and_newlines_are_allowed_only_in_multiline_text() -> None:
    assert text_problem("one\r\ntwo\tthree", TextKind.MULTILINE) is None
    assert text_problem("one\x00two", TextKind.MULTILINE) == "contains a control character"


@pytest.mark.parametrize("kind", list(TextKind))
def test_a_lone_surrogate_is_refused_everywhere(kind) -> None:
    assert "surrogate" in (text_problem("a\ud800", kind) or "")


@pytest.mark.parametrize(
    "char", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u202a", "\u202e", "\u2066", "\u2069"]
)
def test_invisible_and_bidi_characters_are_refused_in_names_only(char) -> None:
    assert "invisible" in (text_problem(f"Bay{char}3", TextKind.NAME) or "")
    assert text_problem(f"Bay{char}3", TextKind.LINE) is None


def test_ordinary_text_passes() -> None:
    for text in ("", "Müller & Söhne – Garage №1", "日本語", "😀", 'O\'Brien "Bob"', "100%_"):
        assert text_problem(text, TextKind.NAME) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", 1), (" 42 ", 42), ("999999999999", 999999999999), (7, 7)]
    + [(bad, None) for bad in ("", "0x1", "-1", "1.0", "²", "١", "9" * 13, "9" * 30, "1\x00", None)],
)
def test_an_id_is_at_most_twelve_ascii_digits(value, expected) -> None:
    assert id_parse(value) == expected


def test_the_ignored_box_message_names_each_box_once() -> None:
    assert search_ignored_message(["Team"]) == "The Team search box contains a control character; it was ignored."
    assert "Version, Team search boxes" in search_ignored_message(["Version", "Version", "Team"])


# The device API


def _invalid_request(response) -> str:
    assert response.status_code == 422, response.content
    body = response.json()
    assert set(body) == {"error", "detail"}
    assert body["error"] == "invalid_request"
    return body["detail"]


@pytest.mark.parametrize("field", ["name", "device_id", "os_type", "platform", "app_version"])
def test_registration_refuses_nul_in_any_reported_field(http, pending, field) -> None:
    detail = _invalid_request(register(http, pending.code, **{field: "Tab\x00let"}))
    assert f"device.{field}" in detail
    assert "control character" in detail


def test_registration_refuses_nul_in_the_code(http, pending) -> None:
    assert "control character" in _invalid_request(register(http, "BCDFG\x00HJKLM"))


@pytest.mark.parametrize("field", ["name", "os_type", "platform", "app_version"])
@pytest.mark.parametrize("text", ["Tab\x00let", "Tab\u202etel", "Tab\u200blet", "Tab\nlet", "Tab\tlet"])
def test_check_in_refuses_control_bidi_and_zero_width_characters(http, registered, field, text) -> None:
    response = post_json(http, "/check-ins", {**CHECK_IN, field: text}, **bearer(registered.credential))
    assert field in _invalid_request(response)
    registered.device.refresh_from_db()
    assert text not in (registered.device.device_name, registered.device.platform)


def test_a_lone_surrogate_sent_as_a_json_escape_is_refused(http, registered) -> None:
    body = json.dumps({**CHECK_IN, "name": "PLACEHOLDER"}).replace("PLACEHOLDER", "\\ud800")
    response = post_json(http, "/check-ins", body, **bearer(registered.credential))
    # Pydantic's JSON parser refuses it already ("unable to parse raw data as a unicode string").
    assert "name" in _invalid_request(response)


@pytest.fixture
def client_of_a(company_a):
    with company_scope(company_a):
        return ClientFactory(company=company_a)


@pytest.mark.parametrize("number", ["WO-\x00", "\x00", "\x1c", "\x1f\x1e", "WO\r\n1"])
def test_documents_refuse_control_characters_in_the_number(http, registered, client_of_a, number) -> None:
    """ "\\x1c" passed the schema's strip (not Unicode whitespace) and failed the service's (500 before)."""
    body = {"kind": "work_order", "number": number, "client_id": client_of_a.pk}
    assert "number" in _invalid_request(post_json(http, "/documents", body, **bearer(registered.credential)))


def test_a_service_refusal_is_answered_422_invalid_request(http, registered, client_of_a, monkeypatch) -> None:
    def refuse(**kwargs):
        raise ValidationError({"number": "Enter a number of 1 to 64 characters."})

    monkeypatch.setattr("backoffice.device_api.api.device_document_record", refuse)
    body = {"kind": "work_order", "number": "WO-1", "client_id": client_of_a.pk}
    detail = _invalid_request(post_json(http, "/documents", body, **bearer(registered.credential)))
    assert detail == "The request was refused: number: Enter a number of 1 to 64 characters."


def test_a_document_number_is_stored_stripped(http, registered, client_of_a) -> None:
    body = {"kind": "work_order", "number": "  WO-7  ", "client_id": client_of_a.pk}
    response = post_json(http, "/documents", body, **bearer(registered.credential))
    assert response.status_code == 201
    assert response.json()["number"] == "WO-7"


# Back Office query strings


@pytest.fixture
def devices_of_a(company_a, team_a):
    with company_scope(company_a):
        return [DeviceFactory(company=company_a, team=team_a, nickname=f"Bay {i}") for i in range(2)]


@pytest.mark.parametrize(
    ("url", "box"),
    [
        ("/devices/?team=%00", "Team"),
        ("/devices/?nickname=a%01&platform=x", "Nickname"),
        ("/devices/?v=%00", "ReconPro version"),
        ("/employees/?name=%00", "Name"),
        ("/employees/?email=%1b", "Email"),
        ("/clients/?name=%00", "Name"),
    ],
)
def test_a_search_box_with_a_control_character_is_ignored_with_a_message(as_admin_a, devices_of_a, url, box) -> None:
    response = as_admin_a.get(url)
    assert response.status_code == 200
    assert f"The {box} search box contains a control character; it was ignored." in response.content.decode()


def test_an_ignored_box_is_left_out_of_the_links(as_admin_a, devices_of_a) -> None:
    response = as_admin_a.get("/devices/?team=%00&nickname=Bay")
    assert response.context["report_query"] == "nickname=Bay"
    assert [d.nickname for d in response.context["page"]] == ["Bay 0", "Bay 1"]


def test_the_report_streams_to_its_end_with_a_nul_in_the_search(as_viewer_a, devices_of_a) -> None:
    response = as_viewer_a.get("/devices/DeviceReport.csv?team=%00")
    assert response.status_code == 200
    lines = b"".join(response.streaming_content).decode().lstrip("\ufeff").splitlines()
    assert "Search,All registered devices" in lines
    header = next(i for i, line in enumerate(lines) if line.startswith("Team,Nickname"))
    assert len(lines) - header - 1 == 2


def test_a_surrogate_in_a_query_string_is_harmless(as_admin_a, devices_of_a) -> None:
    assert as_admin_a.get("/devices/?nickname=%ED%A0%80").status_code == 200
    assert as_admin_a.get("/clients/?name=%ED%A0%80&area=%ED%A0%80").status_code == 200


def test_an_area_of_thirty_digits_matches_no_client(as_admin_a, company_a) -> None:
    with company_scope(company_a):
        ClientFactory(company=company_a)
    response = as_admin_a.get("/clients/?area=" + "9" * 30)
    assert response.status_code == 200
    assert list(response.context["page"]) == []
    assert response.context["search"].area is not None


def test_an_area_that_is_not_a_number_is_ignored(as_admin_a, company_a) -> None:
    with company_scope(company_a):
        ClientFactory(company=company_a)
    response = as_admin_a.get("/clients/?area=north")
    assert len(response.context["page"]) == 1


def test_the_client_search_answers_nothing_for_a_control_character(as_admin_a, company_a) -> None:
    with company_scope(company_a):
        ClientFactory(company=company_a, name="Acme")
    assert b"Acme" in as_admin_a.get("/devices/clients/search/?q=Ac").content
    for query in ("q=%00", "q=A%00", "client_pick=%00"):
        response = as_admin_a.get(f"/devices/clients/search/?{query}")
        assert response.status_code == 200
        assert b"Acme" not in response.content


# Back Office forms


def test_the_client_pick_refuses_a_control_character(as_admin_a) -> None:
    response = as_admin_a.post("/devices/add/", {"action": "add_client", "client_pick": "Acme\x00 · #1"})
    assert response.status_code == 200
    assert "contains a control character" in response.content.decode()


def test_an_employee_id_of_thirty_digits_is_no_employee(as_admin_a) -> None:
    for value in ("9" * 30, "²", "١"):
        response = as_admin_a.post("/devices/add/", {"action": "add_employee", "employee": value})
        assert response.status_code == 200
        assert "Select an employee, then click Add Email." in response.content.decode()


@pytest.mark.parametrize(
    "nickname", ["Bay 3\r\nBcc: victim@example.com", "Bay\n3", "Bay\x003", "Bay \u202e3", "Bay\u200b3", "Bay\ufeff"]
)
def test_a_nickname_refuses_line_breaks_controls_and_invisible_characters(
    as_admin_a, company_a, team_a, licenses_a, nickname
) -> None:
    payload = device_payload(team=team_a, license=licenses_a[0], nickname=nickname)
    response = as_admin_a.post("/devices/add/", payload)
    assert response.status_code == 200
    assert "Nickname contains" in response.content.decode()
    with company_scope(company_a):
        assert not Device.objects.exists()


def test_a_description_keeps_its_lines(as_admin_a, company_a, team_a, licenses_a) -> None:
    payload = device_payload(team=team_a, license=licenses_a[0], description="Morning shift\r\nand\tevening")
    assert as_admin_a.post("/devices/add/", payload).status_code == 302
    with company_scope(company_a):
        assert Device.objects.get().description == "Morning shift\r\nand\tevening"
    payload = device_payload(team=team_a, license=licenses_a[1], nickname="Other", description="a\x00b")
    assert "Description contains a control character." in as_admin_a.post("/devices/add/", payload).content.decode()


@pytest.mark.parametrize("field", ["team", "license", "assigned_clients"])
@pytest.mark.parametrize("value", ["9" * 30, "²", "-1", "1\x00"])
def test_an_id_that_is_no_id_is_a_form_error(as_admin_a, company_a, team_a, licenses_a, field, value) -> None:
    payload = device_payload(team=team_a, license=licenses_a[0], client_selection_type="wholesale")
    payload.update(client_scope="selected", **{field: value})
    response = as_admin_a.post("/devices/add/", payload)
    assert response.status_code == 200
    assert response.context["form"].errors.get(field)
    with company_scope(company_a):
        assert not Device.objects.exists()


@pytest.mark.parametrize(
    ("url", "data", "model"),
    [
        ("/teams/add/", {"name": "Night\x00", "time_zone": "America/Chicago"}, Team),
        ("/teams/add/", {"name": "Night\u202e", "time_zone": "America/Chicago"}, Team),
        ("/areas/add/", {"name": "North\u200b"}, Area),
        ("/areas/add/", {"name": "North\r\nBcc: x"}, Area),
        ("/clients/add/", {"name": "Acme\x00", "client_type": "retail", "is_active": "on"}, Client),
        ("/clients/add/", {"name": "Acme\u2066", "client_type": "retail", "is_active": "on"}, Client),
    ],
)
def test_names_of_the_organization_pages_follow_the_rules(as_admin_a, company_a, url, data, model) -> None:
    with company_scope(company_a):
        before = model.objects.count()
    response = as_admin_a.post(url, data)
    assert response.status_code == 200
    assert "Name contains" in response.content.decode()
    with company_scope(company_a):
        assert model.objects.count() == before


def test_an_employee_name_refuses_a_nul(as_admin_a, company_a, team_a) -> None:
    data = {"name": "Ana\x00", "email": "ana@a.example", "team": str(team_a.pk)}
    response = as_admin_a.post("/employees/add/", data)
    assert "Name contains a control character." in response.content.decode()
    with company_scope(company_a):
        assert not Employee.objects.exists()


def test_a_team_id_of_thirty_digits_is_a_form_error(as_admin_a, company_a) -> None:
    data = {"name": "Ana", "email": "ana@a.example", "team": "9" * 30}
    response = as_admin_a.post("/employees/add/", data)
    assert response.status_code == 200
    assert response.context["form"].errors["team"]


def test_a_user_full_name_refuses_bidi_and_controls(as_admin_a) -> None:
    for full_name in ("Eve\u202eevE", "Eve\x00", "Eve\r\nBcc: x"):
        data = {"email": "eve@a.example", "full_name": full_name, "role": "viewer"}
        response = as_admin_a.post("/users/invite/", data)
        assert response.status_code == 200
        assert "Name contains" in response.content.decode()


def test_sign_in_with_a_nul_is_a_form_error(http, admin_a) -> None:
    response = http.post("/login/", {"login": "admin@a.example\x00", "password": "x\x00"})
    assert response.status_code == 200
    assert "contains a control character" in response.content.decode()
