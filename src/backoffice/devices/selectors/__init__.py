"""
Reads on devices, split the same way as the services: ``active_devices``
(the list, search and chart), ``report`` (the Devices Report's rows and
statistics), ``registration`` (Pending Registrations and registration
emails), ``config`` (a device's effective configuration and its ETag), ``dialog``
(what the Device dialog shows) and ``detail`` (the device page). The clients rule itself is
``backoffice.devices.clients``.
"""

from backoffice.devices.selectors.active_devices import (
    DEFAULT_DEVICE_SORT,
    DEVICE_SORTS,
    FILTER_VERSION,
    FILTERS,
    NOT_REPORTED,
    PENDING_SEARCH_PARAMETER,
    SEARCH_FIELDS,
    SEARCH_LABELS,
    DeviceListState,
    DeviceSearch,
    Filter,
    FilterChoice,
    VersionSlice,
    device_figures,
    device_filters,
    device_get_for_company,
    device_page,
    device_registered_count,
    device_registered_list,
    device_search_description,
    device_search_q,
    device_version_breakdown,
    device_visible_queryset,
    pending_registration_filter,
    pending_search_parse,
)
from backoffice.devices.selectors.code_sheet import (
    SHEET_MAX,
    SheetEntry,
    code_sheet_for_batch,
    code_sheet_for_devices,
    sheet_ids_parse,
)
from backoffice.devices.selectors.config import (
    config_etag,
    config_fingerprint,
    config_name,
    config_name_tag,
    device_config_and_tag,
    device_effective_config,
)
from backoffice.devices.selectors.registration import (
    PendingRegistration,
    PendingRegistrations,
    pending_code_for_qr,
    pending_registration_list,
    registration_email_get_for_company,
)
from backoffice.devices.selectors.report import (
    REPORT_HEADER,
    DeviceReportStatistics,
    device_report_rows,
    device_report_statistics,
    report_license_use,
)
from backoffice.devices.selectors.saved_views import (
    SavedViewList,
    saved_view_get_for_owner,
    saved_view_list,
)

__all__ = [
    "SHEET_MAX",
    "SheetEntry",
    "code_sheet_for_batch",
    "code_sheet_for_devices",
    "sheet_ids_parse",
    "DEFAULT_DEVICE_SORT",
    "DEVICE_SORTS",
    "FILTER_VERSION",
    "FILTERS",
    "NOT_REPORTED",
    "PENDING_SEARCH_PARAMETER",
    "REPORT_HEADER",
    "SEARCH_FIELDS",
    "SEARCH_LABELS",
    "DeviceListState",
    "DeviceReportStatistics",
    "DeviceSearch",
    "Filter",
    "FilterChoice",
    "PendingRegistration",
    "SavedViewList",
    "VersionSlice",
    "config_etag",
    "config_fingerprint",
    "config_name",
    "config_name_tag",
    "device_config_and_tag",
    "device_effective_config",
    "device_figures",
    "device_filters",
    "device_registered_count",
    "device_get_for_company",
    "device_page",
    "device_registered_list",
    "device_report_rows",
    "device_report_statistics",
    "device_search_description",
    "device_search_q",
    "device_version_breakdown",
    "device_visible_queryset",
    "pending_code_for_qr",
    "pending_registration_filter",
    "PendingRegistrations",
    "pending_registration_list",
    "pending_search_parse",
    "registration_email_get_for_company",
    "report_license_use",
    "saved_view_get_for_owner",
    "saved_view_list",
]
