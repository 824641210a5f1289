from django.db import models


class DocumentKind(models.TextChoices):
    SERVICE_REQUEST = "service_request", "Service Request"
    INSPECTION = "inspection", "Inspection"
    WORK_ORDER = "work_order", "Work Order"
