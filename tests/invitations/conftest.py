"""Helpers of the invitation tests: invite through the page, deliver through a real SMTP server, read the link."""

import email
import email.policy
import re
from urllib.parse import urlsplit

import pytest

from backoffice.invitations.models import Invitation
from backoffice.notifications.services import outbox_send_due
from backoffice.tenancy.scoping import scopes_disabled
from tests.notifications.conftest import smtp_mailers, smtp_server  # noqa: F401 - fixture

NEW_PASSWORD = "quiet-harbor-lantern"
LINK_RE = re.compile(r"http://localhost:8000(/invitations/[^\s\"<>]+)")
LINK_DEAD = (
    "This invitation link is no longer valid: it was used, revoked, replaced by a newer one, or expired. "
    "Ask your administrator for a new invitation."
)
ACCOUNT_EXISTS = (
    "This address already has a Back Office account. An account belongs to one company; "
    "ask your administrator to invite another address, or sign in."
)


@pytest.fixture
def mail(settings, smtp_server):  # noqa: F811 - the fixture imported above
    """The real SMTP server, with the outbox sending through it."""
    settings.MAILERS = smtp_mailers(smtp_server.port)
    return smtp_server


def invite(http, email_address, *, role="viewer", team="", full_name="", follow=False):
    return http.post(
        "/users/invite/",
        {"email": email_address, "full_name": full_name, "role": role, "team": team},
        follow=follow,
    )


def parsed(envelope) -> email.message.EmailMessage:
    return email.message_from_bytes(envelope.original_content, policy=email.policy.default)


def deliver(server) -> list[email.message.EmailMessage]:
    """Run the outbox worker once; return the messages the SMTP server got in that pass."""
    already = len(server.handler.messages)
    outbox_send_due()
    return [parsed(envelope) for envelope in server.handler.messages[already:]]


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def link_in(message) -> str:
    """The path and query of the invitation link in the plain-text part, as the test client opens it."""
    found = LINK_RE.findall(text_of(message))
    assert len(found) == 1, text_of(message)
    parts = urlsplit(found[0])
    return f"{parts.path}?{parts.query}"


def invitation_of(email_address) -> Invitation:
    with scopes_disabled():
        return Invitation.objects.get(email=email_address, state="pending")


def accept(http, link, *, full_name="Nia Lead", password=NEW_PASSWORD, again=None):
    return http.post(
        link, {"full_name": full_name, "password": password, "password_confirm": password if again is None else again}
    )
