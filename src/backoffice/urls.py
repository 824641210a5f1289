from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

admin.site.site_header = "ReconPro Back Office · Operators"
admin.site.site_title = "Operators"
# Operators sign in on the Back Office's sign-in page (throttled, with their
# second factor), not on the admin's own form.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

# The device API comes first: its calls are the most frequent, and the
# resolver tries the patterns in order.
urlpatterns = [
    path("api/device/v1/", include("backoffice.device_api.urls")),
    path("", RedirectView.as_view(pattern_name="devices:active", permanent=False)),
    path("", include("backoffice.tenancy.urls")),
    path("", include("backoffice.invitations.urls")),
    path("", include("allauth.urls")),
    path("devices/", include("backoffice.devices.urls")),
    path("", include("backoffice.organization.urls")),
    path("", include("backoffice.licensing.urls")),
    path("audit/", include("backoffice.auditlog.urls")),
    path("", include("backoffice.imports.urls")),
    path("admin/", admin.site.urls),
]
