from django.apps import AppConfig


class InvitationsConfig(AppConfig):
    name = "backoffice.invitations"
    label = "invitations"

    def ready(self) -> None:
        # The outbox (a lower app) sends the invitation emails; it learns
        # how to write them from here.
        from backoffice.invitations.services import invitation_email_render
        from backoffice.notifications.services import outbox_renderer_register

        outbox_renderer_register(invitation_email_render, about=("invitation",))
