from django.db import models


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
