from django.apps import AppConfig


class DevicesConfig(AppConfig):
    name = "backoffice.devices"
    label = "devices"
