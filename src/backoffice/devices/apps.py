from django.apps import AppConfig


class DevicesConfig(AppConfig):
    name = "backoffice.devices"
    label = "devices"

    def ready(self) -> None:
        # The outbox (a lower app) sends this app's registration emails and
        # runs its housekeeping; it learns how from here. Licensing (also
        # lower) learns which licenses expired codes hold. The audit trail
        # (lower still) is pruned by the same worker.
        from backoffice.audit.services import audit_housekeeping
        from backoffice.devices.selectors.registration import license_expired_code_hold_q
        from backoffice.devices.services.check_ins import check_ins_housekeeping
        from backoffice.devices.services.redemption import check_in_history_housekeeping
        from backoffice.devices.services.registration import registration_email_render, registration_housekeeping
        from backoffice.licensing.selectors import license_expired_code_hold_register
        from backoffice.notifications.services import outbox_renderer_register, worker_task_register

        outbox_renderer_register(registration_email_render, about=("registration_code", "batch_id"))
        worker_task_register(registration_housekeeping)
        worker_task_register(check_ins_housekeeping)
        worker_task_register(check_in_history_housekeeping)
        worker_task_register(audit_housekeeping)
        license_expired_code_hold_register(license_expired_code_hold_q)
