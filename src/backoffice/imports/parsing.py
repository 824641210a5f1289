"""
Reading an uploaded CSV or XLSX file into rows (no database).

CSV: UTF-8 with or without a byte-order mark; a file that is not valid
UTF-8 is read as Windows-1252 (what Excel on Windows writes as "CSV"), and
Latin-1 for the five bytes Windows-1252 leaves undefined. The delimiter is
sniffed among comma, semicolon (Excel in European locales) and tab. XLSX:
the first sheet, read with openpyxl in read-only mode; numbers, dates and
booleans become the text Excel shows for them in plain cells.

The first non-empty row is the header; its names are matched to the kind's
columns in any case, with spaces or underscores. Fully empty rows are
skipped. Every problem of the file as a whole (not a spreadsheet, no header,
a required column missing, too many rows) is a ``ValidationError`` with a
sentence for the upload form; problems of a row are the preview's.
"""

import csv
import datetime
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.core.exceptions import ValidationError

from backoffice.imports.kinds import ImportKind, header_key

MAX_ROWS = 5000
MAX_BYTES = 2 * 1024 * 1024
MAX_COLUMNS = 50
# A cell longer than this is kept cut to it: every column is much shorter, so it is "too long" either way.
MAX_CELL = 1000
_XLSX_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class Parsed:
    """A file's rows keyed by column key, each with its line (row number in the file), and the ignored headers."""

    rows: list[dict[str, str]]
    lines: list[int]
    ignored_headers: list[str]
    file_format: str  # "CSV (UTF-8, comma)" and the like, for the preview


def decode_csv(data: bytes) -> tuple[str, str]:
    """The text of a CSV file and the name of its encoding."""
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "UTF-8 with BOM"
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    # Windows-1252 with the five bytes it leaves undefined read as Latin-1.
    return "".join(
        chunk.decode("cp1252") if len(chunk) > 1 or chunk not in _UNDEFINED_1252 else chunk.decode("latin-1")
        for chunk in _split_undefined(data)
    ), "Windows-1252"


_UNDEFINED_1252 = {bytes([b]) for b in (0x81, 0x8D, 0x8F, 0x90, 0x9D)}


def _split_undefined(data: bytes) -> Iterator[bytes]:
    start = 0
    for index, byte in enumerate(data):
        if bytes([byte]) in _UNDEFINED_1252:
            if start < index:
                yield data[start:index]
            yield data[index : index + 1]
            start = index + 1
    if start < len(data):
        yield data[start:]


def _delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        first = text.splitlines()[0] if text else ""
        return max((",", ";", "\t"), key=first.count)


_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}


def _csv_rows(data: bytes) -> tuple[Iterator[list[str]], str]:
    text, encoding = decode_csv(data)
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return reader, f"CSV ({encoding}, {_DELIMITER_NAMES[delimiter]}-separated)"


def cell_text(value: object) -> str:
    """An XLSX cell's value as the text Excel shows in a plain cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(sep=" ")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


def _xlsx_rows(data: bytes) -> tuple[Iterator[list[str]], str]:
    from openpyxl import load_workbook

    rows: list[list[str]] = []
    filled = 0
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        for values in sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS):
            row = [cell_text(value) for value in values]
            rows.append(row)
            filled += any(cell.strip() for cell in row)
            if filled > MAX_ROWS + 1:  # the header and one row too many: enough to refuse the file
                break
        workbook.close()
    except Exception as error:  # openpyxl raises many kinds on a damaged file; none must become a 500
        raise ValidationError("This file could not be read as an Excel workbook (.xlsx).") from error
    return iter(rows), "Excel workbook (first sheet)"


def parse_upload(*, data: bytes, filename: str, kind: ImportKind) -> Parsed:
    """The rows of an uploaded file for ``kind``, or a ``ValidationError`` saying what is wrong with the file."""
    if not data:
        raise ValidationError("The file is empty.")
    if len(data) > MAX_BYTES:
        raise ValidationError(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it into smaller files.")
    name = filename.lower()
    if data.startswith(_XLSX_MAGIC) or name.endswith((".xlsx", ".xlsm")):
        rows, file_format = _xlsx_rows(data)
    elif name.endswith(".xls"):
        raise ValidationError("Old Excel files (.xls) are not read: save the sheet as .xlsx or CSV.")
    else:
        try:
            rows, file_format = _csv_rows(data)
        except csv.Error as error:
            raise ValidationError(f"This CSV file could not be read: {error}.") from error
    try:
        return _rows_of(rows, kind, file_format)
    except csv.Error as error:
        raise ValidationError(f"This CSV file could not be read: {error}.") from error


def _rows_of(rows: Iterable[list[str]], kind: ImportKind, file_format: str) -> Parsed:
    header: list[str] | None = None
    keys: list[str | None] = []
    ignored: list[str] = []
    parsed: list[dict[str, str]] = []
    lines: list[int] = []
    for line, cells in enumerate(rows, start=1):
        cells = [cell[:MAX_CELL] for cell in cells[:MAX_COLUMNS]]
        if not any(cell.strip() for cell in cells):
            continue
        if header is None:
            header = cells
            keys, ignored = _match_header(header, kind)
            continue
        if len(parsed) >= kind.max_rows:
            raise ValidationError(
                f"The file has more than {kind.max_rows:,} rows; import at most {kind.max_rows:,} "
                f"{kind.label} at a time (split the file)."
            )
        row = {key: "" for key in keys if key}
        for key, cell in zip(keys, cells, strict=False):
            if key:
                row[key] = cell
        parsed.append(row)
        lines.append(line)
    if header is None:
        raise ValidationError(
            "The file has no rows: its first row must be the header (" + ", ".join(kind.headers) + ")."
        )
    if not parsed:
        raise ValidationError("The file has a header row but no rows below it.")
    return Parsed(rows=parsed, lines=lines, ignored_headers=ignored, file_format=file_format)


def _match_header(header: list[str], kind: ImportKind) -> tuple[list[str | None], list[str]]:
    keys: list[str | None] = []
    ignored: list[str] = []
    found: set[str] = set()
    for text in header:
        name = header_key(text.lstrip("\ufeff"))
        column = next((c for c in kind.columns if name in c.names() and c.key not in found), None)
        if column is None:
            keys.append(None)
            if text.strip():
                ignored.append(text.strip())
        else:
            keys.append(column.key)
            found.add(column.key)
    missing = [column.header for column in kind.columns if column.required and column.key not in found]
    if missing:
        raise ValidationError(
            "The header row (the file's first row) must name the columns "
            + ", ".join(kind.headers)
            + "; missing: "
            + ", ".join(missing)
            + ". Download the template to see the layout."
        )
    return keys, ignored
