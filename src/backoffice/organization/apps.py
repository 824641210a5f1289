from django.apps import AppConfig


class OrganizationConfig(AppConfig):
    name = "backoffice.organization"
    label = "organization"
