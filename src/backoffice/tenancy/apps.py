from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "backoffice.tenancy"
    label = "tenancy"

    def ready(self) -> None:
        from backoffice.tenancy.sign_in import account_signals_connect

        account_signals_connect()
