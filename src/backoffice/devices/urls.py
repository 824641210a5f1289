from django.urls import path

from backoffice.devices import views

app_name = "devices"

urlpatterns = [
    path("", views.active_devices, name="active"),
    path("DeviceReport.csv", views.devices_report, name="report"),
    path("<int:pk>/", views.device_detail, name="detail"),
]
