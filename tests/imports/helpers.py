"""Building spreadsheets for the import tests: CSV in Excel's encodings and delimiters, XLSX with openpyxl."""

import csv
import io
import re

from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from backoffice.imports.models import ImportUpload
from backoffice.tenancy.scoping import scopes_disabled


def csv_bytes(rows: list[list[str]], *, delimiter: str = ",", encoding: str = "utf-8", bom: bool = False) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    data = out.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def upload(http, kind: str, data: bytes, filename: str = "people.csv"):
    """POST the file to the kind's upload page; the response (a redirect to the preview when it was read)."""
    return http.post(f"/import/{kind}/", {"file": SimpleUploadedFile(filename, data)})


def preview_url(response) -> str:
    assert response.status_code == 302, response.content.decode()[:2000]
    assert re.fullmatch(r"/import/[a-z]+/\d+/", response["Location"]), response["Location"]
    return response["Location"]


def latest_upload() -> ImportUpload:
    with scopes_disabled():
        return ImportUpload.objects.order_by("-pk").first()


def form_errors(response) -> list[str]:
    assert response.status_code == 200
    return [str(e) for e in response.context["form"].errors.get("file", [])]
