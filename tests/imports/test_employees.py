"""Importing employees through HTTP: every encoding and delimiter Excel writes, XLSX, every bad row, both modes."""

import pytest

from backoffice.audit.models import AuditEvent
from backoffice.organization.models import Employee
from backoffice.tenancy.scoping import company_scope, scopes_disabled
from tests.dbstate import snapshot
from tests.factories import EmployeeFactory, TeamFactory
from tests.imports.helpers import csv_bytes, form_errors, preview_url, upload, xlsx_bytes

HEADER = ["Name", "Email", "Team"]


def employees(company):
    with company_scope(company):
        return sorted(Employee.objects.values_list("name", "email", "team__name"))


def import_file(http, data, filename="people.csv", mode="valid"):
    url = preview_url(upload(http, "employees", data, filename))
    preview = http.get(url)
    assert preview.status_code == 200
    done = http.post(url + "import/", {"mode": mode})
    assert done.status_code == 302
    return url, preview, http.get(url)


@pytest.mark.parametrize(
    ("delimiter", "encoding", "bom"),
    [(",", "utf-8", False), (";", "utf-8", True), ("\t", "utf-8", False), (";", "cp1252", False)],
    ids=["comma", "semicolon-bom", "tab", "cp1252-semicolon"],
)
def test_csv_in_excels_encodings_and_delimiters(as_admin_a, company_a, team_a, delimiter, encoding, bom):
    data = csv_bytes(
        [HEADER, ["José Müller", "jose@a.example", "Alpha Team"], ["Zoë Ångström", "zoe@a.example", "default team"]],
        delimiter=delimiter,
        encoding=encoding,
        bom=bom,
    )
    _url, preview, result = import_file(as_admin_a, data)
    assert "2 valid" in preview.content.decode()
    assert "José Müller" in preview.content.decode()
    assert employees(company_a) == [
        ("José Müller", "jose@a.example", "Alpha Team"),
        ("Zoë Ångström", "zoe@a.example", "Default Team"),
    ]
    assert "2 employees imported" in result.content.decode()


def test_xlsx_with_columns_in_another_order_and_in_any_case(as_admin_a, company_a, team_a):
    data = xlsx_bytes(
        [
            ["EMAIL", "team", "Name", "Notes"],
            ["ann@a.example", "Alpha Team", "Ann", "ignored"],
            [None, None, None],
            ["bo@a.example", "Alpha Team", "Bo", 12.0],
        ]
    )
    _url, preview, _result = import_file(as_admin_a, data, filename="people.xlsx")
    assert "Columns ignored: Notes" in preview.content.decode()
    assert employees(company_a) == [("Ann", "ann@a.example", "Alpha Team"), ("Bo", "bo@a.example", "Alpha Team")]


