"""
Inviting an address tells nothing about who else has it (docs/accounts.md):
an unused address, a user of another company, an operator and an address
with a pending invitation of another company get the same answer, byte for
byte, and the same email. Nothing is reserved: the mailbox owner learns at
acceptance that the address already has an account, and nothing changes.
"""

import re

import pytest
from django.test import Client as HttpClient

from backoffice.invitations.models import Invitation
from backoffice.tenancy.models import User
from backoffice.tenancy.scoping import scopes_disabled
from tests.conftest import login
from tests.dbstate import snapshot
from tests.factories import PASSWORD, make_user
from tests.invitations.conftest import ACCOUNT_EXISTS, accept, deliver, invite, link_in, text_of

SENT = "Invitation sent. The link stays valid for 72 hours."


def answer(http, address):
    """What the Administrator gets for inviting ``address``: the response, then the message on the next page."""
    response = http.post("/users/invite/", {"email": address, "full_name": "", "role": "viewer", "team": ""})
    page = http.get(response["Location"])
    return (response.status_code, response["Location"], response.content, [str(m) for m in page.context["messages"]])


def test_the_answer_is_the_same_whoever_has_the_address(as_admin_a, admin_b, as_admin_b, mail):
    User.objects.create_superuser("op@service.example", PASSWORD)
    invite(as_admin_b, "pending@elsewhere.example")
    deliver(mail)
    unused = answer(as_admin_a, "nobody@elsewhere.example")
    assert unused == (302, "/users/", b"", [SENT])
    assert "nobody" not in unused[3][0]
    for taken in ("admin@b.example", "op@service.example", "pending@elsewhere.example"):
        assert answer(as_admin_a, taken) == unused, taken
    messages = deliver(mail)
    assert sorted(m["To"] for m in messages) == [
        "admin@b.example",
        "nobody@elsewhere.example",
        "op@service.example",
        "pending@elsewhere.example",
    ]

    def masked(message):
        return re.sub(r"token=\w+|/invitations/[0-9a-f-]+/", "LINK", text_of(message))

    bodies = {masked(m) for m in messages}
    assert len(bodies) == 1  # the same email, whoever has the address
    assert len({m["Subject"] for m in messages}) == 1


@pytest.mark.parametrize("address", ["admin@b.example", "op@service.example"])
def test_accepting_with_an_address_that_has_an_account_changes_nothing(as_admin_a, admin_b, mail, address):
    User.objects.create_superuser("op@service.example", PASSWORD)
    invite(as_admin_a, address, role="administrator")
    link = link_in(deliver(mail)[0])
    before = snapshot()
    page = HttpClient().get(link)
    assert page.status_code == 200
    assert ACCOUNT_EXISTS in page.content.decode()
    assert "form" not in page.context or page.context.get("form") is None
    response = accept(HttpClient(), link)
    assert response.status_code == 200
    assert ACCOUNT_EXISTS in response.content.decode()
    assert snapshot() == before
    account = User.objects.get(email=address)
    assert account.company_id == (admin_b.company_id if address == "admin@b.example" else None)
    assert account.check_password(PASSWORD)


def test_an_account_made_after_the_invitation_is_not_overwritten(as_admin_a, company_b, mail):
    invite(as_admin_a, "both@elsewhere.example")
    link = link_in(deliver(mail)[0])
    make_user(company_b, email="both@elsewhere.example")
    before = snapshot()
    assert ACCOUNT_EXISTS in accept(HttpClient(), link).content.decode()
    assert snapshot() == before


def test_an_invitation_reserves_nothing(as_admin_a, company_b, mail):
    """A company inviting an address does not stop another company from inviting it, nor its owner from joining."""
    invite(as_admin_a, "wanted@elsewhere.example")
    deliver(mail)
    as_admin_b = login(User.objects.create_user("boss@b.example", PASSWORD, company=company_b, role="administrator"))
    invite(as_admin_b, "wanted@elsewhere.example")
    link_b = link_in(deliver(mail)[0])
    assert accept(HttpClient(), link_b).status_code == 302
    assert User.objects.get(email="wanted@elsewhere.example").company_id == company_b.pk
    with scopes_disabled():
        assert sorted(Invitation.objects.values_list("company__name", "state")) == [
            ("Company A", "pending"),
            ("Company B", "accepted"),
        ]


def test_a_user_of_the_own_company_is_told_so(as_admin_a, viewer_a):
    before = snapshot()
    response = invite(as_admin_a, "Viewer@A.example")
    assert response.status_code == 200
    assert response.context["form"].errors == {"email": ["This address is already a user of your company."]}
    assert snapshot() == before
