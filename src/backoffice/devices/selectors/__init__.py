"""
Reads on devices, split the same way as the services: ``active_devices``
(the list, search, chart and report), ``registration`` (Pending
Registrations and registration emails), ``config`` (a device's effective
configuration) and ``dialog`` (what the Device dialog shows). The clients
rule itself is ``backoffice.devices.clients``.
"""

from backoffice.devices.selectors.active_devices import (
    DEFAULT_DEVICE_SORT,
    DEVICE_SORTS,
    REPORT_HEADER,
    SEARCH_FIELDS,
    DeviceSearch,
    VersionSlice,
    device_get_for_company,
    device_registered_list,
    device_report_rows,
    device_search_q,
    device_version_breakdown,
    device_visible_queryset,
)
from backoffice.devices.selectors.config import device_effective_config
from backoffice.devices.selectors.registration import (
    PendingRegistration,
    pending_registration_list,
    registration_email_get_for_company,
)

__all__ = [
    "DEFAULT_DEVICE_SORT",
    "DEVICE_SORTS",
    "REPORT_HEADER",
    "SEARCH_FIELDS",
    "DeviceSearch",
    "PendingRegistration",
    "VersionSlice",
    "device_effective_config",
    "device_get_for_company",
    "device_registered_list",
    "device_report_rows",
    "device_search_q",
    "device_version_breakdown",
    "device_visible_queryset",
    "pending_registration_list",
    "registration_email_get_for_company",
]
