"""
The Clients tab rule (docs/clients-and-functionality.md), in one module.

Which clients a device may choose from is decided here and nowhere else: the
Device dialog's preview, the device's configuration (``GET /config``), the
check of ``POST /documents`` and the forms all call these functions. The
Clients tab travels as one ``ClientSettings`` value.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet

from backoffice.devices.choices import ClientScope, ClientSelectionType, FunctionalityMode
from backoffice.devices.models import Device, DeviceClient
from backoffice.documents.selectors import document_client_ids
from backoffice.organization.choices import ClientType
from backoffice.organization.models import Client, Team
from backoffice.tenancy.choices import Functionality
from backoffice.tenancy.models import Company

MAX_ASSIGNED_CLIENTS = 5000
PREVIEW_NAMES = 20


@dataclass(frozen=True)
class ClientSettings:
    """
    A device's Clients tab: Client Selection Type, All or Selected, Include
    ALL from Area and the Assigned Clients (ids, in the order added). As
    typed it may be anything; ``client_settings_clean`` returns the checked
    value that is stored.
    """

    client_selection_type: str = ClientSelectionType.BOTH
    client_scope: str = ClientScope.ALL
    include_area_clients: bool = False
    assigned_client_ids: tuple[int, ...] = ()

    @classmethod
    def of_device(cls, device: Device) -> "ClientSettings":
        """The device's stored Clients tab (one query for its Assigned Clients)."""
        return cls(
            client_selection_type=device.client_selection_type,
            client_scope=device.client_scope,
            include_area_clients=device.include_area_clients,
            assigned_client_ids=tuple(
                DeviceClient.objects.filter(device_id=device.pk).order_by("pk").values_list("client_id", flat=True)
            ),
        )


def client_settings_clean(*, company: Company, clients: ClientSettings, device: Device | None = None) -> ClientSettings:
    """
    Check a Clients tab against the rule and return what is stored.

    *Selected* needs a type that includes wholesale (only wholesale clients
    can be selected one by one). Assigned clients must be active wholesale
    clients of ``company``; a client already assigned to ``device`` that has
    been archived since may stay. Assigned Clients are kept only under
    *Selected*, where they count. *Include ALL from Area* is stored False
    when the company has no Area Support, whatever was sent.
    """
    if clients.client_selection_type not in ClientSelectionType.values:
        raise ValidationError({"client_selection_type": "Select Both, Retail or Wholesale."})
    if clients.client_scope not in ClientScope.values:
        raise ValidationError({"client_scope": "Select All or Selected."})
    if clients.client_scope == ClientScope.SELECTED and clients.client_selection_type == ClientSelectionType.RETAIL:
        raise ValidationError(
            {"client_scope": "Particular retail clients cannot be selected: choose All, or a type with wholesale."}
        )
    ids: list[int] = []
    for value in clients.assigned_client_ids:
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValidationError({"assigned_clients": "Select clients from the list."})
        if value not in ids:
            ids.append(value)
    if clients.client_scope != ClientScope.SELECTED:
        ids = []
    if len(ids) > MAX_ASSIGNED_CLIENTS:
        raise ValidationError({"assigned_clients": f"At most {MAX_ASSIGNED_CLIENTS} assigned clients."})
    if ids:
        kept = set()
        if device is not None and device.pk is not None:
            kept = set(DeviceClient.objects.filter(device_id=device.pk).values_list("client_id", flat=True))
        found = {
            row["pk"]: row
            for row in Client.objects.filter(company_id=company.pk, pk__in=ids).values("pk", "client_type", "is_active")
        }
        for pk in ids:
            row = found.get(pk)
            if row is None:
                raise ValidationError({"assigned_clients": "Select your company's clients from the list."})
            if row["client_type"] != ClientType.WHOLESALE:
                raise ValidationError(
                    {"assigned_clients": "Only wholesale clients can be assigned one by one; retail clients cannot."}
                )
            if not row["is_active"] and pk not in kept:
                raise ValidationError({"assigned_clients": "Archived clients cannot be assigned."})
    return ClientSettings(
        client_selection_type=clients.client_selection_type,
        client_scope=clients.client_scope,
        include_area_clients=bool(clients.include_area_clients) and company.area_support,
        assigned_client_ids=tuple(ids),
    )


