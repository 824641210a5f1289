from django.db import models


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


class ClientSelectionType(models.TextChoices):
    BOTH = "both", "Both"
    RETAIL = "retail", "Retail"
    WHOLESALE = "wholesale", "Wholesale"


class ClientScope(models.TextChoices):
    ALL = "all", "All"
    SELECTED = "selected", "Selected"


class FunctionalityMode(models.TextChoices):
    COMPANY = "company", "Use Company Settings"
    CUSTOM = "custom", "Custom"


class Platform(models.TextChoices):
    ANDROID = "Android", "Android"
    IOS = "iOS", "iOS"
    WINDOWS = "Windows", "Windows"
