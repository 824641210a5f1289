from django.apps import AppConfig


class LicensingConfig(AppConfig):
    name = "backoffice.licensing"
    label = "licensing"
