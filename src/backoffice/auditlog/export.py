"""AuditLog.csv: the events of the current filter, one row each, streamed."""

import datetime
from collections.abc import Iterable, Iterator
from typing import Any

from backoffice.audit.actions import audit_action_label, audit_object_label
from backoffice.auditlog.selectors import EXPORT_HEADER
from backoffice.core.spreadsheet import csv_chunks, neutralise


def changes_text(changes: object) -> str:
    """An event's changes as one cell: ``Team: Downtown → Fleet Services; Nickname: A → B``."""
    if not isinstance(changes, list):
        return ""
    return "; ".join(
        f"{change.get('field', '')}: {change.get('old', '')} → {change.get('new', '')}"
        for change in changes
        if isinstance(change, dict)
    )


def export_lines(rows: Iterable[tuple[Any, ...]], *, zone: datetime.tzinfo) -> Iterator[str]:
    """
    The CSV text of ``rows`` (``audit_export_rows``), header first (the time
    column names ``zone``), times in ``zone`` to the second; every text cell taken from the data is
    neutralised so that a spreadsheet shows it and runs nothing.
    """

    # Labels looked up once per action and object type, not once per row: the export runs to millions of rows.
    actions: dict[str, str] = {}
    objects: dict[str, str] = {}

    def cells() -> Iterator[list[str]]:
        for created_at, actor, action, object_type, object_id, device_id, team_id, summary, changes, batch in rows:
            if action not in actions:
                actions[action] = neutralise(audit_action_label(action))
            if object_type not in objects:
                objects[object_type] = neutralise(audit_object_label(object_type))
            yield [
                created_at.astimezone(zone).replace(tzinfo=None).isoformat(" ", "seconds"),
                neutralise(actor),
                actions[action],
                neutralise(action),
                objects[object_type],
                neutralise(object_id),
                "" if device_id is None else str(device_id),
                "" if team_id is None else str(team_id),
                neutralise(summary),
                neutralise(changes_text(changes)) if changes else "",
                "" if batch is None else str(batch),
            ]

    header = (f"Time ({zone})", *EXPORT_HEADER[1:])
    return csv_chunks(header, cells())
