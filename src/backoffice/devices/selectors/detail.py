"""
What the device page shows: the device with what it is linked to, its
effective configuration as ``GET /config`` serves it (with why each client is
available), its documents, its audit trail and its check-in history.

Every read here costs a fixed number of queries whatever the number of
clients, documents, events or check-ins; lists are paged.
"""

import datetime
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.http import Http404

from backoffice.audit.models import AuditEvent
from backoffice.devices.choices import ClientScope, ClientSelectionType
from backoffice.devices.clients import (
    REASON_AREA,
    REASON_ASSIGNED,
    REASON_DOCUMENTS,
    REASON_TYPE,
    REASONS,
    device_available_clients_with_reasons,
)
from backoffice.devices.models import CheckInKind, Device, DeviceCheckIn, RegistrationCode
from backoffice.devices.selectors.active_devices import device_visible_queryset
from backoffice.devices.selectors.config import device_config_and_tag
from backoffice.documents.models import Document
from backoffice.documents.selectors import document_list_for_device
from backoffice.organization.choices import ClientType
from backoffice.tenancy.choices import Functionality
from backoffice.tenancy.models import User

# The clients listed with their reasons on the page; the configuration itself
# (shown whole, as JSON) lists them all.
CLIENTS_SHOWN = 200
DOCUMENTS_PER_PAGE = 25
TRAIL_PER_PAGE = 50
HISTORY_PER_PAGE = 200
# Labels of the reported fields in the history, in the order shown.
HISTORY_LABELS = {"device_name": "Device", "os_type": "OS", "platform": "Platform", "app_version": "ReconPro"}


def device_page_get(*, user: User, pk: object) -> Device:
    """
    The device ``pk`` for its page, with its team (and area), license and
    company loaded; Http404 when ``user`` may not see it (another company's,
    another team's for a Team Administrator, a missing or malformed id).
    """
    try:
        number = int(str(pk))
    except (ValueError, TypeError):
        raise Http404("No such device") from None
    if not 0 < number < 2**63:
        raise Http404("No such device")
    try:
        return (
            device_visible_queryset(user=user).select_related("team", "team__area", "license", "company").get(pk=number)
        )
    except Device.DoesNotExist:
        raise Http404("No such device") from None


def device_open_code(*, device_id: int) -> RegistrationCode | None:
    """The device's open registration code (pending registration or replacement), if any."""
    return RegistrationCode.objects.open().filter(device_id=device_id).first()


@dataclass(frozen=True)
class ClientReason:
    """One client of the configuration and why the device has it (readable phrases)."""

    id: int
    name: str
    client_type: str
    reasons: list[str]


@dataclass(frozen=True)
class DeviceConfigView:
    """The effective configuration as ``GET /config`` serves it, its ETag, and the page's reading of it."""

    config: dict[str, object]
    etag: str
    clients: list[ClientReason]
    functionality_labels: list[str] = field(default_factory=list)

    @property
    def client_count(self) -> int:
        return len(self.config["clients"])  # type: ignore[arg-type]

    @property
    def more_clients(self) -> int:
        return self.client_count - len(self.clients)


def _reason_text(device: Device, reason: str, client_type: str) -> str:
    """What the page says for one reason a client is available."""
    if reason == REASON_TYPE:
        if device.client_scope == ClientScope.ALL:
            kind = ClientSelectionType(device.client_selection_type).label
            return f"Client Selection Type {kind}, All"
        return "All retail clients (not selected one by one)"
    if reason == REASON_ASSIGNED:
        return "Assigned to this device"
    if reason == REASON_DOCUMENTS:
        return "Used in documents recorded on this device"
    if reason == REASON_AREA:
        area = device.team.area
        return f"From area {area.name}" if area is not None else "From the team's area"
    return reason


