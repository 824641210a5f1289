"""Reads of the Pending Registrations section and of registration emails."""

import datetime
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Prefetch, Q
from django.http import Http404
from django.utils import timezone

from backoffice.devices.codes import code_format, code_unseal
from backoffice.devices.models import Device, RegistrationCode
from backoffice.devices.selectors.active_devices import device_visible_queryset
from backoffice.notifications.models import OutboxEmail
from backoffice.tenancy.models import User


@dataclass(frozen=True)
class PendingRegistration:
    """
    One row of the Pending Registrations section: a pending device, or a
    registered one with a live replacement code. ``code`` is the formatted
    code while it can be used, None once it has expired (or its copy is gone).
    """

    device: Device
    registration_code: RegistrationCode | None
    code: str | None
    emails: list[OutboxEmail]
    is_expired: bool

    @property
    def is_replacement(self) -> bool:
        return self.device.is_registered


def pending_registration_list(*, user: User, now: datetime.datetime | None = None) -> list[PendingRegistration]:
    """
    Pending devices and registered devices with a live replacement code,
    oldest first, each with its live code and that code's emails. Three
    queries whatever the number of rows.
    """
    now = now or timezone.now()
    devices = (
        device_visible_queryset(user=user)
        .filter(
            Q(registered_at__isnull=True) | Exists(RegistrationCode.objects.open().filter(device_id=OuterRef("pk")))
        )
        .select_related("team", "license")
        .prefetch_related(
            Prefetch(
                "codes",
                queryset=RegistrationCode.objects.open().prefetch_related(
                    Prefetch("emails", queryset=OutboxEmail.objects.order_by("pk"), to_attr="email_list")
                ),
                to_attr="live_codes",
            )
        )
        .order_by("created_at", "pk")
    )
    rows = []
    for device in devices:
        live = device.live_codes[0] if device.live_codes else None  # type: ignore[attr-defined]
        code = None
        is_expired = live is not None and not live.is_live(now)
        if live is not None and not is_expired:
            plain = code_unseal(live.sealed_code)
            code = code_format(plain) if plain else None
        rows.append(
            PendingRegistration(
                device=device,
                registration_code=live,
                code=code,
                emails=live.email_list if live is not None else [],  # type: ignore[attr-defined]
                is_expired=is_expired,
            )
        )
    return rows


def registration_email_get_for_company(*, user: User, pk: object) -> OutboxEmail:
    """
    Return the registration email ``pk`` if ``user`` may see its device;
    Http404 alike for a missing email, another company's and (Team
    Administrator) another team's.
    """
    emails = OutboxEmail.objects.all()
    if user.is_team_administrator:
        emails = emails.filter(
            registration_code_id__in=RegistrationCode.objects.filter(device__team_id=user.team_id or 0).values("pk")
        )
    try:
        return emails.get(pk=int(str(pk)))
    except (OutboxEmail.DoesNotExist, ValueError, TypeError):
        raise Http404("No such email") from None