def test_the_preview_shows_every_bad_row_and_saves_nothing(as_admin_a, company_a, company_b, team_a):
    with company_scope(company_b):
        TeamFactory(company=company_b, name="Bravo Team")
    with company_scope(company_a):
        EmployeeFactory(company=company_a, team=team_a, name="Existing", email="taken@a.example")
    rows = [
        HEADER,
        ["Good One", "good@a.example", "Alpha Team"],
        ["Unknown Team", "u@a.example", "Nowhere"],
        ["Other Company", "o@a.example", "Bravo Team"],
        ["Bad Email", "not-an-email", "Alpha Team"],
        ["Dup In File", "good@A.example", "Alpha Team"],
        ["Dup Existing", "TAKEN@a.example", "Alpha Team"],
        ["x" * 121, "long@a.example", "Alpha Team"],
        ["Nul\x00Name", "nul@a.example", "Alpha Team"],
        ["Bell\x07", "bell@a.example", "Alpha Team"],
        ["Zero\u200bWidth", "zw@a.example", "Alpha Team"],
        ["", "noname@a.example", "Alpha Team"],
        ["No Team", "noteam@a.example", ""],
    ]
    before = snapshot()
    url = preview_url(upload(as_admin_a, "employees", csv_bytes(rows)))
    page = as_admin_a.get(url)
    text = page.content.decode()
    problems = [row.problems for row in page.context["preview"].rows]
    assert problems[0] == []
    assert problems[1] == ["Team: unknown team “Nowhere”."]
    assert problems[2] == ["Team: unknown team “Bravo Team”."]  # another company's team is unknown here
    assert problems[3] == ["Email: “not-an-email” is not a valid email address."]
    assert problems[4] == ["Email: the same email as row 1 of the file."]
    assert problems[5] == ["Email: An active employee with this email already exists."]
    assert problems[6] == ["Name: Ensure this value has at most 120 characters (it has 121)."]
    assert problems[7] == ["Name: contains a control character."]
    assert problems[8] == ["Name: contains a control character."]
    assert problems[9] == ["Name: contains an invisible or text-direction character (zero-width or bidi control)."]
    assert problems[10] == ["Name: Enter a name."]
    assert problems[11] == ["Team: enter a team."]
    assert [row.line for row in page.context["preview"].rows] == list(range(2, 14))
    assert "1 valid" in text
    assert "11 with problems" in text
    assert "Import the 1 valid row" in text
    assert "\x00" not in text
    after = snapshot()
    assert after.pop("ImportUpload")
    assert before.pop("ImportUpload") == []
    assert after == before  # the preview saved nothing but the upload

    # A reload shows the same preview (the rows are kept server-side).
    assert [row.problems for row in as_admin_a.get(url).context["preview"].rows] == problems


def test_all_or_nothing_refuses_and_changes_nothing_then_valid_rows_import(as_admin_a, company_a, team_a):
    rows = [
        HEADER,
        ["Ann", "ann@a.example", "Alpha Team"],
        ["Bad", "bad", "Alpha Team"],
        ["Cy", "cy@a.example", "Alpha Team"],
    ]
    url = preview_url(upload(as_admin_a, "employees", csv_bytes(rows)))
    before = snapshot()
    refused = as_admin_a.post(url + "import/", {"mode": "all"}, follow=True)
    assert "1 row has a problem: nothing was imported." in refused.content.decode()
    assert snapshot() == before
    as_admin_a.post(url + "import/", {"mode": "valid"})
    assert [e[0] for e in employees(company_a)] == ["Ann", "Cy"]
    result = as_admin_a.get(url).content.decode()
    assert "2 employees imported" in result
    assert "Row 3:" in result
    # The same upload is imported once.
    again = as_admin_a.post(url + "import/", {"mode": "valid"}, follow=True)
    assert "This file was already imported." in again.content.decode()
    assert len(employees(company_a)) == 2


def test_all_or_nothing_with_every_row_valid_imports_all(as_admin_a, company_a, team_a):
    rows = [HEADER, ["Ann", "ann@a.example", "Alpha Team"], ["Cy", "cy@a.example", "Alpha Team"]]
    import_file(as_admin_a, csv_bytes(rows), mode="all")
    assert len(employees(company_a)) == 2


def test_save_time_recheck_an_email_used_since_the_preview(as_admin_a, company_a, team_a):
    rows = [HEADER, ["Ann", "ann@a.example", "Alpha Team"], ["Cy", "cy@a.example", "Alpha Team"]]
    url = preview_url(upload(as_admin_a, "employees", csv_bytes(rows)))
    assert as_admin_a.get(url).context["preview"].invalid_count == 0
    with company_scope(company_a):
        EmployeeFactory(company=company_a, team=team_a, name="Meanwhile", email="cy@a.example")
    before = snapshot()
    as_admin_a.post(url + "import/", {"mode": "all"})
    assert snapshot() == before
    as_admin_a.post(url + "import/", {"mode": "valid"})
    assert employees(company_a) == [("Ann", "ann@a.example", "Alpha Team"), ("Meanwhile", "cy@a.example", "Alpha Team")]


