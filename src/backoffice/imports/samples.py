"""The template file of each kind: its header row and one example row, as CSV and as XLSX (no database)."""

import csv
import io

from backoffice.imports.kinds import ImportKind


def template_csv(kind: ImportKind) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel opens it with the right encoding."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(kind.headers)
    writer.writerow([column.example for column in kind.columns])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def template_xlsx(kind: ImportKind) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = kind.label.capitalize()
    sheet.append(kind.headers)
    sheet.append([column.example for column in kind.columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for index, column in enumerate(kind.columns):
        sheet.column_dimensions[chr(ord("A") + index)].width = max(14, len(column.example) + 4)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
