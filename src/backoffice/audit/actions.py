"""
Every action an audit event can record, with the label people read.

The action string is stored on each event (``AuditEvent.action``); the audit
log shows the label and offers the actions grouped by the object they act
on. A test reads every ``action=`` given in the source and fails when one is
missing here, so that no event can be recorded without a label.
"""

# Object groups, in the order the audit log's action filter lists them: the
# part of the action string before the dot.
ACTION_GROUPS: dict[str, str] = {
    "device": "Devices",
    "registration_code": "Registration codes",
    "credential": "Device credentials",
    "license": "Licenses",
    "team": "Teams",
    "employee": "Employees",
    "client": "Clients",
    "area": "Areas",
    "document": "Documents",
    "email": "Emails",
    "user": "Users",
    "invitation": "Invitations",
    "company": "Company",
    "saved_view": "Saved views",
}

ACTIONS: dict[str, str] = {
    "device.added": "Device added",
    "device.batch_added": "Devices added in one batch",
    "device.imported": "Devices imported from a spreadsheet",
    "device.changed": "Device changed",
    "device.registered": "Device registered",
    "device.registration_failed": "Device registration failed",
    "device.cancelled": "Device registration cancelled",
    "device.deleted": "Device deleted",
    "device.credential_revoked": "Device credential revoked (re-registered)",
    "device.license_released": "License released from an expired code",
    "device.bulk_moved": "Devices moved to a team (bulk)",
    "device.bulk_time_zone_set": "Devices' time zone set (bulk)",
    "device.bulk_clients_set": "Devices' Clients tab set (bulk)",
    "device.bulk_functionality_set": "Devices' Allowed Functionality set (bulk)",
    "device.bulk_deleted": "Devices deleted (bulk)",
    "registration_code.bulk_replaced": "Registration codes replaced (bulk)",
    "registration_code.issued": "Registration code issued",
    "registration_code.replaced": "Registration code replaced",
    "registration_code.revoked": "Registration code revoked",
    "credential.revoked": "Device credential revoked",
    "license.issued": "License issued",
    "license.updated": "License changed",
    "license.suspended": "License suspended",
    "license.unsuspended": "License unsuspended",
    "team.created": "Team created",
    "team.updated": "Team changed",
    "team.deleted": "Team deleted",
    "employee.created": "Employee added",
    "employee.updated": "Employee changed",
    "employee.archived": "Employee archived",
    "employee.restored": "Employee restored",
    "employee.imported": "Employees imported from a spreadsheet",
    "client.created": "Client added",
    "client.updated": "Client changed",
    "client.imported": "Clients imported from a spreadsheet",
    "area.created": "Area added",
    "area.updated": "Area changed",
    "area.deleted": "Area deleted",
    "document.recorded": "Document recorded",
    "email.sent": "Email sent",
    "email.failed": "Email failed",
    "email.resent": "Email sent again",
    "user.created": "User added",
    "user.updated": "User changed",
    "user.access_updated": "User's access changed",
    "user.password_set": "User's password set",
    "user.deactivated": "User deactivated",
    "user.locked_out": "Sign-in locked after failed attempts",
    "user.reactivated": "User reactivated",
    "user.signed_out_everywhere": "User signed out of every other session",
    "user.password_reset_requested": "Password reset requested",
    "user.password_reset": "Password reset from an emailed link",
    "user.password_changed": "Password changed",
    "user.two_factor_added": "Two-factor method added",
    "user.two_factor_removed": "Two-factor method removed",
    "user.recovery_codes_renewed": "Recovery codes renewed",
    "user.recovery_code_used": "Signed in with a recovery code",
    "invitation.sent": "Invitation sent",
    "invitation.resent": "Invitation sent again",
    "invitation.revoked": "Invitation revoked",
    "invitation.accepted": "Invitation accepted (user joined)",
    "company.created": "Company created",
    "company.updated": "Company changed",
    "company.settings_updated": "Company settings changed",
    "saved_view.created": "Saved view created",
    "saved_view.renamed": "Saved view renamed",
    "saved_view.deleted": "Saved view deleted",
}

# What an event's ``object_type`` (the model's label) reads as.
OBJECT_TYPES: dict[str, str] = {
    "devices.device": "Device",
    "devices.savedview": "Saved view",
    "licensing.license": "License",
    "organization.team": "Team",
    "organization.employee": "Employee",
    "organization.client": "Client",
    "organization.area": "Area",
    "documents.document": "Document",
    "notifications.outboxemail": "Email",
    "tenancy.user": "User",
    "invitations.invitation": "Invitation",
    "tenancy.company": "Company",
}


def audit_action_label(action: str) -> str:
    """The label of ``action``; an unknown one (an event of an older release) reads as itself."""
    return ACTIONS.get(action, action)


def audit_object_label(object_type: str) -> str:
    """What ``object_type`` reads as; an unknown one reads as itself."""
    return OBJECT_TYPES.get(object_type, object_type)


def audit_action_groups() -> list[tuple[str, list[tuple[str, str]]]]:
    """The actions grouped by object, for a select: ``[(group label, [(action, label), ...]), ...]``."""
    groups: dict[str, list[tuple[str, str]]] = {key: [] for key in ACTION_GROUPS}
    for action, label in ACTIONS.items():
        groups.setdefault(action.partition(".")[0], []).append((action, label))
    return [(ACTION_GROUPS.get(key, key), items) for key, items in groups.items() if items]
