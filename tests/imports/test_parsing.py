"""Reading files into rows (no database): encodings, delimiters, quoting, headers."""

import pytest
from django.core.exceptions import ValidationError

from backoffice.imports.kinds import KINDS
from backoffice.imports.parsing import cell_text, decode_csv, parse_upload

EMPLOYEES = KINDS["employees"]


def rows(data: bytes, filename: str = "f.csv") -> list[dict[str, str]]:
    return parse_upload(data=data, filename=filename, kind=EMPLOYEES).rows


def test_cp1252_with_its_undefined_bytes_read_as_latin1():
    text, encoding = decode_csv("Ann € ".encode("cp1252") + b"\x81\x9d")
    assert encoding == "Windows-1252"
    assert text == "Ann € \x81\x9d"


def test_utf8_bom_is_dropped():
    assert decode_csv(b"\xef\xbb\xbfName") == ("Name", "UTF-8 with BOM")


def test_semicolons_with_commas_inside_cells():
    data = "Name;Email;Team\r\nMüller, Ann;ann@a.example;Team, North\r\n".encode()
    assert rows(data) == [{"name": "Müller, Ann", "email": "ann@a.example", "team": "Team, North"}]


def test_quoted_cells_with_the_delimiter_and_a_line_break():
    data = b'Name,Email,Team\r\n"Ann\r\nB, C",ann@a.example,T\r\nBo,bo@a.example,T\r\n'
    parsed = parse_upload(data=data, filename="f.csv", kind=EMPLOYEES)
    assert parsed.rows[0]["name"] == "Ann\r\nB, C"
    assert parsed.lines == [2, 3]  # rows as Excel numbers them: a line break inside a cell is not a new row


def test_header_aliases_any_case_and_short_rows():
    data = b"E-MAIL;full_name;TEAM NAME;Extra\nann@a.example;Ann\n"
    parsed = parse_upload(data=data, filename="f.txt", kind=EMPLOYEES)
    assert parsed.rows == [{"email": "ann@a.example", "name": "Ann", "team": ""}]
    assert parsed.ignored_headers == ["Extra"]
    assert parsed.file_format == "CSV (UTF-8, semicolon-separated)"


def test_a_nul_in_a_cell_is_kept_for_the_preview_to_refuse():
    assert rows(b"Name,Email,Team\nA\x00B,a@a.example,T\n")[0]["name"] == "A\x00B"


def test_long_cells_are_cut():
    assert len(rows(b"Name,Email,Team\n" + b"x" * 5000 + b",a@a.example,T\n")[0]["name"]) == 1000


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, ""), (12.0, "12"), (12.5, "12.5"), (7, "7"), (False, "FALSE"), ("  x ", "  x ")],
)
def test_cell_text(value, text):
    assert cell_text(value) == text


def test_an_xlsx_named_csv_is_still_read_as_a_workbook():
    from tests.imports.helpers import xlsx_bytes

    assert rows(xlsx_bytes([["Name", "Email", "Team"], ["Ann", "a@a.example", "T"]]), "f.csv") == [
        {"name": "Ann", "email": "a@a.example", "team": "T"}
    ]


def test_a_header_naming_no_column():
    with pytest.raises(ValidationError, match="missing: Name, Email, Team"):
        rows(b"foo,bar\n1,2\n")
