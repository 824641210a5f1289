"""
Writes on devices, split along their seams: ``registration`` (codes and their
emails), ``redemption`` (what a device does: redeem a code, check in) and ``settings`` (add, edit, delete and
the dialog's tabs) and ``bulk`` (the selection's actions). The public services are importable from here.
"""

from backoffice.devices.services.bulk import (
    MAX_BULK_DEVICES,
    BulkResult,
    devices_bulk_clients,
    devices_bulk_delete,
    devices_bulk_functionality,
    devices_bulk_move,
    devices_bulk_replace_codes,
    devices_bulk_time_zone,
)
from backoffice.devices.services.imports import devices_import, devices_import_check
from backoffice.devices.services.redemption import (
    Redemption,
    check_in_history_prune,
    device_check_in,
    registration_code_redeem,
    registration_failure_record,
)
from backoffice.devices.services.registration import (
    CODE_LIFETIMES,
    DEFAULT_CODE_LIFETIME,
    MAX_CODE_LIFETIME,
    RegistrationCodeLimitReached,
    device_cancel,
    registration_code_replace,
    registration_code_revoke,
    registration_code_wipe_expired,
    registration_email_resend,
)
from backoffice.devices.services.saved_views import (
    MAX_SAVED_VIEWS_PER_USER,
    saved_view_create,
    saved_view_delete,
    saved_view_rename,
)
from backoffice.devices.services.settings import (
    BATCH_MAX,
    MAX_RECIPIENTS,
    BatchAdded,
    device_add,
    device_delete,
    device_update,
    devices_add_batch,
)

__all__ = [
    "BATCH_MAX",
    "CODE_LIFETIMES",
    "DEFAULT_CODE_LIFETIME",
    "MAX_BULK_DEVICES",
    "MAX_CODE_LIFETIME",
    "MAX_RECIPIENTS",
    "MAX_SAVED_VIEWS_PER_USER",
    "BatchAdded",
    "BulkResult",
    "Redemption",
    "RegistrationCodeLimitReached",
    "check_in_history_prune",
    "device_add",
    "device_cancel",
    "device_check_in",
    "device_delete",
    "devices_import",
    "devices_import_check",
    "device_update",
    "devices_add_batch",
    "devices_bulk_clients",
    "devices_bulk_delete",
    "devices_bulk_functionality",
    "devices_bulk_move",
    "devices_bulk_replace_codes",
    "devices_bulk_time_zone",
    "registration_code_redeem",
    "registration_code_replace",
    "registration_code_revoke",
    "registration_code_wipe_expired",
    "registration_email_resend",
    "registration_failure_record",
    "saved_view_create",
    "saved_view_delete",
    "saved_view_rename",
]
