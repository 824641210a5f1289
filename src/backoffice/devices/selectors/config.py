"""
The effective configuration of a device, as the device API serves it, and
its ETag: one builder for ``GET /config`` and the device page.
"""

import hashlib
import json

from backoffice.devices.clients import device_available_clients, effective_functionality
from backoffice.devices.models import Device
from backoffice.organization.models import Employee


def device_effective_config(*, device: Device) -> dict[str, object]:
    """
    The settings a registered device runs with, as the device API serves them
    (``GET /config``); run inside the device's company scope.

    ``device`` must come with its team and company loaded (the device API's
    credential look-up joins them). The answer is plain JSON data in a stable
    order, so that its hash is a stable ETag, and it costs two queries whatever
    the number of employees and clients:

    - employees: the active employees of the device's team, who may use
      ReconPro on it;
    - time zone: the device's own, else its team's default;
    - clients: ``device_available_clients`` (the Clients tab rule);
    - functionality: ``effective_functionality`` for its Allowed
      Functionality tab.
    """
    team = device.team
    company = device.company
    employees = list(
        Employee.objects.filter(team_id=device.team_id, is_active=True).order_by("name", "id").values("id", "name")
    )
    rows = device_available_clients(device=device).values("id", "name", "client_type")
    clients = [{"id": row["id"], "name": row["name"], "type": row["client_type"]} for row in rows]
    return {
        "device": {"id": device.pk, "nickname": device.nickname},
        "team": {"id": team.pk, "name": team.name},
        "employees": employees,
        "time_zone": device.time_zone or team.time_zone,
        "clients": clients,
        "functionality": effective_functionality(
            company=company, functionality_mode=device.functionality_mode, functionality=device.functionality
        ),
    }


def config_etag(config: dict[str, object]) -> str:
    """
    The strong ETag of a configuration: a hash of its canonical JSON, quoted as
    the ``ETag`` header carries it, so equal settings give equal tags in every
    process.
    """
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return '"' + hashlib.sha256(canonical.encode()).hexdigest()[:32] + '"'
