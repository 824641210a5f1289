from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from backoffice.tenancy.permissions import can_read_audit_log

# The main navigation: (label, URL name, who sees it; None: everyone). Pages that do not exist are skipped.
NAVIGATION: tuple[tuple[str, str, Callable[..., bool] | None], ...] = (
    ("Active Devices", "devices:active", None),
    ("Teams", "organization:teams", None),
    ("Employees", "organization:employees", None),
    ("Clients", "organization:clients", None),
    ("Areas", "organization:areas", None),
    ("Licenses", "licensing:licenses", None),
    ("Audit log", "auditlog:events", can_read_audit_log),
    ("Users", "invitations:users", None),
    ("Settings", "tenancy:settings", None),
)


def tenancy(request: HttpRequest) -> dict[str, object]:
    company = getattr(request, "company", None)
    items = []
    if company is not None:
        for label, name, visible in NAVIGATION:
            if visible is not None and not visible(request.user):
                continue
            try:
                url = reverse(name)
            except NoReverseMatch:
                continue
            items.append({"label": label, "url": url, "current": request.path.startswith(url)})
    return {
        "company": company,
        "nav_items": items,
        # How long a password reset link works (the reset pages and email say it).
        "password_reset_hours": max(1, settings.PASSWORD_RESET_TIMEOUT // 3600),
    }
