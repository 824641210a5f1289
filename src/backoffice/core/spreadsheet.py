"""
CSV files that spreadsheet programs open safely: the formula guard and the
byte-order mark every CSV download of the Back Office shares.
"""

import csv
import io
from collections.abc import Iterable, Iterator, Sequence

# Spreadsheet programs run a cell that starts with one of these as a formula.
FORMULA_PREFIXES = frozenset("=+-@\t\r")
# Written first so that Excel reads the file as UTF-8.
BOM = "\ufeff"


def neutralise(value: str) -> str:
    """Prefix a formula-like cell with an apostrophe so that it stays text."""
    if value[:1] in FORMULA_PREFIXES:
        return "'" + value
    return value


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[object]], *, rows_per_chunk: int = 500) -> Iterator[str]:
    """
    RFC 4180 CSV (CRLF line ends) of ``header`` then ``rows``, starting with
    the BOM, yielded ``rows_per_chunk`` rows at a time for a streamed
    response. Cells are written as given: the caller neutralises text cells
    that come from the data.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    yield BOM + buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    pending = 0
    for row in rows:
        writer.writerow(row)
        pending += 1
        if pending == rows_per_chunk:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if pending:
        yield buffer.getvalue()


def neutralise_sql(expression: str) -> str:
    """
    The SQL (PostgreSQL) twin of ``neutralise`` for a text ``expression``:
    an apostrophe before a formula-like value, and NULL for NULL or an empty
    string, so that ``COPY ... (FORMAT csv)`` writes an empty unquoted cell
    as the csv module does. The prefixes are those of ``FORMULA_PREFIXES``.
    """
    prefixes = ", ".join(f"chr({ord(c)})" for c in sorted(FORMULA_PREFIXES))
    return (
        f"NULLIF(CASE WHEN left({expression}, 1) IN ({prefixes}) "
        f"THEN chr(39) || {expression} ELSE {expression} END, '')"
    )
