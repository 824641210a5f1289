"""
The effective configuration of a device, as the device API serves it, and
its ETag: one builder for ``GET /config`` and the device page.

The ETag is the configuration's *name* when company generations are kept
(``core.generations``): a hash of every input held in the device's, team's
and company's rows and of the company's ``config`` generation, which every
change of the other inputs bumps; so it is known without building the
configuration. Without generations it is a hash of the configuration's body.
"""

import hashlib
import json

from backoffice.core.generations import company_generations
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


def config_fingerprint(device: Device) -> str:
    """
    A hash of every configuration input held in the device's, team's and
    company's own rows (``device`` must come with its team and company).
    A device the device API holds keeps it (``_config_fingerprint``): any
    change of those rows bumps the company's ``devices`` generation, and the
    copy is read again.
    """
    known = getattr(device, "_config_fingerprint", None)
    if known is not None:
        return known
    team = device.team
    company = device.company
    inputs = [
        device.pk,
        device.changed_at,
        device.nickname,
        device.time_zone,
        device.team_id,
        device.client_selection_type,
        device.client_scope,
        device.include_area_clients,
        device.functionality_mode,
        device.functionality,
        team.name,
        team.time_zone,
        team.area_id,
        team.changed_at,
        company.area_support,
        company.default_functionality,
        company.changed_at,
    ]
    return hashlib.sha256(repr(inputs).encode()).hexdigest()[:24]


def config_name(device: Device, generation: str) -> str:
    """The configuration's name under the company's ``config`` ``generation`` (a cache key, and the tag's source)."""
    return f"device-config:{device.pk}:{config_fingerprint(device)}:g{generation}"


def config_name_tag(name: str) -> str:
    """The ETag of a configuration named ``name``: a hash of the name, quoted as the header carries it."""
    return '"g' + hashlib.sha256(name.encode()).hexdigest()[:31] + '"'


def device_config_and_tag(*, device: Device) -> tuple[dict[str, object], str]:
    """
    The device's configuration and the ETag ``GET /config`` answers for it:
    its name under the company's ``config`` generation, read before the
    configuration is (so the tag can only be older than the body), or
    without generations the hash of its body. Run in the device's company scope.
    """
    generations = company_generations(device.company_id)
    config = device_effective_config(device=device)
    if generations is None:
        return config, config_etag(config)
    return config, config_name_tag(config_name(device, generations.config))
