"""The audit log's filter form: a GET form, so that a filtered log is a bookmarkable URL."""

import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from backoffice.audit.actions import ACTIONS, OBJECT_TYPES, audit_action_groups
from backoffice.auditlog.selectors import AuditFilterChoices, AuditLogFilters, Cursor, cursor_parse
from backoffice.core.text import TextRulesFormMixin, id_parse

ANY = ("", "Any")
# Dates outside these years are typing mistakes; refusing them keeps every bound within what databases store.
FIRST_DATE = datetime.date(1970, 1, 1)
LAST_DATE = datetime.date(9998, 12, 31)
DATE_RANGE_ERROR = "Enter a date between 1970-01-01 and 9998-12-31."


class DateInput(forms.DateInput):
    input_type = "date"


class AuditLogFilterForm(TextRulesFormMixin, forms.Form):
    """
    The filters of the log; bound to the query string. ``choices`` (the
    company's users, the system actors and the teams) come from
    ``audit_filter_choices``. A value that is not one of the choices, an id
    that is not an id, a bad date or a range that ends before it starts is a
    form error, and the page then lists nothing.
    """

    name_fields = ("device_name",)

    actor = forms.ChoiceField(label="Actor", required=False)
    action = forms.ChoiceField(label="Action", required=False)
    object_type = forms.ChoiceField(label="Object", required=False)
    device = forms.CharField(label="Device", required=False, max_length=20, widget=forms.HiddenInput)
    device_name = forms.CharField(label="Device nickname", required=False, max_length=100)
    team = forms.ChoiceField(label="Team", required=False)
    batch = forms.UUIDField(label="Bulk action", required=False, widget=forms.HiddenInput)
    date_from = forms.DateField(label="From", required=False, widget=DateInput)
    date_to = forms.DateField(label="To", required=False, widget=DateInput)
    before = forms.CharField(required=False, max_length=40, widget=forms.HiddenInput)
    after = forms.CharField(required=False, max_length=40, widget=forms.HiddenInput)

    def __init__(self, *args: Any, choices: AuditFilterChoices, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        offered: dict[str, list[Any]] = {
            "actor": [ANY, *choices.actors],
            "action": [ANY, *audit_action_groups()],
            "object_type": [ANY, *sorted(OBJECT_TYPES.items(), key=lambda item: item[1])],
            "team": [ANY, *choices.teams],
        }
        for name, options in offered.items():
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = options

    def clean_device(self) -> int | None:
        text = self.cleaned_data["device"].strip()
        if not text:
            return None
        device_id = id_parse(text)
        if device_id is None:
            raise ValidationError("This is not a device number.", code="invalid")
        return device_id

    def _cursor(self, name: str) -> Cursor | None:
        text = self.cleaned_data[name].strip()
        if not text:
            return None
        cursor = cursor_parse(text)
        if cursor is None:
            raise ValidationError("This page link is not valid; start again from the newest events.", code="invalid")
        return cursor

    def clean_before(self) -> Cursor | None:
        return self._cursor("before")

    def clean_after(self) -> Cursor | None:
        return self._cursor("after")

    def _date(self, name: str) -> datetime.date | None:
        day = self.cleaned_data[name]
        if day is not None and not FIRST_DATE <= day <= LAST_DATE:
            raise ValidationError(DATE_RANGE_ERROR, code="invalid")
        return day

    def clean_date_from(self) -> datetime.date | None:
        return self._date("date_from")

    def clean_date_to(self) -> datetime.date | None:
        return self._date("date_to")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or self.cleaned_data
        start, end = data.get("date_from"), data.get("date_to")
        if start is not None and end is not None and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        if data.get("action") and data["action"] not in ACTIONS:
            self.add_error("action", "Select a valid choice.")
        return data

    def filters(self, *, zone: datetime.tzinfo) -> AuditLogFilters:
        """The filters of a valid form."""
        data = self.cleaned_data
        return AuditLogFilters(
            actor=data["actor"],
            action=data["action"],
            object_type=data["object_type"],
            device_id=data["device"],
            device_text=data["device_name"].strip(),
            team_id=int(data["team"]) if data["team"] else None,
            batch_id=data["batch"],
            date_from=data["date_from"],
            date_to=data["date_to"],
            zone=zone,
        )
