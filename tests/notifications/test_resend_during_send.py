"""Resend clicked while a worker is sending the same email never produces two emails (real SMTP server)."""

import datetime
import threading

import pytest
from aiosmtpd.controller import Controller
from django.db import connections

from backoffice.devices.services import device_add
from backoffice.notifications.choices import EmailState
from backoffice.notifications.models import OutboxEmail
from backoffice.notifications.services import outbox_send_due
from backoffice.tenancy.scoping import company_scope
from tests.factories import LicenseFactory
from tests.notifications.conftest import free_port, smtp_mailers


class HoldingHandler:
    """Accepts messages, but holds each one until ``release`` is set, so a send stays in flight."""

    def __init__(self) -> None:
        self.messages: list = []
        self.arrived = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.arrived.set()
        self.release.wait(20)
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def holding_server():
    handler = HoldingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller
    finally:
        handler.release.set()
        controller.stop()


@pytest.mark.django_db(transaction=True)
def test_resend_during_a_send_is_refused_and_sends_once(
    settings, holding_server, company_a, team_a, admin_a, as_admin_a
):
    settings.MAILERS = smtp_mailers(holding_server.port)
    with company_scope(company_a):
        device = device_add(
            acting_user=admin_a,
            team=team_a,
            license=LicenseFactory(company=company_a, number="NW-10051"),
            nickname="Bay 5 iPad",
            recipients=["tech@a.example"],
            expires_in=datetime.timedelta(hours=1),
        )
        email = OutboxEmail.objects.get(registration_code__device=device)

    def work() -> None:
        try:
            outbox_send_due()
        finally:
            connections.close_all()

    worker = threading.Thread(target=work)
    worker.start()
    try:
        assert holding_server.handler.arrived.wait(10), "the worker never reached the SMTP server"
        with company_scope(company_a):
            assert OutboxEmail.objects.get(pk=email.pk).state == EmailState.SENDING
        # Resend while the message is in flight: refused, nothing queued again.
        response = as_admin_a.post(f"/devices/emails/{email.pk}/resend/", follow=True)
        assert response.status_code == 200
        assert "is being sent right now" in response.content.decode()
        with company_scope(company_a):
            assert OutboxEmail.objects.get(pk=email.pk).state == EmailState.SENDING
    finally:
        holding_server.handler.release.set()
        worker.join(20)

    # Another pass finds nothing to send: the click did not queue a second copy.
    assert outbox_send_due().total == 0
    assert len(holding_server.handler.messages) == 1
    with company_scope(company_a):
        assert OutboxEmail.objects.get(pk=email.pk).state == EmailState.SENT
