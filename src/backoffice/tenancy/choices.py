from django.db import models


class Role(models.TextChoices):
    ADMINISTRATOR = "administrator", "Administrator"
    TEAM_ADMINISTRATOR = "team_administrator", "Team Administrator"
    VIEWER = "viewer", "Viewer"


class Functionality(models.TextChoices):
    """The ReconPro functions a device may be allowed to use."""

    INSPECTIONS = "inspections", "Inspections"
    WORK_ORDERS = "work_orders", "Work Orders"
    SERVICE_REQUESTS = "service_requests", "Service Requests"
    INVOICES = "invoices", "Invoices"
    TIME_SHEETS = "time_sheets", "Time Sheets"
    PHOTOS = "photos", "Photos"
    VIN_SCANNER = "vin_scanner", "VIN Scanner"
    SIGNATURES = "signatures", "Signatures"


class TwoFactorPolicy(models.TextChoices):
    """Who in a company must sign in with a second factor (an authenticator app or a passkey)."""

    OPTIONAL = "optional", "Nobody (each person may add it)"
    ADMINISTRATORS = "administrators", "Administrators and Team Administrators"
    EVERYONE = "everyone", "Everyone"
