"""An uploaded spreadsheet kept, parsed, for its preview and import."""

import json
from typing import Any

from django.conf import settings
from django.db import models

from backoffice.core.models import CompanyOwnedModel


class ImportUpload(CompanyOwnedModel):
    """
    The rows of one uploaded file, parsed, owned by the company and the user
    who uploaded it, until it is imported or expires (``expires_at``): the
    preview survives a reload and the import re-checks these rows. The rows
    are JSON text (``rows_json``), not a JSON column: a cell may hold a NUL
    or a lone surrogate, which PostgreSQL's ``jsonb`` refuses, and the
    preview must show such a cell as a row problem, not fail the upload.
    """

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16)
    filename = models.CharField(max_length=255)
    file_format = models.CharField(max_length=100)
    rows_json = models.TextField()
    row_count = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    result_json = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} import {self.filename}"

    @property
    def content(self) -> dict[str, Any]:
        """``rows`` (one dict per row), ``lines`` (their row numbers in the file) and ``ignored`` headers."""
        return json.loads(self.rows_json)

    @property
    def result(self) -> dict[str, Any]:
        return json.loads(self.result_json) if self.result_json else {}
