"""
Sign-in through django-allauth, with the Back Office's rules.

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
import logging
import math
import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.urls import reverse

from backoffice.core.http import client_address
from backoffice.core.ratelimit import Limit, ratelimit_count, ratelimit_count_event, ratelimit_refund, ratelimit_reserve
from backoffice.core.sealing import seal, unseal
from backoffice.tenancy.services import account_event_record, user_lockout_record

logger = logging.getLogger(__name__)

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


@dataclass
class SignInAttempt:
    """One password check under the limiter: the body sets ``succeeded`` when the password was right."""

    succeeded: bool = False


@contextmanager
def sign_in_throttled(request: HttpRequest | None, email: str) -> Iterator[SignInAttempt]:
    """
    Around one password check for ``email``: refused with ``THROTTLED`` (and
    no password check) when the account or the network has no slot left in
    the window; otherwise the attempt counts as failed unless the body marks
    it ``succeeded``, which gives its slots back.
    """
    address = client_address(request) if request is not None else ""
    account, network = sign_in_limits(email=email, address=address)
    reservation = ratelimit_reserve(account, network)
    if not reservation.allowed:
        raise ValidationError(throttled_message(reservation.retry_after_seconds), code="throttled")
    attempt = SignInAttempt()
    try:
        yield attempt
    finally:
        if attempt.succeeded:
            ratelimit_refund(reservation)
        else:
            ratelimit_count_event(reservation)
            if ratelimit_count(account) == account.maximum:
                user_lockout_record(email=email, address=address)


class AccountAdapter(DefaultAccountAdapter):
    """
    django-allauth's account hooks for the Back Office: nobody signs up (a
    company's administrator invites people), passwords are checked under the
    exact sign-in limiter above, the emails allauth sends (password reset)
    are sent at once and a failing mail server is logged, not shown, and the
    account events reach the company's audit log.
    """

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        """allauth's own cache counters are replaced by ``sign_in_throttled`` (exact, in every process)."""

    def authenticate(self, request: HttpRequest, **credentials: Any) -> Any:
        email = str(credentials.get("email") or "")
        if not email or not credentials.get("password"):
            return None
        with sign_in_throttled(request, email) as attempt:
            user = super().authenticate(request, **credentials)
            attempt.succeeded = user is not None
        return user

    def send_password_reset_mail(self, user: Any, email: str, context: dict[str, Any]) -> None:
        account_event_record(user=user, action="user.password_reset_requested", address=_address(self.request))
        super().send_password_reset_mail(user, email, context)

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """
        Send at once: a password reset saves nothing, so a mail server that
        fails loses nothing but the email, which the person asks for again.
        The failure is logged without the link.
        """
        try:
            super().send_mail(template_prefix, email, context)
        except (OSError, smtplib.SMTPException) as error:
            logger.warning("Account email %s not sent: %s", template_prefix.rsplit("/", 1)[-1], type(error).__name__)

    def get_client_ip(self, request: HttpRequest) -> str:
        """The client's address as every other limit sees it (``TRUSTED_PROXIES``)."""
        return client_address(request)

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        user = request.user
        if getattr(user, "company_id", None) is None and getattr(user, "is_staff", False):
            return reverse("admin:index")
        return super().get_login_redirect_url(request)


class TwoFactorAdapter(DefaultMFAAdapter):
    """Two-factor secrets (the TOTP key, the recovery-code seed) are stored encrypted."""

    def encrypt(self, text: str) -> str:
        return seal(text, purpose="two-factor", configured=settings.TWO_FACTOR_ENCRYPTION_KEY)

    def decrypt(self, encrypted_text: str) -> str:
        return unseal(encrypted_text, purpose="two-factor", configured=settings.TWO_FACTOR_ENCRYPTION_KEY)

    def get_totp_label(self, user: Any) -> str:
        return str(user.email)


def _address(request: HttpRequest | None) -> str:
    return client_address(request) if request is not None else ""


TWO_FACTOR_METHODS = {"totp": "authenticator app", "recovery_codes": "recovery codes", "webauthn": "passkey"}


def _method(authenticator: Any) -> str:
    method = TWO_FACTOR_METHODS.get(authenticator.type, str(authenticator.type))
    name = authenticator.data.get("name") if authenticator.type == "webauthn" else None
    return f"{method} “{name}”" if name else method


def _on_password_reset(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    account_event_record(user=user, action="user.password_reset", address=_address(request))


def _on_password_changed(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    account_event_record(user=user, action="user.password_changed", address=_address(request))


def _current_address() -> str:
    """The address of the request allauth is serving (none outside a request, as in a shell)."""
    from allauth.core import context

    try:
        request = context.request
    except (AttributeError, LookupError):
        return ""
    return _address(request)


def _on_authenticator_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    # Recorded as the row is written, in its transaction (allauth's own "added"
    # signal for an authenticator app comes after the commit). Recovery codes
    # are made along with the first method: that event says it.
    if created and instance.type != "recovery_codes":
        account_event_record(
            user=instance.user, action="user.two_factor_added", address=_current_address(), method=_method(instance)
        )


def _on_authenticator_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    if instance.type != "recovery_codes":
        account_event_record(
            user=instance.user, action="user.two_factor_removed", address=_current_address(), method=_method(instance)
        )


def _on_authenticator_reset(sender: Any, request: HttpRequest, user: Any, authenticator: Any, **kwargs: Any) -> None:
    if authenticator.type == "recovery_codes":
        account_event_record(user=user, action="user.recovery_codes_renewed", address=_address(request))


def _on_authenticator_used(sender: Any, request: HttpRequest, user: Any, authenticator: Any, **kwargs: Any) -> None:
    if authenticator.type == "recovery_codes":
        account_event_record(user=user, action="user.recovery_code_used", address=_address(request))


def account_signals_connect() -> None:
    """Feed allauth's account events to the audit log (called once, from ``TenancyConfig.ready``)."""
    from allauth.account import signals as account_signals
    from allauth.mfa import signals as mfa_signals
    from allauth.mfa.models import Authenticator
    from django.db.models.signals import post_delete, post_save

    account_signals.password_reset.connect(_on_password_reset, dispatch_uid="backoffice-password-reset")
    account_signals.password_changed.connect(_on_password_changed, dispatch_uid="backoffice-password-changed")
    post_save.connect(_on_authenticator_saved, sender=Authenticator, dispatch_uid="backoffice-2fa-added")
    post_delete.connect(_on_authenticator_deleted, sender=Authenticator, dispatch_uid="backoffice-2fa-removed")
    mfa_signals.authenticator_reset.connect(_on_authenticator_reset, dispatch_uid="backoffice-2fa-reset")
    mfa_signals.authenticator_used.connect(_on_authenticator_used, dispatch_uid="backoffice-2fa-used")