def _types_of(client_selection_type: str) -> list[str]:
    """The client types that a Client Selection Type makes available."""
    return {
        ClientSelectionType.BOTH: [ClientType.RETAIL, ClientType.WHOLESALE],
        ClientSelectionType.RETAIL: [ClientType.RETAIL],
        ClientSelectionType.WHOLESALE: [ClientType.WHOLESALE],
    }.get(client_selection_type, [])  # type: ignore[call-overload]


# Why a client is available on a device, one condition per reason (the keys
# of ``_reasons``), as the device page explains it.
REASON_TYPE = "type"
REASON_ASSIGNED = "assigned"
REASON_DOCUMENTS = "documents"
REASON_AREA = "area"
REASONS = (REASON_TYPE, REASON_ASSIGNED, REASON_DOCUMENTS, REASON_AREA)


def _reasons(
    *, company: Company, team: Team, clients: ClientSettings, assigned: Iterable[int] | QuerySet, device_id: int | None
) -> dict[str, Q]:
    """
    The rule itself, as one condition per reason a client is available, with
    the Assigned Clients given as ids or as a subquery:

    - *All* gives every client of the selected type(s) (``type``).
    - *Selected* gives every retail client when the type includes retail
      (particular retail clients cannot be selected; ``type``), plus, when
      the type includes wholesale, the assigned wholesale clients
      (``assigned``) and the wholesale clients of documents recorded on this
      device (``documents``).
    - *Include ALL from Area* adds the clients of the team's area, within the
      selected type(s), when the company has Area Support (``area``).

    A client is available when any condition holds (``_available``); a
    reason that cannot apply is left out.
    """
    types = _types_of(clients.client_selection_type)
    reasons: dict[str, Q] = {}
    if clients.client_scope == ClientScope.ALL:
        if types:
            reasons[REASON_TYPE] = Q(client_type__in=types)
    else:
        if ClientType.RETAIL in types:
            reasons[REASON_TYPE] = Q(client_type=ClientType.RETAIL)
        if ClientType.WHOLESALE in types:
            ids = assigned if isinstance(assigned, QuerySet) else list(assigned)
            if isinstance(ids, QuerySet) or ids:
                reasons[REASON_ASSIGNED] = Q(client_type=ClientType.WHOLESALE, pk__in=ids)
            if device_id is not None:
                reasons[REASON_DOCUMENTS] = Q(
                    client_type=ClientType.WHOLESALE, pk__in=document_client_ids(device_id=device_id)
                )
    if company.area_support and clients.include_area_clients and team.area_id is not None and types:
        reasons[REASON_AREA] = Q(area_id=team.area_id, client_type__in=types)
    return reasons


def _available(
    *, company: Company, team: Team, clients: ClientSettings, assigned: Iterable[int] | QuerySet, device_id: int | None
) -> QuerySet[Client]:
    """The clients for which any reason of ``_reasons`` holds: active clients only, sorted by name."""
    chosen = Q(pk__in=[])
    for condition in _reasons(
        company=company, team=team, clients=clients, assigned=assigned, device_id=device_id
    ).values():
        chosen |= condition
    return Client.objects.filter(chosen, company_id=company.pk, is_active=True).order_by("name", "id")


def effective_clients(
    *, company: Company, team: Team, clients: ClientSettings, device_id: int | None = None
) -> QuerySet[Client]:
    """
    The clients available on a device with the Clients tab ``clients`` and
    team ``team``, saved or not; ``device_id`` adds the wholesale clients of
    documents recorded on that device. Run inside the company's scope.
    """
    return _available(
        company=company, team=team, clients=clients, assigned=clients.assigned_client_ids, device_id=device_id
    )


