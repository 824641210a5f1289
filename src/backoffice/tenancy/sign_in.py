"""
Throttled sign-in: failed attempts limited per account and per client
network, exactly, across every process (``core.ratelimit``).

A slot is reserved in both limits *before* the password is checked, so
however many attempts race, no more than the maximum are ever tried in a
window; a failed attempt is counted, a successful one gives its slots back.
The account's key is the address as typed (lower-cased), whether or not an
account has it, so the answer never tells the two apart; keys are keyed
hashes, so the counters hold no address. The account that reaches its limit
gets a ``user.locked_out`` event in its company's audit log (never the
password, never the address typed for an unknown account).
"""

import hashlib
import hmac
import ipaddress
import math
from typing import Any

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from backoffice.core.http import client_address
from backoffice.core.ratelimit import Limit, ratelimit_count, ratelimit_count_event, ratelimit_refund, ratelimit_reserve
from backoffice.tenancy.services import user_lockout_record

THROTTLED = "Too many failed sign-ins. Try again in {minutes} minute{s}."


def _keyed(value: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()[:32]


def _network(address: str) -> str:
    """The client's network: the address for IPv4, its /64 for IPv6 (one client often holds a whole /64)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def sign_in_limits(*, email: str, address: str) -> tuple[Limit, Limit]:
    """The account's limit and the network's, for a sign-in with ``email`` from ``address``."""
    window = settings.SIGN_IN_WINDOW_SECONDS
    return (
        Limit(
            "sign-in-failed", f"account:{_keyed(email.strip().lower())}", settings.SIGN_IN_FAILED_PER_ACCOUNT, window
        ),
        Limit("sign-in-failed", f"network:{_keyed(_network(address))}", settings.SIGN_IN_FAILED_PER_ADDRESS, window),
    )


def throttled_message(retry_after_seconds: int) -> str:
    minutes = max(1, math.ceil(retry_after_seconds / 60))
    return THROTTLED.format(minutes=minutes, s="" if minutes == 1 else "s")


class ThrottledSignInMixin:
    """
    An ``AuthenticationForm`` whose ``clean`` reserves a sign-in slot first:
    refused with ``THROTTLED`` (and no password check) when the account or
    the network has no slot left in the window.
    """

    request: HttpRequest | None
    cleaned_data: dict[str, Any]

    def clean(self) -> dict[str, Any]:
        email = self.cleaned_data.get("username") or ""
        password = self.cleaned_data.get("password")
        if not email or not password:
            return super().clean()  # type: ignore[misc]
        address = client_address(self.request) if self.request is not None else ""
        account, network = sign_in_limits(email=email, address=address)
        reservation = ratelimit_reserve(account, network)
        if not reservation.allowed:
            raise ValidationError(throttled_message(reservation.retry_after_seconds), code="throttled")
        try:
            cleaned = super().clean()  # type: ignore[misc]
        except ValidationError:
            ratelimit_count_event(reservation)
            if ratelimit_count(account) == account.maximum:
                user_lockout_record(email=email, address=address)
            raise
        ratelimit_refund(reservation)
        return cleaned


class ThrottledAdminAuthenticationForm(ThrottledSignInMixin, AdminAuthenticationForm):
    """The operators' sign-in on /admin/, throttled as the Back Office's."""
