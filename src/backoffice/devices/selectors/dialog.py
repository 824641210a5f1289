"""
What the Device dialog shows besides the form's own fields: the Assigned
Clients as names, the clients used in documents, the drop-down's first
entries, the free licenses and the effective-configuration preview. Read
once by the view, so that no query runs while the template renders.
"""

from dataclasses import dataclass

from backoffice.devices.clients import (
    ClientSettings,
    ConfigPreview,
    device_document_clients,
    effective_preview,
)
from backoffice.organization.models import Client, Team
from backoffice.organization.selectors import wholesale_client_search
from backoffice.tenancy.models import Company


@dataclass(frozen=True)
class DialogReads:
    assigned_shown: list[Client]
    document_clients: list[Client]
    client_options: list[Client]
    preview: ConfigPreview | None


def client_list_by_ids(*, ids: list[int]) -> list[Client]:
    """The scoped company's clients with these ids, in the order given (unknown ids dropped)."""
    found = {client.pk: client for client in Client.objects.filter(pk__in=ids)}
    return [found[pk] for pk in ids if pk in found]


def device_dialog_reads(
    *,
    company: Company | None,
    team: Team | None,
    clients: ClientSettings,
    functionality_mode: str,
    functionality: list[str],
    device_id: int | None,
    with_options: bool = True,
) -> DialogReads:
    """Everything the dialog shows that comes from the database, for the settings as shown."""
    ids = list(clients.assigned_client_ids)
    assigned = set(ids)
    used = (
        [] if device_id is None else [c for c in device_document_clients(device_id=device_id) if c.pk not in assigned]
    )
    preview = None
    if team is not None and company is not None:
        preview = effective_preview(
            company=company,
            team=team,
            clients=clients,
            functionality_mode=functionality_mode,
            functionality=functionality,
            device_id=device_id,
        )
    return DialogReads(
        assigned_shown=client_list_by_ids(ids=ids),
        document_clients=used,
        client_options=wholesale_client_search(q="") if with_options else [],
        preview=preview,
    )
