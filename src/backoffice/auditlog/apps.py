from django.apps import AppConfig


class AuditLogConfig(AppConfig):
    name = "backoffice.auditlog"
    label = "auditlog"
    verbose_name = "Audit log"
