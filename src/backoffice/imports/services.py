"""
Writes of the imports app: keep an uploaded file's parsed rows for the
preview, and import them through the service of the app that owns the rows.
"""

import datetime
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from backoffice.core.text import text_problem
from backoffice.devices.services import devices_import
from backoffice.imports.kinds import ImportKind
from backoffice.imports.models import ImportUpload
from backoffice.imports.parsing import parse_upload
from backoffice.organization.services import ImportOutcome, clients_import, employees_import
from backoffice.tenancy.models import User
from backoffice.tenancy.permissions import require_role
from backoffice.tenancy.scoping import company_scope

UPLOAD_LIFETIME = datetime.timedelta(hours=24)

Importer = Callable[..., ImportOutcome]
IMPORTERS: dict[str, Importer] = {
    "employees": employees_import,
    "clients": clients_import,
    "devices": devices_import,
}


def _safe_filename(filename: str) -> str:
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:200]
    return name if name and text_problem(name) is None else "upload"


@transaction.atomic
def import_upload_create(*, acting_user: User, kind: ImportKind, filename: str, data: bytes) -> ImportUpload:
    """
    Parse an uploaded file for ``kind`` and keep its rows for the preview
    (``ValidationError`` with a sentence when the file cannot be read). The
    company's expired uploads are deleted on the way.
    """
    company = require_role(acting_user, *kind.roles)
    parsed = parse_upload(data=data, filename=filename, kind=kind)
    now = timezone.now()
    with company_scope(company):
        ImportUpload.objects.filter(expires_at__lt=now).delete()
        return ImportUpload.objects.create(
            company=company,
            created_by=acting_user,
            kind=kind.key,
            filename=_safe_filename(filename),
            file_format=parsed.file_format,
            rows_json=json.dumps({"rows": parsed.rows, "lines": parsed.lines, "ignored": parsed.ignored_headers}),
            row_count=len(parsed.rows),
            expires_at=now + UPLOAD_LIFETIME,
        )


@transaction.atomic
def import_run(*, acting_user: User, kind: ImportKind, upload: ImportUpload, all_or_nothing: bool) -> dict[str, Any]:
    """
    Import an upload's rows, checked again now, in one transaction: the
    valid rows, or (``all_or_nothing``) all of them or none (a
    ``ValidationError`` saying how many rows have problems). An upload is
    imported once: its row is locked, and a second import (a double click,
    two tabs) is refused. Returns the result the page shows.
    """
    company = require_role(acting_user, *kind.roles)
    with company_scope(company):
        locked = ImportUpload.objects.select_for_update().filter(pk=upload.pk, created_by=acting_user).first()
        if locked is None or locked.kind != kind.key:
            raise PermissionDenied("This upload is not yours.")
        if locked.completed_at is not None:
            raise ValidationError("This file was already imported.")
        if locked.expires_at <= timezone.now():
            raise ValidationError("This upload has expired; upload the file again.")
        content = locked.content
        rows: Sequence[Mapping[str, str]] = content["rows"]
        outcome = IMPORTERS[kind.key](
            acting_user=acting_user, rows=rows, all_or_nothing=all_or_nothing, batch_id=uuid.uuid4()
        )
        result = {
            "created": len(outcome.created),
            "left_out": sum(1 for problems in outcome.problems if problems),
            "all_or_nothing": all_or_nothing,
            "problems": [
                {"line": line, "problems": problems}
                for line, problems in zip(content["lines"], outcome.problems, strict=True)
                if problems
            ],
        }
        locked.completed_at = timezone.now()
        locked.result_json = json.dumps(result)
        locked.save(update_fields=["completed_at", "result_json"])
    return result
