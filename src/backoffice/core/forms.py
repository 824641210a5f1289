"""
The one time-zone picker of every form (a team's default time zone, a
device's time zone, the company's default time zone): ``TimeZoneField``
with its widget ``TimeZoneInput``.

Without JavaScript it is a text box with a ``<datalist>`` of the current
IANA names (the browser suggests them as one types) that the server
resolves: "chicago", "CHICAGO" or "new york" become America/Chicago and
America/New_York; an ambiguous or unknown name gets an error that lists the
zones it could mean. With JavaScript (``app.js``), a name that matches one
zone is completed in the box, and the Device dialog names the chosen team's
zone as the box's default.
"""

import json
from functools import cache
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import ngettext

from backoffice.core.timezones import (
    MAX_LISTED,
    TimeZoneMatch,
    is_current_time_zone,
    is_valid_time_zone,
    time_zone_alias_of,
    time_zone_choices,
    time_zone_resolve,
)

TIME_ZONE_HELP = "Type a city, region or country, e.g. Chicago, and pick the zone from the list."
USE_TEAM_TIME_ZONE = "(Use Team's default time zone: {zone})"
TEAM_TIME_ZONE_HELP = "Leave it empty to use the team's default time zone, {zone}. " + TIME_ZONE_HELP


@cache
def time_zone_options_html() -> SafeString:
    """The datalist's options (about 420), rendered once per process."""
    return format_html_join("", '<option value="{}" label="{}"></option>', time_zone_choices())


class TimeZoneInput(forms.TextInput):
    """
    A text box and its ``<datalist>`` of current zones; a deprecated alias
    that is the box's value is listed too, so that it shows as valid.
    """

    template_name = "core/widgets/time_zone_input.html"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        base = {"autocomplete": "off", "spellcheck": "false", "autocapitalize": "none", "data-time-zone": ""}
        super().__init__({**base, **(attrs or {})})

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        widget = context["widget"]
        widget["list_id"] = f"{widget['attrs'].get('id') or name}_zones"
        widget["attrs"]["list"] = widget["list_id"]
        shown = str(value or "")
        extra = ""
        if shown and not is_current_time_zone(shown) and is_valid_time_zone(shown):
            current = time_zone_alias_of(shown)
            label = f"{shown} · old name of {current}" if current else f"{shown} · old name"
            extra = format_html('<option value="{}" label="{}"></option>', shown, label)
        widget["options"] = format_html("{}{}", extra, time_zone_options_html())
        return context


def time_zone_error(text: str, match: TimeZoneMatch) -> str:
    """The sentence for a typed name that names no single zone."""
    shown = list(match.candidates[:MAX_LISTED])
    more = len(match.candidates) - len(shown)
    listed = ", ".join(shown)
    if more:
        listed += ngettext(" and %(count)d more", " and %(count)d more", more) % {"count": more}
    if match.ambiguous:
        return ngettext(
            "“%(text)s” matches %(count)d time zones: %(listed)s. Type more of the name or pick one from the list.",
            "“%(text)s” matches %(count)d time zones: %(listed)s. Type more of the name or pick one from the list.",
            len(match.candidates),
        ) % {"text": text, "count": len(match.candidates), "listed": listed}
    if match.candidates:
        return f"No time zone is called “{text}”. Did you mean {' or '.join(shown)}?"
    return "Choose a time zone from the list, e.g. America/Chicago."


class TimeZoneField(forms.CharField):
    """
    A time zone typed or picked in a ``TimeZoneInput``, cleaned to an IANA
    name by ``time_zone_resolve``.

    The value the form started with (its initial) is kept as it is, even a
    deprecated alias, so saving a form again never fails on a stored value.
    A form given no initial for the field (it cannot know what is stored)
    keeps any name spelled exactly as the database spells it.
    """

    widget = TimeZoneInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("help_text", TIME_ZONE_HELP)
        super().__init__(**kwargs)
        self.stored: str | None = None

    def get_bound_field(self, form: forms.BaseForm, field_name: str) -> forms.BoundField:
        # Each form holds its own copy of the field, so this is per form.
        initial = form.get_initial_for_field(self, field_name)
        self.stored = str(initial) if initial not in (None, "") else None
        return super().get_bound_field(form, field_name)

    def clean(self, value: Any) -> str:
        text = super().clean(value) or ""
        if not text:
            return ""
        keep = self.stored if self.stored is not None else (text if is_valid_time_zone(text) else "")
        match = time_zone_resolve(text, keep=keep)
        if match.name is None:
            raise ValidationError(time_zone_error(text, match), code="invalid_time_zone")
        return match.name

    def use_team_default(self, *, team_zones: dict[str, str], team: str) -> None:
        """
        Make the empty box mean "the team's default time zone" (the Device
        dialog): the placeholder and the hint name the zone of ``team`` (a
        key of ``team_zones``, team id to zone), and ``app.js`` names another
        when the team select (``data-team-field``) changes.
        """
        zone = team_zones.get(team, "")
        self.required = False
        self.help_text = TEAM_TIME_ZONE_HELP.format(zone=zone)
        self.widget.attrs.update(
            {
                "placeholder": USE_TEAM_TIME_ZONE.format(zone=zone),
                "data-team-field": "team",
                "data-team-zones": json.dumps(team_zones),
                "data-placeholder": USE_TEAM_TIME_ZONE,
                "data-help": TEAM_TIME_ZONE_HELP,
            }
        )
