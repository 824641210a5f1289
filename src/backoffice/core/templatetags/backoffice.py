"""Template helpers shared by every page."""

import datetime
from urllib.parse import urlencode

from django import template
from django.http import QueryDict
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag(takes_context=True)
def query_with(context: template.Context, **changes: object) -> str:
    """
    Return ``?query`` for the current URL with ``changes`` applied, so that
    sorting and paging keep the search. A value of None removes the key.
    """
    query: QueryDict = context["request"].GET.copy()
    for key, value in changes.items():
        if value is None or value == "":
            query.pop(key, None)
        else:
            query[key] = str(value)
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.simple_tag(takes_context=True)
def sort_header(context: template.Context, key: str, label: str) -> SafeString:
    """A column header link that sorts by ``key`` and shows the current order."""
    request = context["request"]
    current = context.get("sort", "")
    descending = context.get("descending", False)
    query = request.GET.copy()
    query.pop("page", None)
    next_desc = key == current and not descending
    query["sort"] = key
    if next_desc:
        query["dir"] = "desc"
    else:
        query.pop("dir", None)
    arrow = ""
    if key == current:
        arrow = " ▼" if descending else " ▲"
    return format_html('<a href="?{}">{}<span aria-hidden="true">{}</span></a>', query.urlencode(), label, arrow)


@register.simple_tag(takes_context=True)
def aria_sort(context: template.Context, key: str) -> SafeString:
    if context.get("sort") != key:
        return SafeString("")
    return SafeString('aria-sort="descending"' if context.get("descending") else 'aria-sort="ascending"')


@register.simple_tag
def urlencode_dict(values: dict[str, str]) -> str:
    return urlencode(values)


# A device that checked in within ONLINE_MINUTES is online, within IDLE_HOURS idle.
ONLINE_MINUTES = 15
IDLE_HOURS = 24


@register.simple_tag
def last_seen(value: "datetime.datetime | None") -> SafeString:
    """A badge that says whether a device is online, idle or offline, with the time as a tooltip."""
    if value is None:
        return SafeString('<span class="badge badge--neutral">Never seen</span>')
    age = timezone.now() - value
    if age <= datetime.timedelta(minutes=ONLINE_MINUTES):
        state, label = "online", "Online"
    elif age <= datetime.timedelta(hours=IDLE_HOURS):
        state, label = "idle", "Idle"
    else:
        state, label = "offline", "Offline"
    when = timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    return format_html(
        '<span class="badge badge--{}" title="Last check-in {}">{}</span><span class="sub">{}</span>',
        state,
        when,
        label,
        when,
    )
