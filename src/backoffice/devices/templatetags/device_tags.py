"""Template helpers for showing devices: the last-seen badge, the pending search and the filters' links."""

import datetime
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django import template
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from backoffice.devices.last_seen import STATE_LABELS, last_seen_state
from backoffice.devices.selectors import pending_registration_filter, pending_search_parse

register = template.Library()


@register.simple_tag
def last_seen(value: datetime.datetime | None) -> SafeString:
    """A badge that says whether a device is online, idle or offline, with the time as a tooltip."""
    if value is None:
        return SafeString('<span class="badge badge--neutral">Never seen</span>')
    state = last_seen_state(value, now=timezone.now())
    label = STATE_LABELS[state]
    when = timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    return format_html(
        '<span class="badge badge--{}" title="Last check-in {}">{}</span><span class="sub">{}</span>',
        state,
        when,
        label,
        when,
    )


@dataclass(frozen=True)
class PendingSearch:
    """
    The Pending Registrations rows shown for the section's search box, how
    many there are in all and how many match; ``limited`` when only the
    oldest ``PENDING_SHOWN`` of the matches are shown.
    """

    query: str
    rows: list[Any]
    total: int
    matching: int = 0
    limited: bool = False
    show_all: bool = False


# How many rows the section shows until "Show all" is asked for (``pall=1``):
# the section is polled every 10 s in every open tab, and each row costs its
# rendering; a batch's codes are on its code sheet.
PENDING_SHOWN = 50
PENDING_SHOW_ALL = "pall"


def _pending_search_text(request: Any) -> tuple[str, bool]:
    """The section's search box (``pq``) and whether it shows every match (``pall``), from GET or a form's POST."""
    if request is None:
        return "", False
    text = pending_search_parse(request.GET) or (pending_search_parse(request.POST) if request.method == "POST" else "")
    show_all = request.GET.get(PENDING_SHOW_ALL) == "1" or (
        request.method == "POST" and request.POST.get(PENDING_SHOW_ALL) == "1"
    )
    return text, show_all


def pending_rows_needed(request: Any) -> int | None:
    """
    How many Pending Registrations rows a view must read in full for
    ``request``: every row when its search box has text or it shows every
    match, else one more than the section shows (to say there are more).
    """
    text, show_all = _pending_search_text(request)
    return None if text or show_all else PENDING_SHOWN + 1


@register.simple_tag(takes_context=True)
def pending_search(context: template.Context) -> PendingSearch:
    """
    The rows of ``pending`` that match the section's search box (``pq``).

    The box's value comes with every request the section makes: in the page's
    URL, in its poll and in its buttons' posts (``hx-include``), so that the
    section is rendered alike by the page, by the poll and after a write,
    whichever view renders it. Without a search, the view read only the
    oldest rows (``pending_rows_needed``); the count is of every row.
    """
    pending = context.get("pending")
    rows = list(pending.rows) if pending else []
    total = pending.total if pending else 0
    text, show_all = _pending_search_text(context.get("request"))
    matching = pending_registration_filter(rows, text)
    count = len(matching) if text else total
    limited = not show_all and count > PENDING_SHOWN
    return PendingSearch(
        query=text,
        rows=matching[:PENDING_SHOWN] if limited else matching,
        total=total,
        matching=count,
        limited=limited,
        show_all=show_all,
    )


@register.simple_tag(takes_context=True)
def list_url_with(context: template.Context, name: str, value: str) -> str:
    """The current page's query string (with its leading "?") with ``name`` set to ``value``."""
    query = context["request"].GET.copy()
    query[name] = value
    return f"?{query.urlencode()}"


@register.simple_tag(takes_context=True)
def list_url_without(context: template.Context, *names: str) -> str:
    """The current page's query string (with its leading "?") without the parameters ``names`` and the page number."""
    request = context["request"]
    query = request.GET.copy()
    for name in (*names, "page"):
        query.pop(name, None)
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else "?"


_PK_STAND_IN = 987654321


@lru_cache(maxsize=64)
def _pk_url_pattern(name: str, prefix: str, urlconf: str | None) -> str:
    return reverse(name, args=[_PK_STAND_IN], urlconf=urlconf)


@register.filter
def pk_url(pk: object, name: str) -> str:
    """
    ``{% url name pk %}`` for a URL whose only argument is an id, reversed
    once per name (and script prefix) with a stand-in id, the row's id put
    in its place: the Pending Registrations rows name four such URLs each,
    and reversing each on every refresh was a fifth of the section's time.
    """
    return _pk_url_pattern(name, get_script_prefix(), get_urlconf()).replace(str(_PK_STAND_IN), str(int(str(pk))))


@register.filter
def iso_datetime(value: datetime.datetime | None) -> str:
    """``|date:'c'`` (ISO 8601 in the current time zone) without the date format's machinery."""
    return timezone.localtime(value).isoformat() if value else ""


@register.filter
def pretty_json(value: object) -> str:
    """``value`` as indented JSON (escaped by the template like any text), as the device API writes it."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)
