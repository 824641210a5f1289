from django.apps import AppConfig


class DeviceApiConfig(AppConfig):
    name = "backoffice.device_api"
    label = "device_api"
