"""The Device dialog's forms (``dialog``) and the handling of its buttons other than OK (``actions``)."""

from backoffice.devices.forms.actions import dialog_action_form, is_dialog_action
from backoffice.devices.forms.dialog import (
    ACTION_ADD_CLIENT,
    ACTION_ADD_CUSTOM,
    ACTION_ADD_EMPLOYEE,
    ACTION_PREVIEW,
    DeviceEditForm,
    DeviceSettingsForm,
)

__all__ = [
    "ACTION_ADD_CLIENT",
    "ACTION_ADD_CUSTOM",
    "ACTION_ADD_EMPLOYEE",
    "ACTION_PREVIEW",
    "DeviceEditForm",
    "DeviceSettingsForm",
    "dialog_action_form",
    "is_dialog_action",
]
