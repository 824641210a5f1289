from django.apps import AppConfig


class DevicesConfig(AppConfig):
    name = "backoffice.devices"
    label = "devices"

    def ready(self) -> None:
        # The outbox (a lower app) sends this app's registration emails and
        # runs its housekeeping; it learns how from here.
        from backoffice.devices.services.registration import registration_email_render, registration_housekeeping
        from backoffice.notifications.services import outbox_renderer_register, worker_task_register

        outbox_renderer_register(registration_email_render)
        worker_task_register(registration_housekeeping)
