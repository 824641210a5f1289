"""Template helpers for showing devices."""

import datetime

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()

# A device that checked in within ONLINE_MINUTES is online, within IDLE_HOURS idle.
ONLINE_MINUTES = 15
IDLE_HOURS = 24


@register.simple_tag
def last_seen(value: datetime.datetime | None) -> SafeString:
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
