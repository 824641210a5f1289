"""A name with line breaks never reaches an email header or a line of its own in the body (real SMTP server)."""

import datetime
import email
import email.policy

from backoffice.devices.models import Device
from backoffice.devices.services import device_add
from backoffice.notifications.services import outbox_send_due
from backoffice.tenancy.scoping import company_scope, scopes_disabled
from tests.factories import LicenseFactory
from tests.notifications.conftest import smtp_mailers


def test_line_breaks_in_a_nickname_stay_on_one_line(settings, smtp_server, company_a, team_a, admin_a):
    settings.MAILERS = smtp_mailers(smtp_server.port)
    with company_scope(company_a):
        device = device_add(
            acting_user=admin_a,
            team=team_a,
            license=LicenseFactory(company=company_a, number="NW-10061"),
            nickname="Bay 6 iPad",
            recipients=["tech@a.example"],
            expires_in=datetime.timedelta(hours=1),
        )
    # A row written before names were checked, or by any path that skipped the check.
    with scopes_disabled():
        Device.objects.filter(pk=device.pk).update(nickname="Bay 6\r\nBcc: victim@evil.example\nX")
    assert outbox_send_due().sent == 1
    [envelope] = smtp_server.handler.messages
    assert envelope.rcpt_tos == ["tech@a.example"]
    message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert message["Bcc"] is None
    assert message["Subject"] == "ReconPro registration code for Bay 6 Bcc: victim@evil.example X"
    for part in message.walk():
        if part.get_content_maintype() == "text":
            lines = part.get_content().splitlines()
            assert not any(line.lstrip().startswith("Bcc:") for line in lines)
            assert any("Bay 6 Bcc: victim@evil.example X" in line for line in lines)