def _device_rule_inputs(device: Device) -> dict[str, object]:
    """The inputs of the rule for a saved device: its stored Clients tab, its Assigned Clients as a subquery."""
    return {
        "company": device.company,
        "team": device.team,
        "clients": ClientSettings(
            client_selection_type=device.client_selection_type,
            client_scope=device.client_scope,
            include_area_clients=device.include_area_clients,
        ),
        "assigned": DeviceClient.objects.filter(device_id=device.pk).values_list("client_id", flat=True),
        "device_id": device.pk,
    }


def device_available_clients(*, device: Device) -> QuerySet[Client]:
    """
    The clients available on a saved device, as its configuration lists them
    and as ``POST /documents`` checks them: its stored Clients tab, with its
    Assigned Clients read in the same query. ``device`` comes with its team
    and company loaded.
    """
    return _available(**_device_rule_inputs(device))  # type: ignore[arg-type]


def device_available_clients_with_reasons(*, device: Device) -> QuerySet[Client]:
    """
    ``device_available_clients`` with, on each client, ``why_<reason>`` (True
    or False) for every reason of ``REASONS`` that can apply to the device's
    settings (absent otherwise): the same conditions as the rule, computed in
    the same query.
    """
    inputs = _device_rule_inputs(device)
    reasons = _reasons(**inputs)  # type: ignore[arg-type]
    flags = {name: ExpressionWrapper(condition, output_field=BooleanField()) for name, condition in reasons.items()}
    return _available(**inputs).annotate(**{f"why_{name}": flag for name, flag in flags.items()})  # type: ignore[arg-type]


def device_document_clients(*, device_id: int) -> QuerySet[Client]:
    """
    Active wholesale clients of documents recorded on the device: available
    on it under *Selected* even when not in Assigned Clients.
    """
    return Client.objects.filter(
        client_type=ClientType.WHOLESALE, is_active=True, pk__in=document_client_ids(device_id=device_id)
    ).order_by("name", "id")


def functionality_clean(*, functionality_mode: str, functionality: Iterable[str]) -> list[str]:
    """
    The Custom set in catalog order; empty under "Use Company Settings",
    which follows the company's set wherever it goes.
    """
    if functionality_mode not in FunctionalityMode.values:
        raise ValidationError({"functionality_mode": "Select Use Company Settings or Custom."})
    chosen = list(functionality)
    unknown = sorted({str(value) for value in chosen} - set(Functionality.values))
    if unknown:
        raise ValidationError({"functionality": f"Unknown functionality: {', '.join(unknown)}."})
    if functionality_mode == FunctionalityMode.COMPANY:
        return []
    return [value for value in Functionality.values if value in chosen]


def effective_functionality(*, company: Company, functionality_mode: str, functionality: Iterable[str]) -> list[str]:
    """
    The functions allowed on a device: the company's default set under "Use
    Company Settings" (so a later change there reaches the device), else the
    device's own; in the order of ``Functionality``.
    """
    if functionality_mode == FunctionalityMode.COMPANY:
        allowed = set(company.default_functionality or [])
    else:
        allowed = set(functionality or [])
    return [item.value for item in Functionality if item.value in allowed]


@dataclass(frozen=True)
class ConfigPreview:
    """What the Device dialog shows of the effective configuration."""

    client_count: int
    client_names: list[str]
    functionality: list[str]

    @property
    def more_clients(self) -> int:
        return self.client_count - len(self.client_names)


def effective_preview(
    *,
    company: Company,
    team: Team,
    clients: ClientSettings,
    functionality_mode: str,
    functionality: Iterable[str],
    device_id: int | None = None,
) -> ConfigPreview:
    """
    The clients and functionality a device with these settings, saved or not,
    would get, counted and with the first ``PREVIEW_NAMES`` client names.
    """
    available = effective_clients(company=company, team=team, clients=clients, device_id=device_id)
    allowed = effective_functionality(
        company=company, functionality_mode=functionality_mode, functionality=functionality
    )
    return ConfigPreview(
        client_count=available.count(),
        client_names=list(available.values_list("name", flat=True)[:PREVIEW_NAMES]),
        functionality=[Functionality(value).label for value in allowed],
    )
