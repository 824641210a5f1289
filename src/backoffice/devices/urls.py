from django.urls import path

from backoffice.devices import views

app_name = "devices"

urlpatterns = [
    path("", views.active_devices, name="active"),
    path("DeviceReport.csv", views.devices_report, name="report"),
    path("add/", views.device_add, name="add"),
    path("add/preview/", views.device_add_preview, name="add_preview"),
    path("clients/search/", views.client_search, name="client_search"),
    path("pending/", views.pending_registrations, name="pending"),
    path("codes/sheet/", views.code_sheet, name="code_sheet"),
    path("bulk/<slug:action>/", views.bulk_action, name="bulk"),
    path("<int:pk>/", views.device_detail, name="detail"),
    path("<int:pk>/edit/", views.device_edit, name="edit"),
    path("<int:pk>/edit/preview/", views.device_edit_preview, name="edit_preview"),
    path("<int:pk>/delete/", views.device_delete, name="delete"),
    path("<int:pk>/replace/", views.registration_code_replace, name="replace"),
    path("<int:pk>/cancel/", views.registration_cancel, name="cancel"),
    path("<int:pk>/qr.svg", views.registration_code_qr, name="qr"),
    path("emails/<int:pk>/resend/", views.email_resend, name="email_resend"),
    path("views/", views.saved_view_create, name="saved_view_create"),
    path("views/<int:pk>/rename/", views.saved_view_rename, name="saved_view_rename"),
    path("views/<int:pk>/delete/", views.saved_view_delete, name="saved_view_delete"),
]
