from django.urls import path

from backoffice.auditlog import views

app_name = "auditlog"

urlpatterns = [
    path("", views.audit_log, name="events"),
    path("AuditLog.csv", views.audit_log_export, name="export"),
]