def device_config_view(*, device: Device) -> DeviceConfigView:
    """
    The device's effective configuration, built by ``device_effective_config``
    (the builder of ``GET /config``) with its ``ETag`` (``device_config_and_tag``), and
    why each client is available (``device_available_clients_with_reasons``,
    the same rule). Run in the device's company scope; three queries.
    """
    config, etag = device_config_and_tag(device=device)
    rows = device_available_clients_with_reasons(device=device)[:CLIENTS_SHOWN]
    clients = []
    for client in rows:
        reasons = [
            _reason_text(device, reason, client.client_type)
            for reason in REASONS
            if getattr(client, f"why_{reason}", False)
        ]
        clients.append(
            ClientReason(
                id=client.pk,
                name=client.name,
                client_type=ClientType(client.client_type).label,
                reasons=reasons,
            )
        )
    allowed = config["functionality"]
    assert isinstance(allowed, list)
    labels = [Functionality(value).label for value in allowed]
    return DeviceConfigView(config=config, etag=etag, clients=clients, functionality_labels=labels)


def device_documents(*, device_id: int) -> QuerySet[Document]:
    """The device's documents, newest first, clients joined (paged by the page)."""
    return document_list_for_device(device_id=device_id)


def device_trail(*, device_id: int) -> QuerySet[AuditEvent]:
    """
    Every audit event filed under the device, newest first (the audit index on
    company, device, time). The page shows who, when, the summary and the
    changes: never ``data``.
    """
    return AuditEvent.objects.filter(device_id=device_id).order_by("-created_at", "-id")


def device_history(*, device_id: int) -> QuerySet[DeviceCheckIn]:
    """The device's check-in history, newest first."""
    return DeviceCheckIn.objects.filter(device_id=device_id).order_by("-at", "-id")


@dataclass(frozen=True)
class HistoryEntry:
    """
    One line of the check-in timeline: a registration, a change (with what
    changed, old → new) or a run of samples on one day ("checked in 14 times
    between 08:02 and 17:45").
    """

    kind: str
    first: datetime.datetime
    last: datetime.datetime
    count: int = 1
    changes: list[tuple[str, str, str]] = field(default_factory=list)
    reported: list[tuple[str, str]] = field(default_factory=list)

    @property
    def is_registered(self) -> bool:
        return self.kind == CheckInKind.REGISTERED

    @property
    def is_changed(self) -> bool:
        return self.kind == CheckInKind.CHANGED

    @property
    def is_sample(self) -> bool:
        return self.kind == CheckInKind.SAMPLE


def _reported(row: DeviceCheckIn) -> list[tuple[str, str]]:
    return [(label, getattr(row, name) or "—") for name, label in HISTORY_LABELS.items()]


def _changes(row: DeviceCheckIn, older: DeviceCheckIn | None) -> list[tuple[str, str, str]]:
    if older is None:
        return []
    return [
        (label, getattr(older, name) or "(none)", getattr(row, name) or "(none)")
        for name, label in HISTORY_LABELS.items()
        if getattr(older, name) != getattr(row, name)
    ]


def history_older_row(*, device_id: int, row: DeviceCheckIn) -> DeviceCheckIn | None:
    """The history row just before ``row`` (to show what the oldest change on a page changed from)."""
    return device_history(device_id=device_id).filter(Q(at__lt=row.at) | Q(at=row.at, id__lt=row.pk)).first()


def history_timeline(
    rows: list[DeviceCheckIn], *, older: DeviceCheckIn | None, zone: datetime.tzinfo
) -> list[HistoryEntry]:
    """
    The timeline of one page of history ``rows`` (newest first): each change
    compared with the row before it (``older`` is the one before the page's
    last); consecutive samples of one day in ``zone`` merged into one entry.
    """
    entries: list[HistoryEntry] = []
    for index, row in enumerate(rows):
        before = rows[index + 1] if index + 1 < len(rows) else older
        if row.kind == CheckInKind.SAMPLE:
            last = entries[-1] if entries else None
            if (
                last is not None
                and last.is_sample
                and last.first.astimezone(zone).date() == row.at.astimezone(zone).date()
            ):
                entries[-1] = HistoryEntry(kind=last.kind, first=row.at, last=last.last, count=last.count + 1)
                continue
            entries.append(HistoryEntry(kind=row.kind, first=row.at, last=row.at))
            continue
        entries.append(
            HistoryEntry(
                kind=row.kind,
                first=row.at,
                last=row.at,
                changes=_changes(row, before) if row.kind == CheckInKind.CHANGED else [],
                reported=_reported(row),
            )
        )
    return entries
