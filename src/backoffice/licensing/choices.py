from django.db import models


class LicenseType(models.TextChoices):
    STANDARD = "standard", "Standard"
    PROFESSIONAL = "professional", "Professional"
    TRIAL = "trial", "Trial"


class LicenseStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    EXPIRED = "expired", "Expired"
    SUSPENDED = "suspended", "Suspended"