def test_audit_one_event_per_employee_and_one_for_the_batch(as_admin_a, company_a, team_a, admin_a):
    rows = [HEADER, ["Ann", "ann@a.example", "Alpha Team"], ["Cy", "cy@a.example", "Alpha Team"]]
    import_file(as_admin_a, csv_bytes(rows))
    with scopes_disabled():
        events = list(AuditEvent.objects.filter(company=company_a, batch_id__isnull=False).order_by("pk"))
    assert [e.action for e in events] == ["employee.created", "employee.created", "employee.imported"]
    assert len({e.batch_id for e in events}) == 1
    assert all(e.actor_id == admin_a.pk for e in events)
    assert events[0].team_id == team_a.pk
    assert {"field": "Email", "old": "(none)", "new": "ann@a.example"} in events[0].changes
    assert events[-1].data == {"created": 2, "left_out": 0, "rows": 2}


def test_team_administrator_imports_into_their_own_team_only(as_teamadmin_a, company_a, team_a):
    rows = [HEADER, ["Ann", "ann@a.example", "Alpha Team"], ["Bo", "bo@a.example", "Default Team"]]
    url = preview_url(upload(as_teamadmin_a, "employees", csv_bytes(rows)))
    problems = [row.problems for row in as_teamadmin_a.get(url).context["preview"].rows]
    assert problems == [[], ["Team: not your team (you import into Alpha Team only)."]]
    before = snapshot()
    as_teamadmin_a.post(url + "import/", {"mode": "all"})
    assert snapshot() == before
    as_teamadmin_a.post(url + "import/", {"mode": "valid"})
    assert employees(company_a) == [("Ann", "ann@a.example", "Alpha Team")]


def test_template_files_import_as_they_are(as_admin_a, company_a):
    for file_format in ("csv", "xlsx"):
        response = as_admin_a.get(f"/import/employees/template.{file_format}")
        assert response.status_code == 200
        assert f'filename="employees-template.{file_format}"' in response["Content-Disposition"]
        url = preview_url(upload(as_admin_a, "employees", response.content, f"t.{file_format}"))
        preview = as_admin_a.get(url).context["preview"]
        assert [row.cells for row in preview.rows] == [
            [("Name", "Dana Whitfield"), ("Email", "dana.whitfield@example.com"), ("Team", "Default Team")]
        ]
        assert preview.invalid_count == 0
    assert as_admin_a.get("/import/employees/template.pdf").status_code == 404


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"", "e.csv", "The submitted file is empty."),
        (b"Name,Email\nAnn,ann@a.example\n", "e.csv", "missing: Team"),
        (b"Name,Email,Team\n", "e.csv", "The file has a header row but no rows below it."),
        (b"\n\n", "e.csv", "The file has no rows"),
        (b"PK\x03\x04garbage", "e.xlsx", "could not be read as an Excel workbook"),
        (b"\xd0\xcf\x11\xe0", "e.xls", "Old Excel files (.xls) are not read"),
        (b"Name,Email,Team\n" + b"a,b@c.de,T\n" * 5001, "e.csv", "more than 5,000 rows"),
        (b"x" * (2 * 1024 * 1024 + 1), "e.csv", "larger than 2 MB"),
    ],
    ids=["empty", "missing-column", "no-rows", "blank", "bad-xlsx", "xls", "too-many-rows", "too-big"],
)
def test_a_file_that_cannot_be_read_is_a_form_error(as_admin_a, data, filename, message):
    before = snapshot()
    response = upload(as_admin_a, "employees", data, filename)
    assert any(message in error for error in form_errors(response)), form_errors(response)
    assert snapshot() == before


def test_xlsx_row_limit_and_cell_values(as_admin_a, company_a, team_a):
    import datetime

    data = xlsx_bytes([HEADER, [datetime.datetime(2026, 3, 1), "when@a.example", "Alpha Team"], [True, 5, None]])
    url = preview_url(upload(as_admin_a, "employees", data, "x.xlsx"))
    rows = as_admin_a.get(url).context["preview"].rows
    assert rows[0].cells[0] == ("Name", "2026-03-01")
    assert rows[1].cells[:2] == [("Name", "TRUE"), ("Email", "5")]
    too_many = xlsx_bytes([HEADER] + [["n", "e@a.example", "Alpha Team"]] * 5001)
    assert any("more than 5,000 rows" in e for e in form_errors(upload(as_admin_a, "employees", too_many, "x.xlsx")))
