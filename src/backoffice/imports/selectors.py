"""Reads of the imports app: an upload and its preview."""

import re
from dataclasses import dataclass

from django.http import Http404
from django.utils import timezone

from backoffice.devices.services import devices_import_check
from backoffice.imports.kinds import ImportKind
from backoffice.imports.models import ImportUpload
from backoffice.organization.services import clients_import_check, employees_import_check
from backoffice.tenancy.models import User
from backoffice.tenancy.scoping import company_scope

_UNSHOWABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

CHECKS = {"employees": employees_import_check, "clients": clients_import_check, "devices": devices_import_check}


@dataclass(frozen=True)
class PreviewRow:
    line: int
    cells: list[tuple[str, str]]  # (column header, cell text as shown)
    problems: list[str]


@dataclass(frozen=True)
class Preview:
    rows: list[PreviewRow]
    ignored_headers: list[str]

    @property
    def valid_count(self) -> int:
        return sum(1 for row in self.rows if not row.problems)

    def problem_rows(self, limit: int = 20) -> list[PreviewRow]:
        """The first rows with problems, for the summary above the table."""
        return [row for row in self.rows if row.problems][:limit]

    @property
    def invalid_count(self) -> int:
        return len(self.rows) - self.valid_count


def import_upload_get(*, user: User, kind: ImportKind, pk: int) -> ImportUpload:
    """The user's own upload ``pk`` of ``kind``, not expired; 404 for anything else (another user's too)."""
    assert user.company is not None
    with company_scope(user.company):
        upload = ImportUpload.objects.filter(
            pk=pk, created_by=user, kind=kind.key, expires_at__gt=timezone.now()
        ).first()
    if upload is None:
        raise Http404("No such upload")
    return upload


def import_preview(*, user: User, kind: ImportKind, upload: ImportUpload) -> Preview:
    """Every row of the upload with its problems, checked now by the service that will save it."""
    content = upload.content
    rows = content["rows"]
    problems = CHECKS[kind.key](acting_user=user, rows=rows)
    return Preview(
        rows=[
            PreviewRow(
                line=line,
                cells=[(c.header, _UNSHOWABLE.sub("\ufffd", row.get(c.key, ""))) for c in kind.columns],
                problems=row_problems,
            )
            for line, row, row_problems in zip(content["lines"], rows, problems, strict=True)
        ],
        ignored_headers=content["ignored"],
    )
